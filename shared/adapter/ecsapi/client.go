package ecsapi

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/responses"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/retry"
)

// Client calls ECS. It is safe for concurrent use.
//
// The SDK's client is not: every call rewrites its http.Client timeout, and
// it has no context support. So Client keeps a small free list of SDK
// clients, each used by one call at a time, all sharing one connection pool
// through a RoundTripper that attaches the calling context to each request.
type Client struct {
	cfg     Config
	ep      endpoint
	base    http.RoundTripper
	limiter *limiter
	// templates caches launch template versions (LaunchTemplateGroups).
	templates *TemplateVersionCache
	// users reads ESS and ECI with the same credentials and limiter.
	users *UsersClient
	now   func() time.Time
	sleep func(context.Context, time.Duration) error

	mu   sync.Mutex
	free []*sdkSlot

	statsMu sync.Mutex
	stats   map[string]*atomic.Int64
}

// sdkSlot is one SDK client and the RoundTripper that carries the context of
// the call currently using it.
type sdkSlot struct {
	cl *ecs.Client
	rt *ctxTransport
}

// New validates cfg and returns a client. Errors are KindInvalid and name the
// offending fields (never credential values).
func New(cfg Config) (*Client, error) {
	cfg, ep, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	base := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		MaxIdleConns:          DefaultMaxIdleConns,
		MaxIdleConnsPerHost:   DefaultMaxIdleConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.ConnectTimeout,
		ResponseHeaderTimeout: cfg.ReadTimeout,
		ForceAttemptHTTP2:     true,
	}
	c := &Client{
		cfg:     cfg,
		ep:      ep,
		base:    base,
		limiter: newLimiter(cfg.RateLimit, cfg.RateLimits),
		now:     time.Now,
		sleep:   retry.Sleep,
		stats:   map[string]*atomic.Int64{},

		templates: cfg.TemplateVersions,
	}
	if cfg.Limiter != nil {
		c.limiter = cfg.Limiter.l
	}
	if c.templates == nil {
		c.templates = NewTemplateVersionCache()
	}
	if cfg.Retry.Now != nil {
		c.now = cfg.Retry.Now
	}
	if cfg.Retry.Sleep != nil {
		c.sleep = cfg.Retry.Sleep
	}
	// Build one SDK client now so that SDK-side config errors surface here.
	slot, err := c.newSlot()
	if err != nil {
		return nil, err
	}
	c.free = append(c.free, slot)
	essEP, eciEP := cfg.ESSEndpoint, cfg.ECIEndpoint
	if essEP == "" {
		essEP = cfg.Endpoint
	}
	if eciEP == "" {
		eciEP = essEP
	}
	c.users, err = NewUsersClient(UsersConfig{RegionID: cfg.RegionID, Endpoint: essEP, ECIEndpoint: eciEP,
		Credentials: cfg.Credentials, Limiter: &RateLimiter{l: c.limiter}, Retry: cfg.Retry,
		ConnectTimeout: cfg.ConnectTimeout, ReadTimeout: cfg.ReadTimeout})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ScalingUsage is UsersClient.ScalingUsage through this client's
// credentials and limiter.
func (c *Client) ScalingUsage(ctx context.Context, regionID string) (ScalingUsage, error) {
	return c.users.ScalingUsage(ctx, c.region(regionID))
}

// ScalingConfigurationGroups is UsersClient.ScalingConfigurationGroups.
func (c *Client) ScalingConfigurationGroups(ctx context.Context, regionID string) (map[string][]domain.ScalingUse, error) {
	return c.users.ScalingConfigurationGroups(ctx, c.region(regionID))
}

// ContainerGroupGroups is UsersClient.ContainerGroupGroups.
func (c *Client) ContainerGroupGroups(ctx context.Context, regionID string) (map[string][]domain.ContainerGroupUse, error) {
	return c.users.ContainerGroupGroups(ctx, c.region(regionID))
}

func (c *Client) newSlot() (*sdkSlot, error) {
	creds := c.cfg.Credentials
	var (
		cl  *ecs.Client
		err error
	)
	if creds.SecurityToken != "" {
		cl, err = ecs.NewClientWithStsToken(c.cfg.RegionID, creds.AccessKeyID, creds.AccessKeySecret, creds.SecurityToken)
	} else {
		cl, err = ecs.NewClientWithAccessKey(c.cfg.RegionID, creds.AccessKeyID, creds.AccessKeySecret)
	}
	if err != nil {
		// SDK constructor errors concern the region string only.
		return nil, domain.Errorf(domain.KindInvalid, "ecs config", "", "cannot build ECS client for region %q: %v", c.cfg.RegionID, err)
	}
	cl.GetConfig().Scheme = c.ep.scheme
	if c.ep.host != "" {
		cl.Domain = c.ep.host
	}
	cl.SetConnectTimeout(c.cfg.ConnectTimeout)
	cl.SetReadTimeout(c.cfg.ReadTimeout)
	rt := &ctxTransport{base: c.base}
	// Not an *http.Transport, so the SDK leaves it alone instead of
	// rewriting its dialer and TLS config on every call.
	cl.SetTransport(rt)
	return &sdkSlot{cl: cl, rt: rt}, nil
}

func (c *Client) getSlot() (*sdkSlot, error) {
	c.mu.Lock()
	if n := len(c.free); n > 0 {
		s := c.free[n-1]
		c.free = c.free[:n-1]
		c.mu.Unlock()
		return s, nil
	}
	c.mu.Unlock()
	return c.newSlot()
}

func (c *Client) putSlot(s *sdkSlot) {
	s.rt.ctx = nil
	c.mu.Lock()
	c.free = append(c.free, s)
	c.mu.Unlock()
}

// Stats returns the number of HTTP calls made so far per action (ECS, and
// the ESS and ECI reads), retries included.
func (c *Client) Stats() map[string]int64 {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	out := make(map[string]int64, len(c.stats))
	for action, n := range c.stats {
		out[action] = n.Load()
	}
	if c.users != nil {
		for action, n := range c.users.Stats() {
			out[action] += n
		}
	}
	return out
}

func (c *Client) count(action string) {
	c.statsMu.Lock()
	n := c.stats[action]
	if n == nil {
		n = new(atomic.Int64)
		c.stats[action] = n
	}
	c.statsMu.Unlock()
	n.Add(1)
}

func (c *Client) region(regionID string) string {
	if regionID == "" {
		return c.cfg.RegionID
	}
	return regionID
}

// call runs one ECS action under the retry policy: each attempt waits for
// the action's rate limit, builds a fresh request (the SDK signs a request
// in place), sends it and classifies the outcome. This is the single place
// where retries happen.
func call[R responses.AcsResponse](ctx context.Context, c *Client, op string, build func() (requests.AcsRequest, R)) (R, error) {
	var out R
	err := retry.Do(ctx, c.cfg.Retry, retryable, func(ctx context.Context) error {
		req, resp := build()
		action := req.GetActionName()
		if b := c.limiter.bucketFor(action); b != nil {
			if err := b.wait(ctx, c.now, c.sleep); err != nil {
				return domain.Wrap(domain.KindRetryable, op, "", err)
			}
		}
		slot, err := c.getSlot()
		if err != nil {
			return err
		}
		slot.rt.ctx = ctx
		c.count(action)
		err = slot.cl.DoAction(req, resp)
		c.putSlot(slot)
		if err != nil {
			return classify(ctx, op, err)
		}
		out = resp
		return nil
	})
	return out, err
}

// ctxTransport sends each request under the context of the call that owns
// the slot, so cancelling that context (or reaching its deadline) aborts the
// HTTP exchange. The http.Client's own timeout still applies.
type ctxTransport struct {
	base http.RoundTripper
	ctx  context.Context // set by the owner of the slot for one call
}

func (t *ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	owner := t.ctx
	if owner == nil {
		return t.base.RoundTrip(req)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	stop := context.AfterFunc(owner, func() { cancel(context.Cause(owner)) })
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		stop()
		cancel(nil)
		return nil, err
	}
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: func() { stop(); cancel(nil) }}
	return resp, nil
}

// releaseBody ends the per-request context once the SDK has read the body.
type releaseBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
