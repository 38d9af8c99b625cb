package core

import (
	"context"
	"math/rand"
	"sort"
	"sync"
	"time"
)

// Outcome is what Controls decided for one incoming call.
type Outcome int

const (
	// Proceed: serve the call normally.
	Proceed Outcome = iota
	// Throttle: answer with the service's throttling error.
	Throttle
	// ServerFault: answer with the service's 5xx internal/unavailable error.
	ServerFault
	// DropConnection: close the TCP connection without answering.
	DropConnection
)

func (o Outcome) String() string {
	switch o {
	case Throttle:
		return "throttle"
	case ServerFault:
		return "server-fault"
	case DropConnection:
		return "drop"
	default:
		return "proceed"
	}
}

// AnyAction is the action name that applies a setting to every action of a service.
const AnyAction = "*"

// FaultSpec injects random failures. Rates are probabilities in [0,1] drawn
// from a seeded source so a failing run can be replayed.
type FaultSpec struct {
	ServerErrorRate float64 `json:"serverErrorRate"`
	DropRate        float64 `json:"dropRate"`
}

// RateLimit is a token bucket: PerSecond calls per second with Burst tokens
// (Burst 0 means 1, so the bound "calls ÷ rate" is exact).
type RateLimit struct {
	PerSecond float64 `json:"perSecond"`
	Burst     int     `json:"burst"`
}

// Controls holds the per-action knobs tests and benchmarks turn: counters,
// latency, rate limits and faults. Keys are "service/action" (e.g.
// "ecs/JoinSecurityGroup", "mns/SendMessage"); the action "*" applies to every
// action of the service. Safe for concurrent use; rate limits and latency use
// wall time, not the emulated clock, because they are about throughput.
type Controls struct {
	mu       sync.Mutex
	counts   map[string]int64
	outcomes map[string]map[Outcome]int64
	latency  map[string]time.Duration
	limits   map[string]*bucket
	faults   map[string]FaultSpec
	rng      *rand.Rand
	now      func() time.Time
}

// NewControls returns controls with no latency, limits or faults, whose
// random faults are drawn from seed.
func NewControls(seed int64) *Controls {
	return &Controls{
		counts:   map[string]int64{},
		outcomes: map[string]map[Outcome]int64{},
		latency:  map[string]time.Duration{},
		limits:   map[string]*bucket{},
		faults:   map[string]FaultSpec{},
		rng:      rand.New(rand.NewSource(seed)),
		now:      time.Now,
	}
}

func key(service, action string) string { return service + "/" + action }

// SetLatency delays every call of service/action (action may be AnyAction) by d.
func (c *Controls) SetLatency(service, action string, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d <= 0 {
		delete(c.latency, key(service, action))
		return
	}
	c.latency[key(service, action)] = d
}

// SetRateLimit limits service/action (action may be AnyAction, which gives
// each action its own bucket at that rate). A zero PerSecond removes it.
func (c *Controls) SetRateLimit(service, action string, l RateLimit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := key(service, action)
	if l.PerSecond <= 0 {
		delete(c.limits, k)
		for kk, b := range c.limits {
			if b.inheritedFrom == k {
				delete(c.limits, kk)
			}
		}
		return
	}
	c.limits[k] = newBucket(l, c.now(), "")
}

// SetFaults injects random faults into service/action (action may be AnyAction).
func (c *Controls) SetFaults(service, action string, f FaultSpec) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.ServerErrorRate <= 0 && f.DropRate <= 0 {
		delete(c.faults, key(service, action))
		return
	}
	c.faults[key(service, action)] = f
}

// Reseed restarts the fault random source.
func (c *Controls) Reseed(seed int64) {
	c.mu.Lock()
	c.rng = rand.New(rand.NewSource(seed))
	c.mu.Unlock()
}

// Reset clears counters, latency, limits and faults.
func (c *Controls) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts = map[string]int64{}
	c.outcomes = map[string]map[Outcome]int64{}
	c.latency = map[string]time.Duration{}
	c.limits = map[string]*bucket{}
	c.faults = map[string]FaultSpec{}
}

// ResetCounters zeroes the call counters only.
func (c *Controls) ResetCounters() {
	c.mu.Lock()
	c.counts = map[string]int64{}
	c.outcomes = map[string]map[Outcome]int64{}
	c.mu.Unlock()
}

// Decide counts one call of service/action, waits the injected latency
// (returning early if ctx ends) and returns what the emulator must do.
// Rate limiting is applied before faults: a throttled call is not also faulted.
func (c *Controls) Decide(ctx context.Context, service, action string) Outcome {
	k := key(service, action)
	c.mu.Lock()
	c.counts[k]++
	lat, ok := c.latency[k]
	if !ok {
		lat = c.latency[key(service, AnyAction)]
	}
	outcome := Proceed
	if b := c.bucketLocked(service, action); b != nil && !b.take(c.now()) {
		outcome = Throttle
	}
	if outcome == Proceed {
		f, ok := c.faults[k]
		if !ok {
			f = c.faults[key(service, AnyAction)]
		}
		if f.ServerErrorRate > 0 || f.DropRate > 0 {
			r := c.rng.Float64()
			switch {
			case r < f.DropRate:
				outcome = DropConnection
			case r < f.DropRate+f.ServerErrorRate:
				outcome = ServerFault
			}
		}
	}
	m := c.outcomes[k]
	if m == nil {
		m = map[Outcome]int64{}
		c.outcomes[k] = m
	}
	m[outcome]++
	c.mu.Unlock()

	if lat > 0 {
		t := time.NewTimer(lat)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	return outcome
}

func (c *Controls) bucketLocked(service, action string) *bucket {
	if b, ok := c.limits[key(service, action)]; ok {
		return b
	}
	anyKey := key(service, AnyAction)
	tmpl, ok := c.limits[anyKey]
	if !ok || tmpl.inheritedFrom != "" {
		return nil
	}
	b := newBucket(tmpl.limit, c.now(), anyKey)
	c.limits[key(service, action)] = b
	return b
}

// CallCount is one row of Counts.
type CallCount struct {
	Service  string           `json:"service"`
	Action   string           `json:"action"`
	Calls    int64            `json:"calls"`
	Outcomes map[string]int64 `json:"outcomes,omitempty"`
}

// Count returns how many calls service/action received (all outcomes).
func (c *Controls) Count(service, action string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[key(service, action)]
}

// Counts returns every counter, sorted by service then action.
func (c *Controls) Counts() []CallCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]CallCount, 0, len(c.counts))
	for k, n := range c.counts {
		svc, act := splitKey(k)
		row := CallCount{Service: svc, Action: act, Calls: n}
		for o, v := range c.outcomes[k] {
			if o != Proceed {
				if row.Outcomes == nil {
					row.Outcomes = map[string]int64{}
				}
				row.Outcomes[o.String()] = v
			}
		}
		out = append(out, row)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].Action < out[j].Action
	})
	return out
}

func splitKey(k string) (string, string) {
	for i := 0; i < len(k); i++ {
		if k[i] == '/' {
			return k[:i], k[i+1:]
		}
	}
	return k, ""
}

type bucket struct {
	limit         RateLimit
	tokens        float64
	last          time.Time
	inheritedFrom string
}

func newBucket(l RateLimit, now time.Time, from string) *bucket {
	if l.Burst <= 0 {
		l.Burst = 1
	}
	return &bucket{limit: l, tokens: float64(l.Burst), last: now, inheritedFrom: from}
}

func (b *bucket) take(now time.Time) bool {
	elapsed := now.Sub(b.last).Seconds()
	if elapsed > 0 {
		b.tokens += elapsed * b.limit.PerSecond
		if b.tokens > float64(b.limit.Burst) {
			b.tokens = float64(b.limit.Burst)
		}
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}
