package mnsemu

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

// controlsService is the service name under which calls are counted and
// faults injected in core.Controls ("mns/SendMessage", ...).
const controlsService = "mns"

// Operation names, as used for core.Controls keys.
const (
	OpCreateQueue             = "CreateQueue"
	OpSetQueueAttributes      = "SetQueueAttributes"
	OpGetQueueAttributes      = "GetQueueAttributes"
	OpDeleteQueue             = "DeleteQueue"
	OpListQueue               = "ListQueue"
	OpSendMessage             = "SendMessage"
	OpBatchSendMessage        = "BatchSendMessage"
	OpReceiveMessage          = "ReceiveMessage"
	OpBatchReceiveMessage     = "BatchReceiveMessage"
	OpPeekMessage             = "PeekMessage"
	OpBatchPeekMessage        = "BatchPeekMessage"
	OpDeleteMessage           = "DeleteMessage"
	OpBatchDeleteMessage      = "BatchDeleteMessage"
	OpChangeMessageVisibility = "ChangeMessageVisibility"
)

// call is one routed request.
type call struct {
	op     string
	queue  string
	query  url.Values
	header http.Header
	body   []byte
	send   sendRequest // parsed body of SendMessage / BatchSendMessage
	ctx    context.Context
}

// response is what an operation answers: a status and an optional body.
type response struct {
	status int
	body   []byte
	header map[string]string
}

// ServeHTTP serves the MNS queue REST API: /queues, /queues/<name> and
// /queues/<name>/messages. Every request is authenticated, then passed
// through core.Controls under "mns/<Operation>".
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := core.NewHexID(12)
	h := w.Header()
	h.Set("x-mns-request-id", reqID)
	h.Set("x-mns-version", APIVersion)

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxRequestBytes))
	if err != nil {
		s.writeError(w, reqID, errInvalidArgument("The request body could not be read: %v.", err))
		return
	}
	if isTopicRequest(r) { // topics_http.go
		s.serveTopics(w, r, reqID, body)
		return
	}
	c, routeErr := route(r, body)
	if e := s.authenticate(r, body); e != nil {
		s.writeError(w, reqID, e)
		return
	}
	if routeErr != nil {
		s.writeError(w, reqID, routeErr)
		return
	}
	if e := s.authorize(r, c); e != nil {
		s.writeError(w, reqID, e)
		return
	}
	switch s.env.Controls.Decide(r.Context(), controlsService, c.op) {
	case core.Throttle:
		s.writeError(w, reqID, newError(statusQPSLimitExceeded, CodeQPSLimitExceeded,
			"The QPS of %s exceeded the limit.", c.op))
		return
	case core.ServerFault:
		s.writeError(w, reqID, errInternal())
		return
	case core.DropConnection:
		core.HangUp(w)
		return
	}

	if (c.op == OpSendMessage || c.op == OpBatchSendMessage) && s.refuseSend(c.queue) {
		s.writeError(w, reqID, errInternal())
		return
	}
	resp, err := s.dispatch(c)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			// The client went away during a long poll; nobody reads this.
			e = errMessageNotExist()
		}
		s.writeError(w, reqID, e)
		return
	}
	for k, v := range resp.header {
		h.Set(k, v)
	}
	if len(resp.body) > 0 {
		h.Set("Content-Type", "text/xml;charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

func (s *Service) writeError(w http.ResponseWriter, reqID string, e *Error) {
	var x xmlWriter
	x.root("Error")
	x.text("Code", e.Code)
	x.text("Message", e.Message)
	x.text("RequestId", reqID)
	x.text("HostId", s.hostID)
	x.close("Error")
	h := w.Header()
	h.Set("Content-Type", "text/xml;charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(x.Len()))
	w.WriteHeader(e.Status)
	_, _ = w.Write(x.Bytes())
}

func errBadURL(r *http.Request) *Error {
	return newError(http.StatusBadRequest, CodeInvalidRequestURL, "The request URL %s %s is not a queue operation.", r.Method, r.URL.Path)
}

// route names the operation of r. It parses send bodies, because only the
// root element tells SendMessage from BatchSendMessage.
func route(r *http.Request, body []byte) (*call, *Error) {
	c := &call{query: r.URL.Query(), header: r.Header, body: body, ctx: r.Context()}
	path := r.URL.Path
	if path == "/queues" || path == "/queues/" {
		if r.Method != http.MethodGet {
			return nil, errBadURL(r)
		}
		c.op = OpListQueue
		return c, nil
	}
	rest, ok := strings.CutPrefix(path, "/queues/")
	if !ok {
		return nil, errBadURL(r)
	}
	name, sub, hasSub := strings.Cut(rest, "/")
	c.queue = name
	if !hasSub {
		switch r.Method {
		case http.MethodPut:
			c.op = OpCreateQueue
			if c.query.Get("metaoverride") == "true" {
				c.op = OpSetQueueAttributes
			}
		case http.MethodGet:
			c.op = OpGetQueueAttributes
		case http.MethodDelete:
			c.op = OpDeleteQueue
		default:
			return nil, errBadURL(r)
		}
		return c, nil
	}
	if sub != "messages" {
		return nil, errBadURL(r)
	}
	switch r.Method {
	case http.MethodPost:
		if err := xml.Unmarshal(body, &c.send); err != nil {
			c.op = OpSendMessage
			return c, errMalformedXML(err)
		}
		switch c.send.XMLName.Local {
		case "Message":
			c.op = OpSendMessage
		case "Messages":
			c.op = OpBatchSendMessage
		default:
			return c, errMalformedXML(errors.New("root element must be Message or Messages"))
		}
	case http.MethodGet:
		peek := c.query.Get("peekonly") == "true"
		batch := c.query.Has("numOfMessages")
		switch {
		case peek && batch:
			c.op = OpBatchPeekMessage
		case peek:
			c.op = OpPeekMessage
		case batch:
			c.op = OpBatchReceiveMessage
		default:
			c.op = OpReceiveMessage
		}
	case http.MethodDelete:
		c.op = OpBatchDeleteMessage
		if c.query.Has("ReceiptHandle") {
			c.op = OpDeleteMessage
		}
	case http.MethodPut:
		c.op = OpChangeMessageVisibility
	default:
		return nil, errBadURL(r)
	}
	return c, nil
}

func (s *Service) dispatch(c *call) (response, error) {
	switch c.op {
	case OpCreateQueue:
		return s.httpCreateQueue(c)
	case OpSetQueueAttributes:
		return s.httpSetQueueAttributes(c)
	case OpGetQueueAttributes:
		return s.httpGetQueueAttributes(c)
	case OpDeleteQueue:
		if err := s.deleteQueue(c.queue); err != nil {
			return response{}, err
		}
		return response{status: http.StatusNoContent}, nil
	case OpListQueue:
		return s.httpListQueue(c)
	case OpSendMessage:
		return s.httpSend(c)
	case OpBatchSendMessage:
		return s.httpBatchSend(c)
	case OpReceiveMessage, OpBatchReceiveMessage, OpPeekMessage, OpBatchPeekMessage:
		return s.httpReceive(c)
	case OpDeleteMessage:
		return s.httpDelete(c)
	case OpBatchDeleteMessage:
		return s.httpBatchDelete(c)
	case OpChangeMessageVisibility:
		return s.httpChangeVisibility(c)
	}
	return response{}, errInternal()
}

func parseQueueRequest(body []byte) (queueRequest, *Error) {
	var req queueRequest
	if len(bytes.TrimSpace(body)) == 0 {
		return req, nil
	}
	if err := xml.Unmarshal(body, &req); err != nil {
		return req, errMalformedXML(err)
	}
	return req, nil
}

func (s *Service) queueURL(name string) string { return s.hostID + "/queues/" + name }

func (s *Service) httpCreateQueue(c *call) (response, error) {
	if err := validateQueueName(c.queue); err != nil {
		return response{}, err
	}
	req, err := parseQueueRequest(c.body)
	if err != nil {
		return response{}, err
	}
	attrs := req.apply(DefaultQueueAttributes())
	if err := attrs.validate(); err != nil {
		return response{}, err
	}
	created, err := s.createQueue(c.queue, attrs)
	if err != nil {
		return response{}, err
	}
	if !created {
		return response{status: http.StatusNoContent}, nil
	}
	return response{status: http.StatusCreated, header: map[string]string{"Location": s.queueURL(c.queue)}}, nil
}

func (s *Service) httpSetQueueAttributes(c *call) (response, error) {
	req, err := parseQueueRequest(c.body)
	if err != nil {
		return response{}, err
	}
	now := s.nowMS()
	q, err := s.lockQueue(c.queue)
	if err != nil {
		return response{}, err
	}
	defer q.mu.Unlock()
	attrs := req.apply(q.attrs)
	if err := attrs.validate(); err != nil {
		return response{}, err
	}
	q.attrs = attrs
	q.modifiedAt = now
	q.maintainLocked(now)
	q.signalLocked()
	return response{status: http.StatusNoContent}, nil
}

func (q *queue) metaLocked(now int64) queueMeta {
	q.maintainLocked(now)
	a, i, d := q.countsLocked()
	return queueMeta{name: q.name, attrs: q.attrs, createdAt: q.createdAt, modifiedAt: q.modifiedAt,
		active: a, inactive: i, delayed: d}
}

func (s *Service) httpGetQueueAttributes(c *call) (response, error) {
	now := s.nowMS()
	q, err := s.lockQueue(c.queue)
	if err != nil {
		return response{}, err
	}
	meta := q.metaLocked(now)
	q.mu.Unlock()
	var x xmlWriter
	x.root("Queue")
	x.queueMeta(meta)
	x.close("Queue")
	return response{status: http.StatusOK, body: x.Bytes()}, nil
}

// maxListQueue is the largest x-mns-ret-number, also the default.
const maxListQueue = 1000

func (s *Service) httpListQueue(c *call) (response, error) {
	limit := maxListQueue
	if v := c.header.Get("x-mns-ret-number"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListQueue {
			return response{}, errRange("x-mns-ret-number", 1, maxListQueue)
		}
		limit = n
	}
	marker := c.header.Get("x-mns-marker")
	withMeta := strings.EqualFold(c.header.Get("x-mns-with-meta"), "true")
	all := s.sortedQueues(c.header.Get("x-mns-prefix"))

	now := s.nowMS()
	var x xmlWriter
	x.root("Queues")
	n := 0
	for i, q := range all {
		if q.name < marker {
			continue
		}
		if n == limit {
			x.text("NextMarker", all[i].name)
			break
		}
		n++
		x.open("Queue")
		x.text("QueueURL", s.queueURL(q.name))
		if withMeta {
			q.mu.Lock()
			meta := q.metaLocked(now)
			q.mu.Unlock()
			x.queueMeta(meta)
		}
		x.close("Queue")
	}
	x.close("Queues")
	return response{status: http.StatusOK, body: x.Bytes()}, nil
}

func (s *Service) httpSend(c *call) (response, error) {
	body := ""
	if c.send.MessageBody != nil {
		body = *c.send.MessageBody
	}
	priority := int64(0)
	if c.send.Priority != nil {
		priority = *c.send.Priority
	}
	now := s.nowMS()
	q, err := s.lockQueue(c.queue)
	if err != nil {
		return response{}, err
	}
	spec, err := q.checkSendLocked(body, c.send.DelaySeconds, priority)
	if err != nil {
		q.mu.Unlock()
		return response{}, err
	}
	q.maintainLocked(now)
	m := q.enqueueLocked(spec, now)
	id, md5 := m.id, m.bodyMD5
	q.mu.Unlock()

	var x xmlWriter
	x.root("Message")
	x.text("MessageId", id)
	x.text("MessageBodyMD5", md5)
	x.close("Message")
	return response{status: http.StatusCreated, body: x.Bytes()}, nil
}

func (s *Service) httpBatchSend(c *call) (response, error) {
	entries := c.send.Messages
	if len(entries) < 1 || len(entries) > maxBatch {
		return response{}, errRange("the count of Message", 1, maxBatch)
	}
	total := 0
	for _, e := range entries {
		if e.MessageBody != nil {
			total += len(*e.MessageBody)
		}
	}
	if total > maxBatchSendBytes {
		return response{}, errInvalidArgument("The total size of the batch should not exceed %d bytes, got %d.", maxBatchSendBytes, total)
	}
	type result struct {
		id, md5 string
		err     *Error
	}
	results := make([]result, len(entries))
	failed := false
	now := s.nowMS()
	q, err := s.lockQueue(c.queue)
	if err != nil {
		return response{}, err
	}
	q.maintainLocked(now)
	for i, e := range entries {
		body := ""
		if e.MessageBody != nil {
			body = *e.MessageBody
		}
		priority := int64(0)
		if e.Priority != nil {
			priority = *e.Priority
		}
		spec, err := q.checkSendLocked(body, e.DelaySeconds, priority)
		if err != nil {
			results[i].err = err
			failed = true
			continue
		}
		m := q.enqueueLocked(spec, now)
		results[i].id, results[i].md5 = m.id, m.bodyMD5
	}
	q.mu.Unlock()

	var x xmlWriter
	x.root("Messages")
	for _, r := range results {
		x.open("Message")
		if r.err != nil {
			x.text("ErrorCode", r.err.Code)
			x.text("ErrorMessage", r.err.Message)
		} else {
			x.text("MessageId", r.id)
			x.text("MessageBodyMD5", r.md5)
		}
		x.close("Message")
	}
	x.close("Messages")
	status := http.StatusCreated
	if failed {
		status = statusBatchSendPartial
	}
	return response{status: status, body: x.Bytes()}, nil
}

func queryInt(c *call, name string, lo, hi int64) (int64, bool, *Error) {
	if !c.query.Has(name) {
		return 0, false, nil
	}
	v, err := strconv.ParseInt(c.query.Get(name), 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, true, errRange(name, lo, hi)
	}
	return v, true, nil
}

func (s *Service) httpReceive(c *call) (response, error) {
	batch := c.op == OpBatchReceiveMessage || c.op == OpBatchPeekMessage
	peek := c.op == OpPeekMessage || c.op == OpBatchPeekMessage
	n := int64(1)
	if batch {
		v, _, err := queryInt(c, "numOfMessages", 1, maxBatch)
		if err != nil {
			return response{}, err
		}
		n = v
	}
	waitSec, hasWait, werr := queryInt(c, "waitseconds", 0, maxPollingWait)
	if werr != nil {
		return response{}, werr
	}
	q, err := s.queue(c.queue)
	if err != nil {
		return response{}, err
	}
	if !hasWait {
		q.mu.Lock()
		waitSec = int64(q.attrs.PollingWaitSeconds)
		q.mu.Unlock()
	}
	if peek {
		waitSec = 0
	}
	msgs, rerr := s.receive(c.ctx, q, int(n), time.Duration(waitSec)*time.Second, peek)
	if rerr != nil {
		return response{}, rerr
	}

	var x xmlWriter
	if !batch {
		x.root("Message")
		x.message(msgs[0])
		x.close("Message")
		return response{status: http.StatusOK, body: x.Bytes()}, nil
	}
	x.root("Messages")
	for _, m := range msgs {
		x.open("Message")
		x.message(m)
		x.close("Message")
	}
	x.close("Messages")
	return response{status: http.StatusOK, body: x.Bytes()}, nil
}

func errMissingHandle() *Error {
	return newError(http.StatusBadRequest, CodeMissingReceiptHandle, "The ReceiptHandle you provided is missing.")
}

func (s *Service) httpDelete(c *call) (response, error) {
	h := c.query.Get("ReceiptHandle")
	if h == "" {
		return response{}, errMissingHandle()
	}
	if err := s.Delete(c.queue, h); err != nil {
		return response{}, err
	}
	return response{status: http.StatusNoContent}, nil
}

func (s *Service) httpBatchDelete(c *call) (response, error) {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return response{}, errMissingHandle()
	}
	var req receiptHandlesRequest
	if err := xml.Unmarshal(c.body, &req); err != nil {
		return response{}, errMalformedXML(err)
	}
	if len(req.Handles) < 1 || len(req.Handles) > maxBatch {
		return response{}, errRange("the count of ReceiptHandle", 1, maxBatch)
	}
	type failure struct {
		handle string
		err    *Error
	}
	var failures []failure
	now := s.nowMS()
	q, err := s.lockQueue(c.queue)
	if err != nil {
		return response{}, err
	}
	q.maintainLocked(now)
	for _, h := range req.Handles {
		if err := q.deleteLocked(h, now); err != nil {
			failures = append(failures, failure{h, err})
		}
	}
	q.mu.Unlock()
	if len(failures) == 0 {
		return response{status: http.StatusNoContent}, nil
	}
	var x xmlWriter
	x.root("Errors")
	for _, f := range failures {
		x.open("Error")
		x.text("ErrorCode", f.err.Code)
		x.text("ErrorMessage", f.err.Message)
		x.text("ReceiptHandle", f.handle)
		x.close("Error")
	}
	x.close("Errors")
	return response{status: statusBatchDeletePartial, body: x.Bytes()}, nil
}

func (s *Service) httpChangeVisibility(c *call) (response, error) {
	h := c.query.Get("ReceiptHandle")
	if h == "" {
		return response{}, errMissingHandle()
	}
	secs, has, err := queryInt(c, "VisibilityTimeout", minVisibilityTimeout, maxVisibilityTimeout)
	if err != nil {
		return response{}, err
	}
	if !has {
		return response{}, newError(http.StatusBadRequest, CodeMissingVisibilityTimeout,
			"The VisibilityTimeout you provided is missing.")
	}
	m, err := s.changeVisibility(c.queue, h, secs)
	if err != nil {
		return response{}, err
	}
	var x xmlWriter
	x.root("ChangeVisibility")
	x.text("ReceiptHandle", m.ReceiptHandle)
	x.num("NextVisibleTime", timeMS(m.NextVisibleTime))
	x.close("ChangeVisibility")
	return response{status: http.StatusOK, body: x.Bytes()}, nil
}
