package fcemu

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// memoryEnforced says whether instances can be held to their memorySize:
// the resident set is read from /proc, which only Linux has.
var memoryEnforced = runtime.GOOS == "linux"

// memStatus is the part of /proc/<pid>/status the emulator reads, in KiB.
type memStatus struct {
	rss int64 // VmRSS: resident now
	hwm int64 // VmHWM: the kernel's high-water mark of VmRSS
}

// readMemStatus reads the memory lines of /proc/<pid>/status. ok is false
// when the file cannot be read or has no VmRSS (a zombie has none).
func readMemStatus(pid int) (memStatus, bool) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return memStatus{}, false
	}
	defer f.Close()
	return parseMemStatus(f)
}

func parseMemStatus(r io.Reader) (memStatus, bool) {
	var st memStatus
	seen := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() && seen < 2 {
		line := sc.Text()
		var dst *int64
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			dst = &st.rss
		case strings.HasPrefix(line, "VmHWM:"):
			dst = &st.hwm
		default:
			continue
		}
		_, rest, _ := strings.Cut(line, ":")
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return memStatus{}, false
		}
		*dst = n
		seen++
	}
	if st.rss <= 0 {
		return memStatus{}, false
	}
	// VmHWM is never below VmRSS; keep the invariant if a kernel omits it.
	st.hwm = max(st.hwm, st.rss)
	return st, true
}

// peak is the highest resident set the process is known to have reached.
func (m memStatus) peak() int64 { return max(m.rss, m.hwm) }

// limitKiB is the function's memorySize in KiB (FC's MB are 2^20 bytes).
func (f *function) limitKiB() int64 { return int64(f.spec.memory()) << 10 }

// checkMemory reads the process's resident set, folds its peak into
// PeakRSSKiB and, when enforce is set, kills an instance whose peak is over
// its memorySize. It reports whether the instance is (now or already)
// killed for memory.
//
// The peak (VmHWM) is compared, not only the current VmRSS: FC's memory
// cgroup kills at the allocation that crosses the limit, so a spike between
// two samples must not go unpunished because the process freed it again.
func (in *instance) checkMemory(enforce bool) bool {
	in.mu.Lock()
	cmd, exited, oom := in.cmd, in.exited, in.oomPeakKiB > 0
	in.mu.Unlock()
	if oom {
		return true
	}
	if cmd == nil || cmd.Process == nil || exited {
		return false
	}
	st, ok := readMemStatus(cmd.Process.Pid)
	if !ok {
		return false
	}
	in.f.count(func(s *FunctionStats) { s.PeakRSSKiB = max(s.PeakRSSKiB, st.peak()) })
	if !enforce || st.peak() <= in.f.limitKiB() {
		return false
	}
	return in.oomKill(st.peak())
}

// oomKill kills the instance for using more memory than its memorySize, as
// FC does; wait() then fails its calls with FC's process-exit error. It
// reports false when the process was already gone.
func (in *instance) oomKill(peakKiB int64) bool {
	in.mu.Lock()
	if in.exited {
		in.mu.Unlock()
		return false
	}
	first := in.oomPeakKiB == 0
	if first {
		in.oomPeakKiB = peakKiB
	}
	in.mu.Unlock()
	if !first {
		return true
	}
	f := in.f
	f.count(func(s *FunctionStats) {
		s.OOMKills++
		f.needRestart++
	})
	f.note("instance %s: resident set %.1f MB is over memorySize %d MB; killing the instance (out of memory)",
		in.id, float64(peakKiB)/1024, f.spec.memory())
	in.kill("out of memory")
	return true
}

// watchMemory samples the process's resident set every interval until it
// is gone, enforcing the memorySize between invocation results.
func (in *instance) watchMemory(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-in.exitedCh:
			return
		case <-t.C:
		}
		if in.checkMemory(true) {
			return
		}
	}
}

// oomMessage is the error of a call whose instance was killed for memory.
// FC reports such a kill as the generic process exit (its FC 3.0 FAQ on
// "Process exited unexpectedly before completing request" names OOM as a
// cause), with duration and maxMemoryUsage in parentheses as FC 1.0/2.0
// answers show them. **Unconfirmed**: that FC 3.0 keeps that suffix, and
// that "MB" there means MiB.
func oomMessage(d time.Duration, peakKiB int64) string {
	return fmt.Sprintf("Process exited unexpectedly before completing request (duration: %dms, maxMemoryUsage: %.2fMB)",
		d.Milliseconds(), float64(peakKiB)/1024)
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
