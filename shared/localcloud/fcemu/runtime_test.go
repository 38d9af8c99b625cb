package fcemu_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
)

func TestInvoke_SyncEcho(t *testing.T) {
	e := MustEmulator(t, newEnv(), fastOptions(), testSpec("echo"))
	res := MustInvoke(t, e, "echo", `{"hello":"world"}`)
	m := MustDecode(t, res)
	echo, _ := m["echo"].(map[string]any)
	if echo["hello"] != "world" {
		t.Fatalf("echo = %v, want the event back", m)
	}
	if res.RequestID == "" {
		t.Error("no request ID")
	}
	// Process output is copied asynchronously; wait for the SDK's line.
	waitFor(t, 5*time.Second, "the SDK's start line in the logs", func() bool {
		for _, l := range e.Logs("echo") {
			if strings.Contains(l, "FC Invoke Start RequestId: "+res.RequestID) {
				return true
			}
		}
		return false
	})
}

func TestInvoke_ContextHeadersAndCredentials(t *testing.T) {
	env := newEnv()
	opts := fastOptions()
	opts.Region = "cn-shanghai"
	opts.Env = map[string]string{"OVERRIDE": "from-options", "FC_FUNCTION_NAME": "cannot-override"}
	e := MustEmulator(t, env, opts, testSpec("ctx"))
	before := time.Now()
	res := MustInvoke(t, e, "ctx", `{"action":"context"}`)
	m := MustDecode(t, res)
	want := map[string]any{
		"requestId":    res.RequestID,
		"functionName": "ctx",
		"handler":      "main",
		"memory":       "256",
		"timeout":      float64(5),
		"region":       "cn-shanghai",
		"accountId":    testAccount,
		"retryCount":   float64(0),
		"qualifier":    "LATEST",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	deadline := time.UnixMilli(int64(m["deadlineMs"].(float64)))
	if d := deadline.Sub(before); d < 4*time.Second || d > 6*time.Second {
		t.Errorf("deadline is %s after the call, want about the 5 s timeout", d)
	}
	// The header credentials are STS credentials the other emulators accept.
	secret, err := env.Credentials.Lookup(m["accessKeyId"].(string), m["securityToken"].(string))
	if err != nil || secret != m["accessKeySecret"] {
		t.Errorf("header credentials not accepted by the store: %v", err)
	}
	if !strings.HasPrefix(m["accessKeyId"].(string), "STS.") {
		t.Errorf("access key %v is not an STS key", m["accessKeyId"])
	}
	envs := m["env"].(map[string]any)
	if envs["FC_FUNCTION_NAME"] != "ctx" || envs["FC_REGION"] != "cn-shanghai" || envs["FC_ACCOUNT_ID"] != testAccount {
		t.Errorf("FC env = %v", envs)
	}
	if envs["CUSTOM"] != "custom-value" || envs["OVERRIDE"] != "from-options" {
		t.Errorf("user env = %v, want spec value and options override", envs)
	}
	if _, err := env.Credentials.Lookup(envs["ALIBABA_CLOUD_ACCESS_KEY_ID"].(string), envs["ALIBABA_CLOUD_SECURITY_TOKEN"].(string)); err != nil {
		t.Errorf("environment credentials not accepted: %v", err)
	}
	if api := envs["FC_RUNTIME_API"].(string); strings.Contains(api, "/") || !strings.HasPrefix(api, "127.0.0.1:") {
		t.Errorf("FC_RUNTIME_API = %q, want host:port", api)
	}
}

func TestInvoke_ReturnedErrorAndPanic(t *testing.T) {
	e := MustEmulator(t, newEnv(), fastOptions(), testSpec("errs"))
	res := MustInvoke(t, e, "errs", `{"action":"error","message":"no luck"}`)
	if res.Error == nil || res.Error.ErrorMessage != "no luck" || res.Error.ErrorType != "errorString" {
		t.Fatalf("error = %+v, want errorString 'no luck'", res.Error)
	}
	res = MustInvoke(t, e, "errs", `{"action":"panic","message":"boom"}`)
	if res.Error == nil || res.Error.ErrorMessage != "boom" || len(res.Error.StackTrace) == 0 {
		t.Fatalf("panic error = %+v, want 'boom' with a stack trace", res.Error)
	}
	// A panic does not end the process (unlike Lambda).
	MustDecode(t, MustInvoke(t, e, "errs", `{}`))
	st, _ := e.Stats("errs")
	if st.Errors != 2 || st.Crashes != 0 || st.ColdStarts != 1 {
		t.Errorf("stats = %+v, want 2 errors, no crash, one cold start", st)
	}
}

func TestInvoke_CrashFailsAndRestarts(t *testing.T) {
	e := MustEmulator(t, newEnv(), fastOptions(), testSpec("crash"))
	pid1 := MustDecode(t, MustInvoke(t, e, "crash", `{}`))["pid"]
	res := MustInvoke(t, e, "crash", `{"action":"exit","code":3}`)
	if res.Error == nil || res.Error.ErrorType != fcemu.ErrorTypeProcessExited || !strings.Contains(res.Error.ErrorMessage, "exit status 3") {
		t.Fatalf("error = %+v, want ProcessExited with exit status 3", res.Error)
	}
	pid2 := MustDecode(t, MustInvoke(t, e, "crash", `{}`))["pid"]
	if pid1 == pid2 {
		t.Error("the crashed process was reused")
	}
	st, _ := e.Stats("crash")
	if st.Crashes != 1 || st.Restarts != 1 || st.ColdStarts != 2 {
		t.Errorf("stats = %+v, want 1 crash, 1 restart, 2 cold starts", st)
	}
}

func TestInvoke_TimeoutKillsInstance(t *testing.T) {
	spec := testSpec("slow")
	spec.TimeoutSeconds = 1
	e := MustEmulator(t, newEnv(), fastOptions(), spec)
	pid1 := MustDecode(t, MustInvoke(t, e, "slow", `{}`))["pid"]
	start := time.Now()
	res := MustInvoke(t, e, "slow", `{"action":"sleep","ms":4000}`)
	if took := time.Since(start); took > 2500*time.Millisecond {
		t.Errorf("timed-out call took %s, want about 1 s", took)
	}
	if res.Error == nil || res.Error.ErrorType != fcemu.ErrorTypeTimeout {
		t.Fatalf("error = %+v, want a timeout", res.Error)
	}
	pid2 := MustDecode(t, MustInvoke(t, e, "slow", `{}`))["pid"]
	if pid1 == pid2 {
		t.Error("the timed-out instance was not replaced")
	}
	st, _ := e.Stats("slow")
	if st.Timeouts != 1 || st.Restarts != 1 || st.Crashes != 0 {
		t.Errorf("stats = %+v, want 1 timeout, 1 restart, 0 crashes", st)
	}
	// The timed-out attempt is the longest, about the timeout.
	if st.LongestAttempt < 900*time.Millisecond || st.LongestAttempt > 2500*time.Millisecond {
		t.Errorf("longest attempt %s, want about the 1 s timeout", st.LongestAttempt)
	}
}

func TestInvoke_InitializerRunsOnce(t *testing.T) {
	spec := testSpec("init")
	spec.Initializer = &fcemu.LifecycleHook{Handler: "main.initialize", TimeoutSeconds: 3}
	e := MustEmulator(t, newEnv(), fastOptions(), spec)
	for i := 0; i < 3; i++ {
		m := MustDecode(t, MustInvoke(t, e, "init", `{"action":"context"}`))
		if m["initCount"] != float64(1) {
			t.Fatalf("call %d: initCount = %v, want 1", i, m["initCount"])
		}
	}
	st, _ := e.Stats("init")
	if st.Initializations != 1 {
		t.Errorf("initializations = %d, want 1", st.Initializations)
	}
}

func TestInvoke_InitializerFailure(t *testing.T) {
	spec := testSpec("badinit")
	spec.Initializer = &fcemu.LifecycleHook{Handler: "main.initialize", TimeoutSeconds: 3}
	spec.Environment = map[string]string{"TESTFN_INIT_FAIL": "1"}
	e := MustEmulator(t, newEnv(), fastOptions(), spec)
	res := MustInvoke(t, e, "badinit", `{}`)
	if res.Error == nil || res.Error.ErrorType != fcemu.ErrorTypeInitialization {
		t.Fatalf("error = %+v, want an initialization error", res.Error)
	}
}

func TestInvoke_ConcurrencyPerInstance(t *testing.T) {
	spec := testSpec("conc")
	spec.InstanceConcurrency = 3
	single := testSpec("single")
	e := MustEmulator(t, newEnv(), fastOptions(), spec, single)
	MustInvoke(t, e, "conc", `{}`) // warm
	MustInvoke(t, e, "single", `{}`)

	run := func(fn string, n int) (pids map[any]bool, took time.Duration) {
		var mu sync.Mutex
		pids = map[any]bool{}
		var wg sync.WaitGroup
		start := time.Now()
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m := MustDecode(t, MustInvoke(t, e, fn, `{"action":"sleep","ms":600}`))
				mu.Lock()
				pids[m["pid"]] = true
				mu.Unlock()
			}()
		}
		wg.Wait()
		return pids, time.Since(start)
	}
	pids, took := run("conc", 3)
	if len(pids) != 1 || took > 1500*time.Millisecond {
		t.Errorf("concurrency 3: %d processes, %s; want 1 process running all 3 in parallel", len(pids), took)
	}
	pids, took = run("single", 2)
	if len(pids) != 2 || took > 1500*time.Millisecond {
		t.Errorf("concurrency 1: %d processes, %s; want a second instance", len(pids), took)
	}
}

func TestAsync_FunctionErrorRetriesThenDestination(t *testing.T) {
	q := newMemQueue(time.Second)
	opts := fastOptions()
	opts.Sender = q
	spec := testSpec("asyncfail")
	spec.Async = fcemu.AsyncConfig{
		MaxAsyncRetryAttempts: fcemu.IntPtr(2),
		OnFailure:             "acs:mns:cn-hangzhou:" + testAccount + ":/queues/dlq/messages",
	}
	e := MustEmulator(t, newEnv(), opts, spec)
	res, err := e.Invoke(context.Background(), "asyncfail", []byte(`{"action":"error","message":"always"}`), fcemu.InvokeOptions{Async: true})
	if err != nil || !res.Async || res.RequestID == "" {
		t.Fatalf("async invoke = %+v, %v", res, err)
	}
	MustWaitIdle(t, e)
	hist := e.History("asyncfail")
	if len(hist) != 3 {
		t.Fatalf("attempts = %d, want 1 + 2 retries", len(hist))
	}
	for i, h := range hist {
		if h.RetryCount != i || h.RequestID != res.RequestID || h.Error == nil {
			t.Errorf("attempt %d = retry %d id %s err %v", i, h.RetryCount, h.RequestID, h.Error)
		}
	}
	recs := q.bodies("dlq")
	if len(recs) != 1 {
		t.Fatalf("destination records = %d, want 1", len(recs))
	}
	var rec fcemu.DestinationRecord
	mustJSON(t, recs[0], &rec)
	if rec.RequestContext.RequestID != res.RequestID || rec.RequestContext.Condition != "UnhandledInvocationError" ||
		rec.RequestContext.ApproximateInvokeCount != 3 || !strings.Contains(rec.ResponsePayload, "always") ||
		rec.RequestPayload != `{"action":"error","message":"always"}` {
		t.Errorf("record = %+v", rec)
	}
	st, _ := e.Stats("asyncfail")
	if st.AsyncRetries != 2 || st.DestinationRecords != 1 || st.Invocations != 3 {
		t.Errorf("stats = %+v", st)
	}
}

func TestAsync_CrashAndTimeoutAreRetried(t *testing.T) {
	q := newMemQueue(time.Second)
	opts := fastOptions()
	opts.Sender = q
	spec := testSpec("asynccrash")
	spec.TimeoutSeconds = 1
	spec.Async = fcemu.AsyncConfig{
		MaxAsyncRetryAttempts: fcemu.IntPtr(1),
		OnFailure:             "acs:mns:cn-hangzhou:" + testAccount + ":/queues/dlq/messages",
	}
	e := MustEmulator(t, newEnv(), opts, spec)
	for _, p := range []string{`{"action":"exit","code":1}`, `{"action":"sleep","ms":3000}`} {
		if _, err := e.Invoke(context.Background(), "asynccrash", []byte(p), fcemu.InvokeOptions{Async: true}); err != nil {
			t.Fatal(err)
		}
	}
	MustWaitIdle(t, e)
	if n := len(q.bodies("dlq")); n != 2 {
		t.Errorf("destination records = %d, want 2", n)
	}
	st, _ := e.Stats("asynccrash")
	if st.Crashes < 2 || st.Timeouts != 2 || st.AsyncRetries != 2 || st.Errors != 4 {
		t.Errorf("stats = %+v, want >=2 crashes, 2 timeouts, 2 retries, 4 errors", st)
	}
}

func TestAsync_SucceedsOnRetryWithOnSuccess(t *testing.T) {
	q := newMemQueue(time.Second)
	opts := fastOptions()
	opts.Sender = q
	spec := testSpec("flaky")
	spec.Async.OnSuccess = "acs:mns:cn-hangzhou:" + testAccount + ":/queues/ok/messages"
	e := MustEmulator(t, newEnv(), opts, spec)
	if _, err := e.Invoke(context.Background(), "flaky", []byte(`{"action":"fail-until","until":2}`), fcemu.InvokeOptions{Async: true}); err != nil {
		t.Fatal(err)
	}
	MustWaitIdle(t, e)
	recs := q.bodies("ok")
	if len(recs) != 1 {
		t.Fatalf("success records = %d, want 1", len(recs))
	}
	var rec fcemu.DestinationRecord
	mustJSON(t, recs[0], &rec)
	if rec.RequestContext.ApproximateInvokeCount != 3 || !strings.Contains(rec.ResponsePayload, `"retryCount":2`) {
		t.Errorf("record = %+v", rec)
	}
}

func TestControls_ServerFaultIsSystemErrorRetriedAsync(t *testing.T) {
	env := newEnv()
	e := MustEmulator(t, env, fastOptions(), testSpec("faulty"))
	env.Controls.SetFaults("fc", "Invoke", core.FaultSpec{ServerErrorRate: 1})
	_, err := e.Invoke(context.Background(), "faulty", []byte(`{}`), fcemu.InvokeOptions{})
	var se *fcemu.SystemError
	if !errors.As(err, &se) || se.Status != 503 {
		t.Fatalf("sync invoke under faults: %v, want a 503 SystemError", err)
	}
	if _, err := e.Invoke(context.Background(), "faulty", []byte(`{"n":1}`), fcemu.InvokeOptions{Async: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "system retries", func() bool {
		st, _ := e.Stats("faulty")
		return st.SystemErrors >= 3
	})
	env.Controls.SetFaults("fc", "Invoke", core.FaultSpec{})
	MustWaitIdle(t, e)
	hist := e.History("faulty")
	if len(hist) != 1 || hist[0].Error != nil || hist[0].RetryCount != 0 {
		t.Errorf("history = %+v, want one successful attempt with retry count 0", hist)
	}
	if env.Controls.Count("fc", "Invoke") < 4 {
		t.Errorf("controls saw %d calls", env.Controls.Count("fc", "Invoke"))
	}
}

func TestInvokeOverHTTP(t *testing.T) {
	e := MustEmulator(t, newEnv(), fastOptions(), testSpec("http"))
	srv := httptest.NewServer(e.InvokeHandler())
	defer srv.Close()

	res, err := fcemu.InvokeOverHTTP(srv.URL, "http", []byte(`{"k":"v"}`), false)
	if err != nil || res.Error != nil || !strings.Contains(string(res.Payload), `"k":"v"`) || res.RequestID == "" {
		t.Fatalf("sync = %+v (%s), %v", res, res.Payload, err)
	}
	res, err = fcemu.InvokeOverHTTP(srv.URL, "http", []byte(`{"action":"error","message":"bad"}`), false)
	if err != nil || res.Error == nil || res.Error.ErrorMessage != "bad" {
		t.Fatalf("function error = %+v, %v", res, err)
	}
	res, err = fcemu.InvokeOverHTTP(srv.URL, "http", []byte(`{"action":"context"}`), true)
	if err != nil || !res.Async || res.RequestID == "" {
		t.Fatalf("async = %+v, %v", res, err)
	}
	MustWaitIdle(t, e)
	if h := e.History("http"); len(h) != 3 || h[2].RequestID != res.RequestID || !h[2].Async {
		t.Errorf("history = %+v", h)
	}
	_, err = fcemu.InvokeOverHTTP(srv.URL, "nope", []byte(`{}`), false)
	var se *fcemu.SystemError
	if !errors.As(err, &se) || se.Status != 404 || se.Code != "FunctionNotFound" {
		t.Errorf("unknown function: %v", err)
	}
}

func TestClose_StopsProcessesAndRefusesWork(t *testing.T) {
	spec := testSpec("closing")
	spec.PreStop = &fcemu.LifecycleHook{Handler: "main.preStop", TimeoutSeconds: 2}
	e := fcemu.New(newEnv(), fastOptions())
	if err := e.AddFunction(spec); err != nil {
		t.Fatal(err)
	}
	MustInvoke(t, e, "closing", `{}`)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.Stats("closing"); st.Instances != 0 || st.Crashes != 0 {
		t.Errorf("after Close: %+v", st)
	}
	var sawPreStop bool
	for _, l := range e.Logs("closing") {
		sawPreStop = sawPreStop || strings.Contains(l, "preStop ran")
	}
	if !sawPreStop {
		t.Errorf("preStop hook did not run: %q", e.Logs("closing"))
	}
	if _, err := e.Invoke(context.Background(), "closing", []byte(`{}`), fcemu.InvokeOptions{}); !errors.Is(err, fcemu.ErrClosed) {
		t.Errorf("Invoke after Close = %v, want ErrClosed", err)
	}
}

func TestInvokeOverHTTP_ControlsThrottleAndDrop(t *testing.T) {
	env := newEnv()
	e := MustEmulator(t, env, fastOptions(), testSpec("ctl"))
	srv := httptest.NewServer(e.InvokeHandler())
	defer srv.Close()

	env.Controls.SetRateLimit("fc", "Invoke", core.RateLimit{PerSecond: 0.001, Burst: 1})
	if _, err := fcemu.InvokeOverHTTP(srv.URL, "ctl", []byte(`{}`), false); err != nil {
		t.Fatalf("first call within the burst: %v", err)
	}
	_, err := fcemu.InvokeOverHTTP(srv.URL, "ctl", []byte(`{}`), false)
	var se *fcemu.SystemError
	if !errors.As(err, &se) || se.Status != 429 {
		t.Errorf("throttled call: %v, want a 429 SystemError", err)
	}
	env.Controls.SetRateLimit("fc", "Invoke", core.RateLimit{})

	env.Controls.SetFaults("fc", "Invoke", core.FaultSpec{DropRate: 1})
	if _, err := fcemu.InvokeOverHTTP(srv.URL, "ctl", []byte(`{}`), false); err == nil || errors.As(err, &se) {
		t.Errorf("dropped call: %v, want a transport error", err)
	}
}
