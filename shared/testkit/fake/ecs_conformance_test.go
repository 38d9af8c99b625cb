package fake_test

import (
	"fmt"
	"testing"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/testkit/ecstest"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
)

// fakeHarness builds an ecstest.World with the fake's builders.
func fakeHarness(tb testing.TB, w ecstest.World) *ecstest.Env {
	e := fake.NewECS()
	ids := map[string]string{}
	for i, v := range w.VPCs {
		ids[v] = fmt.Sprintf("vpc-fakevpc%04d", i)
		e.AddVPC(fake.DefaultRegion, ids[v])
	}
	for _, g := range w.Groups {
		id := e.AddGroup(domain.SecurityGroup{Name: g.Name, VPCID: ids[g.VPC], Tags: g.Tags, ServiceManaged: g.Managed})
		if g.Protected {
			e.SetDeletionProtection(id, true)
		}
		ids[g.Name] = id
	}
	for _, r := range w.Rules {
		e.AddRule(ids[r.Group], ids[r.Peer])
	}
	names := func(ns []string) []string {
		out := make([]string, len(ns))
		for i, n := range ns {
			out[i] = ids[n]
		}
		return out
	}
	for _, in := range w.Instances {
		ids[in.Name] = e.AddInstance(domain.Instance{VPCID: ids[in.VPC], Status: in.Status, Tags: in.Tags, GroupIDs: names(in.Groups)})
	}
	for _, n := range w.ENIs {
		ids[n.Name] = e.AddENI(domain.NetworkInterface{InstanceID: ids[n.Instance], VPCID: ids[n.VPC], GroupIDs: names(n.Groups)})
	}
	for _, tpl := range w.Templates {
		var versions [][]string
		for _, v := range tpl.Versions {
			versions = append(versions, names(v))
		}
		ids[tpl.Name] = e.AddLaunchTemplate(fake.LaunchTemplate{Versions: versions, DefaultVersion: tpl.DefaultVersion})
	}
	stats := func() map[string]int64 {
		out := map[string]int64{}
		for k, v := range e.CallCounts() {
			out[k] = int64(v)
		}
		return out
	}
	return &ecstest.Env{ECS: e, Region: fake.DefaultRegion, IDs: ids, Stats: stats}
}

func TestECS_Conformance(t *testing.T) {
	ecstest.Run(t, fakeHarness)
}

func BenchmarkECS(b *testing.B) {
	ecstest.Benchmark(b, fakeHarness)
}
