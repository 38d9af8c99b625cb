package essemu

import "net/http"

// This file gathers the behaviour of ESS and ECI that the public reference
// leaves open, with the choice the emulator makes. Change a choice here.

// API versions served (those of alibaba-cloud-sdk-go's ess and eci packages).
const (
	ESSVersion = "2014-08-28"
	ECIVersion = "2018-08-08"
)

// Paging bounds. ESS: PageSize 1..50, default 10 (documented for both
// Describe calls). ECI: Limit default 20 and at most 20 (unconfirmed).
const (
	essPageSizeMax = 50
	essPageSizeDef = 10
	eciLimitMax    = 20
	eciLimitDef    = 20
)

type wireError struct {
	Code    string
	Status  int
	Message string
}

// Wire-level errors: the ECS front end's codes (the products share the
// gateway; statuses unconfirmed for ESS and ECI).
var (
	errSignatureDoesNotMatch = wireError{"SignatureDoesNotMatch", http.StatusBadRequest,
		"Specified signature is not matched with our calculation."}
	errAccessKeyNotFound = wireError{"InvalidAccessKeyId.NotFound", http.StatusNotFound,
		"Specified access key is not found."}
	errTimestampExpired = wireError{"InvalidTimeStamp.Expired", http.StatusBadRequest,
		"Specified time stamp or date value is expired."}
	errTimestampFormat = wireError{"InvalidTimeStamp.Format", http.StatusBadRequest,
		"Specified time stamp or date value is not well formatted."}
	errNonceUsed = wireError{"SignatureNonceUsed", http.StatusBadRequest,
		"Specified signature nonce was used already."}
	errTokenExpired = wireError{"InvalidSecurityToken.Expired", http.StatusBadRequest,
		"Specified SecurityToken is expired."}
	errTokenMismatch = wireError{"InvalidSecurityToken.MismatchWithAccessKey", http.StatusBadRequest,
		"Specified SecurityToken mismatch with the AccessKey."}
	errActionNotFound = wireError{"InvalidAction.NotFound", http.StatusNotFound,
		"Specified api is not found, please check your url and method."}
	errInvalidVersion = wireError{"InvalidVersion", http.StatusBadRequest,
		"Specified parameter Version is not valid."}
	errUnsupportedSigMethod = wireError{"InvalidParameter.SignatureMethod", http.StatusBadRequest,
		"Specified signature method or version is not supported."}
	errMissingRegion = wireError{"MissingParameter.RegionId", http.StatusBadRequest,
		"The input parameter \"RegionId\" that is mandatory for processing this request is not supplied."}
	errRegionNotFound = wireError{"InvalidRegionId.NotFound", http.StatusNotFound,
		"The specified RegionId does not exist."}
)

// Platform errors from core.Controls outcomes: the gateway's Throttling
// (ESS documents "Throttling" among its common errors; status 400 as for ECS).
var (
	errThrottled = wireError{"Throttling", http.StatusBadRequest,
		"Request was denied due to request throttling."}
	errServerFault = wireError{"ServiceUnavailable", http.StatusServiceUnavailable,
		"The request has failed due to a temporary failure of the server."}
)

// Parameter errors (codes unconfirmed: ESS answers a PageSize out of range
// with an InvalidParameter family code).
var (
	errBadPageSize = wireError{"InvalidParameter.PageSize", http.StatusBadRequest,
		"The specified parameter PageSize is not valid."}
	errBadPageNumber = wireError{"InvalidParameter.PageNumber", http.StatusBadRequest,
		"The specified parameter PageNumber is not valid."}
	errBadLimit = wireError{"InvalidParameter.Limit", http.StatusBadRequest,
		"The specified parameter Limit is not valid."}
	errBadNextToken = wireError{"InvalidParameter.NextToken", http.StatusBadRequest,
		"The specified parameter NextToken is not valid."}
	// More than 10 IDs or names in one Describe call (documented limit of 10
	// for ScalingConfigurationId.N / Name.N and 20 for ScalingGroupId.N).
	errTooManyIDs = wireError{"InvalidParameter.TooMany", http.StatusBadRequest,
		"Too many IDs or names in one request."}
)

// Behaviour choices.
const (
	// DescribeScalingConfigurations without ScalingGroupId lists every ECS
	// configuration of the region (the parameter is optional in the docs;
	// the region-wide answer is unconfirmed). The adapter checks it: every
	// active configuration a scaling group names must be in the listing.
	regionWideConfigurations = true
	// An unknown ScalingGroupId filter yields an empty list, not an error
	// (unconfirmed).
	unknownGroupFilterIsEmpty = true
	// Names given in ScalingConfigurationName.N only match active
	// configurations (documented: "inactive names are ignored"); IDs match
	// both.
	namesMatchActiveOnly = true
	// Container groups in a final state (Succeeded, Failed, Expired) stay
	// listed: real ECI keeps their metadata for an hour, then the last 100
	// per region. The emulator keeps them until removed.
	keepFinalContainerGroups = true
)

// ECI's final container group states: their compute and ENI are released
// (documented), and they cannot start again (unconfirmed: RestartContainerGroup
// needs Running).
var eciFinalStates = map[string]bool{"Succeeded": true, "Failed": true, "Expired": true}
