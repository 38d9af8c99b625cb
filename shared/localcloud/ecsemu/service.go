package ecsemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

// APIVersion is the only ECS API version served.
const APIVersion = "2014-05-26"

// Service is the ECS emulator: an http.Handler speaking the ECS RPC API over
// one emulated account. Safe for concurrent use.
type Service struct {
	env   *core.Env
	opts  Options
	nonce *nonceCache

	mu sync.Mutex // guards w
	w  *world
	// pubMu orders event publication: it is taken before mu is released so
	// events leave in the order their changes were made, yet subscribers run
	// without mu held.
	pubMu sync.Mutex

	defaultVPC     string
	defaultVSwitch string

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// call is the context of one API call.
type call struct {
	action    string
	region    string
	requestID string
	now       time.Time // emulated time
	p         params
	akid      string
	sts       bool
	remote    string
	userAgent string
	events    []core.CloudEvent
}

type handler func(s *Service, c *call) (any, *apiError)

var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"DescribeRegions":                 (*Service).describeRegions,
		"DescribeInstances":               (*Service).describeInstances,
		"RunInstances":                    (*Service).runInstances,
		"DeleteInstance":                  (*Service).deleteInstance,
		"DeleteInstances":                 (*Service).deleteInstances,
		"StopInstance":                    (*Service).stopInstance,
		"StartInstance":                   (*Service).startInstance,
		"ModifyInstanceAttribute":         (*Service).modifyInstanceAttribute,
		"DescribeSecurityGroups":          (*Service).describeSecurityGroups,
		"DescribeSecurityGroupAttribute":  (*Service).describeSecurityGroupAttribute,
		"DescribeSecurityGroupReferences": (*Service).describeSecurityGroupReferences,
		"CreateSecurityGroup":             (*Service).createSecurityGroup,
		"DeleteSecurityGroup":             (*Service).deleteSecurityGroup,
		"AuthorizeSecurityGroup":          (*Service).authorizeSecurityGroup,
		"RevokeSecurityGroup":             (*Service).revokeSecurityGroup,
		"AuthorizeSecurityGroupEgress":    (*Service).authorizeSecurityGroupEgress,
		"RevokeSecurityGroupEgress":       (*Service).revokeSecurityGroupEgress,
		"ModifySecurityGroupPolicy":       (*Service).modifySecurityGroupPolicy,
		"JoinSecurityGroup":               (*Service).joinSecurityGroup,
		"LeaveSecurityGroup":              (*Service).leaveSecurityGroup,
		"DescribeNetworkInterfaces":       (*Service).describeNetworkInterfaces,
		"CreateNetworkInterface":          (*Service).createNetworkInterface,
		"AttachNetworkInterface":          (*Service).attachNetworkInterface,
		"DetachNetworkInterface":          (*Service).detachNetworkInterface,
		"DeleteNetworkInterface":          (*Service).deleteNetworkInterface,
		"TagResources":                    (*Service).tagResources,
		"UntagResources":                  (*Service).untagResources,
		"ListTagResources":                (*Service).listTagResources,
		"DescribeLaunchTemplates":         (*Service).describeLaunchTemplates,
		"DescribeLaunchTemplateVersions":  (*Service).describeLaunchTemplateVersions,
		"DescribeVpcs":                    (*Service).describeVpcs,      // vpcs.go
		"DescribeVSwitches":               (*Service).describeVSwitches, // vpcs.go
	}
}

// Actions returns the names of the ECS actions the emulator serves.
func Actions() []string {
	out := make([]string, 0, len(handlers))
	for a := range handlers {
		out = append(out, a)
	}
	return sortedUnique(out)
}

// New returns a Service over env with the default account: region
// opts.Region with one VPC, one vSwitch and the classic network, plus a few
// empty regions for DescribeRegions. It starts the lifecycle goroutine;
// call Close to stop it.
func New(env *core.Env, opts Options) (*Service, error) {
	if env == nil || env.Clock == nil || env.Credentials == nil || env.Controls == nil || env.Events == nil {
		return nil, errors.New("ecsemu: env and all its parts (Clock, Credentials, Controls, Events) are required")
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Service{
		env:   env,
		opts:  o,
		nonce: newNonceCache(o.NonceWindow, o.WallNow()),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	if err := s.Seed(DefaultSeed(o.Region)); err != nil {
		return nil, err
	}
	go s.run()
	return s, nil
}

// Close stops the lifecycle goroutine. The handler keeps answering (state
// changes then happen only when requests arrive).
func (s *Service) Close() error {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
	})
	return nil
}

// DefaultVPCID returns the first VPC of the default region ("" if none).
func (s *Service) DefaultVPCID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.defaultVPC
}

// DefaultVSwitchID returns the first vSwitch of DefaultVPCID ("" if none).
func (s *Service) DefaultVSwitchID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.defaultVSwitch
}

// Region returns the default region.
func (s *Service) Region() string { return s.opts.Region }

// HasRegion reports whether the emulated account has region (seeded or
// default): the other products of localcloud serve the same regions.
func (s *Service) HasRegion(region string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.regions[region] != nil
}

// ServeHTTP serves the ECS RPC API on path "/": GET or POST, parameters in
// the query and/or an x-www-form-urlencoded body, JSON answers.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := core.NewRequestID()
	region := s.opts.Region
	if r.URL.Path != "/" && r.URL.Path != "" {
		s.writeError(w, requestID, region, fromWire(errActionNotFound))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		s.writeError(w, requestID, region, newErr(http.StatusMethodNotAllowed, "UnsupportedHTTPMethod",
			"The HTTP method %s is not supported.", r.Method))
		return
	}
	if err := r.ParseForm(); err != nil {
		s.writeError(w, requestID, region, newErr(http.StatusBadRequest, "InvalidParameter",
			"The request parameters could not be parsed: %v", err))
		return
	}
	if rg := r.Form.Get("RegionId"); rg != "" {
		region = rg
	}
	c, apiErr := s.authenticate(r, requestID, region)
	if apiErr != nil {
		s.writeError(w, requestID, region, apiErr)
		return
	}
	h := handlers[c.action]
	switch s.env.Controls.Decide(r.Context(), "ecs", c.action) {
	case core.Throttle:
		s.writeError(w, requestID, region, fromWire(errThrottled))
		return
	case core.ServerFault:
		s.writeError(w, requestID, region, fromWire(errServerFault))
		return
	case core.DropConnection:
		core.HangUp(w)
		return
	}
	if c.action != "DescribeRegions" {
		if c.region == "" {
			s.writeError(w, requestID, region, newErr(http.StatusBadRequest, "MissingParameter.RegionId",
				"The input parameter \"RegionId\" that is mandatory for processing this request is not supplied."))
			return
		}
	}
	s.mu.Lock()
	if c.region != "" && s.w.regions[c.region] == nil {
		s.mu.Unlock()
		s.writeError(w, requestID, region, newErr(http.StatusNotFound, "InvalidRegionId.NotFound",
			"The specified RegionId does not exist. (%s)", c.region))
		return
	}
	if apiErr := s.authorizeLocked(c); apiErr != nil {
		s.mu.Unlock()
		s.writeError(w, requestID, region, apiErr)
		return
	}
	c.now = s.env.Clock.Now()
	s.advanceLocked(c.now, &c.events)
	resp, apiErr := h(s, c)
	s.pubMu.Lock()
	s.mu.Unlock()
	for _, ev := range c.events {
		s.env.Events.Publish(ev)
	}
	s.pubMu.Unlock()
	if apiErr != nil {
		s.writeError(w, requestID, region, apiErr)
		return
	}
	s.writeJSON(w, http.StatusOK, requestID, resp)
}

// authenticate checks the common parameters and the signature, and returns
// the call context.
func (s *Service) authenticate(r *http.Request, requestID, region string) (*call, *apiError) {
	form := r.Form
	p := make(params, len(form))
	for k, vs := range form {
		if len(vs) > 0 {
			p[k] = vs[0]
		}
	}
	akid := p.str("AccessKeyId")
	sig := p.str("Signature")
	sts := StringToSign(r.Method, form)
	if sig == "" {
		return nil, sigMismatch(sts)
	}
	if akid == "" {
		return nil, fromWire(errAccessKeyNotFound)
	}
	if m := p.str("SignatureMethod"); m != "" && m != "HMAC-SHA1" {
		return nil, fromWire(errUnsupportedSigMethod)
	}
	if v := p.str("SignatureVersion"); v != "" && v != "1.0" {
		return nil, fromWire(errUnsupportedSigMethod)
	}
	token := p.str("SecurityToken")
	secret, err := s.env.Credentials.Lookup(akid, token)
	switch {
	case errors.Is(err, core.ErrUnknownAccessKey):
		return nil, fromWire(errAccessKeyNotFound)
	case errors.Is(err, core.ErrSecurityTokenExpired):
		return nil, fromWire(errTokenExpired)
	case err != nil:
		return nil, fromWire(errTokenMismatch)
	}
	if Sign(secret, sts) != sig {
		return nil, sigMismatch(sts)
	}
	ts := p.str("Timestamp")
	if ts == "" {
		return nil, errMissing("Timestamp")
	}
	t, perr := time.Parse("2006-01-02T15:04:05Z", ts)
	if perr != nil {
		return nil, fromWire(errTimestampFormat)
	}
	if d := s.opts.WallNow().Sub(t); d > s.opts.TimestampSkew || d < -s.opts.TimestampSkew {
		return nil, fromWire(errTimestampExpired)
	}
	nonce := p.str("SignatureNonce")
	if nonce == "" {
		return nil, errMissing("SignatureNonce")
	}
	if s.nonce.seen(akid+"\x00"+nonce, s.opts.WallNow()) {
		return nil, fromWire(errNonceUsed)
	}
	action := p.str("Action")
	if _, ok := handlers[action]; !ok {
		return nil, fromWire(errActionNotFound)
	}
	if v := p.str("Version"); v != APIVersion {
		return nil, fromWire(errInvalidVersion)
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	return &call{
		action:    action,
		region:    p.str("RegionId"),
		requestID: requestID,
		p:         p,
		akid:      akid,
		sts:       token != "",
		remote:    host,
		userAgent: r.UserAgent(),
	}, nil
}

func sigMismatch(sts string) *apiError {
	e := fromWire(errSignatureDoesNotMatch)
	e.Message += " server string to sign is:" + sts
	return e
}

type errorBody struct {
	RequestID string `json:"RequestId"`
	HostID    string `json:"HostId"`
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	Recommend string `json:"Recommend"`
	// AccessDeniedDetail: only on RAM refusals; the SDK wants an object.
	AccessDeniedDetail any `json:"AccessDeniedDetail,omitempty"`
}

func hostID(region string) string { return "ecs." + region + ".aliyuncs.com" }

func (s *Service) writeError(w http.ResponseWriter, requestID, region string, e *apiError) {
	body := errorBody{
		RequestID: requestID,
		HostID:    hostID(region),
		Code:      e.Code,
		Message:   e.Message,
		Recommend: "https://api.aliyun.com/troubleshoot?q=" + e.Code + "&product=Ecs&requestId=" + requestID,

		AccessDeniedDetail: e.Detail,
	}
	s.writeJSON(w, e.Status, requestID, body)
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (s *Service) writeJSON(w http.ResponseWriter, status int, requestID string, v any) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		buf.Reset()
		status = http.StatusInternalServerError
		_ = json.NewEncoder(buf).Encode(errorBody{RequestID: requestID, HostID: hostID(s.opts.Region),
			Code: "InternalError", Message: "The request processing has failed due to some unknown error.",
			Recommend: ""})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=utf-8")
	h.Set("x-acs-request-id", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(bytes.TrimRight(buf.Bytes(), "\n"))
}
