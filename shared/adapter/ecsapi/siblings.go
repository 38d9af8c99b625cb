package ecsapi

import (
	"context"
	"time"
)

// The functions below let sibling adapters of other Alibaba Cloud RPC
// products (essapi: Auto Scaling and ECI) classify, retry and pace their
// calls exactly as this package does, so there is one table of provider
// codes and one limiter per process. They are thin wrappers: the behaviour
// lives in classify.go and ratelimit.go.

// ClassifyError turns whatever alibaba-cloud-sdk-go returned for one call into
// a *domain.Error under op, with the same code table, transport rules and
// secret scrubbing as ECS calls. ctx is the call's context.
func ClassifyError(ctx context.Context, op string, err error) error {
	return classify(ctx, op, err)
}

// Retryable reports whether an error from ClassifyError is worth retrying
// inside the adapter (throttled or transient, and the context still alive).
func Retryable(err error) bool { return retryable(err) }

// Wait blocks until one call of action may start under this limiter, or ctx
// ends. now and sleep are the caller's clock (tests pass fakes).
func (r *RateLimiter) Wait(ctx context.Context, action string, now func() time.Time, sleep func(context.Context, time.Duration) error) error {
	if r == nil {
		return ctx.Err()
	}
	if b := r.l.bucketFor(action); b != nil {
		return b.wait(ctx, now, sleep)
	}
	return ctx.Err()
}

// ParseEndpoint reads an endpoint override the way Config.Endpoint is read:
// "host:port" or "http://host:port" is plain HTTP, "https://host[:port]" or a
// bare host is HTTPS, "" is the public endpoint (host ""). scheme is "HTTP"
// or "HTTPS", as the SDK wants it.
func ParseEndpoint(s string) (host, scheme string, err error) {
	ep, err := parseEndpoint(s)
	return ep.host, ep.scheme, err
}
