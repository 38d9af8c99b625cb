package fcemu

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

type instanceState int

const (
	stateStarting instanceState = iota
	stateReady
	stateDraining // killed or stopping: takes no new work, process not reaped yet
	stateDead
)

// Values of the x-fc-function-type header.
const (
	kindInvoke      = 0
	kindInitializer = 1
	kindPreStop     = 2
)

// Runtime API paths, as fc-runtime-go-sdk v0.3.1 builds them.
const (
	runtimeAPIPrefix = "/2020-11-11/runtime/invocation/"
)

// instance is one function process and its runtime API listener.
type instance struct {
	f  *function
	id string

	// state and inflight are guarded by f.mu.
	state    instanceState
	inflight int

	polled     chan struct{} // closed at the first GET next
	polledOnce sync.Once
	launched   time.Time     // set before the process starts, read after polled closes
	polledAt   time.Time     // set once, before polled closes
	exitedCh   chan struct{} // closed when the process is gone
	reaped     chan struct{} // closed when wait has cleaned up after it
	queue      chan *call

	mu            sync.Mutex
	cmd           *exec.Cmd
	srv           *http.Server
	exited        bool
	killReason    string
	stopRequested bool
	calls         map[string]*call // handed out by next, awaiting a result
	exitDesc      string
	oomPeakKiB    int64 // set once the instance is killed for memory: its peak resident set
}

func newInstance(f *function, id string) *instance {
	return &instance{
		f:        f,
		id:       id,
		polled:   make(chan struct{}),
		exitedCh: make(chan struct{}),
		reaped:   make(chan struct{}),
		// Slots are reserved before a call is queued, so the buffer never
		// fills in practice; the extra room is for lifecycle hooks.
		queue: make(chan *call, f.spec.concurrency()+4),
		calls: map[string]*call{},
	}
}

// FunctionError is the error body the runtime posts to .../error, and the
// body of emulator-made errors (timeouts, crashes, failed starts).
type FunctionError struct {
	ErrorMessage string          `json:"errorMessage"`
	ErrorType    string          `json:"errorType,omitempty"`
	StackTrace   json.RawMessage `json:"stackTrace,omitempty"`
}

func (e *FunctionError) Error() string {
	if e.ErrorType == "" {
		return e.ErrorMessage
	}
	return e.ErrorType + ": " + e.ErrorMessage
}

// Error types the emulator itself reports (FC's exact strings for these
// cases are unconfirmed).
const (
	ErrorTypeTimeout        = "FunctionTimeout"
	ErrorTypeProcessExited  = "ProcessExited"
	ErrorTypeInitialization = "InitializationError"
	ErrorTypeStart          = "FunctionStartFailed"
)

// start launches the process, waits for its first poll and runs the
// initializer. On failure the process is gone and the error is a startError.
func (in *instance) start() error {
	f := in.f
	fail := func(typ, format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		f.note("instance %s: %s", in.id, msg)
		return &startError{ferr: &FunctionError{ErrorMessage: msg, ErrorType: typ}}
	}
	exe := f.spec.executable()
	if !fileExists(exe) {
		return fail(ErrorTypeStart, "handler executable %s does not exist", exe)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(ErrorTypeStart, "runtime API listener: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+runtimeAPIPrefix+"next", in.handleNext)
	mux.HandleFunc("POST "+runtimeAPIPrefix+"{id}/response", in.handleResponse)
	mux.HandleFunc("POST "+runtimeAPIPrefix+"{id}/error", in.handleError)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()

	creds := f.credentials()
	cmd := exec.Command(exe)
	cmd.Dir = f.spec.codeDir()
	cmd.Env = f.processEnv(ln.Addr().String(), in.id, creds)
	stdout := &lineWriter{sink: f.logs, tag: in.id}
	stderr := &lineWriter{sink: f.logs, tag: in.id}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = time.Second

	in.mu.Lock()
	in.srv = srv
	if in.stopRequested {
		in.mu.Unlock()
		_ = srv.Close()
		return ErrClosed
	}
	in.launched = time.Now()
	if err := cmd.Start(); err != nil {
		in.mu.Unlock()
		_ = srv.Close()
		return fail(ErrorTypeStart, "start %s: %v", exe, err)
	}
	in.cmd = cmd
	in.mu.Unlock()
	f.note("instance %s: started pid %d, FC_RUNTIME_API=%s", in.id, cmd.Process.Pid, ln.Addr())
	go in.wait(stdout, stderr)
	if memoryEnforced {
		go in.watchMemory(f.em.opts.MemorySampleInterval)
	} else {
		f.note("instance %s: memorySize %d MB not enforced: resident sets are read from /proc, which %s lacks", in.id, f.spec.memory(), runtime.GOOS)
	}

	t := time.NewTimer(f.em.opts.StartTimeout)
	defer t.Stop()
	select {
	case <-in.polled:
		f.count(func(s *FunctionStats) { s.StartLatencies = append(s.StartLatencies, in.polledAt.Sub(in.launched)) })
	case <-in.exitedCh:
		if peak := in.oomPeak(); peak > 0 {
			return fail(ErrorTypeStart, "process was killed for using %.1f MB, over memorySize %d MB, before polling the runtime API", float64(peak)/1024, f.spec.memory())
		}
		return fail(ErrorTypeStart, "process exited before polling the runtime API (%s); is it an fc-runtime-go-sdk binary?", in.exitDescription())
	case <-t.C:
		in.kill("no runtime API poll within the start timeout")
		<-in.exitedCh
		return fail(ErrorTypeStart, "process did not poll the runtime API within %s", f.em.opts.StartTimeout)
	}

	if hook := f.spec.Initializer; hook != nil {
		c := newCall(kindInitializer, core.NewRequestID(), nil, time.Duration(hook.TimeoutSeconds)*time.Second, &request{source: "initializer"})
		in.submit(c)
		out := <-c.done
		if out.ferr != nil {
			in.kill("initializer failed")
			<-in.exitedCh
			return fail(ErrorTypeInitialization, "initializer failed: %s", out.ferr.Error())
		}
		f.count(func(s *FunctionStats) { s.Initializations++ })
	}
	return nil
}

func (f *function) processEnv(api, instanceID string, creds core.Credential) []string {
	env := map[string]string{
		"PATH": "/usr/local/bin:/usr/bin:/bin",
		"HOME": os.TempDir(),
	}
	for k, v := range f.spec.Environment {
		env[k] = v
	}
	for k, v := range f.em.opts.Env {
		env[k] = v
	}
	for k, v := range f.em.opts.FunctionEnv[f.spec.Name] {
		env[k] = v
	}
	hookHandler := ""
	if f.spec.Initializer != nil {
		hookHandler = f.spec.Initializer.Handler
	}
	fcVars := map[string]string{
		"FC_RUNTIME_API":                  api,
		"FC_FUNCTION_NAME":                f.spec.Name,
		"FC_FUNCTION_HANDLER":             f.spec.Handler,
		"FC_FUNCTION_MEMORY_SIZE":         strconv.Itoa(f.spec.memory()),
		"FC_REGION":                       f.em.region(f),
		"FC_ACCOUNT_ID":                   f.em.env.AccountID,
		"FC_INSTANCE_ID":                  instanceID,
		"FC_INITIALIZER_HANDLER":          hookHandler,
		"ALIBABA_CLOUD_ACCESS_KEY_ID":     creds.AccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET": creds.AccessKeySecret,
		"ALIBABA_CLOUD_SECURITY_TOKEN":    creds.SecurityToken,
	}
	if hookHandler == "" {
		delete(fcVars, "FC_INITIALIZER_HANDLER")
	}
	for k, v := range fcVars {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// wait reaps the process and fails whatever it still held.
func (in *instance) wait(stdout, stderr *lineWriter) {
	err := in.cmd.Wait()
	in.f.drain(in) // before failing its calls frees their slots
	stdout.flush()
	stderr.flush()
	desc := "exit status 0"
	if err != nil {
		desc = err.Error()
	}
	in.mu.Lock()
	in.exited = true
	in.exitDesc = desc
	reason := in.killReason
	stopping := in.stopRequested
	oomPeak := in.oomPeakKiB
	pending := make([]*call, 0, len(in.calls))
	for _, c := range in.calls {
		pending = append(pending, c)
	}
	in.calls = map[string]*call{}
	srv := in.srv
	in.mu.Unlock()
	close(in.exitedCh)
drain:
	for {
		select {
		case c := <-in.queue:
			pending = append(pending, c)
		default:
			break drain
		}
	}
	_ = srv.Close()

	unexpected := reason == "" && !stopping && oomPeak == 0
	msg := "Process exited unexpectedly before completing request (" + desc + ")"
	switch {
	case oomPeak > 0:
		// Worded per call below: FC gives each call its own duration.
	case stopping:
		msg = "Instance was stopped before completing request"
	case reason != "":
		msg = "Instance was killed before completing request: " + reason
	}
	if unexpected {
		in.f.note("instance %s: process crashed (%s)", in.id, desc)
		in.f.count(func(s *FunctionStats) {
			s.Crashes++
			in.f.needRestart++
		})
	} else {
		in.f.note("instance %s: process ended (%s)", in.id, desc)
	}
	for _, c := range pending {
		m := msg
		if oomPeak > 0 {
			m = oomMessage(time.Since(c.start), oomPeak)
		}
		c.finish(attemptOutcome{ferr: &FunctionError{ErrorMessage: m, ErrorType: ErrorTypeProcessExited}})
	}
	in.f.instanceExited(in)
	close(in.reaped)
}

func (in *instance) oomPeak() int64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.oomPeakKiB
}

func (in *instance) exitDescription() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.exitDesc
}

// kill SIGKILLs the process, remembering why.
func (in *instance) kill(reason string) {
	in.mu.Lock()
	if in.killReason == "" {
		in.killReason = reason
	}
	cmd := in.cmd
	in.mu.Unlock()
	in.f.drain(in)
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}

// stop runs the preStop hook if any, then SIGTERMs the process and
// SIGKILLs it after the grace period. It returns once the process is gone.
func (in *instance) stop(preStop *LifecycleHook) {
	select {
	case <-in.polled:
		if preStop != nil {
			c := newCall(kindPreStop, core.NewRequestID(), nil, time.Duration(preStop.TimeoutSeconds)*time.Second, &request{source: "preStop"})
			in.submit(c)
			<-c.done
		}
	default:
	}
	in.checkMemory(false) // the last chance to read its peak
	in.mu.Lock()
	in.stopRequested = true
	cmd := in.cmd
	in.mu.Unlock()
	in.f.drain(in)
	if cmd == nil {
		// start() sees stopRequested and gives up before launching.
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(in.f.em.opts.StopGrace)
	defer t.Stop()
	select {
	case <-in.reaped:
		return
	case <-t.C:
	}
	_ = cmd.Process.Kill()
	<-in.reaped
}

// submit queues c for the next GET next, starting its deadline.
func (in *instance) submit(c *call) {
	c.in = in
	c.start = time.Now()
	c.deadline = c.start.Add(c.timeout)
	in.mu.Lock()
	if in.exited {
		in.mu.Unlock()
		c.finish(attemptOutcome{ferr: &FunctionError{ErrorMessage: "instance is gone", ErrorType: ErrorTypeProcessExited}})
		return
	}
	c.mu.Lock()
	c.timer = time.AfterFunc(c.timeout, func() { in.timedOut(c) })
	c.mu.Unlock()
	select {
	case in.queue <- c:
		in.mu.Unlock()
	default:
		in.mu.Unlock()
		c.finish(attemptOutcome{ferr: &FunctionError{ErrorMessage: "instance queue is full", ErrorType: ErrorTypeStart}})
	}
}

func (in *instance) timedOut(c *call) {
	secs := int(c.timeout.Round(time.Second) / time.Second)
	what := "Function"
	switch c.kind {
	case kindInitializer:
		what = "Initializer"
	case kindPreStop:
		what = "PreStop hook"
	}
	msg := fmt.Sprintf("%s timed out after %d seconds", what, secs)
	// The instance is taken out of rotation and killed before the caller
	// learns of the timeout, so its next call cannot land on it.
	c.finishWith(attemptOutcome{ferr: &FunctionError{ErrorMessage: msg, ErrorType: ErrorTypeTimeout}}, func() {
		in.f.mu.Lock()
		in.f.stats.Timeouts++
		in.f.needRestart++
		in.f.mu.Unlock()
		in.f.note("request %s on %s: %s; killing the instance", c.id, in.id, msg)
		in.kill("request " + c.id + " timed out")
	})
}

// handleNext is the long-poll GET .../invocation/next. It never answers
// with an error: the SDK retries errors without delay.
func (in *instance) handleNext(w http.ResponseWriter, r *http.Request) {
	in.polledOnce.Do(func() {
		in.polledAt = time.Now()
		close(in.polled)
	})
	for {
		var c *call
		select {
		case c = <-in.queue:
		case <-r.Context().Done():
			return
		case <-in.exitedCh:
			return
		}
		if c.isDone() {
			continue // timed out while queued
		}
		in.mu.Lock()
		if in.exited {
			in.mu.Unlock()
			c.finish(attemptOutcome{ferr: &FunctionError{ErrorMessage: "instance is gone", ErrorType: ErrorTypeProcessExited}})
			return
		}
		in.calls[c.id] = c
		in.mu.Unlock()
		in.writeInvocation(w, c)
		return
	}
}

func (in *instance) writeInvocation(w http.ResponseWriter, c *call) {
	f := in.f
	creds := f.credentials()
	handler := f.spec.Handler
	if c.kind == kindInitializer && f.spec.Initializer != nil {
		handler = f.spec.Initializer.Handler
	}
	if c.kind == kindPreStop && f.spec.PreStop != nil {
		handler = f.spec.PreStop.Handler
	}
	timeoutSecs := int((c.timeout + time.Second - 1) / time.Second)
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("x-fc-request-id", c.id)
	h.Set("x-fc-function-deadline", strconv.FormatInt(c.deadline.UnixMilli(), 10))
	h.Set("x-fc-function-timeout", strconv.Itoa(timeoutSecs))
	h.Set("x-fc-function-type", strconv.Itoa(c.kind))
	h.Set("x-fc-function-name", f.spec.Name)
	h.Set("x-fc-function-handler", handler)
	h.Set("x-fc-function-memory", strconv.Itoa(f.spec.memory()))
	h.Set("x-fc-region", f.em.region(f))
	h.Set("x-fc-account-id", f.em.env.AccountID)
	h.Set("x-fc-qualifier", "LATEST")
	h.Set("x-fc-retry-count", strconv.Itoa(c.retry))
	h.Set("x-fc-access-key-id", creds.AccessKeyID)
	h.Set("x-fc-access-key-secret", creds.AccessKeySecret)
	h.Set("x-fc-security-token", creds.SecurityToken)
	h.Set("Content-Length", strconv.Itoa(len(c.payload)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(c.payload)
}

func (in *instance) handleResponse(w http.ResponseWriter, r *http.Request) {
	in.handleResult(w, r, false)
}

func (in *instance) handleError(w http.ResponseWriter, r *http.Request) {
	in.handleResult(w, r, true)
}

func (in *instance) handleResult(w http.ResponseWriter, r *http.Request, isErr bool) {
	id := r.PathValue("id")
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	in.mu.Lock()
	c := in.calls[id]
	in.mu.Unlock()
	if c == nil {
		// Late result of a request that already timed out or was never sent.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"errorMessage":"request is not in flight on this instance"}`)
		return
	}
	w.WriteHeader(http.StatusOK)
	// A result from a process over its memorySize does not count: FC would
	// have killed it at the allocation. wait() fails the call instead.
	if in.checkMemory(true) {
		return
	}
	if !isErr {
		c.finish(attemptOutcome{payload: body})
		return
	}
	fe := &FunctionError{}
	if json.Unmarshal(body, fe) != nil || fe.ErrorMessage == "" && fe.ErrorType == "" {
		fe = &FunctionError{ErrorMessage: string(body), ErrorType: "UnknownError"}
	}
	c.finish(attemptOutcome{ferr: fe})
}

// request is what stays the same across the attempts of one invocation.
type request struct {
	source string
	async  bool
}

// call is one attempt on one instance.
type call struct {
	id       string
	kind     int
	payload  []byte
	timeout  time.Duration
	retry    int
	req      *request
	slot     bool // holds an instance slot, released at finish
	start    time.Time
	deadline time.Time
	in       *instance
	done     chan attemptOutcome

	once     sync.Once
	finished sync.Mutex // guards doneFlag
	doneFlag bool
	mu       sync.Mutex // guards timer
	timer    *time.Timer
}

// attemptOutcome is how one attempt ended: a result body or a function error.
type attemptOutcome struct {
	payload []byte
	ferr    *FunctionError
}

func newCall(kind int, id string, payload []byte, timeout time.Duration, req *request) *call {
	if timeout <= 0 {
		timeout = DefaultTimeoutSeconds * time.Second
	}
	return &call{id: id, kind: kind, payload: payload, timeout: timeout, req: req, done: make(chan attemptOutcome, 1)}
}

func (c *call) isDone() bool {
	c.finished.Lock()
	defer c.finished.Unlock()
	return c.doneFlag
}

// finish delivers the first outcome; it reports whether this was the first.
func (c *call) finish(out attemptOutcome) bool { return c.finishWith(out, nil) }

// finishWith is finish running before() first if this outcome wins.
func (c *call) finishWith(out attemptOutcome, before func()) bool {
	first := false
	c.once.Do(func() {
		first = true
		if before != nil {
			before()
		}
		c.finished.Lock()
		c.doneFlag = true
		c.finished.Unlock()
		c.mu.Lock()
		if c.timer != nil {
			c.timer.Stop()
		}
		c.mu.Unlock()
		in := c.in
		if in != nil {
			in.mu.Lock()
			delete(in.calls, c.id)
			in.mu.Unlock()
		}
		if c.kind == kindInvoke && in != nil {
			in.f.record(c, out)
		}
		// Free the slot before the caller hears back, so its next call can
		// reuse this instance instead of cold-starting another.
		if c.slot && in != nil {
			in.f.release(in)
		}
		c.done <- out
	})
	return first
}
