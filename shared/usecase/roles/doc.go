// Package roles makes role groups carry the rules of the role policy
// (shared/core/rolepolicy) and audits every group of a region.
//
// # Converge
//
// [Converger.Run] works per region and network: each VPC that has instances
// or role groups, and the classic network when the policy puts a role there
// and the region has a classic instance or group. For each network it reads
// the role groups and their rules, asks [rolepolicy.BuildPlan] for the
// difference, and in apply mode carries it out in the plan's order: create
// the missing groups (sgpilot-<role>-<vpc>, with the role's description and
// type, tagged with the role and the managed tag), resolve their IDs into
// the plan, revoke, then authorize. Plan mode reads only.
//
// # Safety
//
// Only groups carrying the managed tag have rules changed; a role group
// without it is reported as drift and left alone, and groups of roles the
// policy does not declare are never read for a change. Revokes over the
// blast-radius limit (Options.MaxRevokes) are withheld wholesale by the
// planner. A network whose reads fail is not planned (never act on partial
// knowledge); a failure in one network does not stop the others, and the
// report says per network what was done and what failed, with the error's
// kind.
//
// # Split by network
//
// An apply over a region with more role groups than Options.SplitOver is
// not carried out in place: [Converger.Run] queues one TaskRolesNetwork per
// network (split.go) carrying the policy's hash, and the worker's
// [NetworkRunner] applies each with [Converger.RunNetwork], reading only
// that network's groups. The blast-radius limit is per network either way.
// A task whose hash differs from the worker's policy is dead-lettered
// (ReasonPolicyMismatch): a worker never applies a policy the run did not
// plan with.
//
// # Audit
//
// [Auditor.Run] reads every group of a region with its rules, the VPC and
// vSwitch ranges and which groups the instances of each range share, and
// returns [rolepolicy.Audit]'s findings. It changes nothing.
//
// # Cost
//
// Converge: one group listing and one instance listing per region (100 per
// page), one DescribeSecurityGroupAttribute per role group of a declared
// role (two for a classic group), then one call per created group and one
// Authorize/Revoke call per group and direction (up to 100 rules each).
// Audit: the same two listings, DescribeVpcs and DescribeVSwitches (50 per
// page), a DescribeInstances sweep for the vSwitch of each VPC instance, and
// one rule read per group of the region (two for classic groups). Both
// reports carry the count of their port calls.
//
// The package imports no cloud SDK: the ports are satisfied by
// shared/adapter/ecsapi.Client and by shared/testkit/fake.ECS.
package roles
