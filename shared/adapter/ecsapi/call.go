package ecsapi

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/responses"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/retry"
)

// sdkSlot is one SDK client (ECS, ESS or ECI: each only adds endpoint
// tables to sdk.Client) and the RoundTripper that carries the context of
// the call currently using it.
type sdkSlot struct {
	cl *sdk.Client
	rt *ctxTransport
}

// slotPool is a free list of one product's SDK clients, each used by one
// call at a time (the SDK's client is not safe for concurrent use).
type slotPool struct {
	mu    sync.Mutex
	free  []*sdkSlot
	build func() (*sdkSlot, error)
}

func (p *slotPool) get() (*sdkSlot, error) {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		s := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return s, nil
	}
	p.mu.Unlock()
	return p.build()
}

func (p *slotPool) put(s *sdkSlot) {
	s.rt.ctx, s.rt.sent, s.rt.answered = nil, time.Time{}, time.Time{}
	p.mu.Lock()
	p.free = append(p.free, s)
	p.mu.Unlock()
}

// pacing is what every call of Client and UsersClient shares besides an SDK
// client: the retry policy, the per-action rate limits and the call counts.
type pacing struct {
	policy  retry.Policy
	limiter *limiter
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
	// wallClock: now is time.Now, so the transport's readings compare.
	wallClock bool

	statsMu sync.Mutex
	stats   map[string]*atomic.Int64
}

func newPacing(policy retry.Policy, l *limiter) *pacing {
	p := &pacing{policy: policy, limiter: l, now: time.Now, sleep: retry.Sleep, stats: map[string]*atomic.Int64{}, wallClock: true}
	if policy.Now != nil {
		p.now, p.wallClock = policy.Now, false
	}
	if policy.Sleep != nil {
		p.sleep = policy.Sleep
	}
	return p
}

func (p *pacing) count(action string) {
	p.statsMu.Lock()
	n := p.stats[action]
	if n == nil {
		n = new(atomic.Int64)
		p.stats[action] = n
	}
	p.statsMu.Unlock()
	n.Add(1)
}

// counts returns the HTTP calls made so far per action, retries included.
func (p *pacing) counts() map[string]int64 {
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	out := make(map[string]int64, len(p.stats))
	for a, n := range p.stats {
		out[a] = n.Load()
	}
	return out
}

// send runs one action under the retry policy: each attempt waits for the
// action's rate limit, builds a fresh request (the SDK signs a request in
// place), sends it with a client of pool and classifies the outcome. This
// is the single place where retries happen, for ECS, ESS and ECI alike.
func send[R responses.AcsResponse](ctx context.Context, p *pacing, pool *slotPool, op string, build func() (requests.AcsRequest, R)) (R, error) {
	var out R
	err := retry.Do(ctx, p.policy, retryable, func(ctx context.Context) error {
		req, resp := build()
		action := req.GetActionName()
		answered := func(sent, at time.Time) {}
		if b := p.limiter.bucketFor(action); b != nil {
			done, err := b.wait(ctx, p.now, p.sleep)
			if err != nil {
				return domain.Wrap(domain.KindRetryable, op, "", err)
			}
			answered = done
		}
		slot, err := pool.get()
		if err != nil {
			answered(time.Time{}, time.Time{})
			return err
		}
		slot.rt.ctx = ctx
		p.count(action)
		err = slot.cl.DoAction(req, resp)
		if p.wallClock {
			answered(slot.rt.sent, slot.rt.answered)
		} else {
			answered(time.Time{}, time.Time{})
		}
		pool.put(slot)
		if err != nil {
			return classify(ctx, op, err)
		}
		out = resp
		return nil
	})
	return out, err
}
