package stack

import (
	"path/filepath"

	"github.com/sgpilot/sgpilot/shared/localcloud"
)

// withRAMPolicies completes lo's RAM options with sgpilot's policies when
// RAM is on: docs/ram/<function>.json for an s.yaml, and the optional
// create-groups policy when the functions may create groups, and the
// roles policy when the role policy is applied (for a template, its
// CreateMissingGroups and RolesMode parameters, which attach the managed
// policies and set the environment as a deployment would).
func withRAMPolicies(lo *localcloud.Options, root string, env map[string]string) {
	if lo.RAM.Mode == localcloud.RAMOff {
		return
	}
	if lo.RAM.PolicyDir == "" {
		lo.RAM.PolicyDir = filepath.Join(root, "docs", "ram")
	}
	if env["SGPILOT_CREATE_MISSING_GROUPS"] == "true" {
		optionalPolicy(lo, "queue-worker-create-groups.json", "CreateMissingGroups", "true")
	}
	if env["SGPILOT_ROLES_MODE"] == "apply" {
		// The worker applies the networks of a region split by network.
		optionalPolicy(lo, "queue-worker-roles.json", "RolesMode", "apply")
	}
}

// optionalPolicy attaches an optional queue-worker policy: the file for an
// s.yaml, the template parameter that attaches it for a template.
func optionalPolicy(lo *localcloud.Options, file, param, value string) {
	if filepath.Base(lo.FunctionsFile) == "s.yaml" {
		if lo.RAM.RolePolicies == nil {
			lo.RAM.RolePolicies = map[string][]string{}
		}
		lo.RAM.RolePolicies["sgpilot-queue-worker"] = append(lo.RAM.RolePolicies["sgpilot-queue-worker"],
			filepath.Join(lo.RAM.PolicyDir, file))
		return
	}
	lo.Vars[param] = value
}
