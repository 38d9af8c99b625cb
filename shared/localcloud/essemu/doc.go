// Package essemu emulates, for localcloud, the two read APIs through which
// other Alibaba Cloud services show that they will use an ECS security group
// later: Auto Scaling (ESS, RPC version 2014-08-28: scaling groups and their
// scaling configurations) and Elastic Container Instance (ECI, RPC version
// 2018-08-08: container groups). Both speak the ECS-style RPC wire, so the
// real alibaba-cloud-sdk-go ess and eci clients talk to it over HTTP.
//
// # Wire
//
// Service.ServeHTTP answers GET and POST on "/" and routes by the Version
// parameter. Every call is checked like ECS's front end (the signature code
// of ecsemu is reused): RPC signature v1 against core.Credentials with STS
// tokens, timestamp skew, nonce replay, Version and Action. Then
// core.Controls.Decide may throttle, fault or drop the call (services "ess"
// and "eci"). Answers are JSON; errors carry RequestId, HostId, Code,
// Message and Recommend.
//
// # Modelled
//
//   - ESS: DescribeScalingGroups and DescribeScalingConfigurations with
//     PageNumber/PageSize paging (at most 50), filters by scaling group ID and
//     name and by configuration ID and name, LifecycleState of groups and
//     configurations, ActiveScalingConfigurationId, launch-template-based
//     groups (LaunchTemplateId, LaunchTemplateVersion), TotalInstanceCount.
//     DescribeEciScalingConfigurations for ECI-type scaling groups.
//   - ECI: DescribeContainerGroups with NextToken/Limit paging and the
//     ContainerGroupIds, ContainerGroupName and Status filters.
//   - Seeding and state through the Go API (Seed, AddScalingGroup,
//     AddScalingConfiguration, AddContainerGroup, SetInstanceCount, ...) and
//     the admin handler (POST seed, GET snapshot).
//
// # Not modelled
//
// No scaling activity: instance counts are what the seed says, and no ECS
// instance is created. No create, modify or delete call over the wire, no
// scaling rules, alarms, lifecycle hooks or load balancers, no RAM
// authorisation. It does not check that named security groups or templates
// exist in ecsemu (ESS itself checks only at create time).
//
// # Unconfirmed behaviour
//
// Choices where the public reference is silent are in assumptions.go.
package essemu
