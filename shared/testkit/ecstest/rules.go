package ecstest

import (
	"context"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
)

// RuleECS is the rule and role-group method set of the role policy use case
// (shared/usecase/roles), checked by RunRules.
type RuleECS interface {
	GroupRules(ctx context.Context, regionID, groupID string) ([]rolepolicy.Rule, error)
	AuthorizeRules(ctx context.Context, regionID, groupID string, rules []rolepolicy.Rule) error
	RevokeRules(ctx context.Context, regionID, groupID string, rules []rolepolicy.Rule) error
	CreateRoleGroup(ctx context.Context, n rolepolicy.Network, g rolepolicy.GroupToCreate) (string, error)
}

// RunRules runs the rule cases against h; Env.ECS must also be a RuleECS.
func RunRules(t *testing.T, h Harness) {
	for _, c := range ruleCases {
		t.Run(c.name, func(t *testing.T) {
			env := h(t, c.world)
			if _, ok := env.ECS.(RuleECS); !ok {
				t.Fatalf("%T has no rule methods", env.ECS)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c.run(ctx, t, env)
		})
	}
}

func ruleWorld() World {
	return World{VPCs: []string{"vpc-a"}, Groups: []Group{{Name: "app", VPC: "vpc-a"}, {Name: "peer", VPC: "vpc-a"}}}
}

func keysOf(rules []rolepolicy.Rule) map[string]int {
	out := map[string]int{}
	for _, r := range rules {
		out[r.Key()] = r.Priority
	}
	return out
}

var ruleCases = []testCase{
	{name: "Rules_AuthorizeIsIdempotentAndReadsBack", world: ruleWorld(), run: func(ctx context.Context, t *testing.T, env *Env) {
		e := env.ECS.(RuleECS)
		app, peer := env.ID(t, "app"), env.ID(t, "peer")
		rules := []rolepolicy.Rule{
			{Direction: rolepolicy.Ingress, Protocol: rolepolicy.TCP, PortRange: "443/443", NicType: "intranet", Policy: rolepolicy.Accept, Priority: 5, PeerCIDR: "10.1.0.0/16", Description: "https"},
			{Direction: rolepolicy.Egress, Protocol: rolepolicy.TCP, PortRange: "6379/6379", NicType: "intranet", Policy: rolepolicy.Accept, Priority: 1, PeerGroupID: peer},
		}
		must(t, "AuthorizeRules", e.AuthorizeRules(ctx, env.Region, app, rules))
		// The same rule with another priority is the same rule: nothing added, priority kept.
		again := append([]rolepolicy.Rule(nil), rules...)
		again[0].Priority = 9
		must(t, "AuthorizeRules again", e.AuthorizeRules(ctx, env.Region, app, again))
		got, err := e.GroupRules(ctx, env.Region, app)
		must(t, "GroupRules", err)
		k := keysOf(got)
		if len(got) != 2 || k[rules[0].Key()] != 5 || k[rules[1].Key()] != 1 {
			t.Fatalf("rules %+v", got)
		}
		for _, r := range got {
			if r.ID == "" {
				t.Errorf("rule without an ID: %+v", r)
			}
		}
		refs, err := env.ECS.GroupReferences(ctx, env.Region, []string{peer})
		must(t, "GroupReferences", err)
		if len(refs[peer]) != 1 || refs[peer][0] != app {
			t.Errorf("references of the peer %v, want [%s]", refs[peer], app)
		}
	}},
	{name: "Rules_RevokeByIDThenGone", world: ruleWorld(), run: func(ctx context.Context, t *testing.T, env *Env) {
		e := env.ECS.(RuleECS)
		app := env.ID(t, "app")
		r1 := rolepolicy.Rule{Direction: rolepolicy.Ingress, Protocol: rolepolicy.TCP, PortRange: "22/22", NicType: "intranet", Policy: rolepolicy.Accept, Priority: 1, PeerCIDR: "10.0.0.0/8"}
		r2 := r1
		r2.PortRange = "80/80"
		must(t, "AuthorizeRules", e.AuthorizeRules(ctx, env.Region, app, []rolepolicy.Rule{r1, r2}))
		got, err := e.GroupRules(ctx, env.Region, app)
		must(t, "GroupRules", err)
		var byID rolepolicy.Rule
		for _, r := range got {
			if r.Key() == r1.Key() {
				byID = r
			}
		}
		must(t, "RevokeRules by ID", e.RevokeRules(ctx, env.Region, app, []rolepolicy.Rule{byID}))
		must(t, "RevokeRules of a gone rule", e.RevokeRules(ctx, env.Region, app, []rolepolicy.Rule{byID}))
		must(t, "RevokeRules by attributes", e.RevokeRules(ctx, env.Region, app, []rolepolicy.Rule{r2}))
		got, err = e.GroupRules(ctx, env.Region, app)
		must(t, "GroupRules", err)
		if len(got) != 0 {
			t.Fatalf("left %+v", got)
		}
	}},
	{name: "Rules_UnknownGroupIsNotFound", world: ruleWorld(), run: func(ctx context.Context, t *testing.T, env *Env) {
		_, err := env.ECS.(RuleECS).GroupRules(ctx, env.Region, "sg-doesnotexist0001")
		if domain.KindOf(err) != domain.KindNotFound {
			t.Fatalf("err = %v, want not found", err)
		}
	}},
	{name: "Rules_CreateRoleGroupWithTypeAndTags", world: ruleWorld(), run: func(ctx context.Context, t *testing.T, env *Env) {
		vpc := env.ID(t, "vpc-a")
		id, err := env.ECS.(RuleECS).CreateRoleGroup(ctx, rolepolicy.Network{RegionID: env.Region, VPCID: vpc}, rolepolicy.GroupToCreate{
			Role: "batch", Name: "sgpilot-batch-" + vpc, Description: "batch workers", Type: "enterprise",
			Tags: map[string]string{"sgpilot:role": "batch", "sgpilot:managed": "true"}})
		must(t, "CreateRoleGroup", err)
		gs, err := env.ECS.DescribeGroups(ctx, env.Region, []string{id})
		must(t, "DescribeGroups", err)
		if len(gs) != 1 {
			t.Fatalf("created group not found: %v", gs)
		}
		g := gs[0]
		if g.VPCID != vpc || g.Type != "enterprise" || g.Name != "sgpilot-batch-"+vpc || g.Tags["sgpilot:role"] != "batch" || g.Tags["sgpilot:managed"] != "true" {
			t.Fatalf("created %+v", g)
		}
	}},
}
