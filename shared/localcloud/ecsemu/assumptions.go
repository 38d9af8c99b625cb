package ecsemu

import "net/http"

// This file gathers every behaviour the reference (shared/docs/alibaba-reference.md)
// marks as unconfirmed, or leaves open, together with the choice the emulator
// makes. Change a choice here and nowhere else.

// wireError is one (code, HTTP status, message) triple of the ECS wire.
type wireError struct {
	Code    string
	Status  int
	Message string
}

// Wire-level (signature, credentials, action) errors. Statuses and messages of
// these are unconfirmed for ECS except where §1.8 tags them [doc].
var (
	// §1.3: 400 is unconfirmed. The message gets " server string to sign is:<sts>"
	// appended, which the SDK uses to tell a wrong secret from an SDK bug.
	errSignatureDoesNotMatch = wireError{"SignatureDoesNotMatch", http.StatusBadRequest,
		"Specified signature is not matched with our calculation."}
	// Missing Signature or AccessKeyId: answered as a signature failure
	// (unconfirmed; real gateways may say MissingParameter / IncompleteSignature).
	errAccessKeyNotFound = wireError{"InvalidAccessKeyId.NotFound", http.StatusNotFound,
		"Specified access key is not found."}
	errTimestampExpired = wireError{"InvalidTimeStamp.Expired", http.StatusBadRequest,
		"Specified time stamp or date value is expired."}
	// Timestamp that does not parse as yyyy-MM-ddTHH:mm:ssZ (code unconfirmed).
	errTimestampFormat = wireError{"InvalidTimeStamp.Format", http.StatusBadRequest,
		"Specified time stamp or date value is not well formatted."}
	errNonceUsed = wireError{"SignatureNonceUsed", http.StatusBadRequest,
		"Specified signature nonce was used already."}
	// STS token problems: codes and statuses unconfirmed for ECS. A missing
	// token for an STS key is reported as a mismatch.
	errTokenExpired = wireError{"InvalidSecurityToken.Expired", http.StatusBadRequest,
		"Specified SecurityToken is expired."}
	errTokenMismatch = wireError{"InvalidSecurityToken.MismatchWithAccessKey", http.StatusBadRequest,
		"Specified SecurityToken mismatch with the AccessKey."}
	// Missing or unknown Action: one code for both (unconfirmed).
	errActionNotFound = wireError{"InvalidAction.NotFound", http.StatusNotFound,
		"Specified api is not found, please check your url and method."}
	// Version other than 2014-05-26 (unconfirmed code).
	errInvalidVersion = wireError{"InvalidVersion", http.StatusBadRequest,
		"Specified parameter Version is not valid."}
	errUnsupportedSigMethod = wireError{"InvalidParameter.SignatureMethod", http.StatusBadRequest,
		"Specified signature method or version is not supported."}
)

// Platform errors produced from core.Controls outcomes. §1.8 lists Throttling
// as 400 for ECS; Throttling.User would be equally plausible.
var (
	errThrottled = wireError{"Throttling", http.StatusBadRequest,
		"Request was denied due to request throttling."}
	// 503 ServiceUnavailable is retried by the SDK only with AutoRetry, like 500.
	errServerFault = wireError{"ServiceUnavailable", http.StatusServiceUnavailable,
		"The request has failed due to a temporary failure of the server."}
)

// Action-level choices.
var (
	// DeleteSecurityGroup on an unknown group: the newest doc says
	// InvalidSecurityGroup.NotFound, every other action uses
	// InvalidSecurityGroupId.NotFound. We emulate the latter; clients accept both.
	errDeleteGroupNotFound = wireError{"InvalidSecurityGroupId.NotFound", http.StatusNotFound,
		"The specified SecurityGroupId does not exist."}

	// Join/Leave/Modify while the instance is Pending (being created). Starting
	// and Stopping give IncorrectInstanceStatus. Both codes are documented for
	// JoinSecurityGroup; which one real ECS sends for Pending is unconfirmed.
	errInstanceBeingCreated = wireError{"Forbidden.InstanceIsBeingCreated", http.StatusForbidden,
		"The specified instance is being created."}

	// DependencyViolation messages. The instance and reference texts are [doc];
	// the ENI text is invented (real ECS probably reuses the instance text).
	msgDependencyInstances  = "There is still instance(s) in the specified security group."
	msgDependencyENIs       = "There is still network interface(s) in the specified security group."
	msgDependencyReferenced = "The specified security group has been authorized in another one."

	// DeletionProtection status (403) is unconfirmed.
	errDeletionProtection = wireError{"InvalidOperation.DeletionProtection", http.StatusForbidden,
		"The specified security group has deletion protection enabled."}

	// ModifyInstanceAttribute with more groups than the instance limit: the
	// same code as JoinSecurityGroup (unconfirmed).
	errModifyTooManyGroups = wireError{"InstanceSecurityGroupLimitExceeded", http.StatusBadRequest,
		"Exceeding the allowed amount of security groups that an instance can be in."}
	// ModifyInstanceAttribute on a classic instance with SecurityGroupIds
	// (documented as unsupported; code unconfirmed).
	errModifyClassic = wireError{"InvalidParameter.SecurityGroupIds", http.StatusBadRequest,
		"Classic network instances cannot replace security groups with ModifyInstanceAttribute."}

	// RunInstances with a group of the wrong network type or VPC (code unconfirmed).
	errRunGroupMismatch = wireError{"InvalidSecurityGroupId.VPCMismatch", http.StatusBadRequest,
		"The specified security group and the specified virtual switch are not in the same VPC."}
	// RunInstances without VSwitchId in a region that has no classic network.
	errRunNeedsVSwitch = wireError{"MissingParameter.VSwitchId", http.StatusBadRequest,
		"The input parameter \"VSwitchId\" that is mandatory for processing this request is not supplied."}

	// CreateSecurityGroup without VpcId where classic is not offered: §2.9
	// lists a 403 with this message; the code is a guess.
	errVpcRequired = wireError{"InvalidVpcId.NotFound", http.StatusForbidden,
		"vpc id must not empty when only support vpc vm."}

	// A rule naming a source group in another account: the emulator holds one
	// account, so such groups are unknown.
	errSourceGroupNotFound = wireError{"InvalidSourceGroupId.NotFound", http.StatusNotFound,
		"The specified source security group does not exist."}

	// RevokeSecurityGroup by a SecurityGroupRuleId that does not exist answers
	// InvalidParam.SecurityGroupRuleId (the newer doc; see rules.go), not the
	// InvalidSecurityGroupRuleId.NotFound assumed here before.

	// Bad paging sizes (code unconfirmed; the message names the parameter).
	codeBadPaging = "InvalidParameter"

	// Launch template lookups (codes unconfirmed).
	errTemplateNotFound = wireError{"InvalidLaunchTemplate.NotFound", http.StatusNotFound,
		"The specified launch template does not exist."}
	errTemplateVersionNotFound = wireError{"InvalidLaunchTemplateVersion.NotFound", http.StatusNotFound,
		"The specified launch template version does not exist."}

	// ENI identifier and state errors (codes partly unconfirmed).
	errEniMalformed = wireError{"InvalidEniId.Malformed", http.StatusBadRequest,
		"The specified NetworkInterfaceId is not valid."}
	errEniState = wireError{"InvalidOperation.InvalidEniState", http.StatusForbidden,
		"The operation is not allowed in the current network interface status."}
)

// Listing order: every Describe/List call returns resources in ascending ID
// order (an older doc says DescribeSecurityGroups lists in descending ID
// order; clients must not depend on either, only on stable paging). Tokens
// name the last ID returned, so paging stays stable under concurrent changes.

// Behaviour switches.
const (
	// AuthorizeSecurityGroup with a rule identical to an existing one succeeds
	// without adding a second rule (§9: error vs idempotent success unconfirmed).
	duplicateRuleIsSuccess = true

	// RevokeSecurityGroup of a rule (given by attributes) that does not exist
	// succeeds (unconfirmed).
	revokeMissingRuleIsSuccess = true

	// A rule whose source (or destination) group is its own group is allowed
	// and does not block deletion (older docs rejected it with
	// InvalidParamter.Conflict; newer consoles allow it).
	allowSelfReference = true

	// DescribeSecurityGroupReferences lists every queried group, with an empty
	// list when nothing references it (the alternative is to omit it).
	listUnreferencedGroups = true

	// The subject of ecs:Instance:StateChange events: "acs.ecs:<region>:<account>:<instance id>"
	// as in the reference's sample (format of the tail unconfirmed).
	subjectPrefix = "acs.ecs"

	// With PageNumber/PageSize paging, NextToken is also returned when more
	// results exist; TotalCount is returned only in page mode (token mode
	// leaves it 0, as documented for DescribeSecurityGroups and
	// DescribeNetworkInterfaces and assumed for DescribeInstances).
	nextTokenInPageMode = true
)

// Rule APIs (appended with the role policy work).
var (
	// RevokeSecurityGroup by SecurityGroupRuleId that does not exist: since
	// 2024-07-08 the API reference says the call fails with
	// InvalidParam.SecurityGroupRuleId (it used to succeed). The status is
	// unconfirmed; 400 like the other InvalidParam.* codes. This replaces
	// errRuleIDNotFound, which the emulator no longer sends; clients should
	// accept both as "already gone".
	errRevokeRuleIDNotFound = wireError{"InvalidParam.SecurityGroupRuleId", http.StatusBadRequest,
		"The specified security group rule id does not exist."}
	// SecurityGroupRuleId.N together with Permissions.N or flat rule fields:
	// documented as unsupported, code unconfirmed.
	errRevokeIDsAndPermissions = wireError{"InvalidParam.Permissions", http.StatusBadRequest,
		"SecurityGroupRuleId cannot be combined with Permissions or rule parameters."}
	// ModifySecurityGroupPolicy with a value other than Accept/Drop (code unconfirmed).
	errInnerAccessPolicyInvalid = wireError{"InvalidParameter.InnerAccessPolicy", http.StatusBadRequest,
		"The specified parameter InnerAccessPolicy must be Accept or Drop."}
	// ModifySecurityGroupPolicy on an advanced (enterprise) group: documented
	// as impossible, code and status unconfirmed.
	errEnterpriseInnerPolicy = wireError{"InvalidSecurityGroup.NotSupportEnterprise", http.StatusBadRequest,
		"The inner access policy of an enterprise security group cannot be modified."}
)

// AuthorizeSecurityGroup(Egress) of a rule identical to an existing one:
// duplicateRuleIsSuccess above is now [doc] (AuthorizeSecurityGroup, 2026:
// "the call succeeds but no rule is added"). Identity excludes Priority and
// Description, so re-authorizing with another priority keeps the old one.
