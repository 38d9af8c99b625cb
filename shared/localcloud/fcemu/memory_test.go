package fcemu_test

import (
	"context"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
)

// memorySpec is the test function with FC's smallest memorySize.
func memorySpec(name string) fcemu.FunctionSpec {
	spec := testSpec(name)
	spec.MemorySize = 128
	return spec
}

func skipWithoutProc(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("memory limits are enforced on Linux only (/proc)")
	}
}

var maxMemoryUsage = regexp.MustCompile(`^Process exited unexpectedly before completing request \(duration: \d+ms, maxMemoryUsage: ([0-9.]+)MB\)$`)

// mustOOMError checks that err is FC's process-exit error for an instance
// killed for memory and returns the maxMemoryUsage it reports, in MB.
func mustOOMError(tb testing.TB, err *fcemu.FunctionError) float64 {
	tb.Helper()
	if err == nil || err.ErrorType != fcemu.ErrorTypeProcessExited {
		tb.Fatalf("error = %+v, want a process exit", err)
	}
	m := maxMemoryUsage.FindStringSubmatch(err.ErrorMessage)
	if m == nil {
		tb.Fatalf("error message %q does not report duration and maxMemoryUsage", err.ErrorMessage)
	}
	mb, perr := strconv.ParseFloat(m[1], 64)
	if perr != nil {
		tb.Fatalf("maxMemoryUsage %q: %v", m[1], perr)
	}
	return mb
}

// An instance whose resident set grows over memorySize is killed while the
// invocation runs; the invocation fails and the next one gets a new process.
func TestMemoryLimit_KillsInstanceOverLimit(t *testing.T) {
	skipWithoutProc(t)
	opts := fastOptions()
	opts.MemorySampleInterval = 10 * time.Millisecond
	e := MustEmulator(t, newEnv(), opts, memorySpec("hungry"))

	below := MustDecode(t, MustInvoke(t, e, "hungry", `{"action":"alloc","mb":16}`))
	start := time.Now()
	res := MustInvoke(t, e, "hungry", `{"action":"alloc","mb":200,"ms":5000}`)
	took := time.Since(start)
	if mb := mustOOMError(t, res.Error); mb <= 128 {
		t.Errorf("maxMemoryUsage %.2f MB, want over the 128 MB limit", mb)
	}
	// Killed by the sampler while it held the memory, not after its 5 s.
	if took > 3*time.Second {
		t.Errorf("the invocation over the limit took %s; want it killed well before its 5 s sleep ends", took)
	}
	after := MustDecode(t, MustInvoke(t, e, "hungry", `{"action":"alloc","mb":16}`))
	if after["pid"] == below["pid"] || after["heldMB"] != float64(16) {
		t.Errorf("after the kill: pid %v (before %v), held %v MB; want a fresh process holding 16 MB", after["pid"], below["pid"], after["heldMB"])
	}
	st, _ := e.Stats("hungry")
	if st.OOMKills != 1 || st.Crashes != 0 || st.Errors != 1 || st.Restarts != 1 || st.ColdStarts != 2 {
		t.Errorf("stats = %+v, want 1 OOM kill, 0 crashes, 1 error, 1 restart, 2 cold starts", st)
	}
	if st.PeakRSSKiB <= 128<<10 {
		t.Errorf("PeakRSSKiB = %d, want the killed process's peak, over 128 MiB", st.PeakRSSKiB)
	}
	if !strings.Contains(strings.Join(e.Logs("hungry"), "\n"), "out of memory") {
		t.Error("no log note about the out-of-memory kill")
	}
}

// A process that grows over its limit and answers before the next sample
// still fails: FC would have killed it at the allocation.
func TestMemoryLimit_ResultFromProcessOverLimitFails(t *testing.T) {
	skipWithoutProc(t)
	opts := fastOptions()
	opts.MemorySampleInterval = time.Hour // only the check at the result
	e := MustEmulator(t, newEnv(), opts, memorySpec("spike"))
	mustOOMError(t, MustInvoke(t, e, "spike", `{"action":"alloc","mb":200}`).Error)
	if st, _ := e.Stats("spike"); st.OOMKills != 1 {
		t.Errorf("OOMKills = %d, want 1", st.OOMKills)
	}
	MustDecode(t, MustInvoke(t, e, "spike", `{}`))
}

// Memory kept across invocations of a warm instance adds up until the
// instance is killed, as a leak does on FC.
func TestMemoryLimit_LeakOnWarmInstance(t *testing.T) {
	skipWithoutProc(t)
	e := MustEmulator(t, newEnv(), fastOptions(), memorySpec("leaky"))
	var pid any
	for i := 1; i <= 3; i++ {
		res := MustInvoke(t, e, "leaky", `{"action":"alloc","mb":48}`)
		if res.Error != nil {
			if i == 1 {
				t.Fatalf("first 48 MB on a 128 MB function failed: %v", res.Error)
			}
			mustOOMError(t, res.Error)
			if st, _ := e.Stats("leaky"); st.OOMKills != 1 || st.ColdStarts != 1 {
				t.Errorf("stats = %+v, want 1 OOM kill of the one instance", st)
			}
			return
		}
		out := MustDecode(t, res)
		if pid != nil && out["pid"] != pid {
			t.Fatalf("call %d ran on pid %v, want the warm instance %v", i, out["pid"], pid)
		}
		pid = out["pid"]
	}
	t.Fatal("144 MB held on a 128 MB function: the instance was not killed")
}

// An async invocation whose instance is killed for memory fails like a
// crash: it is retried, then recorded on the onFailure destination.
func TestMemoryLimit_AsyncRetriedThenDestination(t *testing.T) {
	skipWithoutProc(t)
	q := newMemQueue(time.Second)
	opts := fastOptions()
	opts.Sender = q
	opts.MemorySampleInterval = 10 * time.Millisecond
	spec := memorySpec("asyncoom")
	spec.Async = fcemu.AsyncConfig{
		MaxAsyncRetryAttempts: fcemu.IntPtr(1),
		OnFailure:             "acs:mns:cn-hangzhou:" + testAccount + ":/queues/dlq/messages",
	}
	e := MustEmulator(t, newEnv(), opts, spec)
	if _, err := e.Invoke(context.Background(), "asyncoom", []byte(`{"action":"alloc","mb":200,"ms":3000}`), fcemu.InvokeOptions{Async: true}); err != nil {
		t.Fatal(err)
	}
	MustWaitIdle(t, e)
	recs := q.bodies("dlq")
	if len(recs) != 1 {
		t.Fatalf("destination records = %d, want 1", len(recs))
	}
	var rec fcemu.DestinationRecord
	mustJSON(t, recs[0], &rec)
	if rec.RequestContext.Condition != "UnhandledInvocationError" || rec.RequestContext.ApproximateInvokeCount != 2 ||
		!strings.Contains(rec.ResponsePayload, "maxMemoryUsage") {
		t.Errorf("record = %+v, want both attempts failed for memory", rec)
	}
	st, _ := e.Stats("asyncoom")
	if st.OOMKills != 2 || st.AsyncRetries != 1 || st.Crashes != 0 {
		t.Errorf("stats = %+v, want 2 OOM kills, 1 retry, 0 crashes", st)
	}
}
