// Package essapi is sgpilot's adapter to the managed services that keep an
// ECS security group in their stored configuration and use it later, when
// they launch something: Auto Scaling (ESS: scaling configurations and
// launch-template-based scaling groups) and Elastic Container Instance (ECI:
// container groups). ECS does not refuse deleting a group that only these
// name; the next scale-out or container start then fails. The cleanup asks
// this package who else uses a group before it calls a group stale.
//
// Every method reads a whole region in bulk, page by page at the largest
// page size, and either returns the complete answer or an error: never a
// partial one, because the cleanup must not act on partial knowledge.
//
// # Errors, retries and flow control
//
// Exactly as shared/adapter/ecsapi, whose exported pieces are reused: one
// code table (ecsapi.ClassifyError), the same retry rule (ecsapi.Retryable)
// under shared/core/retry, and an ecsapi.RateLimiter, which may be the very
// limiter the ECS client uses (Config.Limiter), keyed by action name. Errors
// are *domain.Error; their texts never carry credentials.
//
// Credentials are never logged. RAM actions needed: ess:DescribeScalingGroups,
// ess:DescribeScalingConfigurations, ess:DescribeEciScalingConfigurations,
// eci:DescribeContainerGroups.
package essapi
