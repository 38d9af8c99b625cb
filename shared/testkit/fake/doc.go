// Package fake holds in-memory stand-ins for sgpilot's cloud ports, with the
// provider's real rules, for use-case tests.
//
// # ECS
//
// ECS satisfies the ECS method set of docs/CONTRACTS.md (the same one as
// shared/adapter/ecsapi.Client) over an in-memory account. It keeps the rules that
// decide sgpilot's behaviour, with the provider codes, kinds and domain
// sentinels ecsapi returns for them:
//
//   - JoinGroup checks, in ECS's order: group and instance exist in the
//     region, the group is not service-managed, the instance is Running or
//     Stopped (Pending gives Forbidden.InstanceIsBeingCreated, other states
//     IncorrectInstanceStatus; both ErrInstanceNotReady), not already a
//     member (ErrAlreadyMember), same network (ErrNetworkMismatch), the
//     per-instance group limit (ErrGroupLimit), and no mixing of basic and
//     advanced groups.
//   - LeaveGroup (leave.go) refuses the last group (ErrLastGroup) and a
//     group the instance is not in (ErrNotMember).
//   - DeleteGroup refuses service-managed and deletion-protected groups
//     (ErrDeletionProtected) and groups with instances, secondary ENIs or
//     references from other groups' rules (ErrInUse, DependencyViolation,
//     with the provider's message); a deleted group's own rules go with it.
//   - Lists and describes filter like ECS and return resources in ascending
//     ID order; unknown IDs are absent. Every VPC instance has a primary ENI
//     that carries the instance's groups.
//   - Tags overwrite by key; a group holds at most 20 tags.
//   - Launch templates name groups per version; LaunchTemplateGroups reads
//     the default and the latest version.
//
// Builders (AddInstance, AddGroup, AddRule, AddENI, AddLaunchTemplate, …)
// set the scene and panic on a scene that cannot exist (a member of an
// unknown group), since that is a bug in the test. Calls counts calls per
// method; FailNext and SetInterceptor inject faults in front of the working
// fake.
//
// RemoveInstance releases an instance at once (with its primary ENI).
//
// # Queue
//
// Queue is an in-memory MNS queue; see its type for what it models. Its
// faults are injected per provider call by FailNext and SetInterceptor, and
// the interceptor sees each call's items and delay, so tests can log calls
// without a queue of their own.
//
// # Clock
//
// Clock is a manual clock (Now, Advance, Sleep) for the fakes and the code
// under test. A Queue given QueueOptions.Clock runs its long polls on it: a
// poll that finds nothing moves the clock to the first message that becomes
// visible or to the end of its wait, so a worker's drain loop runs in
// simulated time. The conformance suite runs the Queue in real time.
//
// Not modelled (ECS): paging, batching and rate limits (the fake answers any
// number of IDs at once; ecsapi's batching is tested against ecsemu);
// throttling and transport failures unless injected; malformed-ID checks
// beyond empty IDs; the content of rules added with
// AddRule (a rule is just "group A names group B"; AddRules, AuthorizeRules
// and the other methods of rules.go keep content, see there); group capacity (2,000 instances); instance
// lifecycle (status changes only through SetStatus); ClientToken idempotency;
// regions without a classic network (classic groups can always be created);
// the asynchronous release of a deleted instance's memberships.
package fake
