package fcemu

import (
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// InvocationFaults are platform failures injected into a function's
// invocations, for chaos tests. Each invocation draws once: it may get a
// short timeout (FC then kills the instance, as for any timeout), or its
// process may be SIGKILLed while it handles the invocation (an instance
// lost under the function: FC fails the invocation and every other one on
// that process). Either way the caller sees a function error, so an event
// stream retries the push and an async invocation its retry policy.
type InvocationFaults struct {
	// KillRate is the probability that the process is killed during the
	// invocation, at a random moment up to KillWithin after it was handed
	// over (default 500 ms). An invocation that ends first is not killed.
	KillRate   float64
	KillWithin time.Duration
	// TimeoutRate is the probability that the invocation runs with Timeout
	// instead of the function's timeout (default 200 ms).
	TimeoutRate float64
	Timeout     time.Duration
	// Seed makes the draws repeatable.
	Seed uint64
}

// Defaults of InvocationFaults.
const (
	DefaultFaultKillWithin = 500 * time.Millisecond
	DefaultFaultTimeout    = 200 * time.Millisecond
)

// chaos is the injected-fault state of one function.
type chaos struct {
	mu     sync.Mutex
	faults InvocationFaults
	rng    *rand.Rand
}

// SetInvocationFaults injects faults into function's invocations from now
// on; zero InvocationFaults stops injecting. Counted in FunctionStats as
// InjectedKills and InjectedTimeouts.
func (e *Emulator) SetInvocationFaults(function string, f InvocationFaults) error {
	if f.KillRate < 0 || f.TimeoutRate < 0 || f.KillRate+f.TimeoutRate > 1 {
		return errors.New("fcemu: fault rates must be in [0,1] and add up to at most 1")
	}
	fn, err := e.function(function)
	if err != nil {
		return err
	}
	if f.KillWithin <= 0 {
		f.KillWithin = DefaultFaultKillWithin
	}
	if f.Timeout <= 0 {
		f.Timeout = DefaultFaultTimeout
	}
	fn.chaos.mu.Lock()
	fn.chaos.faults = f
	fn.chaos.rng = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
	fn.chaos.mu.Unlock()
	return nil
}

// injectInto applies the faults to one attempt about to be submitted: it
// may shorten c's timeout, and returns a kill delay (0: no kill).
func (f *function) injectInto(c *call) time.Duration {
	ch := &f.chaos
	ch.mu.Lock()
	defer ch.mu.Unlock()
	fl := ch.faults
	if ch.rng == nil || fl.KillRate+fl.TimeoutRate <= 0 {
		return 0
	}
	r := ch.rng.Float64()
	switch {
	case r < fl.TimeoutRate:
		c.timeout = fl.Timeout
		f.count(func(s *FunctionStats) { s.InjectedTimeouts++ })
	case r < fl.TimeoutRate+fl.KillRate:
		return time.Duration(1 + ch.rng.Int64N(int64(fl.KillWithin)))
	}
	return 0
}

// killDuring SIGKILLs c's instance after d unless c has ended by then.
func (f *function) killDuring(c *call, d time.Duration) {
	time.AfterFunc(d, func() {
		if c.isDone() || c.in == nil {
			return
		}
		f.count(func(s *FunctionStats) { s.InjectedKills++ })
		f.note("request %s on %s: killing the process mid-invocation (injected)", c.id, c.in.id)
		c.in.kill("killed mid-invocation (injected fault)")
	})
}
