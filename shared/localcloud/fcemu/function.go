package fcemu

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// function is the emulator's state for one FunctionSpec: its instances,
// counters, logs and parsed triggers.
type function struct {
	em       *Emulator
	spec     FunctionSpec
	logs     *logSink
	triggers []*trigger

	mu          sync.Mutex
	instances   []*instance
	waiting     int           // acquire calls waiting for a slot
	changed     chan struct{} // closed when a slot frees or an instance changes state
	needRestart int           // instances lost to crashes/kills not yet replaced
	closed      bool
	nextInst    int
	stats       FunctionStats
	history     []InvocationRecord
	chaos       chaos // injected faults (SetInvocationFaults); own lock
}

func newFunction(e *Emulator, spec FunctionSpec) (*function, error) {
	f := &function{em: e, spec: spec, changed: make(chan struct{})}
	f.logs = newLogSink(spec.Name, e.opts.LogLines, e.opts.Log, &e.logMu)
	for i := range spec.Triggers {
		t, err := newTrigger(f, spec.Triggers[i])
		if err != nil {
			return nil, fmt.Errorf("function %q trigger %q: %w", spec.Name, spec.Triggers[i].Name, err)
		}
		f.triggers = append(f.triggers, t)
	}
	return f, nil
}

func (f *function) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *function) snapshot() FunctionStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stats
	s.Function = f.spec.Name
	s.StartLatencies = append([]time.Duration(nil), f.stats.StartLatencies...)
	for _, in := range f.instances {
		if in.state != stateDead {
			s.Instances++
		}
	}
	return s
}

func (f *function) count(fn func(s *FunctionStats)) {
	f.mu.Lock()
	fn(&f.stats)
	f.mu.Unlock()
}

// startError is a failed cold start; the invocation that caused it fails
// with ferr as a function error.
type startError struct{ ferr *FunctionError }

func (e *startError) Error() string { return e.ferr.Error() }

// acquire returns an instance with a reserved slot, starting a new instance
// when every live one is busy and more waiters exist than starting instances
// can absorb. The caller must release the slot (call.finish does).
func (f *function) acquire(ctx context.Context) (*instance, error) {
	conc := f.spec.concurrency()
	f.mu.Lock()
	f.waiting++
	for {
		if f.closed {
			f.waiting--
			f.mu.Unlock()
			return nil, ErrClosed
		}
		starting := 0
		for _, in := range f.instances {
			if in.state == stateReady && in.inflight < conc {
				in.inflight++
				f.waiting--
				f.mu.Unlock()
				return in, nil
			}
			if in.state == stateStarting {
				starting++
			}
		}
		if len(f.instances) < f.em.opts.MaxInstances && f.waiting > starting*conc {
			f.nextInst++
			in := newInstance(f, fmt.Sprintf("%s-%d", f.spec.Name, f.nextInst))
			f.instances = append(f.instances, in)
			f.stats.ColdStarts++
			if f.needRestart > 0 {
				f.needRestart--
				f.stats.Restarts++
			}
			f.mu.Unlock()
			err := in.start()
			f.mu.Lock()
			if err == nil && in.state == stateStarting {
				in.state = stateReady
				in.inflight++
				f.waiting--
				f.notifyLocked()
				f.mu.Unlock()
				return in, nil
			}
			f.removeLocked(in)
			f.notifyLocked()
			if err != nil {
				f.waiting--
				f.mu.Unlock()
				return nil, err
			}
			continue
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			f.mu.Lock()
			f.waiting--
			f.mu.Unlock()
			return nil, ctx.Err()
		}
		f.mu.Lock()
	}
}

func (f *function) release(in *instance) {
	f.mu.Lock()
	in.inflight--
	f.notifyLocked()
	f.mu.Unlock()
}

// drain stops routing new work to in.
func (f *function) drain(in *instance) {
	f.mu.Lock()
	if in.state == stateReady {
		in.state = stateDraining
		f.notifyLocked()
	}
	f.mu.Unlock()
}

func (f *function) removeLocked(in *instance) {
	in.state = stateDead
	for i, x := range f.instances {
		if x == in {
			f.instances = append(f.instances[:i], f.instances[i+1:]...)
			break
		}
	}
}

// instanceExited is called once per instance when its process is gone.
func (f *function) instanceExited(in *instance) {
	f.mu.Lock()
	f.removeLocked(in)
	f.notifyLocked()
	f.mu.Unlock()
}

func (f *function) record(c *call, out attemptOutcome) {
	r := InvocationRecord{
		RequestID:  c.id,
		Source:     c.req.source,
		Async:      c.req.async,
		RetryCount: c.retry,
		Payload:    c.payload,
		Result:     out.payload,
		Error:      out.ferr,
		Start:      c.start,
		End:        time.Now(),
	}
	f.mu.Lock()
	if out.ferr != nil {
		f.stats.Errors++
	}
	f.stats.LongestAttempt = max(f.stats.LongestAttempt, r.End.Sub(r.Start))
	f.history = append(f.history, r)
	if n := len(f.history) - f.em.opts.HistorySize; n > 0 {
		f.history = append(f.history[:0:0], f.history[n:]...)
	}
	f.mu.Unlock()
}

// shutdown stops accepting work and stops every instance.
func (f *function) shutdown() {
	f.mu.Lock()
	f.closed = true
	f.notifyLocked()
	insts := append([]*instance(nil), f.instances...)
	f.mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range insts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.stop(f.spec.PreStop)
		}()
	}
	wg.Wait()
}

// note writes an emulator message into the function's log.
func (f *function) note(format string, args ...any) {
	f.logs.add("", "fcemu: "+fmt.Sprintf(format, args...))
}
