package mnsemu

import (
	"errors"
	"net/http"
	"strings"

	"github.com/sgpilot/sgpilot/shared/localcloud/ramemu"
)

// ramResource is the ARN RAM authorizes c against: the queue for queue
// operations, the queue's messages for message operations, all queues for
// ListQueue. Forms: acs:mns:<region>:<account>:/queues/<name>[/messages]
// (Simple Message Queue RAM reference; alibaba-reference.md §7.3).
func (s *Service) ramResource(c *call) string {
	base := "acs:mns:" + s.opts.Region + ":" + s.env.AccountID + ":/queues"
	switch c.op {
	case OpListQueue:
		return base
	case OpCreateQueue, OpSetQueueAttributes, OpGetQueueAttributes, OpDeleteQueue:
		return base + "/" + c.queue
	}
	return base + "/" + c.queue + "/messages"
}

// authorize asks RAM (core.Env.Authorize) whether r's credential may do
// c.op ("mns:<operation>"). A refusal is 403 AccessDenied, the code MNS
// documents for a permission failure (alibaba-reference.md §6.6); the
// message wording is unconfirmed.
func (s *Service) authorize(r *http.Request, c *call) *Error {
	if s.env.RAM == nil {
		return nil
	}
	cred, _ := strings.CutPrefix(r.Header.Get("Authorization"), "MNS ")
	akid, _, _ := strings.Cut(cred, ":")
	err := s.env.Authorize(akid, ramemu.Request{Action: "mns:" + c.op, Resources: []ramemu.Resource{{ARN: s.ramResource(c)}}})
	var denied *ramemu.DeniedError
	if !errors.As(err, &denied) {
		return nil
	}
	return newError(http.StatusForbidden, CodeAccessDenied,
		"The role %s (session %s) is not authorized to perform %s on %s.",
		ramemu.RoleName(denied.Principal.Role), denied.Principal.Session, denied.Action, denied.Resource)
}
