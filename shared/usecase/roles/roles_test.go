package roles_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/roles"
)

const (
	hz   = "cn-hangzhou"
	vpcA = "vpc-aaaaaaaa01"
	vpcB = "vpc-bbbbbbbb01"
)

func mustPolicy(t *testing.T, yaml string) rolepolicy.Policy {
	t.Helper()
	p, err := rolepolicy.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func roleGroup(id, vpc, role string, managed bool) domain.SecurityGroup {
	tags := domain.Tags{domain.DefaultRoleTagKey: role}
	if managed {
		tags[domain.DefaultManagedTagKey] = "true"
	}
	return domain.SecurityGroup{ID: id, Name: "sgpilot-" + role + "-" + vpc, RegionID: hz, VPCID: vpc, Tags: tags}
}

// groupsByRole returns the groups of the fake in vpc by role tag.
func groupsByRole(t *testing.T, ecs *fake.ECS, vpc string) map[string][]domain.SecurityGroup {
	t.Helper()
	gs, err := ecs.ListGroups(context.Background(), hz, domain.GroupFilter{VPCID: vpc})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]domain.SecurityGroup{}
	for _, g := range gs {
		if r, ok := domain.GroupRole(g, domain.DefaultRoleTagKey); ok {
			out[string(r)] = append(out[string(r)], g)
		}
	}
	return out
}

func keys(rules []rolepolicy.Rule) map[string]bool {
	out := map[string]bool{}
	for _, r := range rules {
		out[r.Key()] = true
	}
	return out
}

// The default policy on an account with two VPCs: plan changes nothing;
// apply creates redis in both, authorizes the declared rules (redis naming
// web's group), revokes the undeclared rule of a managed group, leaves an
// unmanaged role group and a group of an undeclared role alone; a second
// apply has nothing to do.
func TestConverge_DefaultPolicy(t *testing.T) {
	ctx := context.Background()
	ecs := fake.NewECS()
	ecs.AddVPC(hz, vpcA).AddVPC(hz, vpcB)
	webA := ecs.AddGroup(roleGroup("sg-webaaaaaa01", vpcA, "web", true))
	webB := ecs.AddGroup(roleGroup("sg-webbbbbbb01", vpcB, "web", false)) // not managed: drift only
	db := ecs.AddGroup(roleGroup("sg-dbaaaaaaa01", vpcA, "db", true))     // undeclared role
	ssh := rolepolicy.Rule{Direction: rolepolicy.Ingress, Protocol: rolepolicy.TCP, PortRange: "22/22", NicType: "intranet",
		Policy: rolepolicy.Accept, Priority: 1, PeerCIDR: "10.0.0.0/8"}
	ecs.AddRules(webA, ssh)
	ecs.AddRules(webB, ssh)
	ecs.AddRules(db, ssh)
	ecs.AddInstance(domain.Instance{ID: "i-aaaaaaaaaa01", RegionID: hz, VPCID: vpcA, GroupIDs: []string{webA}})

	c := roles.NewConverger(ecs)
	opts := roles.Options{Regions: []string{hz}, Policy: rolepolicy.Default()}
	plan, err := c.Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Failed() || len(plan.Networks) != 2 {
		t.Fatalf("plan: %+v", plan)
	}
	if n := ecs.Calls("CreateRoleGroup") + ecs.Calls("AuthorizeRules") + ecs.Calls("RevokeRules"); n != 0 {
		t.Fatalf("plan mode wrote %d times", n)
	}
	if s := plan.Summary; s.GroupsToCreate != 2 || s.RulesToRevoke != 1 || s.Unmanaged != 1 {
		t.Fatalf("plan summary %+v\n%s", s, plan.Text())
	}

	opts.Mode = roles.ModeApply
	rep, err := c.Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() {
		t.Fatalf("apply failed:\n%s", rep.Text())
	}
	for _, vpc := range []string{vpcA, vpcB} {
		redis := groupsByRole(t, ecs, vpc)["redis"]
		if len(redis) != 1 {
			t.Fatalf("%s: %d redis groups", vpc, len(redis))
		}
		g := redis[0]
		if g.Name != "sgpilot-redis-"+vpc || g.Tags[domain.DefaultManagedTagKey] != "true" || g.Description == "" {
			t.Errorf("created group %+v", g)
		}
		rules := ecs.Rules(g.ID)
		if len(rules) != 2 {
			t.Fatalf("%s redis rules %v", vpc, rules)
		}
		web := groupsByRole(t, ecs, vpc)["web"][0].ID
		found := false
		for _, r := range rules {
			found = found || r.PeerGroupID == web
		}
		if !found {
			t.Errorf("%s: redis does not name web's group %s: %v", vpc, web, rules)
		}
	}
	if k := keys(ecs.Rules(webA)); k[ssh.Key()] || len(k) != 1 {
		t.Errorf("managed web group keeps %v", ecs.Rules(webA))
	}
	if !keys(ecs.Rules(webB))[ssh.Key()] || len(ecs.Rules(webB)) != 1 {
		t.Errorf("unmanaged web group changed: %v", ecs.Rules(webB))
	}
	if !keys(ecs.Rules(db))[ssh.Key()] {
		t.Errorf("group of an undeclared role changed: %v", ecs.Rules(db))
	}
	if rep.Calls["GroupRules"] != 2 { // webA and webB; redis did not exist; db is undeclared
		t.Errorf("calls %v", rep.Calls)
	}

	again, err := c.Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if s := again.Summary; s.GroupsToCreate+s.RulesToAuth+s.RulesToRevoke != 0 {
		t.Fatalf("second apply not empty:\n%s", again.Text())
	}
}

// Over the blast radius nothing is revoked; additions still go through.
func TestConverge_BlastRadius(t *testing.T) {
	ecs := fake.NewECS()
	ecs.AddVPC(hz, vpcA)
	web := ecs.AddGroup(roleGroup("sg-webaaaaaa01", vpcA, "web", true))
	for _, p := range []string{"1/1", "2/2", "3/3"} {
		ecs.AddRules(web, rolepolicy.Rule{Direction: rolepolicy.Ingress, Protocol: rolepolicy.TCP, PortRange: p, NicType: "intranet",
			Policy: rolepolicy.Accept, Priority: 1, PeerCIDR: "192.168.0.0/16"})
	}
	rep, err := roles.NewConverger(ecs).Run(context.Background(), roles.Options{Regions: []string{hz}, Mode: roles.ModeApply,
		Policy: mustPolicy(t, "version: 1\nroles:\n  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 443/443, source: {cidr: 192.168.0.0/16}}\n"), MaxRevokes: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Withheld != 3 || rep.Summary.RulesRevoked != 0 || rep.Summary.RulesAuthorized != 1 {
		t.Fatalf("summary %+v\n%s", rep.Summary, rep.Text())
	}
	if len(ecs.Rules(web)) != 4 {
		t.Fatalf("rules %v", ecs.Rules(web))
	}
	if !strings.Contains(rep.Text(), "withheld") {
		t.Errorf("text does not say what was withheld:\n%s", rep.Text())
	}
}

// A failure in one network is reported with its kind; the other network is
// still applied.
func TestConverge_FailureIsPerNetwork(t *testing.T) {
	ecs := fake.NewECS()
	ecs.AddVPC(hz, vpcA).AddVPC(hz, vpcB)
	webA := ecs.AddGroup(roleGroup("sg-webaaaaaa01", vpcA, "web", true))
	ecs.AddGroup(roleGroup("sg-webbbbbbb01", vpcB, "web", true))
	ecs.SetInterceptor(func(_ context.Context, method string, args []any) error {
		if method == "AuthorizeRules" && args[1] == webA {
			return &domain.Error{Kind: domain.KindThrottled, Op: "ecs AuthorizeSecurityGroup", Code: "Throttling.User"}
		}
		return nil
	})
	rep, err := roles.NewConverger(ecs).Run(context.Background(), roles.Options{Regions: []string{hz}, Mode: roles.ModeApply, Policy: rolepolicy.Default()})
	if err != nil {
		t.Fatal(err)
	}
	var failed, applied int
	for _, n := range rep.Networks {
		switch {
		case n.Error != "":
			failed++
			if n.Network.VPCID != vpcA || n.ErrorKind != domain.KindThrottled.String() {
				t.Errorf("failure %+v", n)
			}
		case n.Applied:
			applied++
		}
	}
	if failed != 1 || applied != 1 || !rep.Failed() {
		t.Fatalf("failed %d applied %d:\n%s", failed, applied, rep.Text())
	}
	if !strings.Contains(rep.Text(), "FAILED (throttled)") && !strings.Contains(rep.Text(), "FAILED") {
		t.Errorf("text:\n%s", rep.Text())
	}
}

// A region whose listing fails is reported; the others still run.
func TestConverge_RegionListingFails(t *testing.T) {
	ecs := fake.NewECS()
	ecs.AddVPC(hz, vpcA)
	ecs.AddGroup(roleGroup("sg-webaaaaaa01", vpcA, "web", true))
	ecs.FailNext("ListGroups", &domain.Error{Kind: domain.KindRetryable, Op: "ecs DescribeSecurityGroups", Code: "ServiceUnavailable"})
	rep, err := roles.NewConverger(ecs).Run(context.Background(), roles.Options{Regions: []string{"cn-shanghai", hz}, Policy: rolepolicy.Default()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.RegionErrors) != 1 || rep.RegionErrors[0].RegionID != "cn-shanghai" || len(rep.Networks) != 1 {
		t.Fatalf("report %+v", rep)
	}
}

// The classic network is planned only when the policy puts a role there
// and the region has classic resources.
func TestConverge_ClassicNetwork(t *testing.T) {
	ecs := fake.NewECS()
	ecs.AddGroup(domain.SecurityGroup{ID: "sg-classic0001", RegionID: hz})
	ecs.AddInstance(domain.Instance{ID: "i-classic00001", RegionID: hz, NetworkType: domain.NetworkClassic, GroupIDs: []string{"sg-classic0001"}})
	pol := mustPolicy(t, "version: 1\nroles:\n  ftp:\n    networks: {classic: true}\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 21/21, source: {cidr: 203.0.113.0/24}, nicType: internet}\n")
	rep, err := roles.NewConverger(ecs).Run(context.Background(), roles.Options{Regions: []string{hz}, Mode: roles.ModeApply, Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Networks) != 1 || rep.Networks[0].Network.VPCID != "" || rep.Summary.GroupsCreated != 1 {
		t.Fatalf("%s", rep.Text())
	}
	g := groupsByRole(t, ecs, "")["ftp"]
	if len(g) != 1 || g[0].Name != "sgpilot-ftp-classic" || len(ecs.Rules(g[0].ID)) != 1 || ecs.Rules(g[0].ID)[0].NicType != "internet" {
		t.Fatalf("classic group %+v rules %v", g, ecs.Rules(g[0].ID))
	}
	// The default policy has no classic role: no classic network.
	rep, _ = roles.NewConverger(ecs).Run(context.Background(), roles.Options{Regions: []string{hz}, Policy: rolepolicy.Default()})
	for _, n := range rep.Networks {
		if n.Network.VPCID == "" {
			t.Fatalf("classic planned for a policy without classic roles:\n%s", rep.Text())
		}
	}
}

func TestReport_JSONIsStable(t *testing.T) {
	ecs := fake.NewECS()
	ecs.AddVPC(hz, vpcA)
	ecs.AddGroup(roleGroup("sg-webaaaaaa01", vpcA, "web", true))
	rep, err := roles.NewConverger(ecs).Run(context.Background(), roles.Options{Regions: []string{hz}, Policy: rolepolicy.Default()})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"mode":"plan"`, `"regionErrors":[]`, `"withheld":[]`, `"rulesToAuthorize":`, `"calls":{`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
}

func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want roles.Mode
		ok   bool
	}{{"", roles.ModePlan, true}, {"plan", roles.ModePlan, true}, {"APPLY", roles.ModeApply, true}, {"delete", "", false}} {
		t.Run(tc.in, func(t *testing.T) {
			m, err := roles.ParseMode(tc.in)
			if (err == nil) != tc.ok || m != tc.want {
				t.Fatalf("ParseMode(%q) = %q, %v", tc.in, m, err)
			}
		})
	}
}
