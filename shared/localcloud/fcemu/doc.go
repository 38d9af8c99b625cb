// Package fcemu emulates Function Compute 3.0 for Go functions: it runs each
// function's real compiled binary (built with fc-runtime-go-sdk v0.3.1) as a
// child process, serves it the runtime API on a loopback port and fires its
// triggers. Like the rest of localcloud it imports only the standard library,
// the localcloud core and gopkg.in/yaml.v3.
//
// # Functions
//
// Functions come from FunctionSpec values, usually read from the project's
// Serverless Devs s.yaml by LoadServerlessYAML (see LoadServerlessYAMLWith for
// the supported subset). Only runtime go1 is run: the handler is the name of
// the executable in the code folder (a .zip is extracted first).
//
// # Instances and the runtime API
//
// Every instance is one process with its own listener; FC_RUNTIME_API is its
// host:port. GET /2020-11-11/runtime/invocation/next is held open until work
// exists and is never answered with an error (the SDK retries errors in a
// tight loop). Each answer carries x-fc-request-id, x-fc-function-deadline
// (epoch ms, wall clock: the process lives in real time), x-fc-function-timeout
// (s), x-fc-function-type (0 invoke, 1 initializer, 2 preStop), function
// name/handler/memory, region, account ID, x-fc-qualifier LATEST,
// x-fc-retry-count and fresh STS credentials from core.Credentials.IssueSTS in
// x-fc-access-key-id/-secret and x-fc-security-token. The .../response and
// .../error POSTs are answered 200.
//
// The process environment is minimal, as on FC: PATH, HOME, the function's
// environmentVariables, Options.Env and Options.FunctionEnv, then FC's own
// variables, which cannot be overridden: FC_RUNTIME_API, FC_FUNCTION_NAME,
// FC_FUNCTION_HANDLER, FC_FUNCTION_MEMORY_SIZE, FC_REGION, FC_ACCOUNT_ID,
// FC_INSTANCE_ID and ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET/_SECURITY_TOKEN
// (STS credentials issued at instance start; they expire after
// Options.STSTTL on the emulated clock, so after a large clock jump only the
// header credentials, issued per call, are valid).
//
// Instances start on demand (cold start). An instance takes up to
// instanceConcurrency calls at once; further calls start more instances up to
// Options.MaxInstances and then wait. The initializer, when configured, runs
// once per instance before its first call; if it fails the call fails with
// ErrorTypeInitialization and the instance is discarded. A call that outlives
// the function timeout fails with ErrorTypeTimeout and its instance is killed
// (its other in-flight calls fail too); a process that exits on its own fails
// its in-flight calls with ErrorTypeProcessExited. Either way the next call
// starts a new instance, counted in FunctionStats.Restarts. A panic is
// reported by the SDK as a function error and does not end the process.
// Close runs preStop hooks, then SIGTERMs every process and SIGKILLs it after
// Options.StopGrace.
//
// # Memory
//
// Every instance is held to its memorySize (MB of 2^20 bytes; 512 when
// unset), as FC's memory cgroup holds it. While the process lives, its
// resident set is read from /proc/<pid>/status every
// Options.MemorySampleInterval (50 ms), and again whenever it posts a
// result. Once its peak (VmHWM, which also catches a spike between two
// samples) is over the limit, the instance is SIGKILLed and gone: its
// in-flight calls, a result just posted included, fail with
// ErrorTypeProcessExited and the message "Process exited unexpectedly before
// completing request (duration: <n>ms, maxMemoryUsage: <x>MB)", which is
// how FC reports an out-of-memory kill (a process exit, not an error type
// of its own). The kill is counted in FunctionStats.OOMKills (not Crashes)
// and noted in the function's log; the next call starts a new instance
// (Restarts), and async invocations retry and reach their destinations as
// after any crash. FunctionStats.PeakRSSKiB takes every sample, so a killed
// process still shows its peak. /proc is Linux only: elsewhere nothing is
// enforced or measured, and each instance start notes so in the log.
//
// # Invocation
//
// Invoke runs a function synchronously or queues it (InvokeOptions.Async).
// Every attempt first passes core.Controls.Decide(ctx, "fc", "Invoke"):
// injected latency is waited, throttling/server faults/drops become a
// SystemError (429/503/dropped) for synchronous callers and are retried with
// exponential back-off (Options.SystemBackoff, doubling, up to MaxBackoff)
// for async events while they are younger than maxAsyncEventAge. Function
// errors of async events (returned errors, panics, timeouts, crashes) are
// retried maxAsyncRetryAttempts times (default 3) with x-fc-retry-count
// counting up and the same request ID, waiting Options.RetryBackoff doubling
// per retry; then a DestinationRecord goes to the onFailure MNS queue through
// Options.Sender (onSuccess likewise after a success). InvokeHandler exposes
// invocation over HTTP; InvokeOverHTTP is its client.
//
// # Triggers
//
//   - timer: the cron expression (see ParseCron) is evaluated on the emulated
//     core.Clock, so tests jump time instead of waiting. A jump over several
//     fire times fires once, for the first missed time; the others are
//     skipped. The event is TimerEvent {triggerTime, triggerName, payload},
//     invoked asynchronously.
//   - eventbridge with eventSourceType Default: every event published on
//     core.Env.Events (bus name "default" or empty) is matched against
//     eventRuleFilterPattern (see Pattern for the supported subset) and
//     delivered as one CloudEvent JSON object per invocation. With
//     asyncInvocationType true it enters the async policy above; otherwise it
//     is invoked synchronously and a failure is retried per
//     runOptions.retryStrategy (see below), then sent to
//     runOptions.deadLetterQueue or discarded.
//   - eventbridge with eventSourceType MNS: EventBridge consumes the queue
//     (through Options.Queues): every message it receives is deleted at once
//     and wrapped as an mns:Queue:SendMessage CloudEvent from source
//     "MNS-<function>-<trigger>" with data.messageBody (base64-decoded when
//     IsBase64Decode). Messages the filter pattern rejects are consumed
//     undelivered (FunctionStats.FilteredEvents). The function never sees
//     receipt handles, and a failed push never returns to the queue.
//
// # Event streams (runOptions.mode event-streaming)
//
// runOptions apply only in this mode (devsapp/fc3 docs/zh/yaml/triggers.md).
// A push is a JSON array of CloudEvents: up to batchWindow.CountBasedWindow
// (1-10,000) messages gathered for at most TimeBasedWindow (0-15 s); without
// a batch window, one-element arrays. maximumTasks bounds the pushes in
// flight (default 1); a task slot is taken before receiving, so nothing is
// consumed while every task is busy, retries included. A push fails when the
// invocation returns a function error (or, with asyncInvocationType, when FC
// refuses the event). It is then retried per retryStrategy.PushRetryStrategy
// (EventBridge "Retry policies and dead-letter queues"): BACKOFF_RETRY, the
// default, 3 retries each after a random 10-20 s; EXPONENTIAL_DECAY_RETRY,
// 176 retries after 1, 2, 4 ... 256 s and then 167 times 512 s (about a
// day). MaximumRetryAttempts and MaximumEventAgeInSeconds can only shorten
// that schedule. Options.RetryTimeScale scales the waits (tests use 0.001);
// the number of retries never changes. After the last retry errorsTolerance
// decides: ALL sends each event of the push, as the CloudEvent that was
// delivered, to deadLetterQueue.Arn, or, without one, discards it
// (FunctionStats.DiscardedEvents, Emulator.Discarded, GET /discarded); NONE,
// FC 3.0's default, stops the stream: the push is held
// (FunctionStats.BlockedEvents) and nothing more is consumed until the
// emulator restarts.
//
// In event-driven mode (mode event-driven or unset) an MNS trigger pushes
// each message alone as one object, with the default BACKOFF_RETRY policy
// and no dead-letter queue; its runOptions are ignored with a warning.
//
// # Not modelled
//
// HTTP triggers and HTTP functions, other trigger types (OSS, SLS, MNS topic,
// Tablestore, CDN, RocketMQ/Kafka/RabbitMQ/DTS sources), custom runtimes and
// custom containers, layers, VPC/NAS/OSS mounts, versions and aliases
// (qualifier is always LATEST), provisioned or reserved concurrency, instance
// freezing (preFreeze), idle instance reclamation, the RawData
// event schema and custom EventBridge buses. Async events still queued at
// Close are dropped.
//
// # Unconfirmed choices
//
// FC's wording of timeout, crash and start errors (ErrorType* constants); the
// key names of DestinationRecord and its conditions ("UnhandledInvocationError",
// "EventAgeExceeded"); the back-off between async retries after function
// errors; whether FC honours instanceConcurrency for go1 (the emulator does);
// default memory (512 MB) and timeout (3 s); the out-of-memory error (FC's
// FAQ on "Process exited unexpectedly before completing request" names OOM
// as a cause and the Go runtime docs give a process exit no errorType; the
// "(duration, maxMemoryUsage)" suffix is from FC 1.0/2.0 answers, not seen
// for FC 3.0), that the limit applies to the process's resident set alone
// (FC's cgroup also counts page cache and /tmp writes) and that FC kills the
// whole instance rather than failing the allocation; the platform error codes
// (ResourceThrottled, ServiceUnavailable); the 24 h default of
// maxAsyncEventAge and the 0-8 range of maxAsyncRetryAttempts.
//
// Of event streams: the dead-letter message body (the docs say the raw event
// goes there; the emulator sends each delivered CloudEvent unchanged, one
// message per event, with no error fields added); the ARN form EventBridge
// expects for an MNS dead-letter queue (both ":/queues/<name>" and
// ":queues/<name>" are read); that messages are deleted from the queue when
// received rather than after the push; that a stream without batchWindow
// pushes one-element arrays; that maximumTasks, documented for Kafka sources,
// bounds an MNS stream's concurrent pushes; that a NONE-blocked stream holds
// its failed push rather than losing it; how MaximumEventAgeInSeconds is
// measured (here: against the sum of the policy's waits); that the 32 MB /
// 128 KB body limits do not split a batch (not modelled); that event-driven
// MNS triggers and Default-bus triggers use BACKOFF_RETRY, and that
// Default-bus triggers honour retryStrategy and deadLetterQueue at all.
package fcemu
