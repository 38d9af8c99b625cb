package mnsemu

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

// isTopicRequest says whether ServeHTTP hands r to serveTopics.
func isTopicRequest(r *http.Request) bool {
	return r.URL.Path == SigningCertPath || r.URL.Path == "/topics" || strings.HasPrefix(r.URL.Path, "/topics/")
}

type topicRequest struct {
	XMLName            xml.Name `xml:"Topic"`
	MaximumMessageSize *int     `xml:"MaximumMessageSize"`
	LoggingEnabled     *bool    `xml:"LoggingEnabled"`
}

type publishRequest struct {
	XMLName     xml.Name `xml:"Message"`
	MessageBody *string  `xml:"MessageBody"`
	MessageTag  string   `xml:"MessageTag"`
}

type subscribeRequest struct {
	XMLName             xml.Name `xml:"Subscription"`
	Endpoint            string   `xml:"Endpoint"`
	FilterTag           string   `xml:"FilterTag"`
	NotifyStrategy      string   `xml:"NotifyStrategy"`
	NotifyContentFormat string   `xml:"NotifyContentFormat"`
}

// serveTopics serves the topic REST API the SDK's topic manager and topic
// use, and the signing certificate (unauthenticated, as OSS serves it).
func (s *Service) serveTopics(w http.ResponseWriter, r *http.Request, reqID string, body []byte) {
	if r.URL.Path == SigningCertPath {
		pemBytes, err := s.SigningCertificate()
		if err != nil {
			s.writeError(w, reqID, errInternal())
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(pemBytes)
		return
	}
	op, topicName, sub, routeErr := routeTopic(r)
	if e := s.authenticate(r, body); e != nil {
		s.writeError(w, reqID, e)
		return
	}
	if routeErr != nil {
		s.writeError(w, reqID, routeErr)
		return
	}
	if e := s.authorizeOn(r, op, s.topicResource(op, topicName, sub)); e != nil {
		s.writeError(w, reqID, e)
		return
	}
	switch s.env.Controls.Decide(r.Context(), controlsService, op) {
	case core.Throttle:
		s.writeError(w, reqID, newError(statusQPSLimitExceeded, CodeQPSLimitExceeded, "The QPS of %s exceeded the limit.", op))
		return
	case core.ServerFault:
		s.writeError(w, reqID, errInternal())
		return
	case core.DropConnection:
		core.HangUp(w)
		return
	}
	resp, err := s.dispatchTopic(r, op, topicName, sub, body)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = errInternal()
		}
		s.writeError(w, reqID, e)
		return
	}
	h := w.Header()
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

func routeTopic(r *http.Request) (op, topicName, sub string, e *Error) {
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/topics"), "/")
	parts := strings.Split(rest, "/")
	override := r.URL.Query().Get("metaoverride") == "true"
	switch {
	case len(parts) == 1 && parts[0] != "":
		switch r.Method {
		case http.MethodPut:
			if override {
				return OpSetTopicAttributes, parts[0], "", nil
			}
			return OpCreateTopic, parts[0], "", nil
		case http.MethodGet:
			return OpGetTopicAttributes, parts[0], "", nil
		case http.MethodDelete:
			return OpDeleteTopic, parts[0], "", nil
		}
	case len(parts) == 2 && parts[1] == "messages" && r.Method == http.MethodPost:
		return OpPublishMessage, parts[0], "", nil
	case len(parts) == 3 && parts[1] == "subscriptions" && parts[2] != "":
		switch r.Method {
		case http.MethodPut:
			if !override {
				return OpSubscribe, parts[0], parts[2], nil
			}
		case http.MethodGet:
			return OpGetSubscriptionAttributes, parts[0], parts[2], nil
		case http.MethodDelete:
			return OpUnsubscribe, parts[0], parts[2], nil
		}
	}
	// ListTopic, ListSubscriptionByTopic and SetSubscriptionAttributes are
	// not modelled.
	return "", "", "", newError(http.StatusBadRequest, CodeInvalidRequestURL, "The request URL %s %s is not a modelled topic operation.", r.Method, r.URL.Path)
}

func (s *Service) dispatchTopic(r *http.Request, op, topicName, sub string, body []byte) (response, error) {
	switch op {
	case OpCreateTopic, OpSetTopicAttributes:
		var req topicRequest
		if len(body) > 0 {
			if err := xml.Unmarshal(body, &req); err != nil {
				return response{}, errMalformedXML(err)
			}
		}
		attrs := TopicAttributes{}
		if req.MaximumMessageSize != nil {
			attrs.MaximumMessageSize = *req.MaximumMessageSize
		}
		if req.LoggingEnabled != nil {
			attrs.LoggingEnabled = *req.LoggingEnabled
		}
		if op == OpSetTopicAttributes {
			return response{status: http.StatusNoContent}, s.setTopicAttributes(topicName, req)
		}
		created, err := s.CreateTopic(topicName, attrs)
		if err != nil {
			return response{}, err
		}
		if !created {
			return response{status: http.StatusNoContent}, nil
		}
		return response{status: http.StatusCreated, header: map[string]string{"Location": s.hostID + "/topics/" + topicName}}, nil
	case OpGetTopicAttributes:
		s.topics.mu.Lock()
		tp, e := s.lockedTopic(topicName)
		if e != nil {
			s.topics.mu.Unlock()
			return response{}, e
		}
		var x xmlWriter
		x.root("Topic")
		x.text("TopicName", tp.name)
		x.num("CreateTime", tp.createdAt/1000)
		x.num("LastModifyTime", tp.modifiedAt/1000)
		x.num("MaximumMessageSize", int64(tp.attrs.MaximumMessageSize))
		x.num("MessageRetentionPeriod", 86400)
		x.num("MessageCount", int64(len(tp.published)))
		x.flag("LoggingEnabled", tp.attrs.LoggingEnabled)
		x.close("Topic")
		s.topics.mu.Unlock()
		return response{status: http.StatusOK, body: x.Bytes()}, nil
	case OpDeleteTopic:
		s.DeleteTopic(topicName)
		return response{status: http.StatusNoContent}, nil
	case OpPublishMessage:
		var req publishRequest
		if err := xml.Unmarshal(body, &req); err != nil {
			return response{}, errMalformedXML(err)
		}
		if req.MessageBody == nil {
			return response{}, errInvalidArgument("The MessageBody element is required.")
		}
		p, err := s.Publish(topicName, *req.MessageBody, req.MessageTag, "http://"+r.Host+SigningCertPath)
		if err != nil {
			return response{}, err
		}
		var x xmlWriter
		x.root("Message")
		x.text("MessageId", p.ID)
		x.text("MessageBodyMD5", bodyMD5(p.Body))
		x.close("Message")
		return response{status: http.StatusCreated, body: x.Bytes()}, nil
	case OpSubscribe:
		var req subscribeRequest
		if err := xml.Unmarshal(body, &req); err != nil {
			return response{}, errMalformedXML(err)
		}
		created, err := s.Subscribe(topicName, SubscriptionAttributes{Name: sub, Endpoint: req.Endpoint, FilterTag: req.FilterTag,
			NotifyStrategy: req.NotifyStrategy, NotifyContentFormat: req.NotifyContentFormat})
		if err != nil {
			return response{}, err
		}
		if !created {
			return response{status: http.StatusNoContent}, nil
		}
		return response{status: http.StatusCreated, header: map[string]string{"Location": s.hostID + "/topics/" + topicName + "/subscriptions/" + sub}}, nil
	case OpGetSubscriptionAttributes:
		s.topics.mu.Lock()
		defer s.topics.mu.Unlock()
		tp, e := s.lockedTopic(topicName)
		if e != nil {
			return response{}, e
		}
		st := tp.subs[sub]
		if st == nil {
			return response{}, errSubscriptionNotExist()
		}
		var x xmlWriter
		x.root("Subscription")
		x.text("SubscriptionName", st.Name)
		x.text("Subscriber", s.env.AccountID)
		x.text("TopicOwner", s.env.AccountID)
		x.text("TopicName", tp.name)
		x.text("Endpoint", st.Endpoint)
		x.text("NotifyStrategy", st.NotifyStrategy)
		x.text("NotifyContentFormat", st.NotifyContentFormat)
		if st.FilterTag != "" {
			x.text("FilterTag", st.FilterTag)
		}
		x.num("CreateTime", st.createdAt/1000)
		x.num("LastModifyTime", st.modifiedAt/1000)
		x.close("Subscription")
		return response{status: http.StatusOK, body: x.Bytes()}, nil
	case OpUnsubscribe:
		if err := s.Unsubscribe(topicName, sub); err != nil {
			return response{}, err
		}
		return response{status: http.StatusNoContent}, nil
	}
	return response{}, errInternal()
}

func (s *Service) setTopicAttributes(name string, req topicRequest) error {
	s.topics.mu.Lock()
	defer s.topics.mu.Unlock()
	tp, e := s.lockedTopic(name)
	if e != nil {
		return e
	}
	if req.MaximumMessageSize != nil {
		if *req.MaximumMessageSize < 1024 || *req.MaximumMessageSize > 65536 {
			return errInvalidArgument("MaximumMessageSize %d: want 1024 to 65536.", *req.MaximumMessageSize)
		}
		tp.attrs.MaximumMessageSize = *req.MaximumMessageSize
	}
	if req.LoggingEnabled != nil {
		tp.attrs.LoggingEnabled = *req.LoggingEnabled
	}
	tp.modifiedAt = s.nowMS()
	return nil
}
