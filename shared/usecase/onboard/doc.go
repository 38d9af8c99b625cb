// Package onboard keeps instances' security group membership following
// their role tag: an instance joins the groups of its roles and leaves the
// groups of roles it lost. It is the use case behind the queue-worker
// function's "onboard" (sync membership) tasks, and behind its dry run.
//
// # How a batch is handled
//
// Onboarder.Handle takes a whole batch of onboard tasks, gathered across
// queue messages, and shares every lookup it can: tasks are deduplicated by
// instance, instances are described with one DescribeInstances call per
// region per 100 instances, and the groups of each network (a VPC, or a
// region's classic network) are listed once per call, however many
// instances live there, or taken from Options.Groups, which keeps them
// across calls for a short TTL (see GroupCache for what is then re-listed).
// An instance still Pending or Starting needs no listing: ECS changes no
// group before Running, so its task waits for the next delivery. Handle returns one task.Job per instance: the job
// makes the instance's domain.MembershipPlan, joins the groups it lacks and
// then leaves those of lost roles, one at a time (leaving first when joining
// first would pass the limit on the way). The worker runs the jobs, several instances in parallel,
// under its panic recovery; the onboarder starts no goroutines itself.
// Then After jobs check the instances that were written (see Guarantees).
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
//   - Scoped: only groups in the scope (Options.Scope, by default
//     sgpilot:managed=true, and Options.AllowedGroupIDs when set) play
//     roles; no other group is ever joined or left. A group that carries a
//     role tag outside the scope gets a note in the plan.
//   - Never empty, never over the limit, never mixed: the last group is
//     never left (the plan says last-group and nothing is left); a plan that
//     would exceed the per-instance limit, or mix basic and advanced groups,
//     is refused whole, before anything changes.
//   - Concurrent workers: writes to one instance are serialised within the
//     process (Locks), and the instance is read again right before the
//     first write when it may have changed (another job wrote to it since
//     the read, or the read is older than MaxPlanAge). A join ECS refuses
//     for the quota is undone and the instance re-planned (up to three
//     times), so no plan is left half-applied. Writers in different
//     processes cannot be serialised (ECS has no conditional join), so once
//     every job of the batch has returned, the instances written are read
//     again (an After round: one DescribeInstances per region per 100
//     written instances) and one found above the limit is repaired: the
//     task leaves only groups it added, by a tie-break every racing task
//     computes alike, and re-plans (verify.go says how they converge).
//   - Idempotent: a task is a hint. The instance and its groups are re-read
//     on every delivery; "already a member" and "not a member" count as
//     success, so a redelivered or duplicated task does no harm, and a task
//     for a complete instance costs the batch's reads and no write.
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
