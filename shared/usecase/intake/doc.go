// Package intake is the instance-created use case: it turns what starts the
// instance-created function (an EventBridge ECS event, a timer, or an
// operator's `s invoke` payload) into onboard tasks on the work queue, and it
// runs the backfill (reconcile) that finds instances whose membership does
// not follow their role tag.
//
// An onboard task is a "sync membership" hint: the worker re-reads the
// instance and joins the groups of its roles and leaves those of roles it
// lost. Events that bring one: an instance Created or Running
// (ecs:Instance:StateChange), created by RunInstances/CreateInstance, or
// retagged (TagResources, UntagResources, AddTags, RemoveTags on instances,
// touching the role tag) — see shared/core/events.
//
// It declares the ports it consumes (TaskSender, InstanceLister,
// GroupLister); adapters satisfy them without naming them. It imports the
// standard library, shared/core/domain, shared/core/events, shared/core/logging and zap —
// no SDK. Nothing here changes a security group: the queue worker does that,
// re-reading the instance first, so every task is an idempotent hint.
//
// # Outcomes of an event
//
// Every envelope of a delivery ends in exactly one of three lists of the
// Summary:
//
//   - accepted: an ECS event announcing new instances that passed the
//     Validator; one task per instance is built;
//   - ignored: a well-formed event sgpilot has nothing to do with (another
//     source or type, another account, a state other than Created/Running,
//     an API call that creates nothing and changes no instance tag, a tag
//     change that did not touch the role tag). Logged with its reason, never an error: an error
//     would only make EventBridge deliver the same event again;
//   - rejected: malformed, or failing validation (no account, a region not
//     managed here, ID format, a task larger than domain.MaxTaskBytes, the
//     size every worker accepts). Logged at warn level with the reason.
//
// Tasks are deduplicated per region and instance within one delivery (a
// StateChange and an ActionTrail record of the same instance give one
// task) and sent with one TaskSender.SendTasks call.
//
// # Errors: the mixed-batch policy
//
// HandleEvent returns an error in two cases only:
//
//   - the send failed (the error keeps the sender's kind). FC's asynchronous
//     retry then re-delivers the whole event; re-sending the tasks that did
//     get through is harmless because tasks are idempotent;
//   - something was rejected and nothing was accepted (including input that
//     is not JSON at all): a KindInvalid error naming the first reason, so
//     that a misrouted or corrupt delivery is visible as a failed invocation.
//
// A batch mixing good and bad envelopes enqueues the good ones, reports the
// bad ones in Summary.Rejected and returns no error: re-delivering it would
// not repair the bad ones and would only repeat the good ones.
//
// # Split by pages
//
// With Reconciler.Pages and SplitOver set, a backfill reads the region page
// by page (reconcile_pages.go), queueing each page's tasks before the next
// read; past SplitOver instances or near its deadline it hands the
// listing's NextToken to a TaskReconcilePage, which the worker's
// [PageRunner] continues the same way. A region under the threshold is one
// invocation; a dry run is never split.
package intake
