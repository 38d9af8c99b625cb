package fcemu

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"strings"
)

// sampleRSS folds the process's peak resident set (VmHWM, a high-water mark
// the kernel keeps) into the function's PeakRSSKiB. Reading it after every
// attempt and before a stop catches the peak of a process that is about to
// end: once reaped, /proc no longer has it.
func (in *instance) sampleRSS() {
	in.mu.Lock()
	cmd := in.cmd
	exited := in.exited
	in.mu.Unlock()
	if cmd == nil || cmd.Process == nil || exited {
		return
	}
	kib := vmHWM(cmd.Process.Pid)
	if kib <= 0 {
		return
	}
	in.f.count(func(s *FunctionStats) { s.PeakRSSKiB = max(s.PeakRSSKiB, kib) })
}

// vmHWM reads VmHWM (KiB) from /proc/<pid>/status, or 0.
func vmHWM(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return n
	}
	return 0
}

// Recycle stops every idle instance of the function, as FC reclaims idle
// instances, so that the next invocation starts a new process. Instances
// busy with an attempt are left alone. It returns how many it stopped, once
// their processes are gone, or ctx's error if ctx ends first.
func (e *Emulator) Recycle(ctx context.Context, function string) (int, error) {
	f, err := e.function(function)
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	var idle []*instance
	for _, in := range f.instances {
		if in.state == stateReady && in.inflight == 0 {
			in.state = stateDraining // no new work from here on
			idle = append(idle, in)
		}
	}
	f.notifyLocked()
	f.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, in := range idle {
			in.stop(f.spec.PreStop)
		}
	}()
	select {
	case <-done:
		return len(idle), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
