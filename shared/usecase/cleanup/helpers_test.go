package cleanup_test

import (
	"context"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
)

const (
	hz  = "cn-hangzhou"
	bj  = "cn-beijing"
	vpc = "vpc-bp1vpc000000001"
)

// t0 is the clock of most runs: 2026-11-25 02:00 UTC, a nightly run.
var t0 = time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)

// mg builds a managed group in hz created 60 days before t0, with extra
// tags given as key, value pairs.
func mg(id string, kv ...string) domain.SecurityGroup {
	return groupIn(hz, id, kv...)
}

func groupIn(region, id string, kv ...string) domain.SecurityGroup {
	g := domain.SecurityGroup{ID: id, Name: "app-" + id[3:], RegionID: region, VPCID: vpc, Type: "normal",
		CreationTime: t0.Add(-60 * 24 * time.Hour), Tags: domain.Tags{domain.DefaultManagedTagKey: domain.DefaultManagedTagValue}}
	for i := 0; i+1 < len(kv); i += 2 {
		g.Tags[kv[i]] = kv[i+1]
	}
	return g
}

const stale = domain.DefaultStaleTagKey

func newCleaner(f *fakeECS, q *fakeQueue) *cleanup.Cleaner {
	c := cleanup.NewCleaner(f, q)
	return c
}

func newDeleter(f *fakeECS) *cleanup.Deleter {
	d := cleanup.NewDeleter(f, domain.DefaultCleanupPolicy())
	d.Interfaces = f
	d.Now = func() time.Time { return t0.Add(10 * time.Minute) }
	return d
}

// MustRun runs the cleaner and fails the test on an options error.
func MustRun(tb testing.TB, c *cleanup.Cleaner, mode cleanup.Mode, now time.Time, regions ...string) cleanup.Report {
	tb.Helper()
	return MustRunPolicy(tb, c, mode, now, domain.DefaultCleanupPolicy(), regions...)
}

func MustRunPolicy(tb testing.TB, c *cleanup.Cleaner, mode cleanup.Mode, now time.Time, p domain.CleanupPolicy, regions ...string) cleanup.Report {
	tb.Helper()
	if len(regions) == 0 {
		regions = []string{hz}
	}
	rep, err := c.Run(context.Background(), cleanup.Options{Regions: regions, Policy: p, Mode: mode, Now: now, RunID: "run-1"})
	if err != nil {
		tb.Fatalf("Run: %v", err)
	}
	return rep
}

// decisions indexes a region's decisions by group ID.
func decisions(tb testing.TB, rep cleanup.Report, region string) map[string]cleanup.Decision {
	tb.Helper()
	for _, rr := range rep.Regions {
		if rr.RegionID == region {
			out := map[string]cleanup.Decision{}
			for _, d := range rr.Decisions {
				out[d.GroupID] = d
			}
			return out
		}
	}
	tb.Fatalf("no region %s in the report", region)
	return nil
}

func regionReport(tb testing.TB, rep cleanup.Report, region string) cleanup.RegionReport {
	tb.Helper()
	for _, rr := range rep.Regions {
		if rr.RegionID == region {
			return rr
		}
	}
	tb.Fatalf("no region %s in the report", region)
	return cleanup.RegionReport{}
}

// decisionWorld is one region with a group for every keep, mark, unmark,
// delete and skip case.
func decisionWorld() *fakeECS {
	f := newFakeECS()
	other := mg("sg-other0001")
	delete(other.Tags, domain.DefaultManagedTagKey)
	young := mg("sg-young0001")
	young.CreationTime = t0.Add(-time.Hour)
	svc := mg("sg-svcmgd001")
	svc.ServiceManaged = true
	f.addGroups(
		mg("sg-inst00001"),
		mg("sg-regrace01", stale, "2026-11-22"),
		mg("sg-refd00001"),
		mg("sg-selfref01"),
		mg("sg-eni000001"),
		mg("sg-tmpl00001"),
		mg("sg-protect01", domain.DefaultProtectTagKey, "", stale, "2026-11-01"),
		svc,
		other,
		young,
		mg("sg-fresh0001"),
		mg("sg-grace0001", stale, "2026-11-22"),
		mg("sg-stale0001", stale, "2026-11-10"),
		mg("sg-badmark01", stale, "soon"),
	)
	f.addInstance(hz, "i-inst00000001", "sg-inst00001")
	f.addInstance(hz, "i-regrace00001", "sg-regrace01")
	f.addReference(hz, "sg-refd00001", "sg-other0001")
	f.addReference(hz, "sg-selfref01", "sg-selfref01")
	f.addENI(hz, "eni-only00000001", "sg-eni000001")
	f.addToTemplate(hz, "sg-tmpl00001", "lt-web00000001")
	return f
}
