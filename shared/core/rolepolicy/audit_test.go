package rolepolicy_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
)

type findingView struct {
	Type     rolepolicy.FindingType
	Severity rolepolicy.Severity
	Group    string
	RuleID   string
	Related  string
}

func findingViews(r rolepolicy.Report) []findingView {
	out := []findingView{}
	for _, f := range r.Findings {
		v := findingView{Type: f.Type, Severity: f.Severity, Group: f.GroupID, Related: f.RelatedRuleID}
		if f.Rule != nil {
			v.RuleID = f.Rule.ID
		}
		out = append(out, v)
	}
	return out
}

func group(id string, rules ...rolepolicy.Rule) rolepolicy.Group {
	return rolepolicy.Group{ID: id, Name: "name-" + id, VPCID: "vpc-aaaaaaaa01", Type: "normal", Rules: rules}
}

func with(r rolepolicy.Rule, f func(*rolepolicy.Rule)) rolepolicy.Rule {
	f(&r)
	return r
}

func TestAudit_Findings(t *testing.T) {
	drop := func(r *rolepolicy.Rule) { r.Policy = "drop" }
	cases := []struct {
		name  string
		input rolepolicy.AuditInput
		want  []findingView
	}{
		{name: "clean", input: rolepolicy.AuditInput{Groups: []rolepolicy.Group{
			group("sg-a", ingressTCP("r1", "443/443", "192.168.0.0/24", 1), fromGroup("r2", "22/22", "sg-b", 1)),
			group("sg-b"),
		}}, want: []findingView{}},
		{name: "internal rule open to the world", input: rolepolicy.AuditInput{Groups: []rolepolicy.Group{
			group("sg-a", ingressTCP("r1", "22/22", "0.0.0.0/0", 1)),
		}}, want: []findingView{{Type: "internal-open-wide", Severity: "high", Group: "sg-a", RuleID: "r1"}}},
		{name: "internal rule open to 10.0.0.0/8", input: rolepolicy.AuditInput{Groups: []rolepolicy.Group{
			group("sg-a", ingressTCP("r1", "3306/3306", "10.0.0.0/8", 1)),
		}}, want: []findingView{{Type: "internal-open-wide", Severity: "high", Group: "sg-a", RuleID: "r1"}}},
		{name: "ipv6 wide", input: rolepolicy.AuditInput{Groups: []rolepolicy.Group{
			group("sg-a", with(ingressTCP("r1", "22/22", "", 1), func(r *rolepolicy.Rule) { r.PeerIPv6CIDR = "::/0" })),
		}}, want: []findingView{{Type: "internal-open-wide", Severity: "high", Group: "sg-a", RuleID: "r1"}}},
		{name: "wide drops and internet rules are fine", input: rolepolicy.AuditInput{Groups: []rolepolicy.Group{
			group("sg-a", with(ingressTCP("r1", "22/22", "0.0.0.0/0", 100), drop),
				with(ingressTCP("r2", "80/80", "0.0.0.0/0", 1), func(r *rolepolicy.Rule) { r.NicType = "internet" })),
		}}, want: []findingView{}},
		{name: "acknowledged by the policy", input: rolepolicy.AuditInput{Policy: ptr(rolepolicy.Default()), Groups: []rolepolicy.Group{
			with2(group("sg-web", ingressTCP("r1", "80/80", "0.0.0.0/0", 1), ingressTCP("r2", "81/81", "0.0.0.0/0", 1)), "web"),
		}}, want: []findingView{
			{Type: "internal-open-wide", Severity: "high", Group: "sg-web", RuleID: "r2"},
			{Type: "internal-open-wide", Severity: "info", Group: "sg-web", RuleID: "r1"},
		}},
		{name: "egress to anywhere is not reported", input: rolepolicy.AuditInput{Groups: []rolepolicy.Group{
			group("sg-a", with(ingressTCP("e1", "-1/-1", "0.0.0.0/0", 1), func(r *rolepolicy.Rule) { r.Direction, r.Protocol = "egress", "all" }),
				with(ingressTCP("e2", "1/65535", "10.0.0.0/8", 1), func(r *rolepolicy.Rule) { r.Direction = "egress" })),
		}}, want: []findingView{{Type: "redundant", Severity: "low", Group: "sg-a", RuleID: "e2", Related: "e1"}}},
		{name: "all ports", input: rolepolicy.AuditInput{Groups: []rolepolicy.Group{
			group("sg-a", ingressTCP("r1", "1/65535", "192.168.0.0/24", 1), with(ingressTCP("r2", "1/65535", "192.168.9.0/24", 1), drop)),
		}}, want: []findingView{{Type: "all-ports", Severity: "medium", Group: "sg-a", RuleID: "r1"}}},
		{name: "all protocols", input: rolepolicy.AuditInput{Groups: []rolepolicy.Group{
			group("sg-a", with(ingressTCP("r1", "-1/-1", "192.168.0.0/24", 1), func(r *rolepolicy.Rule) { r.Protocol = "all" })),
		}}, want: []findingView{{Type: "all-protocols", Severity: "medium", Group: "sg-a", RuleID: "r1"}}},
		{name: "cidr where a group would fit", input: rolepolicy.AuditInput{
			Groups: []rolepolicy.Group{
				group("sg-db", ingressTCP("r1", "5432/5432", "172.16.1.0/24", 1), ingressTCP("r2", "5432/5432", "172.16.0.0/12", 1),
					ingressTCP("r3", "5432/5432", "172.16.2.0/24", 1)),
				group("sg-app"),
			},
			VPCs:      []rolepolicy.VPC{{ID: "vpc-aaaaaaaa01", CIDRs: []string{"172.16.0.0/12"}, SharedGroupIDs: []string{"sg-app"}}},
			VSwitches: []rolepolicy.VSwitch{{ID: "vsw-1", VPCID: "vpc-aaaaaaaa01", CIDR: "172.16.1.0/24", SharedGroupIDs: []string{"sg-app"}}, {ID: "vsw-2", VPCID: "vpc-aaaaaaaa01", CIDR: "172.16.2.0/24"}},
		}, want: []findingView{
			{Type: "cidr-could-be-group", Severity: "low", Group: "sg-db", RuleID: "r1"},
			{Type: "cidr-could-be-group", Severity: "low", Group: "sg-db", RuleID: "r2"},
			{Type: "redundant", Severity: "low", Group: "sg-db", RuleID: "r1", Related: "r2"},
			{Type: "redundant", Severity: "low", Group: "sg-db", RuleID: "r3", Related: "r2"},
		}},
		{name: "shadowed by a higher-priority drop", input: rolepolicy.AuditInput{Groups: []rolepolicy.Group{
			group("sg-a", with(ingressTCP("d1", "1/1024", "192.168.0.0/16", 5), drop), ingressTCP("a1", "443/443", "192.168.1.0/24", 10)),
		}}, want: []findingView{{Type: "shadowed", Severity: "medium", Group: "sg-a", RuleID: "a1", Related: "d1"}}},
		{name: "drop wins a tie", input: rolepolicy.AuditInput{Groups: []rolepolicy.Group{
			group("sg-a", ingressTCP("a1", "443/443", "192.168.1.0/24", 1), with(ingressTCP("d1", "443/443", "192.168.0.0/16", 1), drop)),
		}}, want: []findingView{{Type: "shadowed", Severity: "medium", Group: "sg-a", RuleID: "a1", Related: "d1"}}},
		{name: "accept at a tie does not shadow a drop", input: rolepolicy.AuditInput{Groups: []rolepolicy.Group{
			group("sg-a", ingressTCP("a1", "1/65535", "192.168.0.0/16", 1), with(ingressTCP("d1", "443/443", "192.168.1.0/24", 1), drop)),
		}}, want: []findingView{{Type: "all-ports", Severity: "medium", Group: "sg-a", RuleID: "a1"}}},
		{name: "a lower-priority drop does not shadow", input: rolepolicy.AuditInput{Groups: []rolepolicy.Group{
			group("sg-a", ingressTCP("a1", "443/443", "192.168.1.0/24", 1), with(ingressTCP("d1", "443/443", "0.0.0.0/0", 100), drop)),
		}}, want: []findingView{}},
		{name: "redundant under a wider accept", input: rolepolicy.AuditInput{Groups: []rolepolicy.Group{
			group("sg-a", ingressTCP("a1", "80/90", "192.168.0.0/16", 1), ingressTCP("a2", "85/85", "192.168.3.4/32", 1),
				with(ingressTCP("a3", "85/85", "192.168.0.0/16", 1), func(r *rolepolicy.Rule) { r.Direction = "egress" }),
				with(ingressTCP("a4", "85/85", "192.168.0.0/16", 1), func(r *rolepolicy.Rule) { r.Protocol = "udp" })),
		}}, want: []findingView{{Type: "redundant", Severity: "low", Group: "sg-a", RuleID: "a2", Related: "a1"}}},
		{name: "all-protocol drop shadows a group rule", input: rolepolicy.AuditInput{Groups: []rolepolicy.Group{
			group("sg-a", with(fromGroup("d1", "-1/-1", "sg-b", 1), func(r *rolepolicy.Rule) { r.Protocol, r.Policy = "all", "drop" }),
				fromGroup("a1", "22/22", "sg-b", 2)),
			group("sg-b"),
		}}, want: []findingView{{Type: "shadowed", Severity: "medium", Group: "sg-a", RuleID: "a1", Related: "d1"}}},
		{name: "near the rule limit", input: rolepolicy.AuditInput{RuleLimit: 10, Groups: []rolepolicy.Group{
			group("sg-full", manyRules(10)...), group("sg-near", manyRules(9)...), group("sg-fine", manyRules(8)...),
		}}, want: []findingView{
			{Type: "near-rule-limit", Severity: "high", Group: "sg-full"},
			{Type: "near-rule-limit", Severity: "medium", Group: "sg-near"},
		}},
		{name: "references to deleted groups", input: rolepolicy.AuditInput{AccountID: "1111111111", Groups: []rolepolicy.Group{
			group("sg-a", fromGroup("r1", "22/22", "sg-gone", 1),
				with(fromGroup("r2", "22/22", "sg-theirs", 1), func(r *rolepolicy.Rule) { r.PeerGroupOwner = "2222222222" }),
				with(fromGroup("r3", "23/23", "sg-gone2", 1), func(r *rolepolicy.Rule) { r.PeerGroupOwner = "1111111111" })),
		}}, want: []findingView{
			{Type: "deleted-group-reference", Severity: "high", Group: "sg-a", RuleID: "r1"},
			{Type: "deleted-group-reference", Severity: "high", Group: "sg-a", RuleID: "r3"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := rolepolicy.Audit(tc.input)
			if diff := cmp.Diff(tc.want, findingViews(rep)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			total := 0
			for _, n := range rep.Counts {
				total += n
			}
			if total != len(rep.Findings) {
				t.Errorf("counts %v for %d findings", rep.Counts, len(rep.Findings))
			}
			for _, f := range rep.Findings {
				if f.Why == "" || f.Fix == "" {
					t.Errorf("finding without why/fix: %+v", f)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func with2(g rolepolicy.Group, role string) rolepolicy.Group {
	g.Role = role
	return g
}

func manyRules(n int) []rolepolicy.Rule {
	var out []rolepolicy.Rule
	for i := 0; i < n; i++ {
		out = append(out, ingressTCP(fmt.Sprintf("r%d", i), fmt.Sprintf("%d/%d", 2000+i, 2000+i), "192.168.0.0/24", 1))
	}
	return out
}

func TestAudit_DoesNotChangeItsInput(t *testing.T) {
	in := rolepolicy.AuditInput{Groups: []rolepolicy.Group{group("sg-a", ingressTCP("r1", "22/22", "0.0.0.0/0", 1))}}
	before := fmt.Sprintf("%+v", in)
	rolepolicy.Audit(in)
	if after := fmt.Sprintf("%+v", in); after != before {
		t.Errorf("input changed:\n%s\n%s", before, after)
	}
}

func auditFixture() rolepolicy.AuditInput {
	drop := func(r *rolepolicy.Rule) { r.Policy = "drop" }
	web := with2(group("sg-web0000001",
		ingressTCP("sgr-w1", "80/80", "0.0.0.0/0", 1),
		ingressTCP("sgr-w2", "22/22", "0.0.0.0/0", 1),
		with(ingressTCP("sgr-w3", "-1/-1", "172.16.1.0/24", 1), func(r *rolepolicy.Rule) { r.Protocol = "all" }),
	), "web")
	db := group("sg-db00000001",
		with(ingressTCP("sgr-d1", "1/65535", "192.168.0.0/16", 5), drop),
		ingressTCP("sgr-d2", "5432/5432", "192.168.10.0/24", 10),
		fromGroup("sgr-d3", "5432/5432", "sg-deleted0001", 1),
	)
	return rolepolicy.AuditInput{RegionID: "cn-hangzhou", AccountID: "1234567890123456", Policy: ptr(rolepolicy.Default()),
		Groups:    []rolepolicy.Group{web, db, group("sg-empty000001")},
		VPCs:      []rolepolicy.VPC{{ID: "vpc-aaaaaaaa01", CIDRs: []string{"172.16.0.0/12"}}},
		VSwitches: []rolepolicy.VSwitch{{ID: "vsw-aaaaaaaa01", VPCID: "vpc-aaaaaaaa01", CIDR: "172.16.1.0/24", SharedGroupIDs: []string{"sg-empty000001"}}},
	}
}

func TestAudit_Golden(t *testing.T) {
	rep := rolepolicy.Audit(auditFixture())
	golden(t, "audit.txt", []byte(rep.Text()))
	js, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "audit.json", append(js, '\n'))

	clean := rolepolicy.Audit(rolepolicy.AuditInput{RegionID: "cn-hangzhou", Groups: []rolepolicy.Group{group("sg-a")}})
	golden(t, "audit-clean.txt", []byte(clean.Text()))
	js, _ = clean.JSON()
	if !strings.Contains(string(js), `"findings": []`) {
		t.Errorf("empty findings not rendered as []: %s", js)
	}
	var generic map[string]any
	if err := json.Unmarshal(js, &generic); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"regionId", "groups", "rules", "counts", "findings"} {
		if _, ok := generic[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, js)
		}
	}
}
