package fcemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

// Defaults of Options.
const (
	DefaultRegion        = "cn-hangzhou"
	DefaultMaxInstances  = 10
	DefaultLogLines      = 500
	DefaultHistorySize   = 200
	DefaultSTSTTL        = time.Hour
	DefaultRetryBackoff  = time.Second
	DefaultSystemBackoff = 500 * time.Millisecond
	DefaultMaxBackoff    = 5 * time.Minute
	DefaultStartTimeout  = 10 * time.Second
	DefaultStopGrace     = 2 * time.Second
	DefaultMNSPollWait   = time.Second
	// DefaultMemorySampleInterval is how often a live instance's resident
	// set is read: short enough that a process over its memorySize is
	// stopped within the invocation that grew it, cheap enough (one small
	// /proc read) for every instance.
	DefaultMemorySampleInterval = 50 * time.Millisecond
	// DefaultBatchCount is the batch size of an MNS trigger whose batchWindow
	// sets only TimeBasedWindow.
	DefaultBatchCount = 10
	// MaxAsyncPayload and MaxSyncPayload are FC's invocation payload limits.
	MaxAsyncPayload = 128 << 10
	MaxSyncPayload  = 32 << 20
)

// Options configures an Emulator. Zero values take the Default* constants.
type Options struct {
	// Region is reported to functions (x-fc-region, FC_REGION) unless the
	// spec names its own.
	Region string
	// Env is added to every function process's environment, over the
	// function's environmentVariables (e.g. localcloud endpoints).
	// FunctionEnv does the same for one function and wins over Env.
	// FC's own variables (FC_RUNTIME_API, FC_FUNCTION_NAME, credentials, ...)
	// cannot be overridden.
	Env         map[string]string
	FunctionEnv map[string]map[string]string
	// Log receives every line the function processes write, prefixed with
	// "[function/instance] ", plus the emulator's own notes about them.
	Log io.Writer
	// LogLines is how many recent lines Logs keeps per function.
	LogLines int
	// HistorySize is how many recent attempts History keeps per function.
	HistorySize int
	// MaxInstances bounds the instances of one function.
	MaxInstances int
	// Queues feeds MNS queue triggers; Sender receives async destination
	// records and dead-letter events. Either may be nil when unused.
	Queues QueueSource
	Sender QueueSender
	// STSTTL is the lifetime of the STS credentials handed to functions.
	STSTTL time.Duration
	// RetryBackoff is the first delay before an async retry after a function
	// error; it doubles per retry.
	RetryBackoff time.Duration
	// RetryTimeScale multiplies the waits between EventBridge push retries
	// (the documented 10-20 s of BACKOFF_RETRY, 1-512 s of
	// EXPONENTIAL_DECAY_RETRY). Zero means 1, the real intervals; tests use
	// e.g. 0.001 so that BACKOFF_RETRY waits 10-20 ms. It changes only the
	// waits, never the number of retries.
	RetryTimeScale float64
	// SystemBackoff is the first delay before retrying an async invocation
	// that hit a system error (Controls: throttle, server fault, drop); it
	// doubles per retry up to MaxBackoff.
	SystemBackoff time.Duration
	MaxBackoff    time.Duration
	// StartTimeout bounds how long a new process may take to poll the
	// runtime API for the first time.
	StartTimeout time.Duration
	// StopGrace is the wait between SIGTERM and SIGKILL at Close.
	StopGrace time.Duration
	// MNSPollWait is the long-poll wait of each queue receive.
	MNSPollWait time.Duration
	// MemorySampleInterval is how often each live instance's resident set
	// is read to hold it to the function's memorySize (Linux only). Results
	// are checked too when they arrive, so a longer interval only delays the
	// kill of a process that is over its limit while it works.
	MemorySampleInterval time.Duration
	// DropEvent, when set, hides the events it returns true for from every
	// EventBridge trigger, as a rule whose pattern does not match them would.
	// Benchmarks use it to compare with a rule that leaves some events out.
	DropEvent func(core.CloudEvent) bool
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(d *int, v int) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	defInt(&o.LogLines, DefaultLogLines)
	defInt(&o.HistorySize, DefaultHistorySize)
	defInt(&o.MaxInstances, DefaultMaxInstances)
	def(&o.STSTTL, DefaultSTSTTL)
	def(&o.RetryBackoff, DefaultRetryBackoff)
	def(&o.SystemBackoff, DefaultSystemBackoff)
	def(&o.MaxBackoff, DefaultMaxBackoff)
	def(&o.StartTimeout, DefaultStartTimeout)
	def(&o.StopGrace, DefaultStopGrace)
	def(&o.MNSPollWait, DefaultMNSPollWait)
	def(&o.MemorySampleInterval, DefaultMemorySampleInterval)
	if o.RetryTimeScale <= 0 {
		o.RetryTimeScale = 1
	}
}

// QueueMessage is one message received from an MNS queue.
type QueueMessage struct {
	ID            string
	Body          string
	ReceiptHandle string
	DequeueCount  int
	EnqueueTime   time.Time
}

// QueueSource is what an MNS queue trigger polls.
type QueueSource interface {
	// Receive long-polls queue for up to wait and returns at most max
	// messages, each invisible until its visibility timeout passes. No
	// message is not an error: it returns an empty slice. It returns early
	// with ctx's error when ctx ends. Safe for concurrent use.
	Receive(ctx context.Context, queue string, max int, wait time.Duration) ([]QueueMessage, error)
	// Delete removes a received message. Safe for concurrent use.
	Delete(queue, receiptHandle string) error
}

// QueueSender is where destination records and dead-lettered events go.
type QueueSender interface {
	// Send enqueues body on queue. Safe for concurrent use.
	Send(queue, body string) error
}

// Errors of the invocation API.
var (
	ErrFunctionNotFound = errors.New("fcemu: function not found")
	ErrClosed           = errors.New("fcemu: emulator closed")
)

// Emulator runs FC 3.0 Go functions as child processes behind per-instance
// runtime API listeners and fires their triggers. Create it with New, add
// functions, Start the triggers and Close it to stop every process.
type Emulator struct {
	env  *core.Env
	opts Options

	mu      sync.Mutex
	funcs   map[string]*function
	started bool
	closed  bool
	ctx     context.Context // ends at Close; parent of trigger loops and async retries
	cancel  context.CancelFunc
	unsub   func()
	bg      sync.WaitGroup

	logMu sync.Mutex

	idleMu  sync.Mutex
	pending int
	idle    chan struct{} // closed when pending drops to zero
}

// New returns an emulator for env. It starts nothing: processes start at
// their first invocation, triggers at Start.
func New(env *core.Env, opts Options) *Emulator {
	opts.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	idle := make(chan struct{})
	close(idle)
	return &Emulator{env: env, opts: opts, funcs: map[string]*function{}, ctx: ctx, cancel: cancel, idle: idle}
}

// AddFunction validates spec and registers it. Its triggers run once Start
// has been called (immediately if it already has).
func (e *Emulator) AddFunction(spec FunctionSpec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	f, err := newFunction(e, spec)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	if _, dup := e.funcs[spec.Name]; dup {
		return fmt.Errorf("function %q already exists", spec.Name)
	}
	e.funcs[spec.Name] = f
	if e.started {
		e.startTriggersLocked(f)
	}
	return nil
}

// Functions returns the registered function names, sorted.
func (e *Emulator) Functions() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	names := make([]string, 0, len(e.funcs))
	for n := range e.funcs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Start subscribes EventBridge triggers to env.Events and starts timer and
// MNS queue triggers. They run until ctx ends or Close.
func (e *Emulator) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	if e.started {
		return errors.New("fcemu: already started")
	}
	e.started = true
	stop := context.AfterFunc(ctx, e.cancel)
	e.bg.Add(1)
	go func() {
		defer e.bg.Done()
		<-e.ctx.Done()
		stop()
	}()
	if e.env.Events != nil {
		e.unsub = e.env.Events.Subscribe(e.onEvent)
	}
	for _, f := range e.funcs {
		e.startTriggersLocked(f)
	}
	return nil
}

// Close stops the triggers, drops queued async events, runs preStop hooks
// and stops every process (SIGTERM, then SIGKILL after Options.StopGrace).
// In-flight invocations fail. Close is idempotent.
func (e *Emulator) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	funcs := make([]*function, 0, len(e.funcs))
	for _, f := range e.funcs {
		funcs = append(funcs, f)
	}
	unsub := e.unsub
	e.mu.Unlock()
	if unsub != nil {
		unsub()
	}
	e.cancel()
	var wg sync.WaitGroup
	for _, f := range funcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.shutdown()
		}()
	}
	wg.Wait()
	e.bg.Wait()
	var errs []error
	for _, f := range funcs {
		if d := f.spec.CodeTempDir; d != "" {
			if err := os.RemoveAll(d); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (e *Emulator) function(name string) (*function, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	f, ok := e.funcs[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrFunctionNotFound, name)
	}
	return f, nil
}

// FunctionStats are the counters of one function.
type FunctionStats struct {
	Function string `json:"function"`
	// Invocations counts attempts handed to an instance (sync calls, each
	// async attempt and retry, trigger deliveries), after Controls let them
	// through.
	Invocations int64 `json:"invocations"`
	// Errors counts attempts that ended in a function error, timeouts,
	// crashes and failed starts included.
	Errors   int64 `json:"errors"`
	Timeouts int64 `json:"timeouts"`
	// Crashes counts processes that exited on their own.
	Crashes int64 `json:"crashes"`
	// OOMKills counts instances killed for a resident set over the
	// function's memorySize (not counted in Crashes).
	OOMKills int64 `json:"oomKills"`
	// ColdStarts counts instance starts; Restarts those that replaced an
	// instance lost to a crash, a timeout kill or an out-of-memory kill.
	ColdStarts      int64 `json:"coldStarts"`
	Restarts        int64 `json:"restarts"`
	Initializations int64 `json:"initializations"`
	// SystemErrors counts attempts refused by Controls.
	SystemErrors int64 `json:"systemErrors"`
	// AsyncRetries counts async re-attempts after a function error;
	// TriggerRetries EventBridge push retries.
	AsyncRetries   int64 `json:"asyncRetries"`
	TriggerRetries int64 `json:"triggerRetries"`
	// DestinationRecords counts records sent to destinations and dead-letter
	// queues; DestinationFailures those that could not be sent.
	DestinationRecords  int64 `json:"destinationRecords"`
	DestinationFailures int64 `json:"destinationFailures"`
	// DeadLetteredEvents counts trigger events sent to a dead-letter queue.
	DeadLetteredEvents int64 `json:"deadLetteredEvents"`
	// DiscardedEvents counts events lost for good: trigger events whose
	// retries ran out without a dead-letter queue, async invocations that
	// failed for good without an onFailure destination, and every event or
	// record whose dead-letter queue or destination could not take it.
	DiscardedEvents int64 `json:"discardedEvents"`
	// BlockedEvents counts events held by a stream that errorsTolerance NONE
	// stopped; FilteredEvents MNS messages consumed without delivery
	// because the filter pattern rejected them.
	BlockedEvents  int64 `json:"blockedEvents"`
	FilteredEvents int64 `json:"filteredEvents"`
	// LongestAttempt is the longest attempt so far, start to answer (the
	// history keeps only the recent ones).
	LongestAttempt time.Duration `json:"longestAttemptNs"`
	// StartLatencies holds, per instance start, the time from launching the
	// process to its first GET .../invocation/next (the cold start the
	// function itself controls, without FC's own sandbox setup).
	StartLatencies []time.Duration `json:"startLatencies,omitempty"`
	// PeakRSSKiB is the highest VmHWM (peak resident set, KiB) of any of the
	// function's processes, read from /proc every MemorySampleInterval,
	// after every finished attempt and before a process is stopped, so a
	// process killed for memory still shows its peak; 0 where /proc is not
	// available.
	PeakRSSKiB int64 `json:"peakRssKiB"`
	// InjectedKills and InjectedTimeouts count the faults of
	// SetInvocationFaults that hit an invocation.
	InjectedKills    int64 `json:"injectedKills,omitempty"`
	InjectedTimeouts int64 `json:"injectedTimeouts,omitempty"`
	// Instances is the number of live instances now.
	Instances int `json:"instances"`
}

// Stats returns one function's counters.
func (e *Emulator) Stats(function string) (FunctionStats, bool) {
	e.mu.Lock()
	f, ok := e.funcs[function]
	e.mu.Unlock()
	if !ok {
		return FunctionStats{}, false
	}
	return f.snapshot(), true
}

// Snapshot returns the counters of every function, sorted by name.
func (e *Emulator) Snapshot() []FunctionStats {
	e.mu.Lock()
	funcs := make([]*function, 0, len(e.funcs))
	for _, f := range e.funcs {
		funcs = append(funcs, f)
	}
	e.mu.Unlock()
	out := make([]FunctionStats, 0, len(funcs))
	for _, f := range funcs {
		out = append(out, f.snapshot())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Function < out[j].Function })
	return out
}

// Discarded returns how many events every function's triggers and async
// invocations lost for good (FunctionStats.DiscardedEvents, summed). A
// healthy run keeps it at zero.
func (e *Emulator) Discarded() int64 {
	var n int64
	for _, s := range e.Snapshot() {
		n += s.DiscardedEvents
	}
	return n
}

// Logs returns the last lines (up to Options.LogLines) the function's
// processes wrote to stdout and stderr, oldest first, with the emulator's
// notes about the function ("fcemu: ...") mixed in.
func (e *Emulator) Logs(function string) []string {
	e.mu.Lock()
	f, ok := e.funcs[function]
	e.mu.Unlock()
	if !ok {
		return nil
	}
	return f.logs.lines()
}

// InvocationRecord describes one finished attempt.
type InvocationRecord struct {
	RequestID  string         `json:"requestId"`
	Source     string         `json:"source"` // "manual", "timer/<trigger>", "eventbridge/<trigger>", "mns/<trigger>"
	Async      bool           `json:"async"`
	RetryCount int            `json:"retryCount"`
	Payload    []byte         `json:"payload"`
	Result     []byte         `json:"result,omitempty"`
	Error      *FunctionError `json:"error,omitempty"`
	Start      time.Time      `json:"start"`
	End        time.Time      `json:"end"`
}

// History returns the function's most recent finished attempts (up to
// Options.HistorySize), oldest first.
func (e *Emulator) History(function string) []InvocationRecord {
	e.mu.Lock()
	f, ok := e.funcs[function]
	e.mu.Unlock()
	if !ok {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]InvocationRecord(nil), f.history...)
}

// WaitIdle blocks until no async event and no trigger delivery is pending
// (queued, running or waiting to retry), or ctx ends.
func (e *Emulator) WaitIdle(ctx context.Context) error {
	for {
		e.idleMu.Lock()
		ch := e.idle
		e.idleMu.Unlock()
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// track marks one unit of background work (async event, trigger delivery)
// and returns the function that ends it.
func (e *Emulator) track() func() {
	e.idleMu.Lock()
	if e.pending == 0 {
		e.idle = make(chan struct{})
	}
	e.pending++
	e.idleMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			e.idleMu.Lock()
			e.pending--
			if e.pending == 0 {
				close(e.idle)
			}
			e.idleMu.Unlock()
		})
	}
}

// goBackground runs fn in a goroutine Close waits for, counted by WaitIdle.
func (e *Emulator) goBackground(fn func()) bool {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return false
	}
	e.bg.Add(1)
	e.mu.Unlock()
	done := e.track()
	go func() {
		defer e.bg.Done()
		defer done()
		fn()
	}()
	return true
}

// sleep waits d or until the emulator closes; it reports whether d passed.
func (e *Emulator) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-e.ctx.Done():
		return false
	}
}

// scaleRetry is d times Options.RetryTimeScale.
func (e *Emulator) scaleRetry(d time.Duration) time.Duration {
	return time.Duration(float64(d) * e.opts.RetryTimeScale)
}

func (e *Emulator) backoff(base time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < e.opts.MaxBackoff; i++ {
		d *= 2
	}
	if d > e.opts.MaxBackoff {
		d = e.opts.MaxBackoff
	}
	return d
}

func (e *Emulator) region(f *function) string {
	if f.spec.Region != "" {
		return f.spec.Region
	}
	return e.opts.Region
}
