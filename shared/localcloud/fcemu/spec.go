package fcemu

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Defaults applied when a FunctionSpec leaves a field zero. FC's own console
// defaults are not all confirmed; these are the emulator's.
const (
	DefaultMemorySize            = 512
	DefaultTimeoutSeconds        = 3
	DefaultInstanceConcurrency   = 1
	DefaultMaxAsyncRetryAttempts = 3
	DefaultMaxAsyncEventAge      = 24 * time.Hour
	// RuntimeGo is the only runtime the emulator runs.
	RuntimeGo = "go1"
)

// FunctionSpec is one FC 3.0 function as the emulator runs it.
type FunctionSpec struct {
	Name    string
	Runtime string // must be "go1"
	// Handler is the executable's file name inside CodeDir (go1 runtime).
	Handler string
	// CodeDir is the folder holding the handler executable. Zipped code is
	// extracted by LoadServerlessYAML; CodeTempDir then names the extraction
	// directory, which Emulator.Close removes.
	CodeDir     string
	CodeTempDir string
	// Region overrides Options.Region for this function (s.yaml props.region).
	Region              string
	MemorySize          int // MB
	TimeoutSeconds      int
	InstanceConcurrency int
	Environment         map[string]string
	Initializer         *LifecycleHook
	PreStop             *LifecycleHook
	Async               AsyncConfig
	Triggers            []TriggerSpec
	// Role is the ARN of the RAM role FC assumes for the function; its
	// credentials then carry the role (core.Credentials.IssueSTSForRole),
	// so localcloud can enforce the role's policies. Empty: unrestricted.
	Role string
	// Warnings lists settings the loader accepted but the emulator does not
	// model (for example vpcConfig or logConfig). Nothing in it changes how
	// the function behaves here.
	Warnings []string
}

// LifecycleHook is instanceLifecycleConfig.initializer / preStop.
type LifecycleHook struct {
	Handler        string
	TimeoutSeconds int
}

// AsyncConfig is asyncInvokeConfig.
type AsyncConfig struct {
	// MaxAsyncRetryAttempts: nil means DefaultMaxAsyncRetryAttempts.
	MaxAsyncRetryAttempts *int
	// MaxAsyncEventAge: zero means DefaultMaxAsyncEventAge. Measured on the
	// emulated clock, so a test can age events by jumping it.
	MaxAsyncEventAge time.Duration
	// OnFailure / OnSuccess are MNS queue destination ARNs
	// ("acs:mns:<region>:<uid>:/queues/<name>/messages"), or empty.
	OnFailure string
	OnSuccess string
}

// Trigger types the emulator fires.
const (
	TriggerTimer       = "timer"
	TriggerEventBridge = "eventbridge"
)

// Event source types of an EventBridge trigger.
const (
	SourceDefault = "Default"
	SourceMNS     = "MNS"
)

// TriggerSpec is one trigger. Exactly one of Timer / EventBridge is set,
// matching Type.
type TriggerSpec struct {
	Name        string
	Type        string
	Enabled     bool
	Timer       *TimerTrigger
	EventBridge *EventBridgeTrigger
}

// TimerTrigger is a timer trigger's triggerConfig.
type TimerTrigger struct {
	CronExpression string
	Payload        string
}

// EventBridgeTrigger is an eventbridge trigger's triggerConfig.
type EventBridgeTrigger struct {
	// AsyncInvocation is asyncInvocationType: true hands each push to FC's
	// async queue (async retries and destinations apply); the push itself
	// then succeeds once FC accepts it.
	AsyncInvocation bool
	FilterPattern   string
	// SourceType is SourceDefault (events published on core.Env.Events) or
	// SourceMNS (a queue polled through Options.Queues).
	SourceType string
	MNS        *MNSSource
	// Mode is runOptions.mode (or eventSinkConfig.deliveryOption.mode).
	// With ModeEventStreaming an MNS source is an EventBridge event stream:
	// JSON arrays, Batch, Retry, ErrorsTolerance and DeadLetterQueue apply.
	// Otherwise ("" or ModeEventDriven) every message is pushed alone as one
	// object with the default retry policy and no dead-letter queue.
	Mode string
	// Batch is runOptions.batchWindow (event streaming only). Without it a
	// stream pushes one-element arrays.
	Batch *BatchWindow
	// Retry is runOptions.retryStrategy.
	Retry RetryStrategy
	// ErrorsTolerance is ToleranceAll or ToleranceNone; "" means NONE, FC
	// 3.0's documented default.
	ErrorsTolerance string
	// DeadLetterQueue is runOptions.deadLetterQueue.Arn (MNS queue ARN).
	DeadLetterQueue string
	// MaximumTasks bounds concurrent pushes of one MNS trigger (default 1).
	MaximumTasks int
}

// Delivery modes of runOptions.mode.
const (
	ModeEventStreaming = "event-streaming"
	ModeEventDriven    = "event-driven"
)

// Fault tolerance policies of runOptions.errorsTolerance.
const (
	// ToleranceAll: after the last retry the push goes to the dead-letter
	// queue, or is discarded, and the stream moves on.
	ToleranceAll = "ALL"
	// ToleranceNone: after the last retry the stream stops (its task goes
	// back to Ready); nothing more is consumed.
	ToleranceNone = "NONE"
)

// streaming reports whether the trigger is an event stream (runOptions
// apply): an MNS source in event-streaming mode.
func (eb *EventBridgeTrigger) streaming() bool {
	return eb.SourceType == SourceMNS && eb.Mode == ModeEventStreaming
}

// MNSSource is sourceMNSParameters.
type MNSSource struct {
	QueueName      string
	IsBase64Decode bool
}

// BatchWindow is runOptions.batchWindow: a push carries up to Count events
// (CountBasedWindow, 1-10,000), waiting at most Time (TimeBasedWindow,
// 0-15 s) for the batch to fill.
type BatchWindow struct {
	Count int
	Time  time.Duration
}

// Documented ranges of BatchWindow.
const (
	MaxBatchCount = 10000
	MaxBatchTime  = 15 * time.Second
)

// IntPtr returns &n, for the optional counts of a spec.
func IntPtr(n int) *int { return &n }

func (s *FunctionSpec) memory() int {
	if s.MemorySize > 0 {
		return s.MemorySize
	}
	return DefaultMemorySize
}

func (s *FunctionSpec) timeout() time.Duration {
	if s.TimeoutSeconds > 0 {
		return time.Duration(s.TimeoutSeconds) * time.Second
	}
	return DefaultTimeoutSeconds * time.Second
}

func (s *FunctionSpec) concurrency() int {
	if s.InstanceConcurrency > 0 {
		return s.InstanceConcurrency
	}
	return DefaultInstanceConcurrency
}

func (a *AsyncConfig) maxRetries() int {
	if a.MaxAsyncRetryAttempts != nil {
		return *a.MaxAsyncRetryAttempts
	}
	return DefaultMaxAsyncRetryAttempts
}

func (a *AsyncConfig) maxAge() time.Duration {
	if a.MaxAsyncEventAge > 0 {
		return a.MaxAsyncEventAge
	}
	return DefaultMaxAsyncEventAge
}

// codeDir is CodeDir made absolute: exec resolves a relative program path
// against the child's working directory, which is the code folder itself.
func (s *FunctionSpec) codeDir() string {
	if abs, err := filepath.Abs(s.CodeDir); err == nil {
		return abs
	}
	return s.CodeDir
}

func (s *FunctionSpec) executable() string {
	return filepath.Join(s.codeDir(), s.Handler)
}

// Validate checks what the emulator needs to run the function: a go1
// runtime, a handler, parsable triggers and MNS-queue destinations. It does
// not require the executable to exist yet (it is looked up at cold start).
func (s *FunctionSpec) Validate() error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, errors.New("function name is empty"))
	}
	if s.Runtime != RuntimeGo {
		errs = append(errs, fmt.Errorf("runtime %q is not supported: the emulator runs %q (fc-runtime-go-sdk) functions only", s.Runtime, RuntimeGo))
	}
	if s.Handler == "" || strings.ContainsAny(s.Handler, `/\`) {
		errs = append(errs, fmt.Errorf("handler %q must be the executable's file name", s.Handler))
	}
	if s.CodeDir == "" {
		errs = append(errs, errors.New("code directory is empty"))
	}
	if s.TimeoutSeconds < 0 || s.MemorySize < 0 || s.InstanceConcurrency < 0 {
		errs = append(errs, errors.New("timeout, memorySize and instanceConcurrency must not be negative"))
	}
	if n := s.Async.MaxAsyncRetryAttempts; n != nil && (*n < 0 || *n > 8) {
		errs = append(errs, fmt.Errorf("maxAsyncRetryAttempts %d is outside 0-8", *n))
	}
	for _, d := range []string{s.Async.OnFailure, s.Async.OnSuccess} {
		if d == "" {
			continue
		}
		if _, err := QueueNameFromARN(d); err != nil {
			errs = append(errs, err)
		}
	}
	for _, h := range []*LifecycleHook{s.Initializer, s.PreStop} {
		if h != nil && h.TimeoutSeconds < 0 {
			errs = append(errs, errors.New("lifecycle hook timeout must not be negative"))
		}
	}
	seen := map[string]bool{}
	for i := range s.Triggers {
		t := &s.Triggers[i]
		if seen[t.Name] {
			errs = append(errs, fmt.Errorf("trigger name %q is used twice", t.Name))
		}
		seen[t.Name] = true
		if err := t.validate(); err != nil {
			errs = append(errs, fmt.Errorf("trigger %q: %w", t.Name, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("function %q: %w", s.Name, errors.Join(errs...))
	}
	return nil
}

func (t *TriggerSpec) validate() error {
	if t.Name == "" {
		return errors.New("trigger name is empty")
	}
	switch t.Type {
	case TriggerTimer:
		if t.Timer == nil {
			return errors.New("timer trigger without timer config")
		}
		if _, err := ParseCron(t.Timer.CronExpression); err != nil {
			return err
		}
	case TriggerEventBridge:
		eb := t.EventBridge
		if eb == nil {
			return errors.New("eventbridge trigger without config")
		}
		if _, err := ParsePattern(eb.FilterPattern); err != nil {
			return err
		}
		switch eb.SourceType {
		case SourceDefault:
			if eb.MNS != nil {
				return errors.New("MNS parameters on a Default event source")
			}
		case SourceMNS:
			if eb.MNS == nil || eb.MNS.QueueName == "" {
				return errors.New("MNS event source needs sourceMNSParameters.QueueName")
			}
		default:
			return fmt.Errorf("event source type %q is not modelled (Default and MNS are)", eb.SourceType)
		}
		if err := eb.validateRunOptions(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("trigger type %q is not modelled (timer and eventbridge are)", t.Type)
	}
	return nil
}

func (eb *EventBridgeTrigger) validateRunOptions() error {
	switch eb.Mode {
	case "", ModeEventDriven, ModeEventStreaming:
	default:
		return fmt.Errorf("mode %q is neither %s nor %s", eb.Mode, ModeEventDriven, ModeEventStreaming)
	}
	if b := eb.Batch; b != nil {
		if !eb.streaming() {
			return errors.New("batchWindow needs an MNS source in mode event-streaming")
		}
		if b.Count < 0 || b.Count > MaxBatchCount || b.Time < 0 || b.Time > MaxBatchTime {
			return fmt.Errorf("batchWindow %d messages / %s is outside 1-%d messages / 0-%s", b.Count, b.Time, MaxBatchCount, MaxBatchTime)
		}
	}
	switch eb.ErrorsTolerance {
	case "", ToleranceAll, ToleranceNone:
	default:
		return fmt.Errorf("errorsTolerance %q is neither %s nor %s", eb.ErrorsTolerance, ToleranceAll, ToleranceNone)
	}
	if err := eb.Retry.validate(); err != nil {
		return err
	}
	if eb.DeadLetterQueue != "" {
		if _, err := QueueNameFromARN(eb.DeadLetterQueue); err != nil {
			return err
		}
	}
	if eb.MaximumTasks < 0 {
		return errors.New("maximumTasks must not be negative")
	}
	return nil
}

// QueueNameFromARN extracts the queue name from an MNS queue ARN
// "acs:mns:<region>:<uid>:/queues/<name>[/messages]". The leading slash is
// optional: async destinations are documented with it, while the form
// EventBridge expects for a dead-letter queue is unconfirmed, so both are
// read.
func QueueNameFromARN(arn string) (string, error) {
	parts := strings.SplitN(arn, ":", 5)
	if len(parts) != 5 || parts[0] != "acs" || parts[1] != "mns" {
		return "", fmt.Errorf("destination %q is not an MNS queue ARN (acs:mns:<region>:<uid>:/queues/<name>/messages); other destination kinds are not modelled", arn)
	}
	res := strings.TrimPrefix(parts[4], "/")
	rest, ok := strings.CutPrefix(res, "queues/")
	if !ok {
		return "", fmt.Errorf("destination %q is not an MNS queue ARN (topics and other kinds are not modelled)", arn)
	}
	name := strings.TrimSuffix(rest, "/messages")
	if name == "" || strings.Contains(name, "/") {
		return "", fmt.Errorf("destination %q has no queue name", arn)
	}
	return name, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// DestinationQueues returns the names of the MNS queues the function writes
// to: async onFailure/onSuccess destinations and trigger dead-letter
// queues, sorted and without repeats. localcloud creates them at start, as
// a deployment would have.
func (s *FunctionSpec) DestinationQueues() []string {
	arns := []string{s.Async.OnFailure, s.Async.OnSuccess}
	for _, t := range s.Triggers {
		if t.EventBridge != nil {
			arns = append(arns, t.EventBridge.DeadLetterQueue)
		}
	}
	seen := map[string]bool{}
	var out []string
	for _, arn := range arns {
		name, err := QueueNameFromARN(arn)
		if arn == "" || err != nil || seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
