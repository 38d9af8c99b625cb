// Package ecsemu emulates the security-group subset of the Alibaba Cloud ECS
// RPC API (version 2014-05-26) for localcloud, faithfully enough that the
// real alibaba-cloud-sdk-go ecs client can talk to it over HTTP.
//
// # Wire
//
// Service.ServeHTTP answers GET and POST on "/" with parameters in the query
// and/or a form body. Every call is checked like the real front end: RPC
// signature v1 (HMAC-SHA1, the empty SignatureType included) against
// core.Credentials with STS tokens, timestamp skew against wall time, nonce
// replay, Version and Action. Then core.Controls.Decide may throttle, fault
// or drop the call. Answers are JSON; errors carry string RequestId, HostId,
// Code, Message and Recommend, which the SDK requires.
//
// # Modelled
//
//   - Regions (DescribeRegions), VPCs and vSwitches (seeded only), the classic
//     network where a region offers it.
//   - Instances: RunInstances (also from a launch template), Describe, Start,
//     Stop, Delete(Instances), ModifyInstanceAttribute (name, description,
//     SecurityGroupIds.N replacing the group set). Statuses move Pending →
//     Starting → Running and Stopping → Stopped on the emulated clock
//     (core.Clock), driven by a goroutine that also wakes on clock jumps.
//   - Security groups: Create, Delete (dependency, service-managed and
//     deletion-protection checks), Describe, DescribeAttribute,
//     DescribeReferences, Authorize/Revoke (ingress and egress, flat and
//     Permissions.N forms, §3 validation, by rule ID), ModifySecurityGroupPolicy
//     (inner-access policy of basic groups), Join/Leave for instances and
//     secondary ENIs, with the per-instance limit, VPC/classic matching, last
//     group, membership and status rules, basic/enterprise mixing and group
//     capacity.
//   - ENIs: Describe, Create, Attach, Detach, Delete; primary ENIs of VPC
//     instances share the instance's groups.
//   - Tags on instances, groups and ENIs: TagResources, UntagResources,
//     ListTagResources, and Tag.N filters of the Describe calls.
//   - Launch templates (seeded only): DescribeLaunchTemplates and
//     DescribeLaunchTemplateVersions.
//   - Events on core.EventBus: ecs:Instance:StateChange per state change and
//     ecs:ActionTrail:ApiCall per successful RunInstances, and per successful
//     TagResources/UntagResources on instances.
//   - Paging (NextToken/MaxResults and PageNumber/PageSize with the
//     documented bounds), ClientToken idempotency for the Create/Run calls,
//     DryRun for the instance calls and DescribeSecurityGroups.
//   - Seeding and snapshots of the whole state (Seed, LoadSeed, Snapshot,
//     AdminHandler); see SEED.md.
//
// # Not modelled
//
// No real networking or rule evaluation, no billing, images, disks, key
// pairs, EIPs or IPv6 addressing; no RAM authorisation (every valid key may do
// everything); one account (cross-account group references are unknown
// groups); enterprise groups only as far as membership and "no group
// authorisation" go; instance release is immediate (real ECS releases
// asynchronously, so a just-deleted instance may briefly still block
// DeleteSecurityGroup); instance locks; ModifySecurityGroupRule and the
// prefix-list and ENI-permission APIs. Responses always use JSON whatever
// Format says.
//
// # Unconfirmed behaviour
//
// Where the reference leaves the real behaviour open, the choice made is in
// assumptions.go, in one place, with a comment per choice.
//
// # Performance
//
// State sits behind one mutex with short critical sections; lookups are by
// ID and listings walk sorted indexes (groups by region and VPC, instances by
// group, VPC and region, tag key/value, references by target group), so a
// page of a listing costs O(page) even with tens of thousands of groups.
// Signature checking happens outside the lock.
package ecsemu
