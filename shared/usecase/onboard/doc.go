// Package onboard makes new instances members of the security groups of
// their roles. It is the use case behind the queue-worker function's
// "onboard" tasks, and behind its dry run.
//
// # How a batch is handled
//
// Onboarder.Handle takes a whole batch of onboard tasks, gathered across
// queue messages, and shares every lookup it can: tasks are deduplicated by
// instance, instances are described with one DescribeInstances call per
// region per 100 instances, and the groups of each network (a VPC, or a
// region's classic network) are listed once per call, however many
// instances live there. Handle returns one task.Job per instance: the job
// makes the instance's domain.MembershipPlan and joins the groups it lacks
// one at a time. The worker runs the jobs, several instances in parallel,
// under its panic recovery; the onboarder starts no goroutines itself.
//
// # Errors and retries
//
// The onboarder does not retry: the ECS adapter retries throttled and
// transient calls within the invocation, except a join refused because the
// instance is still starting (domain.ErrInstanceNotReady), which comes back
// at once. What reaches the onboarder becomes an outcome: the join's own
// refusals (not ready, over the group limit, network mismatch) by their
// sentinels, everything else through task.FromError, so a still-starting
// instance is a later delivery of the task, not a back-off loop.
//
// # Guarantees
//
//   - Additive: membership is only ever added. Groups someone else attached
//     are never left; a plan that would exceed the per-instance group limit
//     is refused whole, before anything changes.
//   - Idempotent: a task is a hint. The instance and its groups are re-read
//     on every delivery, "already a member" counts as success, so a
//     redelivered or duplicated task does no harm.
//   - One decision per instance, logged once with its reason, and returned
//     as a task.Outcome for every task of that instance.
//
// # Limitations
//
// CreateMissingGroups creates a missing role group at most once per network
// and role within one Handle call, and a later delivery finds the created
// group by its role tag instead of creating another. Two invocations that
// race on the same missing group can still both create one (ECS has no
// uniqueness constraint on tags or names); instances then join both, which
// is harmless but uses a group slot. Enable it only where a duplicate is
// acceptable, or create role groups ahead of time.
package onboard
