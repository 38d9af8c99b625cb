package rolepolicy_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", name, diff)
	}
}

var vpcA = rolepolicy.Network{RegionID: "cn-hangzhou", VPCID: "vpc-aaaaaaaa01"}

func ingressTCP(id, ports, cidr string, prio int) rolepolicy.Rule {
	return rolepolicy.Rule{ID: id, Direction: "ingress", Protocol: "tcp", PortRange: ports, NicType: "intranet",
		Policy: "accept", Priority: prio, PeerCIDR: cidr}
}

func fromGroup(id, ports, group string, prio int) rolepolicy.Rule {
	return rolepolicy.Rule{ID: id, Direction: "ingress", Protocol: "tcp", PortRange: ports, NicType: "intranet",
		Policy: "accept", Priority: prio, PeerGroupID: group}
}

// inSync returns the default policy's groups in vpcA with exactly its rules.
func inSync() []rolepolicy.Group {
	web := rolepolicy.Group{ID: "sg-web0000001", Name: "sgpilot-web-vpc-aaaaaaaa01", VPCID: vpcA.VPCID, Type: "normal", Role: "web", Managed: true,
		Rules: []rolepolicy.Rule{ingressTCP("sgr-w1", "80/80", "0.0.0.0/0", 1)}}
	drop := ingressTCP("sgr-r2", "6379/6379", "0.0.0.0/0", 100)
	drop.Policy = "drop"
	redis := rolepolicy.Group{ID: "sg-redis000001", Name: "sgpilot-redis-vpc-aaaaaaaa01", VPCID: vpcA.VPCID, Type: "normal", Role: "redis", Managed: true,
		Rules: []rolepolicy.Rule{fromGroup("sgr-r1", "6379/6379", "sg-web0000001", 1), drop}}
	return []rolepolicy.Group{web, redis}
}

type changeView struct{ Role, Group, Rule, Replaces string }

func views(cs []rolepolicy.RuleChange) []changeView {
	out := []changeView{}
	for _, c := range cs {
		out = append(out, changeView{c.Role, c.GroupID, c.Rule.String(), c.Replaces})
	}
	return out
}

func TestBuildPlan(t *testing.T) {
	def := rolepolicy.Default()
	cases := []struct {
		name      string
		network   rolepolicy.Network
		groups    func() []rolepolicy.Group
		opts      rolepolicy.PlanOptions
		create    []string
		authorize []changeView
		revoke    []changeView
		withheld  int
		unmanaged int
		notes     []string
	}{
		{name: "in sync", network: vpcA, groups: inSync},
		{name: "empty network creates both groups", network: vpcA, groups: func() []rolepolicy.Group { return nil },
			create: []string{"sgpilot-redis-vpc-aaaaaaaa01", "sgpilot-web-vpc-aaaaaaaa01"},
			authorize: []changeView{
				{"redis", "", "ingress accept tcp 6379/6379 from role web (intranet, priority 1)", ""},
				{"redis", "", "ingress drop tcp 6379/6379 from 0.0.0.0/0 (intranet, priority 100)", ""},
				{"web", "", "ingress accept tcp 80/80 from 0.0.0.0/0 (intranet, priority 1)", ""},
			}},
		{name: "missing, undeclared and re-prioritised rules", network: vpcA, groups: func() []rolepolicy.Group {
			gs := inSync()
			gs[0].Rules = append(gs[0].Rules, ingressTCP("sgr-w2", "22/22", "10.0.0.0/8", 1))
			gs[1].Rules = gs[1].Rules[1:]          // group rule missing
			gs[1].Rules[0].Priority = 50           // drop at the wrong priority
			gs[1].Rules[0].Description = "changed" // descriptions are not compared
			return gs
		},
			authorize: []changeView{
				{"redis", "sg-redis000001", "ingress accept tcp 6379/6379 from group sg-web0000001 (sgpilot-web-vpc-aaaaaaaa01) (intranet, priority 1)", ""},
				{"redis", "sg-redis000001", "ingress drop tcp 6379/6379 from 0.0.0.0/0 (intranet, priority 100)", "sgr-r2"},
			},
			revoke: []changeView{
				{"redis", "sg-redis000001", "ingress drop tcp 6379/6379 from 0.0.0.0/0 (intranet, priority 50)", ""},
				{"web", "sg-web0000001", "ingress accept tcp 22/22 from 10.0.0.0/8 (intranet, priority 1)", ""},
			}},
		{name: "unmanaged group is never touched", network: vpcA, groups: func() []rolepolicy.Group {
			gs := inSync()
			gs[0].Managed = false
			gs[0].Rules = []rolepolicy.Rule{ingressTCP("sgr-w2", "22/22", "10.0.0.0/8", 1)}
			return gs
		}, unmanaged: 1},
		{name: "blast radius withholds every revoke", network: vpcA, opts: rolepolicy.PlanOptions{MaxRevokes: 2}, groups: func() []rolepolicy.Group {
			gs := inSync()
			for i := 0; i < 3; i++ {
				gs[0].Rules = append(gs[0].Rules, ingressTCP(fmt.Sprintf("sgr-x%d", i), fmt.Sprintf("%d/%d", 1000+i, 1000+i), "10.1.0.0/16", 1))
			}
			gs[1].Rules[1].Priority = 7 // its replacement is withheld too
			return gs
		}, withheld: 5, notes: nil},
		{name: "other networks and unknown roles", network: vpcA, groups: func() []rolepolicy.Group {
			gs := inSync()
			other := gs[0]
			other.ID, other.VPCID, other.Rules = "sg-elsewhere01", "vpc-bbbbbbbb01", nil
			stray := rolepolicy.Group{ID: "sg-cache000001", VPCID: vpcA.VPCID, Role: "cache", Managed: true,
				Rules: []rolepolicy.Rule{ingressTCP("sgr-c1", "11211/11211", "10.0.0.0/8", 1)}}
			dup := gs[1]
			dup.ID, dup.Managed, dup.Rules = "sg-redis000000", false, nil
			return append(gs, other, stray, dup)
		}, notes: []string{
			"role cache (group sg-cache000001) is not in the policy; its rules are left alone",
			"role redis has 2 groups in cn-hangzhou/vpc-aaaaaaaa01; using sg-redis000001, leaving sg-redis000000 alone",
		}},
		{name: "classic network", network: rolepolicy.Network{RegionID: "cn-hangzhou"}, groups: func() []rolepolicy.Group { return nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := rolepolicy.BuildPlan(def, tc.network, tc.groups(), tc.opts)
			var created []string
			for _, c := range p.Create {
				created = append(created, c.Name)
				if c.Tags["sgpilot:role"] != c.Role || c.Tags["sgpilot:managed"] != "true" || c.Type != "normal" {
					t.Errorf("create %+v", c)
				}
			}
			if diff := cmp.Diff(tc.create, created); diff != "" {
				t.Errorf("create (-want +got):\n%s", diff)
			}
			want := func(v []changeView) []changeView {
				if v == nil {
					return []changeView{}
				}
				return v
			}
			if diff := cmp.Diff(want(tc.authorize), views(p.Authorize)); diff != "" {
				t.Errorf("authorize (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want(tc.revoke), views(p.Revoke)); diff != "" {
				t.Errorf("revoke (-want +got):\n%s", diff)
			}
			if len(p.Withheld) != tc.withheld || (tc.withheld > 0) != (p.WithheldReason != "") {
				t.Errorf("withheld %d (%q), want %d", len(p.Withheld), p.WithheldReason, tc.withheld)
			}
			if len(p.Unmanaged) != tc.unmanaged {
				t.Errorf("unmanaged %+v", p.Unmanaged)
			}
			notes := tc.notes
			if notes == nil {
				notes = []string{}
			}
			if diff := cmp.Diff(notes, p.Notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildPlan_ClassicKeepsInternetRules(t *testing.T) {
	pol := MustParse(t, `
version: 1
roles:
  ftp:
    networks: {classic: true}
    rules:
      - {direction: ingress, protocol: tcp, ports: 21/21, nicType: internet, source: {cidr: 0.0.0.0/0}}
      - {direction: ingress, protocol: tcp, ports: 22/22, source: {cidr: "2001:db8::/32"}}
`)
	classic := rolepolicy.Network{RegionID: "cn-qingdao"}
	p := rolepolicy.BuildPlan(pol, classic, nil, rolepolicy.PlanOptions{})
	if len(p.Create) != 1 || p.Create[0].Name != "sgpilot-ftp-classic" || len(p.Authorize) != 2 {
		t.Fatalf("%+v", p)
	}
	if r := p.Authorize[0].Rule; r.NicType != "internet" || r.PeerCIDR != "0.0.0.0/0" {
		t.Errorf("internet rule %+v", r)
	}
	if r := p.Authorize[1].Rule; r.NicType != "intranet" || r.PeerIPv6CIDR != "2001:db8::/32" || r.PeerCIDR != "" {
		t.Errorf("ipv6 rule %+v", r)
	}
	// The role has no VPC network: nothing to do in a VPC.
	if p := rolepolicy.BuildPlan(pol, vpcA, nil, rolepolicy.PlanOptions{}); !p.Empty() {
		t.Errorf("VPC plan: %+v", p)
	}
}

func TestPlan_Resolve(t *testing.T) {
	p := rolepolicy.BuildPlan(rolepolicy.Default(), vpcA, nil, rolepolicy.PlanOptions{})
	r := p.Resolve(map[string]string{"web": "sg-newweb0001", "redis": "sg-newredis01"})
	for _, c := range r.Authorize {
		if c.GroupID == "" || c.Rule.PeerRole != "" {
			t.Errorf("unresolved change %+v", c)
		}
	}
	if got := r.Authorize[0].Rule; got.PeerGroupID != "sg-newweb0001" || got.PeerGroupRef != "sgpilot-web-vpc-aaaaaaaa01" {
		t.Errorf("peer not resolved: %+v", got)
	}
	if p.Authorize[0].Rule.PeerRole != "web" {
		t.Error("Resolve changed the original plan")
	}
	// Resolving a peer makes it equal to the rule ECS will report.
	if got, want := r.Authorize[0].Rule.Key(), fromGroup("", "6379/6379", "sg-newweb0001", 1).Key(); got != want {
		t.Errorf("key %q, want %q", got, want)
	}
}

func TestPlan_Golden(t *testing.T) {
	gs := inSync()
	gs[0].Rules = append(gs[0].Rules, ingressTCP("sgr-w2", "22/22", "10.0.0.0/8", 1))
	gs[1].Rules[1].Priority = 50
	gs = append(gs, rolepolicy.Group{ID: "sg-handmade001", Name: "ops-web", VPCID: vpcA.VPCID, Role: "web"})
	pol := MustParse(t, string(rolepolicy.DefaultYAML())+`
  cache:
    description: Memcached
    rules:
      - {direction: ingress, protocol: tcp, ports: 11211/11211, source: {role: web}, description: memcached from web}
`)
	p := rolepolicy.BuildPlan(pol, vpcA, gs, rolepolicy.PlanOptions{})
	golden(t, "plan.txt", []byte(p.Text()))
	js, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.json", append(js, '\n'))

	withheld := rolepolicy.BuildPlan(pol, vpcA, gs, rolepolicy.PlanOptions{MaxRevokes: 1})
	golden(t, "plan-withheld.txt", []byte(withheld.Text()))
	if strings.Count(withheld.Text(), "(revoke)") != 2 {
		t.Errorf("withheld plan:\n%s", withheld.Text())
	}

	unmanaged := inSync()
	unmanaged[1].Managed = false
	unmanaged[1].Rules = unmanaged[1].Rules[:1]
	golden(t, "plan-unmanaged.txt", []byte(rolepolicy.BuildPlan(rolepolicy.Default(), vpcA, unmanaged, rolepolicy.PlanOptions{}).Text()))
	empty, _ := rolepolicy.BuildPlan(rolepolicy.Default(), vpcA, inSync(), rolepolicy.PlanOptions{}).JSON()
	golden(t, "plan-empty.json", append(empty, '\n'))
}
