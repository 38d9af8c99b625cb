package domain

import (
	"fmt"
	"sort"
	"strings"
)

// Role is a name like "web" or "db" that ties instances to the security group
// that lets instances of that role talk to each other.
//
// # Role tag syntax
//
// An instance's roles are the value of its role tag (key configurable, default
// "sgpilot:role"): one or more role names separated by commas, e.g. "web" or
// "web,cache". Spaces around names are ignored, names are lower-cased, and
// duplicates collapse. A role name is 1–32 characters of a-z, 0-9 and "-",
// starting with a letter or digit. A security group plays a role when it
// carries the same tag key with the same (single) role name as its value.
type Role string

// DefaultRoleTagKey is the tag key holding an instance's (and a group's) roles.
const DefaultRoleTagKey = "sgpilot:role"

// MaxRolesPerInstance bounds the roles one tag value may list; more than the
// per-instance group quota could ever hold is certainly a mistake.
const MaxRolesPerInstance = 16

// ValidRoleName reports whether name is a role name: 1 to 32 lowercase
// letters, digits or dashes, not starting with a dash.
func ValidRoleName(name string) bool {
	if name == "" || len(name) > 32 || name[0] == '-' {
		return false
	}
	for _, c := range []byte(name) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// ParseRoles parses a role tag value. An empty value means no roles. A
// malformed name is a KindInvalid error naming it.
func ParseRoles(value string) ([]Role, error) {
	if strings.TrimSpace(value) == "" {
		return nil, nil
	}
	seen := map[Role]bool{}
	var roles []Role
	for _, part := range strings.Split(value, ",") {
		name := strings.ToLower(strings.TrimSpace(part))
		if name == "" {
			continue
		}
		if !ValidRoleName(name) {
			return nil, Errorf(KindInvalid, "parse role tag", "", "role %q: want 1-32 characters of a-z, 0-9 and '-', starting with a letter or digit", name)
		}
		r := Role(name)
		if !seen[r] {
			seen[r] = true
			roles = append(roles, r)
		}
	}
	if len(roles) > MaxRolesPerInstance {
		return nil, Errorf(KindInvalid, "parse role tag", "", "%d roles listed, at most %d allowed", len(roles), MaxRolesPerInstance)
	}
	sort.Slice(roles, func(i, j int) bool { return roles[i] < roles[j] })
	return roles, nil
}

// FormatRoles is the inverse of ParseRoles for display.
func FormatRoles(roles []Role) string {
	parts := make([]string, len(roles))
	for i, r := range roles {
		parts[i] = string(r)
	}
	return strings.Join(parts, ",")
}

// GroupRole returns the role a group plays under roleTagKey, if any. A group
// plays exactly one role; a value that does not parse as one role name means
// none (so a mistyped tag never makes a group attract instances).
func GroupRole(g SecurityGroup, roleTagKey string) (Role, bool) {
	v, ok := g.Tags[roleTagKey]
	if !ok {
		return "", false
	}
	name := strings.ToLower(strings.TrimSpace(v))
	if !ValidRoleName(name) {
		return "", false
	}
	return Role(name), true
}

// RoleGroupName is the best-practice name of a role group created by
// sgpilot: "sgpilot-<role>-<vpc>" (or "-classic"), always a valid ECS group
// name (2–128 chars, starts with a letter).
func RoleGroupName(role Role, network NetworkKey) string {
	where := network.VPCID
	if where == "" {
		where = "classic"
	}
	return fmt.Sprintf("sgpilot-%s-%s", role, where)
}
