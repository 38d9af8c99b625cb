package ecsapi

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/responses"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// Client calls ECS. It is safe for concurrent use.
//
// The SDK's client is not: every call rewrites its http.Client timeout, and
// it has no context support. So Client keeps a small free list of SDK
// clients, each used by one call at a time, all sharing one connection pool
// through a RoundTripper that attaches the calling context to each request.
type Client struct {
	cfg  Config
	ep   endpoint
	base http.RoundTripper
	pace *pacing
	pool *slotPool
	// templates caches launch template versions (LaunchTemplateGroups).
	templates *TemplateVersionCache
	// users reads ESS and ECI with the same credentials and limiter.
	users *UsersClient
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
		cfg:       cfg,
		ep:        ep,
		base:      base,
		templates: cfg.TemplateVersions,
	}
	l := newLimiter(cfg.RateLimit, cfg.RateLimits)
	if cfg.Limiter != nil {
		l = cfg.Limiter.l
	}
	c.pace = newPacing(cfg.Retry, l)
	c.pool = &slotPool{build: c.newSlot}
	if c.templates == nil {
		c.templates = NewTemplateVersionCache()
	}
	// Build one SDK client now so that SDK-side config errors surface here.
	slot, err := c.newSlot()
	if err != nil {
		return nil, err
	}
	c.pool.put(slot)
	essEP, eciEP := cfg.ESSEndpoint, cfg.ECIEndpoint
	if essEP == "" {
		essEP = cfg.Endpoint
	}
	if eciEP == "" {
		eciEP = essEP
	}
	c.users, err = NewUsersClient(UsersConfig{RegionID: cfg.RegionID, Endpoint: essEP, ECIEndpoint: eciEP,
		Credentials: cfg.Credentials, Limiter: &RateLimiter{l: c.pace.limiter}, Retry: cfg.Retry,
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
	return &sdkSlot{cl: &cl.Client, rt: rt}, nil
}

// Stats returns the number of HTTP calls made so far per action (ECS, and
// the ESS and ECI reads), retries included.
func (c *Client) Stats() map[string]int64 {
	out := c.pace.counts()
	if c.users != nil {
		for action, n := range c.users.Stats() {
			out[action] += n
		}
	}
	return out
}

func (c *Client) region(regionID string) string {
	if regionID == "" {
		return c.cfg.RegionID
	}
	return regionID
}

// call runs one ECS action (see send).
func call[R responses.AcsResponse](ctx context.Context, c *Client, op string, build func() (requests.AcsRequest, R)) (R, error) {
	return send(ctx, c.pace, c.pool, op, build)
}

// ctxTransport sends each request under the context of the call that owns
// the slot, so cancelling that context (or reaching its deadline) aborts the
// HTTP exchange. The http.Client's own timeout still applies.
type ctxTransport struct {
	base http.RoundTripper
	ctx  context.Context // set by the owner of the slot for one call
	// sent and answered: when the owner's request went to the network and
	// its answer's headers came back (the rate limiter's clock readings,
	// closer to the provider than the SDK call around them).
	sent, answered time.Time
}

func (t *ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	owner := t.ctx
	if owner == nil {
		return t.base.RoundTrip(req)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	stop := context.AfterFunc(owner, func() { cancel(context.Cause(owner)) })
	t.sent = time.Now()
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	t.answered = time.Now()
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
