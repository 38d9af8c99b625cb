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

func ingress(ports, cidr string) rolepolicy.Rule {
	proto := rolepolicy.TCP
	if ports == rolepolicy.AnyPorts {
		proto = rolepolicy.All
	}
	return rolepolicy.Rule{Direction: rolepolicy.Ingress, Protocol: proto, PortRange: ports, NicType: "intranet",
		Policy: rolepolicy.Accept, Priority: 1, PeerCIDR: cidr}
}

// The audit reads every group of the region, finds the bad rules of an
// unmanaged group (including a CIDR that is a vSwitch whose instances share
// a group), reports nothing above info on a converged role group, and
// changes nothing.
func TestAudit_FindsBadRulesAndChangesNothing(t *testing.T) {
	ctx := context.Background()
	ecs := fake.NewECS()
	ecs.SetVPCRanges(hz, vpcA, "172.16.0.0/12").AddVSwitch(vpcA, "vsw-aaaaaaaa01", "172.16.1.0/24")
	app := ecs.AddGroup(domain.SecurityGroup{ID: "sg-appaaaaaa01", Name: "legacy-app", RegionID: hz, VPCID: vpcA})
	shared := ecs.AddGroup(domain.SecurityGroup{ID: "sg-shareddd001", Name: "shared", RegionID: hz, VPCID: vpcA})
	ecs.AddGroup(roleGroup("sg-webaaaaaa01", vpcA, "web", true))
	ecs.AddInstance(domain.Instance{ID: "i-aaaaaaaaaa01", RegionID: hz, VPCID: vpcA, GroupIDs: []string{shared}})
	ecs.AddInstance(domain.Instance{ID: "i-aaaaaaaaaa02", RegionID: hz, VPCID: vpcA, GroupIDs: []string{shared, app}})
	ecs.PlaceInstance("i-aaaaaaaaaa01", "vsw-aaaaaaaa01").PlaceInstance("i-aaaaaaaaaa02", "vsw-aaaaaaaa01")
	ecs.AddRules(app,
		ingress("22/22", "0.0.0.0/0"),               // internal-open-wide
		ingress(rolepolicy.AnyPorts, "10.1.0.0/16"), // all-protocols
		ingress("1/65535", "10.2.0.0/16"),           // all-ports
		ingress("5432/5432", "172.16.1.0/24"),       // cidr-could-be-group (the vSwitch shares sg-shareddd001)
		rolepolicy.Rule{Direction: rolepolicy.Ingress, Protocol: rolepolicy.TCP, PortRange: "9000/9000", NicType: "intranet",
			Policy: rolepolicy.Accept, Priority: 1, PeerGroupID: "sg-gone0000001"}, // deleted-group-reference
	)
	pol := rolepolicy.Default()
	// Converge first so the role group holds exactly the policy.
	if rep, err := roles.NewConverger(ecs).Run(ctx, roles.Options{Regions: []string{hz}, Mode: roles.ModeApply, Policy: pol}); err != nil || rep.Failed() {
		t.Fatalf("converge: %v\n%s", err, rep.Text())
	}
	writes := func() int {
		return ecs.Calls("AuthorizeRules") + ecs.Calls("RevokeRules") + ecs.Calls("CreateRoleGroup") + ecs.Calls("TagGroups")
	}
	before := writes()

	rep, err := roles.NewAuditor(ecs).Run(ctx, roles.AuditOptions{Regions: []string{hz}, Policy: &pol})
	if err != nil {
		t.Fatal(err)
	}
	if writes() != before {
		t.Fatal("the audit wrote")
	}
	if rep.Failed() || len(rep.Regions) != 1 {
		t.Fatalf("%+v", rep)
	}
	got := map[rolepolicy.FindingType]bool{}
	for _, f := range rep.Regions[0].Report.Findings {
		switch {
		case f.GroupID == app:
			got[f.Type] = true
		case f.Severity != rolepolicy.Info:
			t.Errorf("finding on a group without bad rules: %+v", f)
		}
	}
	for _, want := range []rolepolicy.FindingType{rolepolicy.FindingInternalOpenWide, rolepolicy.FindingAllProtocols,
		rolepolicy.FindingAllPorts, rolepolicy.FindingCIDRCouldBeGroup, rolepolicy.FindingDeletedGroupReference} {
		if !got[want] {
			t.Errorf("no %s finding on %s:\n%s", want, app, rep.Text())
		}
	}
	// Groups: app, shared, web, redis (created by converge): 4 rule reads.
	if rep.Groups != 4 || rep.Regions[0].Calls["GroupRules"] != 4 || rep.Calls != 9 {
		t.Errorf("groups %d, calls %v (total %d)", rep.Groups, rep.Regions[0].Calls, rep.Calls)
	}
	if !strings.Contains(rep.Text(), "read calls") || !strings.Contains(rep.Summary(), "findings:") {
		t.Errorf("text:\n%s", rep.Text())
	}
	b, _ := json.Marshal(rep)
	if !strings.Contains(string(b), `"counts":{"high":`) {
		t.Errorf("JSON %s", b)
	}
}

func TestAudit_RegionFailureIsReported(t *testing.T) {
	ecs := fake.NewECS()
	ecs.FailNext("ListVPCs", &domain.Error{Kind: domain.KindPermanent, Op: "ecs DescribeVpcs", Code: "Forbidden.RAM"})
	rep, err := roles.NewAuditor(ecs).Run(context.Background(), roles.AuditOptions{Regions: []string{hz, "cn-shanghai"}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Failed() || rep.Regions[0].Kind != domain.KindPermanent.String() || rep.Regions[1].Error != "" {
		t.Fatalf("%+v", rep.Regions)
	}
}
