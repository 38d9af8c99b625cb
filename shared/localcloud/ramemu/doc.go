// Package ramemu evaluates Alibaba Cloud RAM policies for localcloud: which
// role a temporary credential stands for, whether that role's policies allow
// an action on a resource, and a record of every decision, per function.
//
// # Policy language
//
// The subset sgpilot's policies use, as RAM documents it ("Policy
// elements", "Policy structure and syntax"): Version "1"; Statement with
// Effect Allow or Deny; Action and NotAction as a string or a list, with the
// wildcards * and ? ("ecs:Describe*"), matched case-insensitively;
// Resource and NotResource as ARN patterns with the same wildcards
// (case-sensitive); Condition with the operators StringEquals,
// StringNotEquals, StringEqualsIgnoreCase, StringLike, StringNotLike and
// Bool. A Deny that matches wins; otherwise one matching Allow is needed
// (an implicit deny). A request naming several resources (JoinSecurityGroup
// names the instance and the group) is allowed only if every resource is.
//
// Condition keys come from the resource (acs:ResourceTag/<key>: the
// resource's tags before the call) or the request (Request.Context). A key
// with no value fails StringEquals and StringLike, and satisfies the
// negated operators, as RAM documents for missing keys. Unknown operators
// are refused when the policy is attached, so a policy is never half read.
//
// # What is not modelled
//
// Resource-based policies, permission boundaries, session policies,
// service-linked roles, ForAnyValue/ForAllValues qualifiers, IP and date
// operators. A root (permanent AccessKey) credential is never evaluated:
// localcloud's test key stays unrestricted.
//
// It imports the standard library only.
package ramemu
