package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

func policyFiles(t *testing.T, root string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(root, "docs", "ram", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no policies in docs/ram (%v)", err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".json")] = b
	}
	return out
}

func TestPolicyFilesFollowTheGrammar(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range policyFiles(t, root) {
		t.Run(name, func(t *testing.T) {
			if _, err := ParsePolicy(b); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestParsePolicyRejects(t *testing.T) {
	cases := map[string]string{
		"not JSON":          `{"Version": "1",`,
		"version":           `{"Version": "2", "Statement": [{"Effect": "Allow", "Action": "ecs:DescribeInstances", "Resource": "*"}]}`,
		"effect":            `{"Version": "1", "Statement": [{"Effect": "allow", "Action": "ecs:DescribeInstances", "Resource": "*"}]}`,
		"action form":       `{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "DescribeInstances", "Resource": "*"}]}`,
		"resource form":     `{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ecs:DescribeInstances", "Resource": "queues/x"}]}`,
		"unknown field":     `{"Version": "1", "Statement": [{"Effect": "Allow", "Actions": ["ecs:DescribeInstances"], "Resource": "*"}]}`,
		"condition op":      `{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ecs:DescribeInstances", "Resource": "*", "Condition": {"Equals": {"k": "v"}}}]}`,
		"no statements":     `{"Version": "1", "Statement": []}`,
		"action not string": `{"Version": "1", "Statement": [{"Effect": "Allow", "Action": [1], "Resource": "*"}]}`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParsePolicy([]byte(doc)); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// The template's policies are the docs/ram files: one source, checked here.
func TestTemplatePoliciesAreTheDocsFiles(t *testing.T) {
	f := load(t)
	docs := policyFiles(t, f.root)
	used := map[string]bool{}
	for resName, res := range f.template.Resources() {
		props, _ := res["Properties"].(map[string]any)
		var named []map[string]any
		switch res["Type"] {
		case "ALIYUN::RAM::Role":
			for _, p := range list(props["Policies"]) {
				pm, _ := p.(map[string]any)
				named = append(named, pm)
			}
		case "ALIYUN::RAM::ManagedPolicy":
			named = append(named, props)
		default:
			continue
		}
		if len(named) == 0 {
			t.Errorf("%s has no policy", resName)
		}
		for _, p := range named {
			name := strings.TrimPrefix(str(p["PolicyName"]), "sgpilot-")
			t.Run(name, func(t *testing.T) {
				file, ok := docs[name]
				if !ok {
					t.Fatalf("%s: policy %v has no docs/ram/%s.json", resName, p["PolicyName"], name)
				}
				used[name] = true
				inTemplate, err := json.Marshal(UnwrapSub(p["PolicyDocument"]))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := ParsePolicy(inTemplate); err != nil {
					t.Fatalf("template policy: %v", err)
				}
				var a, b any
				if err := json.Unmarshal(inTemplate, &a); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(file, &b); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(a, b) {
					t.Errorf("template policy of %s differs from docs/ram/%s.json:\ntemplate %s\nfile     %s", resName, name, show(a), show(b))
				}
			})
		}
	}
	for name := range docs {
		if !used[name] {
			t.Errorf("docs/ram/%s.json is not used by template.yml", name)
		}
	}
}

// adapterActions maps each ecsapi.Client method to the actions it sends
// (shared/adapter/ecsapi: groups.go, instances.go, network.go,
// templateversions.go; the ESS and ECI reads in scaling.go and eci.go).
var adapterActions = map[string][]string{
	"DescribeInstances":     {"ecs:DescribeInstances"},
	"ListInstances":         {"ecs:DescribeInstances"},
	"ListInstancesPage":     {"ecs:DescribeInstances"},
	"ListGroups":            {"ecs:DescribeSecurityGroups"},
	"DescribeGroups":        {"ecs:DescribeSecurityGroups"},
	"JoinGroup":             {"ecs:JoinSecurityGroup"},
	"LeaveGroup":            {"ecs:LeaveSecurityGroup"},
	"CreateGroup":           {"ecs:CreateSecurityGroup"},
	"TagGroups":             {"ecs:TagResources"},
	"UntagGroups":           {"ecs:UntagResources"},
	"GroupReferences":       {"ecs:DescribeSecurityGroupReferences"},
	"GroupReferrers":        {"ecs:DescribeSecurityGroupReferences"},
	"DeleteGroup":           {"ecs:DeleteSecurityGroup"},
	"ListNetworkInterfaces": {"ecs:DescribeNetworkInterfaces"},
	"LaunchTemplateGroups":  {"ecs:DescribeLaunchTemplates", "ecs:DescribeLaunchTemplateVersions"},
	"TemplateGroups":        {"ecs:DescribeLaunchTemplates", "ecs:DescribeLaunchTemplateVersions"},
	"ScalingConfigurationGroups": {"ess:DescribeScalingGroups", "ess:DescribeScalingConfigurations",
		"ess:DescribeEciScalingConfigurations"},
	"ContainerGroupGroups": {"eci:DescribeContainerGroups"},
	// rules.go and vpcs.go: the role policy and the rule audit.
	"DescribeGroupRules": {"ecs:DescribeSecurityGroupAttribute"},
	"GroupRules":         {"ecs:DescribeSecurityGroupAttribute"},
	"AuthorizeRules":     {"ecs:AuthorizeSecurityGroup", "ecs:AuthorizeSecurityGroupEgress"},
	"RevokeRules":        {"ecs:RevokeSecurityGroup", "ecs:RevokeSecurityGroupEgress"},
	"CreateRoleGroup":    {"ecs:CreateSecurityGroup"},
	"ModifyGroupPolicy":  {"ecs:ModifySecurityGroupPolicy"},
	"ListVPCs":           {"ecs:DescribeVpcs"},
	"ListVSwitches":      {"ecs:DescribeVSwitches"},
	"InstanceVSwitches":  {"ecs:DescribeInstances"},
}

// unusedMethods are adapter methods no function calls, with the reason; their
// actions must be granted to nobody.
var unusedMethods = map[string]string{
	"ModifyGroupPolicy":  "the role policy has no inner-access setting yet, so no use case changes a group's policy",
	"DescribeGroupRules": "the use cases read rules through GroupRules",
}

// functionMethods lists the adapter methods each function's use cases reach, from the wiring
// in shared/app and the ports in shared/usecase/*/ports.go.
var functionMethods = map[string][]string{
	// app/instancecreated.go: intake.Reconciler{Instances, Groups}.
	"instance-created": {"ListInstances", "ListInstancesPage", "ListGroups"},
	// app/queueworker.go: onboard.PortsFrom (Instances, Groups, Joiner, Marks; Creator only with
	// SGPILOT_CREATE_MISSING_GROUPS, see queue-worker-create-groups) and cleanup.NewDeleter
	// (Groups, Templates, Scaling, Containers, References, Deletes) plus del.Interfaces; and
	// cleanupSplitter's cleanup.NewCleaner (the nightly's reads plus TagGroups: a large region's
	// parts mark groups from the queue), which adds ListInstances and TagGroups.
	"queue-worker": {"DescribeInstances", "ListGroups", "JoinGroup", "LeaveGroup", "UntagGroups",
		"DescribeGroups", "TemplateGroups", "ScalingConfigurationGroups", "ContainerGroupGroups",
		"GroupReferences", "GroupReferrers", "DeleteGroup", "ListNetworkInterfaces", "ListInstances", "TagGroups",
		"ListInstancesPage"},
	"queue-worker-create-groups": {"CreateGroup"},
	// Only with SGPILOT_ROLES_MODE=apply: roles.NetworkRunner (app/queueworker.go) applies one
	// network of a region split by network: rules, CreateRoleGroup, Authorize/RevokeRules.
	"queue-worker-roles": {"GroupRules", "CreateRoleGroup", "AuthorizeRules", "RevokeRules"},
	// app/nightlycleanup.go: cleanup.NewCleaner (Groups, Instances, Interfaces, References,
	// Templates, Scaling, Containers, Tagger; Scaling and Containers are on with the default
	// SGPILOT_CHECK_USERS=ess,eci); app/roles.go: roles.NewConverger (ConvergeECS: groups,
	// instances, rules, CreateRoleGroup, Authorize/RevokeRules) and roles.NewAuditor (AuditECS:
	// the same reads plus the VPC, vSwitch and instance placement reads).
	"nightly-cleanup": {"ListGroups", "ListInstances", "ListNetworkInterfaces", "GroupReferences", "GroupReferrers",
		"TemplateGroups", "ScalingConfigurationGroups", "ContainerGroupGroups", "TagGroups", "UntagGroups",
		"GroupRules", "CreateRoleGroup", "AuthorizeRules", "RevokeRules", "ListVPCs", "ListVSwitches", "InstanceVSwitches"},
}

// Each policy grants exactly the ECS, ESS and ECI actions its function's code sends, and the
// adapter sends no action that no policy grants.
func TestPoliciesGrantTheECSActionsTheCodeSends(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	src := adapterSource(t, root)
	sent := map[string]bool{}
	for _, m := range regexp.MustCompile(`\b(ecs|ess|eci)\.Create([A-Za-z]+)Request\(\)`).FindAllStringSubmatch(src, -1) {
		sent[m[1]+":"+m[2]] = true
	}
	mapped := map[string]bool{}
	for method, actions := range adapterActions {
		if !regexp.MustCompile(`func \(c \*Client\) ` + method + `\(`).MatchString(src) {
			t.Errorf("ecsapi.Client has no method %s any more: update this table", method)
		}
		for _, a := range actions {
			mapped[a] = true
			if !sent[a] {
				t.Errorf("%s is mapped to %s, which the adapter never sends", method, a)
			}
		}
	}
	for a := range sent {
		if !mapped[a] {
			t.Errorf("the adapter sends %s, which no method in this table maps to", a)
		}
	}
	docs := policyFiles(t, root)
	granted := map[string]bool{}
	for name, methods := range functionMethods {
		t.Run(name, func(t *testing.T) {
			p, err := ParsePolicy(docs[name])
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]bool{}
			for _, m := range methods {
				for _, a := range adapterActions[m] {
					want[a] = true
				}
			}
			got := map[string]bool{}
			for a := range p.Actions() {
				if strings.HasPrefix(a, "ecs:") || strings.HasPrefix(a, "ess:") || strings.HasPrefix(a, "eci:") {
					got[a] = true
					granted[a] = true
				}
			}
			if !reflect.DeepEqual(sortedKeys(got), sortedKeys(want)) {
				t.Errorf("ECS/ESS/ECI actions %v, want %v", sortedKeys(got), sortedKeys(want))
			}
		})
	}
	unused := map[string]bool{}
	for method := range unusedMethods {
		for _, a := range adapterActions[method] {
			unused[a] = true
		}
	}
	for method := range adapterActions {
		if _, ok := unusedMethods[method]; ok {
			continue
		}
		for _, a := range adapterActions[method] {
			delete(unused, a) // an action another, used method sends is not unused
		}
	}
	for a := range unused {
		if granted[a] {
			t.Errorf("%s is granted although only unused methods send it", a)
		}
	}
	if missing := minus(minus2(sent, unused), granted); len(missing) > 0 {
		t.Errorf("the adapter sends %v but no policy grants it", missing)
	}
}

// MNS actions only on sgpilot's own queues; the dead-letter queue only for its writer.
// notifyTopicARN is the one MNS topic the functions may publish to.
const notifyTopicARN = "acs:mns:${ALIYUN::Region}:${ALIYUN::AccountId}:/topics/sgpilot-notify/messages"

func TestPoliciesScopeMNSToOwnQueues(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	arn := regexp.MustCompile(`^acs:mns:\$\{ALIYUN::Region\}:\$\{ALIYUN::AccountId\}:/queues/(sgpilot-[a-z-]+)/messages$`)
	for name, b := range policyFiles(t, root) {
		p, err := ParsePolicy(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Statement {
			mns := false
			for _, a := range s.Action {
				mns = mns || strings.HasPrefix(a, "mns:")
			}
			if !mns {
				continue
			}
			for _, r := range s.Resource {
				if r == notifyTopicARN {
					// The notification topic (README "Notifications"): publish only.
					for _, a := range s.Action {
						if a != "mns:PublishMessage" {
							t.Errorf("%s: %s on the notification topic: only mns:PublishMessage belongs there", name, a)
						}
					}
					continue
				}
				m := arn.FindStringSubmatch(r)
				if m == nil {
					t.Errorf("%s: MNS resource %q is not one of sgpilot's queues", name, r)
					continue
				}
				if m[1] == "sgpilot-dead-letter" && name != "queue-worker" {
					t.Errorf("%s: only queue-worker writes the dead-letter queue", name)
				}
				if m[1] != "sgpilot-work" {
					for _, a := range s.Action {
						// queue-worker's dead-letter tooling reads, gives back and deletes
						// dead letters of both dead-letter queues.
						tooling := name == "queue-worker" && (m[1] == "sgpilot-dead-letter" || m[1] == "sgpilot-failed-events")
						if !strings.Contains(a, "Send") && !tooling {
							t.Errorf("%s: %s on %s: only sends belong there", name, a, m[1])
						}
					}
				}
			}
		}
	}
}

func adapterSource(t *testing.T, root string) string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(root, "shared", "adapter", "ecsapi", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}

// minus2 is a without b's keys, as a set.
func minus2(a, b map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		if !b[k] {
			out[k] = true
		}
	}
	return out
}

func minus(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
