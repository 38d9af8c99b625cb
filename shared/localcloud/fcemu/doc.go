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
//     is invoked synchronously and EventBridge retries a failure
//     runOptions.retryStrategy.MaximumRetryAttempts times (default 3), then
//     sends the event to runOptions.deadLetterQueue or drops it.
//   - eventbridge with eventSourceType MNS: the queue is long-polled through
//     Options.Queues; each message becomes an mns:Queue:SendMessage CloudEvent
//     from source "MNS-<function>-<trigger>" with data.messageBody
//     (base64-decoded when IsBase64Decode). Without runOptions.batchWindow each
//     message is delivered alone as one object; with it up to CountBasedWindow
//     messages gathered within TimeBasedWindow are delivered as a JSON array.
//     Messages are deleted after a successful invocation (or once accepted
//     for async invocation) and left alone on failure, so they come back after
//     their visibility timeout. Messages the filter pattern rejects are
//     deleted undelivered. runOptions.maximumTasks bounds concurrent
//     deliveries (default 1).
//
// # Not modelled
//
// HTTP triggers and HTTP functions, other trigger types (OSS, SLS, MNS topic,
// Tablestore, CDN, RocketMQ/Kafka/RabbitMQ/DTS sources), custom runtimes and
// custom containers, layers, VPC/NAS/OSS mounts, versions and aliases
// (qualifier is always LATEST), provisioned or reserved concurrency, instance
// freezing (preFreeze), idle instance reclamation, memory limits, the RawData
// event schema and custom EventBridge buses. Async events still queued at
// Close are dropped.
//
// # Unconfirmed choices
//
// FC's wording of timeout, crash and start errors (ErrorType* constants); the
// key names of DestinationRecord and its conditions ("UnhandledInvocationError",
// "EventAgeExceeded"); the back-off between async retries after function
// errors; whether FC honours instanceConcurrency for go1 (the emulator does);
// whether MNS queue triggers without a batch window deliver single objects
// (the emulator does) or always arrays; default memory (512 MB) and timeout
// (3 s); the platform error codes (ResourceThrottled, ServiceUnavailable); the
// 24 h default of maxAsyncEventAge and the 0-8 range of maxAsyncRetryAttempts.
package fcemu
