// Package cleanup finds stale security groups and deletes them safely.
//
// A nightly run ([Cleaner.Run]) reads every group of each configured region,
// works out what still uses each one, and asks [domain.PlanCleanup] for a
// verdict per group: keep, mark, unmark, delete or skip. In apply mode it then
// tags newly stale groups with the stale-since mark, removes the mark from
// groups that are used again, and enqueues one delete task per group whose
// grace period is over. The worker hands those tasks to [Deleter.Handle],
// which re-checks each group immediately before deleting it. Its failures
// become outcomes through task.FromError with the destructive override: a
// delete that failed for a reason nobody classified is dead-lettered, not
// retried.
//
// # Safety
//
// Nothing is deleted on partial knowledge: when any read of a region fails
// (after the adapter's retries) the whole region is left as it is, and the plan says why.
// The one exception is a reference read failing after earlier batches'
// deletions were queued, or their marks and unmarks written, early (see
// Cost): those tasks and tags stay, since each names a group whose every
// read had succeeded and decided it, and the report counts them and says
// so on their rows.
// Deletions over the blast radius (a count and a percentage of the groups in
// scope) are withheld wholesale. Groups outside the scope, service-managed
// groups and groups carrying the protect tag are never touched. A group is
// only deleted after it was marked on an earlier run and stayed unused for
// the grace period, and the delete itself relies on ECS refusing to delete a
// group that still has instances, ENIs or references (DependencyViolation),
// which is then explained and the group kept.
//
// # Cost
//
// Reads are bulk and go out at the same time, each action paced by the
// adapter's limiter of its own: group pages of 100, all instances and all
// ENIs once per region, every launch template version once per region (the
// adapter re-reads only new or changed templates), and, unless
// SGPILOT_CHECK_USERS leaves them out, the region's Auto Scaling
// configurations and ECI container groups; then references
// (DescribeSecurityGroupReferences, 10 groups per call) only for groups that
// nothing else already keeps, page by page while the listing goes on (a
// [GroupPager] hands its pages over as they come). They do not wait for the
// launch template versions (a call per template): what was read of a group
// a template turns out to name is dropped, which costs at most the calls
// of such groups read meanwhile. In apply mode, once the listing is
// complete, the templates are in and no approval is in play, the run
// writes the marks and unmarks of the groups whose reads are all in (a
// group's verdict depends on its own reads; the blast radius withholds
// deletions only), and, when the plan made without references already
// passes the blast radius (references only remove deletions, and any
// subset of a passing set passes), queues each batch's
// unreferenced candidates as soon as its references are read, in the
// batches of 16 the run would send anyway: the worker deletes while the
// run still reads references. Otherwise the tags and tasks follow the
// plan. Either way they are the same. Tags are written 50 groups per call.
// The pre-delete re-check reads groups 100 per call, and launch templates, Auto
// Scaling and ECI once per batch of tasks. See [Cleaner.Run] for the call
// count of a run.
//
// # Fan-out
//
// One invocation cannot hold a region of 100,000 groups, or many regions.
// With [Options.SplitOver] set, an apply run that finds more groups than
// the threshold while it lists a region stops its other reads (they are
// lost: at most the bulk reads and the references of the groups listed so
// far; nothing is written before the listing ends) and queues a
// TaskCleanupPart instead of cleaning the region;
// [QueueRegions] queues one TaskCleanupRegion per region. The worker runs
// both through [Splitter].
//
// A part plans shares of at most SplitOver groups: a whole network (VPC, or
// the classic network) or the next range of group IDs of a larger one, with
// the instance listing narrowed to the network and the region-wide reads
// (ENIs, launch templates, Auto Scaling, ECI) made once per part. It marks
// and unmarks, but deletes nothing: it carries the deletable groups on.
// There is no database, so the checkpoint is the next task itself
// (domain.CleanupPart: where to go on, totals, candidates; well under the
// 8 KiB task limit): a part that has done SplitOver groups, or whose
// deadline comes near, queues its continuation and ends done. A part whose
// reads fail ends retry and is run again from its own checkpoint; shares
// are level-based, so redoing one is harmless.
//
// Parts of one region form a chain rather than running side by side: the
// blast radius needs the whole region's counts, and only the last part of a
// chain knows it has them, without any store to join parallel parts in.
// The chain costs little time, since the worker runs one instance at a
// time and every ECS action is paced by its limiter either way; regions
// still interleave. The last part applies domain.BlastRadius once to the
// whole region (all deletions, or none) in [Splitter.decide], the one place
// a split run decides deletions, as domain.PlanCleanup does for a region
// cleaned at once. Up to 64 approved groups travel in the task and are
// queued at once; more are found again by a second pass over the networks
// (CleanupPart.Release), which queues at most the approved count and
// changes no tag. The second pass lists groups only: the first pass
// unmarked every group it found in use, so a mark past the grace period
// names a candidate again, and the Deleter re-checks each one.
//
// A region task that finds its region over the threshold runs the first
// part itself, with the listing it has just made; later parts list their
// network.
//
// # Who uses a group
//
// ECS refuses a delete only while instances, ENIs or references use a
// group; launch template versions, scaling configurations and container
// groups keep it in their configuration and launch with it later, so the
// cleanup reads them itself (docs/group-users.md). A group whose role tag
// names a role the role policy declares is kept too (declared-role). Every
// report names the kinds of user it could not see (Report.NotChecked).
//
// The package imports no cloud SDK: the ports below are satisfied by the ECS
// and MNS adapters (docs/CONTRACTS.md) and by in-memory fakes.
package cleanup
