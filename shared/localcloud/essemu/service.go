package essemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
)

// Defaults of Options.
const (
	DefaultRegion        = "cn-hangzhou"
	DefaultTimestampSkew = 15 * time.Minute
	DefaultNonceWindow   = 15 * time.Minute
)

// Options configures a Service; zero fields take the defaults.
type Options struct {
	// Region is the default region; Regions lists every region served
	// (default: Region only).
	Region  string
	Regions []string
	// HasRegion, when set, also serves every region it accepts (localcloud
	// passes the ECS emulator's, so that a seeded region has Auto Scaling
	// and ECI as it has in the cloud).
	HasRegion func(string) bool
	// TimestampSkew and NonceWindow as for ecsemu.
	TimestampSkew time.Duration
	NonceWindow   time.Duration
	// WallNow is the wall clock for signature checks (default time.Now).
	WallNow func() time.Time
}

// Service is the ESS and ECI emulator. Safe for concurrent use.
type Service struct {
	env  *core.Env
	opts Options

	nonceMu sync.Mutex
	nonces  map[string]time.Time

	mu sync.Mutex
	st *state
}

// New returns an empty Service over env.
func New(env *core.Env, opts Options) (*Service, error) {
	if env == nil || env.Clock == nil || env.Credentials == nil || env.Controls == nil {
		return nil, errors.New("essemu: env with Clock, Credentials and Controls is required")
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if len(opts.Regions) == 0 {
		opts.Regions = []string{opts.Region}
	}
	if opts.TimestampSkew == 0 {
		opts.TimestampSkew = DefaultTimestampSkew
	}
	if opts.NonceWindow == 0 {
		opts.NonceWindow = DefaultNonceWindow
	}
	if opts.WallNow == nil {
		opts.WallNow = time.Now
	}
	return &Service{env: env, opts: opts, nonces: map[string]time.Time{}, st: newState()}, nil
}

// call is one API call.
type call struct {
	product   string // "ess" or "eci"
	action    string
	region    string
	requestID string
	now       time.Time
	p         params
}

type handler func(s *Service, c *call) (any, *apiError)

// Handles reports whether a request (its parsed Form) is one for this
// emulator, by its Version parameter: localcloud routes "/" with it.
func Handles(form map[string][]string) bool {
	v := ""
	if vs := form["Version"]; len(vs) > 0 {
		v = vs[0]
	}
	return v == ESSVersion || v == ECIVersion
}

// Actions returns "product/action" for every action served.
func Actions() []string {
	var out []string
	for a := range essHandlers {
		out = append(out, "ess/"+a)
	}
	for a := range eciHandlers {
		out = append(out, "eci/"+a)
	}
	return out
}

// ServeHTTP serves the ESS and ECI RPC APIs on "/".
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := core.NewRequestID()
	if r.URL.Path != "/" && r.URL.Path != "" {
		s.writeError(w, requestID, "ess", fromWire(errActionNotFound))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		s.writeError(w, requestID, "ess", newErr(http.StatusMethodNotAllowed, "UnsupportedHTTPMethod",
			"The HTTP method %s is not supported.", r.Method))
		return
	}
	if err := r.ParseForm(); err != nil {
		s.writeError(w, requestID, "ess", newErr(http.StatusBadRequest, "InvalidParameter",
			"The request parameters could not be parsed: %v", err))
		return
	}
	c, h, apiErr := s.authenticate(r, requestID)
	if apiErr != nil {
		product := "ess"
		if c != nil {
			product = c.product
		}
		s.writeError(w, requestID, product, apiErr)
		return
	}
	switch s.env.Controls.Decide(r.Context(), c.product, c.action) {
	case core.Throttle:
		s.writeError(w, requestID, c.product, fromWire(errThrottled))
		return
	case core.ServerFault:
		s.writeError(w, requestID, c.product, fromWire(errServerFault))
		return
	case core.DropConnection:
		core.HangUp(w)
		return
	}
	if c.region == "" {
		s.writeError(w, requestID, c.product, fromWire(errMissingRegion))
		return
	}
	known := s.opts.HasRegion != nil && s.opts.HasRegion(c.region)
	for _, rg := range s.opts.Regions {
		known = known || rg == c.region
	}
	if !known {
		s.writeError(w, requestID, c.product, fromWire(errRegionNotFound))
		return
	}
	if apiErr := s.authorize(c); apiErr != nil {
		s.writeError(w, requestID, c.product, apiErr)
		return
	}
	c.now = s.env.Clock.Now()
	s.mu.Lock()
	resp, apiErr := h(s, c)
	s.mu.Unlock()
	if apiErr != nil {
		s.writeError(w, requestID, c.product, apiErr)
		return
	}
	s.writeJSON(w, http.StatusOK, resp)
}

// authenticate checks the signature and common parameters, with ecsemu's
// signature code (the products share the RPC gateway).
func (s *Service) authenticate(r *http.Request, requestID string) (*call, handler, *apiError) {
	form := r.Form
	p := make(params, len(form))
	for k, vs := range form {
		if len(vs) > 0 {
			p[k] = vs[0]
		}
	}
	c := &call{requestID: requestID, p: p, action: p.str("Action"), region: p.str("RegionId")}
	var table map[string]handler
	switch p.str("Version") {
	case ESSVersion:
		c.product, table = "ess", essHandlers
	case ECIVersion:
		c.product, table = "eci", eciHandlers
	default:
		return nil, nil, fromWire(errInvalidVersion)
	}
	akid, sig := p.str("AccessKeyId"), p.str("Signature")
	sts := ecsemu.StringToSign(r.Method, form)
	if sig == "" {
		return c, nil, sigMismatch(sts)
	}
	if akid == "" {
		return c, nil, fromWire(errAccessKeyNotFound)
	}
	if m := p.str("SignatureMethod"); m != "" && m != "HMAC-SHA1" {
		return c, nil, fromWire(errUnsupportedSigMethod)
	}
	if v := p.str("SignatureVersion"); v != "" && v != "1.0" {
		return c, nil, fromWire(errUnsupportedSigMethod)
	}
	secret, err := s.env.Credentials.Lookup(akid, p.str("SecurityToken"))
	switch {
	case errors.Is(err, core.ErrUnknownAccessKey):
		return c, nil, fromWire(errAccessKeyNotFound)
	case errors.Is(err, core.ErrSecurityTokenExpired):
		return c, nil, fromWire(errTokenExpired)
	case err != nil:
		return c, nil, fromWire(errTokenMismatch)
	}
	if ecsemu.Sign(secret, sts) != sig {
		return c, nil, sigMismatch(sts)
	}
	ts := p.str("Timestamp")
	if ts == "" {
		return c, nil, errMissing("Timestamp")
	}
	t, perr := time.Parse("2006-01-02T15:04:05Z", ts)
	if perr != nil {
		return c, nil, fromWire(errTimestampFormat)
	}
	if d := s.opts.WallNow().Sub(t); d > s.opts.TimestampSkew || d < -s.opts.TimestampSkew {
		return c, nil, fromWire(errTimestampExpired)
	}
	nonce := p.str("SignatureNonce")
	if nonce == "" {
		return c, nil, errMissing("SignatureNonce")
	}
	if s.nonceSeen(akid + "\x00" + nonce) {
		return c, nil, fromWire(errNonceUsed)
	}
	h := table[c.action]
	if h == nil {
		return c, nil, fromWire(errActionNotFound)
	}
	return c, h, nil
}

func (s *Service) nonceSeen(key string) bool {
	now := s.opts.WallNow()
	s.nonceMu.Lock()
	defer s.nonceMu.Unlock()
	if len(s.nonces) > 100000 {
		for k, t := range s.nonces {
			if now.Sub(t) > s.opts.NonceWindow {
				delete(s.nonces, k)
			}
		}
	}
	if t, ok := s.nonces[key]; ok && now.Sub(t) <= s.opts.NonceWindow {
		return true
	}
	s.nonces[key] = now
	return false
}

// apiError is an error answer.
type apiError struct {
	Code    string
	Status  int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message) }

func fromWire(w wireError) *apiError {
	return &apiError{Code: w.Code, Status: w.Status, Message: w.Message}
}

func newErr(status int, code, format string, args ...any) *apiError {
	return &apiError{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

func errMissing(param string) *apiError {
	return newErr(http.StatusBadRequest, "MissingParameter",
		"The input parameter %q that is mandatory for processing this request is not supplied.", param)
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
}

func (s *Service) writeError(w http.ResponseWriter, requestID, product string, e *apiError) {
	w.Header().Set("x-acs-request-id", requestID)
	s.writeJSON(w, e.Status, errorBody{RequestID: requestID, HostID: product + ".aliyuncs.com", Code: e.Code,
		Message: e.Message, Recommend: "https://api.aliyun.com/troubleshoot?q=" + e.Code + "&product=" + product})
}

func (s *Service) writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		buf.Reset()
		status = http.StatusInternalServerError
		buf.WriteString(`{"Code":"InternalError","Message":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(bytes.TrimRight(buf.Bytes(), "\n"))
}

// params are a call's parameters (first value of each).
type params map[string]string

func (p params) str(k string) string { return p[k] }

// indexed returns the values of k.1, k.2, ... (the SDK's Repeated form).
func (p params) indexed(k string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := p[k+"."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		if v != "" {
			out = append(out, v)
		}
	}
}

func (p params) intIn(k string, def, lo, hi int, bad wireError) (int, *apiError) {
	v := strings.TrimSpace(p[k])
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fromWire(bad)
	}
	return n, nil
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04Z") }
