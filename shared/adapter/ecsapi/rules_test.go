package ecsapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/adapter/ecsapi"
	"github.com/sgpilot/sgpilot/shared/core/cloudauth"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
)

// The rule APIs against the ECS emulator over HTTP.

const (
	rpVPC        = "vpc-rp00000001"
	rpWeb        = "sg-rpweb0000001"
	rpRedis      = "sg-rpredis00001"
	rpClassic    = "sg-rpclassic001"
	rpEnterprise = "sg-rpenterprise1"
)

type ruleEmu struct {
	env *core.Env
	c   *ecsapi.Client
}

func newRuleEmulator(tb testing.TB, opts ecsemu.Options, groups ...ecsemu.SeedSecurityGroup) ruleEmu {
	tb.Helper()
	env := core.NewEnv(emuAccount, 1)
	env.Credentials.AddAccessKey(testKeyID, testSecret)
	opts.Region = emuRegion
	svc, err := ecsemu.New(env, opts)
	if err != nil {
		tb.Fatalf("ecsemu.New: %v", err)
	}
	srv := httptest.NewServer(svc)
	tb.Cleanup(func() {
		srv.Close()
		_ = svc.Close()
	})
	seed := ecsemu.Seed{Regions: ecsemu.DefaultRegions(emuRegion),
		VPCs:      []ecsemu.SeedVPC{{ID: rpVPC, RegionID: emuRegion, CidrBlock: "172.16.0.0/12"}},
		VSwitches: []ecsemu.SeedVSwitch{{ID: "vsw-rp00000001", VpcID: rpVPC, CidrBlock: "172.16.1.0/24"}},
		SecurityGroups: append([]ecsemu.SeedSecurityGroup{
			{ID: rpWeb, RegionID: emuRegion, Name: "sgpilot-web-" + rpVPC, VpcID: rpVPC},
			{ID: rpRedis, RegionID: emuRegion, Name: "sgpilot-redis-" + rpVPC, VpcID: rpVPC},
			{ID: rpClassic, RegionID: emuRegion, Name: "classic"},
			{ID: rpEnterprise, RegionID: emuRegion, Name: "advanced", VpcID: rpVPC, Type: "enterprise"},
		}, groups...),
	}
	if err := svc.Seed(seed); err != nil {
		tb.Fatalf("seed: %v", err)
	}
	c := MustClient(tb, ecsapi.Config{RegionID: emuRegion, Endpoint: srv.URL,
		Credentials: cloudauth.Credentials{AccessKeyID: testKeyID, AccessKeySecret: testSecret}, Retry: instantRetry(3)})
	return ruleEmu{env: env, c: c}
}

func (e ruleEmu) group(tb testing.TB, id string) rolepolicy.Group {
	tb.Helper()
	gr, err := e.c.DescribeGroupRules(context.Background(), "", id)
	if err != nil {
		tb.Fatalf("DescribeGroupRules %s: %v", id, err)
	}
	return rolepolicy.Group{ID: id, Name: gr.Name, VPCID: gr.VPCID, Type: "normal", Managed: true, Rules: gr.Rules,
		InnerAccessPolicy: gr.InnerAccessPolicy}
}

// apply carries out a plan the way the use case will: revokes, then authorizations.
func (e ruleEmu) apply(tb testing.TB, p rolepolicy.Plan) {
	tb.Helper()
	ctx := context.Background()
	byGroup := func(cs []rolepolicy.RuleChange) map[string][]rolepolicy.Rule {
		m := map[string][]rolepolicy.Rule{}
		for _, c := range cs {
			m[c.GroupID] = append(m[c.GroupID], c.Rule)
		}
		return m
	}
	for g, rules := range byGroup(p.Revoke) {
		if err := e.c.RevokeRules(ctx, "", g, rules); err != nil {
			tb.Fatalf("RevokeRules %s: %v", g, err)
		}
	}
	for g, rules := range byGroup(p.Authorize) {
		if err := e.c.AuthorizeRules(ctx, "", g, rules); err != nil {
			tb.Fatalf("AuthorizeRules %s: %v", g, err)
		}
	}
}

func TestRules_PlanApplyConverges(t *testing.T) {
	e := newRuleEmulator(t, ecsemu.Options{})
	network := rolepolicy.Network{RegionID: emuRegion, VPCID: rpVPC}
	pol := rolepolicy.Default()
	groups := func() []rolepolicy.Group {
		web, redis := e.group(t, rpWeb), e.group(t, rpRedis)
		web.Role, redis.Role = "web", "redis"
		return []rolepolicy.Group{web, redis}
	}
	first := rolepolicy.BuildPlan(pol, network, groups(), rolepolicy.PlanOptions{})
	if len(first.Authorize) != 3 || len(first.Revoke) != 0 || len(first.Create) != 0 {
		t.Fatalf("first plan:\n%s", first.Text())
	}
	e.apply(t, first)
	if again := rolepolicy.BuildPlan(pol, network, groups(), rolepolicy.PlanOptions{}); !again.Empty() {
		t.Fatalf("after applying, the plan is not empty:\n%s", again.Text())
	}
	redis := e.group(t, rpRedis)
	if len(redis.Rules) != 2 || redis.Rules[0].PeerGroupID != rpWeb || redis.Rules[0].PeerGroupRef != "sgpilot-web-"+rpVPC ||
		redis.Rules[0].PeerGroupOwner != emuAccount || redis.Rules[1].Policy != rolepolicy.Drop || redis.Rules[1].Priority != 100 ||
		redis.Rules[1].Description != "Redis from anyone else is dropped" || redis.InnerAccessPolicy != "Accept" {
		t.Fatalf("redis rules as read back: %+v", redis)
	}

	// Drift: a stray rule and a changed priority. Revokes run first, so the
	// re-prioritised rule is replaced and the plan converges again.
	ctx := context.Background()
	stray := rolepolicy.Rule{Direction: "ingress", Protocol: "tcp", PortRange: "22/22", NicType: "intranet", Policy: "accept", Priority: 1, PeerCIDR: "10.0.0.0/8"}
	if err := e.c.AuthorizeRules(ctx, "", rpWeb, []rolepolicy.Rule{stray}); err != nil {
		t.Fatal(err)
	}
	drop := redis.Rules[1]
	if err := e.c.RevokeRules(ctx, "", rpRedis, []rolepolicy.Rule{drop}); err != nil {
		t.Fatal(err)
	}
	drop.ID, drop.Priority = "", 40
	if err := e.c.AuthorizeRules(ctx, "", rpRedis, []rolepolicy.Rule{drop}); err != nil {
		t.Fatal(err)
	}
	drift := rolepolicy.BuildPlan(pol, network, groups(), rolepolicy.PlanOptions{})
	if len(drift.Revoke) != 2 || len(drift.Authorize) != 1 || drift.Authorize[0].Replaces == "" {
		t.Fatalf("drift plan:\n%s", drift.Text())
	}
	e.apply(t, drift)
	if again := rolepolicy.BuildPlan(pol, network, groups(), rolepolicy.PlanOptions{}); !again.Empty() {
		t.Fatalf("after repairing drift:\n%s", again.Text())
	}
}

func TestRules_PagingAndBatching(t *testing.T) {
	e := newRuleEmulator(t, ecsemu.Options{})
	var rules []rolepolicy.Rule
	for i := 0; i < 150; i++ {
		dir := rolepolicy.Ingress
		if i%3 == 0 {
			dir = rolepolicy.Egress
		}
		rules = append(rules, rolepolicy.Rule{Direction: dir, Protocol: "udp", PortRange: fmt.Sprintf("%d/%d", 2000+i, 2000+i),
			NicType: "intranet", Policy: "accept", Priority: 1 + i%100, PeerCIDR: "192.168.0.0/16"})
	}
	ctx := context.Background()
	if err := e.c.AuthorizeRules(ctx, "", rpWeb, rules); err != nil {
		t.Fatal(err)
	}
	stats := e.c.Stats()
	// 100 ingress rules: one call; 50 egress rules: one call.
	if stats["AuthorizeSecurityGroup"] != 1 || stats["AuthorizeSecurityGroupEgress"] != 1 {
		t.Errorf("authorize calls %v", stats)
	}
	gr, err := e.c.DescribeGroupRules(ctx, "", rpWeb)
	if err != nil {
		t.Fatal(err)
	}
	if len(gr.Rules) != 150 || e.c.Stats()["DescribeSecurityGroupAttribute"] != 2 || gr.VPCID != rpVPC {
		t.Errorf("%d rules in %d calls, want 150 in 2", len(gr.Rules), e.c.Stats()["DescribeSecurityGroupAttribute"])
	}
	if err := e.c.RevokeRules(ctx, "", rpWeb, gr.Rules); err != nil {
		t.Fatal(err)
	}
	if n := e.c.Stats()["RevokeSecurityGroup"] + e.c.Stats()["RevokeSecurityGroupEgress"]; n != 2 {
		t.Errorf("revoke made %d calls, want 2", n)
	}
	if left := e.group(t, rpWeb); len(left.Rules) != 0 {
		t.Errorf("%d rules left", len(left.Rules))
	}
}

func TestRules_ClassicGroupListsBothNicTypes(t *testing.T) {
	e := newRuleEmulator(t, ecsemu.Options{})
	ctx := context.Background()
	in := []rolepolicy.Rule{
		{Direction: "ingress", Protocol: "tcp", PortRange: "21/21", NicType: "internet", Policy: "accept", Priority: 1, PeerCIDR: "0.0.0.0/0"},
		{Direction: "ingress", Protocol: "icmp", PortRange: "-1/-1", NicType: "intranet", Policy: "accept", Priority: 1, PeerCIDR: "10.0.0.0/8"},
		{Direction: "egress", Protocol: "all", PortRange: "-1/-1", NicType: "internet", Policy: "drop", Priority: 100, PeerCIDR: "0.0.0.0/0"},
		{Direction: "ingress", Protocol: "tcp", PortRange: "22/22", NicType: "intranet", Policy: "accept", Priority: 1, PeerIPv6CIDR: "2001:db8::/32"},
	}
	if err := e.c.AuthorizeRules(ctx, "", rpClassic, in); err != nil {
		t.Fatal(err)
	}
	gr, err := e.c.DescribeGroupRules(ctx, "", rpClassic)
	if err != nil {
		t.Fatal(err)
	}
	if gr.VPCID != "" || len(gr.Rules) != 4 || e.c.Stats()["DescribeSecurityGroupAttribute"] != 2 {
		t.Fatalf("classic listing: %d rules, %d calls: %+v", len(gr.Rules), e.c.Stats()["DescribeSecurityGroupAttribute"], gr.Rules)
	}
	want := map[string]bool{}
	for _, r := range in {
		want[r.Key()] = true
	}
	for _, r := range gr.Rules {
		if !want[r.Key()] || r.ID == "" {
			t.Errorf("unexpected rule read back: %+v", r)
		}
	}
}

func TestRules_RevokeIsIdempotent(t *testing.T) {
	e := newRuleEmulator(t, ecsemu.Options{})
	ctx := context.Background()
	rules := []rolepolicy.Rule{
		{Direction: "ingress", Protocol: "tcp", PortRange: "80/80", NicType: "intranet", Policy: "accept", Priority: 1, PeerGroupID: rpRedis},
		{Direction: "egress", Protocol: "tcp", PortRange: "6379/6379", NicType: "intranet", Policy: "accept", Priority: 1, PeerGroupID: rpRedis},
	}
	if err := e.c.AuthorizeRules(ctx, "", rpWeb, rules); err != nil {
		t.Fatal(err)
	}
	read := e.group(t, rpWeb).Rules
	if len(read) != 2 {
		t.Fatalf("%+v", read)
	}
	for i := 0; i < 2; i++ { // the second time, every ID is gone
		if err := e.c.RevokeRules(ctx, "", rpWeb, read); err != nil {
			t.Fatalf("revoke #%d: %v", i+1, err)
		}
	}
	if left := e.group(t, rpWeb).Rules; len(left) != 0 {
		t.Fatalf("left %+v", left)
	}
	// Without IDs: by attributes, also when absent.
	if err := e.c.RevokeRules(ctx, "", rpWeb, rules); err != nil {
		t.Fatal(err)
	}
}

func TestRules_Errors(t *testing.T) {
	e := newRuleEmulator(t, ecsemu.Options{RulesPerGroup: 2})
	ctx := context.Background()
	tcp := func(port int) rolepolicy.Rule {
		return rolepolicy.Rule{Direction: "ingress", Protocol: "tcp", PortRange: fmt.Sprintf("%d/%d", port, port), NicType: "intranet",
			Policy: "accept", Priority: 1, PeerCIDR: "192.168.0.0/16"}
	}
	unresolved := tcp(1)
	unresolved.PeerCIDR, unresolved.PeerRole = "", "web"
	fromEnterprise := tcp(2)
	fromEnterprise.PeerCIDR, fromEnterprise.PeerGroupID = "", rpEnterprise
	cases := []struct {
		name string
		run  func() error
		kind domain.Kind
		code string
	}{
		{"unknown group", func() error { return e.c.AuthorizeRules(ctx, "", "sg-rpmissing0001", []rolepolicy.Rule{tcp(1)}) },
			domain.KindNotFound, "InvalidSecurityGroupId.NotFound"},
		{"rule limit", func() error { return e.c.AuthorizeRules(ctx, "", rpWeb, []rolepolicy.Rule{tcp(1), tcp(2), tcp(3)}) },
			domain.KindPermanent, "AuthorizationLimitExceed"},
		{"unresolved peer role", func() error { return e.c.AuthorizeRules(ctx, "", rpWeb, []rolepolicy.Rule{unresolved}) },
			domain.KindInvalid, ""},
		{"advanced group as peer", func() error { return e.c.AuthorizeRules(ctx, "", rpWeb, []rolepolicy.Rule{fromEnterprise}) },
			domain.KindPermanent, "InvalidGroupAuthParameter.OperationDenied"},
		{"bad port range", func() error {
			r := tcp(1)
			r.PortRange = "9/1"
			return e.c.AuthorizeRules(ctx, "", rpWeb, []rolepolicy.Rule{r})
		}, domain.KindInvalid, "InvalidPortRange.Malformed"},
		{"revoke on unknown group", func() error {
			r := tcp(1)
			r.ID = "sgr-rpnothing0001"
			return e.c.RevokeRules(ctx, "", "sg-rpmissing0001", []rolepolicy.Rule{r})
		}, domain.KindNotFound, "InvalidSecurityGroupId.NotFound"},
		{"inner policy of an advanced group", func() error { return e.c.ModifyGroupPolicy(ctx, "", rpEnterprise, "Accept") },
			domain.KindPermanent, "InvalidSecurityGroup.NotSupportEnterprise"},
		{"inner policy value", func() error { return e.c.ModifyGroupPolicy(ctx, "", rpWeb, "Sometimes") }, domain.KindInvalid, ""},
		{"describe unknown group", func() error {
			_, err := e.c.DescribeGroupRules(ctx, "", "sg-rpmissing0001")
			return err
		}, domain.KindNotFound, "InvalidSecurityGroupId.NotFound"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if domain.KindOf(err) != tc.kind || domain.CodeOf(err) != tc.code {
				t.Fatalf("got %v (kind %s, code %q), want kind %s code %q", err, domain.KindOf(err), domain.CodeOf(err), tc.kind, tc.code)
			}
			assertNoSecrets(t, err)
		})
	}
	if n := e.c.Stats()["AuthorizeSecurityGroup"]; n != 4 {
		t.Errorf("%d AuthorizeSecurityGroup calls; the unresolved rule must not be sent", n)
	}
}

func TestRules_ModifyGroupPolicy(t *testing.T) {
	e := newRuleEmulator(t, ecsemu.Options{})
	ctx := context.Background()
	if err := e.c.ModifyGroupPolicy(ctx, "", rpWeb, "Drop"); err != nil {
		t.Fatal(err)
	}
	if g := e.group(t, rpWeb); g.InnerAccessPolicy != "Drop" {
		t.Fatalf("InnerAccessPolicy %q", g.InnerAccessPolicy)
	}
	if err := e.c.ModifyGroupPolicy(ctx, "", rpWeb, "Drop"); err != nil {
		t.Fatalf("second Drop: %v", err)
	}
}

func TestFromPermission(t *testing.T) {
	cases := []struct {
		name string
		in   ecs.Permission
		want rolepolicy.Rule
		err  bool
	}{
		{"ingress from a group", ecs.Permission{SecurityGroupRuleId: "sgr-1", Direction: "ingress", IpProtocol: "TCP", PortRange: "443/443",
			Policy: "Accept", Priority: "7", NicType: "intranet", SourceGroupId: "sg-a", SourceGroupName: "a", SourceGroupOwnerAccount: "1", DestCidrIp: "10.0.0.1"},
			rolepolicy.Rule{ID: "sgr-1", Direction: "ingress", Protocol: "tcp", PortRange: "443/443", Policy: "accept", Priority: 7,
				NicType: "intranet", PeerGroupID: "sg-a", PeerGroupRef: "a", PeerGroupOwner: "1", LocalCIDR: "10.0.0.1"}, false},
		{"egress to a prefix list", ecs.Permission{Direction: "egress", IpProtocol: "ALL", PortRange: "-1/-1", Policy: "Drop",
			NicType: "intranet", DestPrefixListId: "pl-1", SourceCidrIp: "172.16.1.0/24", Priority: "100"},
			rolepolicy.Rule{Direction: "egress", Protocol: "all", PortRange: "-1/-1", Policy: "drop", Priority: 100, NicType: "intranet",
				PeerPrefixList: "pl-1", LocalCIDR: "172.16.1.0/24"}, false},
		{"defaults", ecs.Permission{Direction: "ingress", IpProtocol: "icmp", PortRange: "-1/-1", NicType: "internet", SourceCidrIp: "1.1.1.1/32"},
			rolepolicy.Rule{Direction: "ingress", Protocol: "icmp", PortRange: "-1/-1", Policy: "accept", Priority: 1, NicType: "internet", PeerCIDR: "1.1.1.1/32"}, false},
		{"bad priority", ecs.Permission{Direction: "ingress", Priority: "high"}, rolepolicy.Rule{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ecsapi.FromPermission(tc.in)
			if (err != nil) != tc.err {
				t.Fatalf("err %v", err)
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// A plan for an empty network, applied end to end: create (advanced groups
// included), resolve, authorize; the next plan is empty.
func TestRules_CreateResolveAuthorize(t *testing.T) {
	e := newRuleEmulator(t, ecsemu.Options{})
	ctx := context.Background()
	pol, err := rolepolicy.Parse([]byte(`
version: 1
roles:
  app:
    rules:
      - {direction: ingress, protocol: tcp, ports: 8080/8080, source: {role: lb}}
  lb:
    rules:
      - {direction: ingress, protocol: tcp, ports: 443/443, source: {cidr: 0.0.0.0/0}, allowInternetWide: true}
  batch:
    groupType: advanced
    rules:
      - {direction: egress, protocol: all, destination: {cidr: 192.168.0.0/16}}
`))
	if err != nil {
		t.Fatal(err)
	}
	network := rolepolicy.Network{RegionID: emuRegion, VPCID: rpVPC}
	plan := rolepolicy.BuildPlan(pol, network, nil, rolepolicy.PlanOptions{})
	created := map[string]string{}
	for _, g := range plan.Create {
		id, err := e.c.CreateRoleGroup(ctx, network, g)
		if err != nil {
			t.Fatalf("CreateRoleGroup %s: %v", g.Name, err)
		}
		created[g.Role] = id
	}
	e.apply(t, plan.Resolve(created))

	got, err := e.c.DescribeGroups(ctx, "", []string{created["app"], created["lb"], created["batch"]})
	if err != nil || len(got) != 3 {
		t.Fatalf("DescribeGroups: %v, %v", got, err)
	}
	var groups []rolepolicy.Group
	for _, g := range got {
		if g.Tags["sgpilot:managed"] != "true" || g.Name != rolepolicy.GroupName(g.Tags["sgpilot:role"], network) {
			t.Errorf("created group %+v", g)
		}
		if want := map[bool]string{true: "enterprise", false: "normal"}[g.Tags["sgpilot:role"] == "batch"]; g.Type != want {
			t.Errorf("group %s type %q, want %q", g.Name, g.Type, want)
		}
		rg := e.group(t, g.ID)
		rg.Role, rg.Type = g.Tags["sgpilot:role"], g.Type
		groups = append(groups, rg)
	}
	if again := rolepolicy.BuildPlan(pol, network, groups, rolepolicy.PlanOptions{}); !again.Empty() {
		t.Fatalf("after applying:\n%s", again.Text())
	}
	if _, err := e.c.CreateRoleGroup(ctx, network, rolepolicy.GroupToCreate{Name: "x-group", Type: "premium"}); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("bad type: %v", err)
	}
}
