package ecsapi

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/cloudauth"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/retry"
)

// Defaults applied by New when a Config field is zero.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultReadTimeout    = 10 * time.Second
	// DefaultMaxIdleConns bounds the idle keep-alive connections kept to the
	// endpoint; it is the largest useful concurrency of one function instance.
	DefaultMaxIdleConns = 32
)

// Config says where and as whom the client talks to ECS.
type Config struct {
	// RegionID is the default region; each method also takes a region, and
	// an empty one means this.
	RegionID string
	// Endpoint overrides the public endpoint (localcloud): "host:port" or
	// "http://host:port" talk plain HTTP, "https://host[:port]" or a bare
	// "host" talk HTTPS. Empty means the region's public HTTPS endpoint.
	Endpoint string
	// ESSEndpoint and ECIEndpoint override the Auto Scaling and ECI
	// endpoints, read like Endpoint. Empty: Endpoint when that is set (an
	// emulator such as localcloud serves every product at one address,
	// routed by Version), else each product's public endpoint.
	ESSEndpoint, ECIEndpoint string
	// Credentials: an AccessKey pair, plus SecurityToken for STS.
	Credentials cloudauth.Credentials
	// RateLimit is the client-side limit per action in calls per second
	// (0 = no limit). RateLimits overrides it for single actions, by ECS
	// action name (e.g. "JoinSecurityGroup").
	RateLimit  float64
	RateLimits map[string]float64
	// Limiter, when set, replaces RateLimit and RateLimits with a limiter
	// shared between clients (see RateLimiter).
	Limiter *RateLimiter
	// TemplateVersions shares what launch template versions name between
	// clients (nil: the client keeps its own). See LaunchTemplateGroups.
	TemplateVersions *TemplateVersionCache
	// Retry is the back-off policy for throttled and transient failures; the
	// zero Policy means retry.Default(). MaxAttempts 1 disables retries.
	// Its Sleep and Now, when set, also drive the rate limiter's waits, so
	// a test clock governs both.
	Retry retry.Policy
	// ConnectTimeout and ReadTimeout bound one HTTP attempt (0 = defaults).
	// The context's deadline bounds the whole call, retries included.
	ConnectTimeout time.Duration
	ReadTimeout    time.Duration
}

// endpoint is the parsed Config.Endpoint.
type endpoint struct {
	host   string // host[:port], "" = public endpoint
	scheme string // "HTTP" or "HTTPS"
}

func parseEndpoint(s string) (endpoint, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return endpoint{scheme: "HTTPS"}, nil
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return endpoint{}, fmt.Errorf("endpoint %q is not a URL: %v", s, err)
		}
		if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return endpoint{}, fmt.Errorf("endpoint %q must be scheme://host[:port] without path, query or user", s)
		}
		switch strings.ToLower(u.Scheme) {
		case "http":
			return endpoint{host: u.Host, scheme: "HTTP"}, nil
		case "https":
			return endpoint{host: u.Host, scheme: "HTTPS"}, nil
		default:
			return endpoint{}, fmt.Errorf("endpoint %q: scheme must be http or https", s)
		}
	}
	if strings.ContainsAny(s, "/?#@ ") {
		return endpoint{}, fmt.Errorf("endpoint %q must be host[:port] or a http(s):// URL", s)
	}
	if _, port, err := net.SplitHostPort(s); err == nil && port != "" {
		return endpoint{host: s, scheme: "HTTP"}, nil
	}
	return endpoint{host: s, scheme: "HTTPS"}, nil
}

// validate checks the config and returns it with defaults filled in. Error
// texts name fields and allowed ranges, never credential values.
func (c Config) validate() (Config, endpoint, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if !domain.ValidRegionID(c.RegionID) {
		bad("RegionID %q is not a region ID such as cn-hangzhou", c.RegionID)
	}
	ep, err := parseEndpoint(c.Endpoint)
	if err != nil {
		errs = append(errs, err)
	}
	if c.Credentials.AccessKeyID == "" || c.Credentials.AccessKeySecret == "" {
		bad("Credentials need both AccessKeyID and AccessKeySecret")
	}
	checkRate := func(name string, r float64) {
		if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
			bad("%s must be a finite number of calls per second ≥ 0 (0 = no limit), got %v", name, r)
		}
	}
	checkRate("RateLimit", c.RateLimit)
	for action, r := range c.RateLimits {
		if action == "" {
			bad("RateLimits has an empty action name")
		}
		checkRate("RateLimits["+action+"]", r)
	}
	if c.Retry.MaxAttempts < 0 || c.Retry.BaseDelay < 0 || c.Retry.MaxDelay < 0 || c.Retry.DeadlineMargin < 0 {
		bad("Retry: MaxAttempts and delays must be ≥ 0")
	}
	if c.Retry.BaseDelay > 0 && c.Retry.MaxDelay > 0 && c.Retry.MaxDelay < c.Retry.BaseDelay {
		bad("Retry.MaxDelay (%s) must be ≥ Retry.BaseDelay (%s)", c.Retry.MaxDelay, c.Retry.BaseDelay)
	}
	if c.ConnectTimeout < 0 || c.ReadTimeout < 0 {
		bad("ConnectTimeout and ReadTimeout must be ≥ 0 (0 = default)")
	}
	if len(errs) > 0 {
		return c, ep, domain.Wrap(domain.KindInvalid, "ecs config", "", errors.Join(errs...))
	}

	if c.Retry.MaxAttempts == 0 && c.Retry.BaseDelay == 0 && c.Retry.MaxDelay == 0 {
		d := retry.Default()
		d.Sleep, d.Now, d.Jitter = c.Retry.Sleep, c.Retry.Now, c.Retry.Jitter
		if c.Retry.DeadlineMargin != 0 {
			d.DeadlineMargin = c.Retry.DeadlineMargin
		}
		c.Retry = d
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	return c, ep, nil
}
