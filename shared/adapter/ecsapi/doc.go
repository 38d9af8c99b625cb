// Package ecsapi is sgpilot's adapter to the Alibaba Cloud RPC APIs it
// reads and writes through alibaba-cloud-sdk-go: ECS, and the two services
// that keep a security group in their stored configuration, Auto Scaling
// (ESS) and ECI (UsersClient, users.go; docs/group-users.md). It is the only
// package that imports alibaba-cloud-sdk-go, so the three products share one
// code table, one retry rule and one rate limiter keyed by action name;
// Client builds a UsersClient with its own credentials and limiter and
// offers its reads (ScalingConfigurationGroups, ContainerGroupGroups).
//
// A *Client satisfies the ECS method set of docs/CONTRACTS.md: the use cases
// declare the small interfaces they need and Client fulfils them implicitly.
// Every method takes a context, is safe for concurrent use, and returns nil or
// a *domain.Error whose Kind says what to do about it and whose Code is the
// provider's error code.
//
// # Reading
//
// List and Describe methods fetch every page (NextToken) and split ID lists
// into the batches ECS accepts (100 instance or group IDs, 10 groups for
// references, 50 resources for tags). A page that cannot be fetched after the
// retries fails the whole call: a partial answer is never returned, because
// the cleanup must not act on partial knowledge.
//
// # Errors and retries
//
// Provider codes are mapped to kinds by one table (classify.go); the special
// outcomes wrap the sentinels of shared/core/domain (ErrAlreadyMember, ErrInUse,
// ErrInstanceNotReady, ErrGroupLimit, ErrNetworkMismatch,
// ErrDeletionProtected). Each HTTP call is retried by shared/core/retry when it
// failed as KindThrottled or KindRetryable, except ErrInstanceNotReady: an
// instance takes tens of seconds to start, so that wait belongs to the queue's
// redelivery, not to a back-off loop inside one invocation.
// CreateSecurityGroup carries a ClientToken that stays the same across
// retries, so a retried create never makes a second group.
//
// # Flow control
//
// Config.RateLimit spaces calls of each action with a token bucket so that
// bulk work stays under the provider's flow control instead of being
// throttled. Stats reports how many HTTP calls each action made.
//
// RAM actions of the ESS and ECI reads: ess:DescribeScalingGroups,
// ess:DescribeScalingConfigurations, ess:DescribeEciScalingConfigurations,
// eci:DescribeContainerGroups.
//
// Credentials are never logged, and error texts are built from the provider's
// code and message only: the SDK's own error strings and *url.Error carry the
// signed query (AccessKeyId, SecurityToken), so they are not passed on.
package ecsapi
