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
	return s.authorizeOn(r, c.op, s.ramResource(c))
}

// topicResource is the ARN of a topic operation: the topic's messages for
// PublishMessage, its subscription for subscription operations, else the
// topic (acs:mns:<region>:<account>:/topics/<name>[/messages|/subscriptions/<sub>],
// the same RAM reference as the queues).
func (s *Service) topicResource(op, topic, sub string) string {
	base := "acs:mns:" + s.opts.Region + ":" + s.env.AccountID + ":/topics/" + topic
	switch {
	case op == OpPublishMessage:
		return base + "/messages"
	case sub != "":
		return base + "/subscriptions/" + sub
	}
	return base
}

// authorizeOn asks RAM whether r's credential may do op ("mns:<op>") on arn.
func (s *Service) authorizeOn(r *http.Request, op, arn string) *Error {
	if s.env.RAM == nil {
		return nil
	}
	cred, _ := strings.CutPrefix(r.Header.Get("Authorization"), "MNS ")
	akid, _, _ := strings.Cut(cred, ":")
	err := s.env.Authorize(akid, ramemu.Request{Action: "mns:" + op, Resources: []ramemu.Resource{{ARN: arn}}})
	var denied *ramemu.DeniedError
	if !errors.As(err, &denied) {
		return nil
	}
	return newError(http.StatusForbidden, CodeAccessDenied,
		"The role %s (session %s) is not authorized to perform %s on %s.",
		ramemu.RoleName(denied.Principal.Role), denied.Principal.Session, denied.Action, denied.Resource)
}
