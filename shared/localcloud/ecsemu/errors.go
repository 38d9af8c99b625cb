package ecsemu

import (
	"fmt"
	"net/http"
)

// apiError is an ECS error answer: code, HTTP status and message.
type apiError struct {
	Code    string
	Status  int
	Message string
	// Detail is the AccessDeniedDetail object of a RAM refusal, or nil.
	Detail any
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message) }

func fromWire(w wireError) *apiError {
	return &apiError{Code: w.Code, Status: w.Status, Message: w.Message}
}

func newErr(status int, code, format string, args ...any) *apiError {
	return &apiError{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

// Documented errors shared by several actions.
func errMissing(param string) *apiError {
	return newErr(http.StatusBadRequest, "MissingParameter",
		"The input parameter %q that is mandatory for processing this request is not supplied.", param)
}

func errInvalidParam(param, value string) *apiError {
	return newErr(http.StatusBadRequest, "InvalidParameter",
		"The specified parameter %q is not valid: %q.", param, value)
}

func errInvalidParamCode(code, param, value string) *apiError {
	return newErr(http.StatusBadRequest, code, "The specified parameter %q is not valid: %q.", param, value)
}

func errGroupNotFound(id string) *apiError {
	return newErr(http.StatusNotFound, "InvalidSecurityGroupId.NotFound",
		"The specified SecurityGroupId does not exist. (%s)", id)
}

func errGroupMalformed(id string) *apiError {
	return newErr(http.StatusBadRequest, "InvalidSecurityGroupId.Malformed",
		"The specified parameter SecurityGroupId is not valid. (%s)", id)
}

func errInstanceNotFound(id string) *apiError {
	return newErr(http.StatusNotFound, "InvalidInstanceId.NotFound",
		"The specified InstanceId does not exist. (%s)", id)
}

func errInstanceMalformed(id string) *apiError {
	return newErr(http.StatusBadRequest, "InvalidInstanceId.Malformed",
		"The specified parameter InstanceId is not valid. (%s)", id)
}

func errEniNotFound(id string) *apiError {
	return newErr(http.StatusNotFound, "InvalidEniId.NotFound",
		"The specified NetworkInterfaceId does not exist. (%s)", id)
}

func errVpcNotFound(id string) *apiError {
	return newErr(http.StatusNotFound, "InvalidVpcId.NotFound", "The specified VpcId does not exist. (%s)", id)
}

func errVSwitchNotFound(id string) *apiError {
	return newErr(http.StatusNotFound, "InvalidVSwitchId.NotFound",
		"The specified VSwitchId does not exist. (%s)", id)
}

func errIncorrectStatus(status string) *apiError {
	return newErr(http.StatusForbidden, "IncorrectInstanceStatus",
		"The current status of the resource does not support this operation. (status %s)", status)
}

func errManaged(id string) *apiError {
	return newErr(http.StatusForbidden, "InvalidOperation.ResourceManagedByCloudProduct",
		"The security group %s is managed by a cloud product and cannot be changed.", id)
}

func errGroupLimit() *apiError {
	return newErr(http.StatusBadRequest, "InstanceSecurityGroupLimitExceeded",
		"Exceeding the allowed amount of security groups that an instance can be in.")
}

func errVPCMismatch() *apiError {
	return newErr(http.StatusBadRequest, "InvalidInstanceId.Mismatch",
		"Specified instance and security group are not in the same VPC.")
}

func errBadNextToken(tok string) *apiError {
	return newErr(http.StatusBadRequest, "InValidParameter.NextToken",
		"The specified parameter NextToken is not valid. (%s)", tok)
}

func errDryRun() *apiError {
	return newErr(http.StatusBadRequest, "DryRunOperation",
		"Request validation has been passed with DryRun flag set.")
}
