// Package rolepolicy is sgpilot's role policy as code: which security group
// rules each role's group should carry, how the actual rules differ from
// that, and what is risky in the rules a region already has.
//
// It is pure: no SDK, no I/O except reading the bytes it is given (LoadFile
// reads one file), no clock. The use case lists groups and rules through the
// ECS adapter, converts them into Group values, and acts on the Plan.
//
// # Policy file
//
// A YAML document, version 1 (see example.yaml and docs/role-policy.md).
// Parse validates every field before anything is touched and reports all
// problems at once, each naming the role, the rule index and the field.
//
// # Rule identity
//
// ECS identifies a rule by direction, protocol, port range, source port
// range, NicType, policy (accept/drop), the peer (CIDR, IPv6 CIDR, group or
// prefix list) and the optional local CIDR; priority and description are
// attributes of the rule, not part of its identity (AuthorizeSecurityGroup
// of an identical rule succeeds without adding one, RevokeSecurityGroup by
// attributes does not take a priority into account). Rule.Key is that
// identity. A policy rule whose identity exists with another priority is
// replaced (revoked, then authorized again), because authorizing it first
// would be a no-op.
//
// # Evaluation order
//
// Priority 1 is the highest, 100 the lowest; at equal priority a drop rule
// wins over an accept rule [doc: AuthorizeSecurityGroup]. The audit uses this
// order to find rules that can never take effect.
package rolepolicy
