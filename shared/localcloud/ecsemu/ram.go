package ecsemu

import (
	"errors"
	"net/http"

	"github.com/sgpilot/sgpilot/shared/localcloud/ramemu"
)

// RAM resource types in ECS ARNs: acs:ecs:<region>:<account>:<type>/<id>.
// instance and securitygroup are in ECS's RAM authorization tables
// (JoinSecurityGroup names both); "networkinterface" for ENIs is
// unconfirmed (alibaba-reference.md §7.3).
var ramTypes = map[string]string{resInstance: "instance", resGroup: "securitygroup", resENI: "networkinterface"}

// ramResourcesLocked names the resources c acts on, with their tags (for
// acs:ResourceTag conditions), for the RAM check. Actions on named
// resources list each one (a resource that does not exist has no tags);
// creates and list-style reads name the type with "*", as ECS's RAM
// tables write them (e.g. CreateSecurityGroup: securitygroup/*).
// Which parameters name resources is per action; anything unlisted is
// "*"-scoped. Held: s.mu.
func (s *Service) ramResourcesLocked(c *call) []ramemu.Resource {
	arn := func(resType, id string) string {
		return "acs:ecs:" + c.region + ":" + s.env.AccountID + ":" + ramTypes[resType] + "/" + id
	}
	one := func(resType, id string) ramemu.Resource {
		if id == "" {
			return ramemu.Resource{ARN: arn(resType, "*")}
		}
		return ramemu.Resource{ARN: arn(resType, id), Tags: s.tagsLocked(resType, id)}
	}
	p := c.p
	switch c.action {
	case "JoinSecurityGroup", "LeaveSecurityGroup":
		target := one(resInstance, p.str("InstanceId"))
		if eni := p.str("NetworkInterfaceId"); eni != "" {
			target = one(resENI, eni)
		}
		return []ramemu.Resource{target, one(resGroup, p.str("SecurityGroupId"))}
	case "DeleteSecurityGroup", "DescribeSecurityGroupAttribute", "AuthorizeSecurityGroup", "RevokeSecurityGroup",
		"AuthorizeSecurityGroupEgress", "RevokeSecurityGroupEgress", "ModifySecurityGroupPolicy",
		"ModifySecurityGroupRule", "ModifySecurityGroupEgressRule", "ModifySecurityGroupAttribute":
		return []ramemu.Resource{one(resGroup, p.str("SecurityGroupId"))}
	case "CreateSecurityGroup":
		return []ramemu.Resource{one(resGroup, "")}
	case "ModifyInstanceAttribute", "StartInstance", "StopInstance", "DeleteInstance", "RebootInstance":
		return []ramemu.Resource{one(resInstance, p.str("InstanceId"))}
	case "RunInstances", "DeleteInstances":
		return []ramemu.Resource{one(resInstance, "")}
	case "AttachNetworkInterface", "DetachNetworkInterface", "DeleteNetworkInterface", "ModifyNetworkInterfaceAttribute":
		return []ramemu.Resource{one(resENI, p.str("NetworkInterfaceId"))}
	case "CreateNetworkInterface":
		return []ramemu.Resource{one(resENI, "")}
	case "TagResources", "UntagResources", "ListTagResources":
		typ, e := resourceType(p)
		ids := p.indexed("ResourceId")
		if e != nil || len(ids) == 0 {
			if e != nil {
				typ = resGroup
			}
			return []ramemu.Resource{one(typ, "")}
		}
		out := make([]ramemu.Resource, 0, len(ids))
		for _, id := range ids {
			out = append(out, one(typ, id))
		}
		return out
	case "DescribeInstances":
		return []ramemu.Resource{one(resInstance, "")}
	case "DescribeSecurityGroups", "DescribeSecurityGroupReferences":
		return []ramemu.Resource{one(resGroup, "")}
	case "DescribeNetworkInterfaces":
		return []ramemu.Resource{one(resENI, "")}
	}
	return []ramemu.Resource{{ARN: "acs:ecs:" + c.region + ":" + s.env.AccountID + ":*"}}
}

// tagsLocked returns a resource's tags ("" type or a missing resource: none).
func (s *Service) tagsLocked(resType, id string) map[string]string {
	var tags tagList
	switch resType {
	case resInstance:
		if in := s.w.instances[id]; in != nil {
			tags = in.Tags
		}
	case resGroup:
		if g := s.w.groups[id]; g != nil {
			tags = g.Tags
		}
	case resENI:
		if e := s.w.enis[id]; e != nil {
			tags = e.Tags
		}
	}
	if len(tags) == 0 {
		return nil
	}
	out := make(map[string]string, len(tags))
	for _, t := range tags {
		out[t.Key] = t.Value
	}
	return out
}

// authorizeLocked asks RAM (core.Env.Authorize) whether c's credential may
// call c.action on its resources. A refusal answers as ECS does since its
// 2025 authentication change: HTTP 403 Forbidden.RAM with an
// AccessDeniedDetail object naming the action (ECS "Announcement of changes
// to the authentication mechanism for ECS query API operations"; the
// detail's field set beyond AuthAction is from the RAM DecodeDiagnosticMessage
// reference, unconfirmed for ECS). Held: s.mu.
func (s *Service) authorizeLocked(c *call) *apiError {
	if s.env.RAM == nil {
		return nil
	}
	err := s.env.Authorize(c.akid, ramemu.Request{Action: "ecs:" + c.action, Resources: s.ramResourcesLocked(c)})
	var denied *ramemu.DeniedError
	if !errors.As(err, &denied) {
		return nil
	}
	noPerm := "ImplicitDeny"
	if denied.Explicit {
		noPerm = "ExplicitDeny"
	}
	e := newErr(http.StatusForbidden, "Forbidden.RAM",
		"User not authorized to operate on the specified resource, or this API doesn't support RAM.")
	e.Detail = map[string]string{
		"AuthAction":               denied.Action,
		"AuthResource":             denied.Resource,
		"AuthPrincipalType":        "AssumedRoleUser",
		"AuthPrincipalOwnerId":     s.env.AccountID,
		"AuthPrincipalDisplayName": ramemu.RoleName(denied.Principal.Role) + ":" + denied.Principal.Session,
		"NoPermissionType":         noPerm,
		"PolicyType":               "AccountLevelIdentityBasedPolicy",
	}
	return e
}
