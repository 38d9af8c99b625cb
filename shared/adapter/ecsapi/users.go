package ecsapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/responses"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/eci"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ess"

	"github.com/sgpilot/sgpilot/shared/core/cloudauth"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/retry"
)

// UsersConfig says where and as whom a UsersClient talks to ESS and ECI.
type UsersConfig struct {
	// RegionID is the default region; every method also takes one.
	RegionID string
	// Endpoint overrides the public ESS endpoint, read like
	// Config.Endpoint. ECIEndpoint does the same for ECI; empty
	// means Endpoint when that is set (localcloud serves every product on
	// one address), else ECI's public endpoint.
	Endpoint, ECIEndpoint string
	Credentials           cloudauth.Credentials
	// RateLimit and RateLimits limit calls per action (calls per second,
	// 0 = none); Limiter, when set, replaces both and may be shared with
	// the ECS client.
	RateLimit  float64
	RateLimits map[string]float64
	Limiter    *RateLimiter
	// Retry is the back-off policy (zero = retry.Default()); its Sleep and
	// Now also drive the limiter's waits.
	Retry          retry.Policy
	ConnectTimeout time.Duration
	ReadTimeout    time.Duration
}

// UsersClient reads the services that keep a security group in their
// stored configuration: Auto Scaling (ESS) and ECI. It lives in this package
// because it speaks the same SDK and RPC wire as ECS: one code table
// (classify), one retry rule and, through UsersConfig.Limiter, the very
// limiter of the ECS client. Safe for concurrent use.
type UsersClient struct {
	cfg     UsersConfig
	eps     map[string]endpoint // by product: "ess", "eci"
	base    http.RoundTripper
	limiter *RateLimiter
	pace    *pacing
	pools   map[string]*slotPool // by product
}

// NewUsersClient validates cfg and returns a client. Errors are KindInvalid and name the
// offending fields, never credential values.
func NewUsersClient(cfg UsersConfig) (*UsersClient, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !domain.ValidRegionID(cfg.RegionID) {
		bad("RegionID %q is not a region ID such as cn-hangzhou", cfg.RegionID)
	}
	if cfg.Credentials.AccessKeyID == "" || cfg.Credentials.AccessKeySecret == "" {
		bad("Credentials need both AccessKeyID and AccessKeySecret")
	}
	eps := map[string]endpoint{}
	for product, s := range map[string]string{"ess": cfg.Endpoint, "eci": cfg.ECIEndpoint} {
		if product == "eci" && s == "" {
			s = cfg.Endpoint
		}
		ep, err := parseEndpoint(s)
		if err != nil {
			bad("%s endpoint: %v", product, err)
		}
		eps[product] = ep
	}
	checkRate := func(name string, r float64) {
		if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
			bad("%s must be a finite number of calls per second ≥ 0, got %v", name, r)
		}
	}
	checkRate("RateLimit", cfg.RateLimit)
	for a, r := range cfg.RateLimits {
		checkRate("RateLimits["+a+"]", r)
	}
	if cfg.Retry.MaxAttempts < 0 || cfg.Retry.BaseDelay < 0 || cfg.Retry.MaxDelay < 0 || cfg.ConnectTimeout < 0 || cfg.ReadTimeout < 0 {
		bad("Retry and timeouts must be ≥ 0")
	}
	if len(errs) > 0 {
		return nil, domain.Wrap(domain.KindInvalid, "ess config", "", errors.Join(errs...))
	}
	if cfg.Retry.MaxAttempts == 0 && cfg.Retry.BaseDelay == 0 && cfg.Retry.MaxDelay == 0 {
		d := retry.Default()
		d.Sleep, d.Now, d.Jitter = cfg.Retry.Sleep, cfg.Retry.Now, cfg.Retry.Jitter
		if cfg.Retry.DeadlineMargin != 0 {
			d.DeadlineMargin = cfg.Retry.DeadlineMargin
		}
		cfg.Retry = d
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	c := &UsersClient{
		cfg: cfg, eps: eps,
		base: &http.Transport{Proxy: http.ProxyFromEnvironment, DialContext: dialer.DialContext, MaxIdleConns: 8,
			MaxIdleConnsPerHost: 8, IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: cfg.ConnectTimeout,
			ResponseHeaderTimeout: cfg.ReadTimeout, ForceAttemptHTTP2: true},
		limiter: cfg.Limiter,
		pools:   map[string]*slotPool{},
	}
	if c.limiter == nil {
		c.limiter = NewRateLimiter(cfg.RateLimit, cfg.RateLimits)
	}
	c.pace = newPacing(cfg.Retry, c.limiter.l)
	for _, product := range []string{"ess", "eci"} {
		c.pools[product] = &slotPool{build: func() (*sdkSlot, error) { return c.newSlot(product) }}
		s, err := c.newSlot(product)
		if err != nil {
			return nil, err
		}
		c.pools[product].put(s)
	}
	return c, nil
}

// newSlot builds one SDK client of a product. The ess and eci packages only
// add their endpoint tables to sdk.Client, so a slot keeps the *sdk.Client.
func (c *UsersClient) newSlot(product string) (*sdkSlot, error) {
	creds := c.cfg.Credentials
	region := c.cfg.RegionID
	var (
		cl  *sdk.Client
		err error
	)
	switch product {
	case "ess":
		var e *ess.Client
		if creds.SecurityToken != "" {
			e, err = ess.NewClientWithStsToken(region, creds.AccessKeyID, creds.AccessKeySecret, creds.SecurityToken)
		} else {
			e, err = ess.NewClientWithAccessKey(region, creds.AccessKeyID, creds.AccessKeySecret)
		}
		if e != nil {
			cl = &e.Client
		}
	default:
		var e *eci.Client
		if creds.SecurityToken != "" {
			e, err = eci.NewClientWithStsToken(region, creds.AccessKeyID, creds.AccessKeySecret, creds.SecurityToken)
		} else {
			e, err = eci.NewClientWithAccessKey(region, creds.AccessKeyID, creds.AccessKeySecret)
		}
		if e != nil {
			cl = &e.Client
		}
	}
	if err != nil || cl == nil {
		return nil, domain.Errorf(domain.KindInvalid, product+" config", "", "cannot build %s client for region %q: %v", product, region, err)
	}
	ep := c.eps[product]
	cl.GetConfig().Scheme = ep.scheme
	if ep.host != "" {
		cl.Domain = ep.host
	}
	cl.SetConnectTimeout(c.cfg.ConnectTimeout)
	cl.SetReadTimeout(c.cfg.ReadTimeout)
	rt := &ctxTransport{base: c.base}
	cl.SetTransport(rt)
	return &sdkSlot{cl: cl, rt: rt}, nil
}

// Stats returns the HTTP calls made so far per action, retries included.
func (c *UsersClient) Stats() map[string]int64 { return c.pace.counts() }

func (c *UsersClient) region(r string) string {
	if r == "" {
		return c.cfg.RegionID
	}
	return r
}

// usersCall runs one action of product ("ess" or "eci"; see send).
func usersCall[R responses.AcsResponse](ctx context.Context, c *UsersClient, product, op string, build func() (requests.AcsRequest, R)) (R, error) {
	return send(ctx, c.pace, c.pools[product], op, build)
}
