package essemu

import (
	"errors"
	"net/http"

	"github.com/sgpilot/sgpilot/shared/localcloud/ramemu"
)

// authorize asks RAM (core.Env.Authorize) whether the call's credential may
// do "<product>:<action>" ("ess:DescribeScalingGroups",
// "eci:DescribeContainerGroups"). ESS and ECI reads are authorized on "*"
// here: their resource ARNs are not modelled. A refusal is 403
// Forbidden.RAM, as ECS answers (the same RPC gateway; unconfirmed for
// ESS and ECI).
func (s *Service) authorize(c *call) *apiError {
	if s.env.RAM == nil {
		return nil
	}
	err := s.env.Authorize(c.p.str("AccessKeyId"), ramemu.Request{Action: c.product + ":" + c.action,
		Resources: []ramemu.Resource{{ARN: "acs:" + c.product + ":" + c.region + ":" + s.env.AccountID + ":*"}}})
	var denied *ramemu.DeniedError
	if !errors.As(err, &denied) {
		return nil
	}
	return &apiError{Code: "Forbidden.RAM", Status: http.StatusForbidden,
		Message: "User not authorized to operate on the specified resource, or this API doesn't support RAM. (" + denied.Action + ")"}
}
