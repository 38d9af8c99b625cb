package stack

import (
	"path/filepath"

	"github.com/sgpilot/sgpilot/shared/localcloud"
)

// withRAMPolicies completes lo's RAM options with sgpilot's policies when
// RAM is on: docs/ram/<function>.json for an s.yaml, and the optional
// create-groups policy when the functions may create groups (for a
// template, its CreateMissingGroups parameter, which attaches its managed
// policy and sets the worker's environment as a deployment would).
func withRAMPolicies(lo *localcloud.Options, root string, env map[string]string) {
	if lo.RAM.Mode == localcloud.RAMOff {
		return
	}
	if lo.RAM.PolicyDir == "" {
		lo.RAM.PolicyDir = filepath.Join(root, "docs", "ram")
	}
	if env["SGPILOT_CREATE_MISSING_GROUPS"] != "true" {
		return
	}
	if filepath.Base(lo.FunctionsFile) == "s.yaml" {
		if lo.RAM.RolePolicies == nil {
			lo.RAM.RolePolicies = map[string][]string{}
		}
		lo.RAM.RolePolicies["sgpilot-queue-worker"] = append(lo.RAM.RolePolicies["sgpilot-queue-worker"],
			filepath.Join(lo.RAM.PolicyDir, "queue-worker-create-groups.json"))
		return
	}
	lo.Vars["CreateMissingGroups"] = "true"
}
