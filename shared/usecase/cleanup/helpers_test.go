package cleanup_test

import (
	"context"
	"sync"
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
	return inOrder(cleanup.NewCleaner(f, q))
}

// inOrder makes c read references only once its listing and launch
// template read have returned. A run reads references while those go on;
// with the fake's instant reads, how many it reads before they end would
// be the scheduler's choice, and with it whether the early deletes start
// from a plan without references. The tests of that overlap use a Cleaner
// of their own.
func inOrder(c *cleanup.Cleaner) *cleanup.Cleaner {
	listed, read := make(chan struct{}), make(chan struct{})
	c.Groups = &signalLister{GroupLister: c.Groups, done: listed}
	c.Templates = &signalTemplates{TemplateReader: c.Templates, done: read}
	c.References = &gatedReferences{ReferenceReader: c.References, after: []chan struct{}{listed, read}}
	return c
}

// signalLister closes done when its first listing returns.
type signalLister struct {
	cleanup.GroupLister
	done chan struct{}
	once sync.Once
}

func (l *signalLister) ListGroups(ctx context.Context, region string, f domain.GroupFilter) ([]domain.SecurityGroup, error) {
	defer l.once.Do(func() { close(l.done) })
	return l.GroupLister.ListGroups(ctx, region, f)
}

func (l *signalLister) ListGroupPages(ctx context.Context, region string, f domain.GroupFilter, page func([]domain.SecurityGroup) error) error {
	defer l.once.Do(func() { close(l.done) })
	return l.GroupLister.(cleanup.GroupPager).ListGroupPages(ctx, region, f, page)
}

// signalTemplates closes done when its first read returns.
type signalTemplates struct {
	cleanup.TemplateReader
	done chan struct{}
	once sync.Once
}

func (t *signalTemplates) TemplateGroups(ctx context.Context, region string) (map[string][]domain.TemplateVersionUse, error) {
	defer t.once.Do(func() { close(t.done) })
	return t.TemplateReader.TemplateGroups(ctx, region)
}

// gatedReferences waits for every channel of after before each read.
type gatedReferences struct {
	cleanup.ReferenceReader
	after []chan struct{}
}

func (r *gatedReferences) GroupReferences(ctx context.Context, region string, ids []string) (map[string][]string, error) {
	for _, ch := range r.after {
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return r.ReferenceReader.GroupReferences(ctx, region, ids)
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
