package cleanup

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
)

// Mode says whether a run may change anything.
type Mode string

const (
	// ModePlan computes and returns the plan and changes nothing.
	ModePlan Mode = "plan"
	// ModeApply marks, unmarks and enqueues delete tasks as planned.
	ModeApply Mode = "apply"
)

// ParseMode reads "plan" or "apply"; "" is plan, the mode that cannot hurt.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case "", ModePlan:
		return ModePlan, nil
	case ModeApply:
		return ModeApply, nil
	default:
		return "", domain.Errorf(domain.KindInvalid, "parse cleanup mode", "", "mode %q: want plan or apply", s)
	}
}

// DefaultProgressEvery is how many groups pass between two progress log
// lines of a long run.
const DefaultProgressEvery = 1000

// Options configure one run.
type Options struct {
	Regions []string
	Policy  domain.CleanupPolicy
	// Mode: ModePlan (also for "") or ModeApply.
	Mode Mode
	// Now is the run's clock reading; zero means time.Now().
	Now time.Time
	// RunID names the run in logs and becomes the Cause of its delete
	// tasks; "" means "cleanup-" + Now as 20060102T150405Z.
	RunID string
	// SplitOver, when above 0, is the number of groups above which an
	// apply run does not clean a region itself but queues it as parts
	// ([Splitter]); a plan still covers such a region and says it is
	// large. 0 never splits.
	SplitOver int
}

// Cleaner is the nightly stale-group cleanup. Its fields are the ports it
// uses; [NewCleaner] fills them from one ECS adapter and one queue.
// A Cleaner holds no state between runs and may run concurrently.
type Cleaner struct {
	Groups     GroupLister
	Instances  InstanceLister
	Interfaces InterfaceLister
	References ReferenceReader
	Templates  TemplateReader
	// Scaling and Containers read the users outside ECS (Auto Scaling, ECI);
	// nil leaves that kind unchecked, and every plan says so.
	Scaling    ScalingReader
	Containers ContainerReader
	Tagger     Tagger
	Tasks      TaskSender
	// ProgressEvery: log progress after this many groups; 0 means
	// DefaultProgressEvery.
	ProgressEvery int
}

// NewCleaner wires a Cleaner to an ECS adapter and a task queue. When the
// adapter also reads Auto Scaling or ECI (ScalingReader, ContainerReader),
// those users are checked too.
func NewCleaner(ecs ECS, tasks TaskSender) *Cleaner {
	c := &Cleaner{Groups: ecs, Instances: ecs, Interfaces: ecs, References: ecs, Templates: ecs, Tagger: ecs, Tasks: tasks}
	c.Scaling, _ = ecs.(ScalingReader)
	c.Containers, _ = ecs.(ContainerReader)
	return c
}

// checked says which optional kinds of user a cleaner reads.
func checked(s ScalingReader, c ContainerReader) map[domain.OptionalUserKind]bool {
	return map[domain.OptionalUserKind]bool{domain.CheckESS: s != nil, domain.CheckECI: c != nil}
}

// ValidatePolicy rejects a policy a run must not act on. An empty scope is
// refused rather than silently matching nothing.
func ValidatePolicy(p domain.CleanupPolicy) error {
	bad := func(format string, args ...any) error {
		return domain.Errorf(domain.KindInvalid, "validate cleanup policy", "", format, args...)
	}
	switch {
	case p.Scope.Empty():
		return bad("scope is empty: set a tag key or a name prefix")
	case p.StaleTagKey == "":
		return bad("stale tag key is empty")
	case p.ProtectTagKey == "":
		return bad("protect tag key is empty")
	case p.StaleTagKey == p.ProtectTagKey:
		return bad("stale and protect tag keys are both %q", p.StaleTagKey)
	case p.Scope.TagKey == p.StaleTagKey:
		return bad("scope tag key %q is the stale tag key", p.Scope.TagKey)
	case p.GracePeriod < 0:
		return bad("grace period %s is negative", p.GracePeriod)
	case p.MinGroupAge < 0:
		return bad("minimum group age %s is negative", p.MinGroupAge)
	case p.MaxDeletions < 0:
		return bad("maximum deletions %d is negative", p.MaxDeletions)
	case p.MaxDeletePercent < 0 || p.MaxDeletePercent > 100:
		return bad("maximum delete percentage %g is outside 0..100", p.MaxDeletePercent)
	}
	return nil
}

// Run plans, and in apply mode carries out, the cleanup of every region in
// opts. Regions are independent: a region whose discovery fails is left
// unchanged and reported, and the others proceed. The error is non-nil only
// when opts are invalid; failures inside regions are in the report (see
// [Report.Err]).
//
// # Calls per region
//
// With G groups, I instances, E ENIs, C reference candidates (in scope, not
// protected or service-managed, no instance, ENI, template version, scaling
// configuration or container group, and not
// both too young and unmarked), M marks per distinct mark value, U unmarks
// and D delete tasks, a run makes ceil(G/100) group pages, ceil(I/100)
// instance pages, ceil(E/500) ENI pages, the launch-template read
// (ceil(templates/50) listings; versions only of new or changed templates),
// when checked the Auto Scaling read (ceil(scaling groups/50) +
// ceil(configurations/50), 1 call without scaling groups) and the ECI read
// (ceil(container groups/20)), ceil(C/10) reference calls (and, at most,
// one per 10 groups a launch template names whose references were read
// before the templates were in), ceil(M/50) TagResources, ceil(U/50)
// UntagResources and ceil(D/16) queue sends, plus the adapters' retries. A plan-mode run
// makes only the reads.
func (c *Cleaner) Run(ctx context.Context, opts Options) (Report, error) {
	if err := ValidatePolicy(opts.Policy); err != nil {
		return Report{}, err
	}
	mode, err := ParseMode(string(opts.Mode))
	if err != nil {
		return Report{}, err
	}
	regions, err := checkRegions(opts.Regions)
	if err != nil {
		return Report{}, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()
	runID := opts.RunID
	if runID == "" {
		runID = "cleanup-" + now.Format("20060102T150405Z")
	}
	rep := Report{RunID: runID, Mode: mode, Now: now, Scope: opts.Policy.Scope.String(), Regions: []RegionReport{},
		NotChecked: domain.NotChecked(checked(c.Scaling, c.Containers))}
	log := logging.FromContext(ctx).With(zap.String("run_id", runID), zap.String("mode", string(mode)))
	log.Info("cleanup run starting", zap.Strings("regions", regions), zap.String("scope", rep.Scope),
		zap.Duration("grace_period", opts.Policy.GracePeriod), zap.Duration("min_age", opts.Policy.MinGroupAge),
		zap.Int("max_deletions", opts.Policy.MaxDeletions), zap.Float64("max_delete_percent", opts.Policy.MaxDeletePercent))

	for _, region := range regions {
		rctx := logging.WithContext(ctx, log.With(zap.String(logging.FieldRegion, region)))
		rep.Regions = append(rep.Regions, c.runRegion(rctx, region, opts.Policy, mode, now, runID, opts.SplitOver))
	}
	rep.Summary = newSummary()
	for _, rr := range rep.Regions {
		rep.Summary.add(rr.Summary)
	}
	logSummary(log, "cleanup run finished", rep.Summary)
	return rep, nil
}

func checkRegions(regions []string) ([]string, error) {
	if len(regions) == 0 {
		return nil, domain.Errorf(domain.KindInvalid, "validate cleanup options", "", "no regions to clean up")
	}
	for _, r := range regions {
		if !domain.ValidRegionID(r) {
			return nil, domain.Errorf(domain.KindInvalid, "validate cleanup options", "", "region %q is not a region ID", r)
		}
	}
	// Keep the configured order, drop repeats: a region is cleaned once.
	seen := map[string]bool{}
	var out []string
	for _, r := range regions {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out, nil
}

func (c *Cleaner) runRegion(ctx context.Context, region string, policy domain.CleanupPolicy, mode Mode, now time.Time, runID string, splitOver int) RegionReport {
	var p part
	if splitOver > 0 && mode == ModeApply {
		// The listing decides as it goes: past splitOver groups, the other
		// reads stop and the region is split.
		p.splitOver = splitOver
	}
	return c.cleanRegion(ctx, region, policy, mode, now, runID, splitOver, p)
}

// cleanRegion plans one region in one go and, in apply mode, applies the
// plan; p may carry the region's listing.
func (c *Cleaner) cleanRegion(ctx context.Context, region string, policy domain.CleanupPolicy, mode Mode, now time.Time, runID string, splitOver int, p part) RegionReport {
	log := logging.FromContext(ctx)
	start := time.Now()
	if mode == ModeApply {
		p.early = newEarlyDeletes(c.Tasks, policy, runID, now)
		p.tags = newEarlyTags(c.Tagger, policy, now)
	}
	in, over := c.discover(ctx, region, policy, now, p)
	if over {
		return c.split(ctx, region, in.Groups, policy, now, runID, splitOver)
	}
	plan := domain.PlanCleanup(in, policy, now)
	rr := newRegionReport(plan)
	if splitOver > 0 && len(in.Groups) > splitOver {
		rr.Split = &SplitInfo{Groups: len(in.Groups), Threshold: splitOver,
			Note: "over the split threshold: the nightly apply cleans this region in parts on the queue; a synchronous plan of it may not finish within the function's time limit"}
	}
	if in.DiscoveryError != "" {
		rr.addError(discoveryErrorPrefix + in.DiscoveryError)
		log.Error("discovery incomplete: nothing changes in this region", zap.String("error", in.DiscoveryError))
	} else if plan.Blocked != "" {
		log.Warn("deletions withheld", zap.String("blocked", plan.Blocked), zap.String("plan_id", plan.PlanID))
	}
	if plan.Approval != "" {
		log.Warn("approval", zap.String("plan_id", policy.ApprovedPlanID), zap.String("status", string(plan.Approval)),
			zap.String("detail", plan.ApprovalDetail))
	}
	for _, d := range rr.Decisions {
		lvl := zap.DebugLevel
		if d.Action == domain.ActionMark || d.Action == domain.ActionUnmark || d.Action == domain.ActionDelete {
			lvl = zap.InfoLevel
		}
		if ce := log.Check(lvl, "cleanup decision"); ce != nil {
			ce.Write(zap.String(logging.FieldGroupID, d.GroupID), zap.String(logging.FieldDecision, string(d.Action)),
				zap.String(logging.FieldReason, string(d.Reason)), zap.String("detail", d.Detail))
		}
	}
	// A region with a discovery error has nothing to apply (the plan
	// withholds every change); the check makes that explicit.
	if mode == ModeApply && in.DiscoveryError == "" {
		c.apply(ctx, &rr, policy, now, runID, p.early, p.tags)
	} else {
		p.early.report(ctx, &rr, false)
		p.tags.report(ctx, &rr, false)
	}
	logSummary(log.With(zap.Duration("took", time.Since(start))), "cleanup region finished", rr.Summary)
	return rr
}

func (c *Cleaner) progressEvery() int {
	if c.ProgressEvery > 0 {
		return c.ProgressEvery
	}
	return DefaultProgressEvery
}

// usageBuilder accumulates usage by group ID.
type usageBuilder map[string]*domain.GroupUsage

func (b usageBuilder) get(id string) *domain.GroupUsage {
	u := b[id]
	if u == nil {
		u = &domain.GroupUsage{}
		b[id] = u
	}
	return u
}

// addReferrer records a referencing group and, when known, its account.
func addReferrer(u *domain.GroupUsage, r domain.Referrer) {
	u.ReferencedBy = append(u.ReferencedBy, r.GroupID)
	if r.AccountID != "" {
		if u.ReferrerAccounts == nil {
			u.ReferrerAccounts = map[string]string{}
		}
		u.ReferrerAccounts[r.GroupID] = r.AccountID
	}
}

// readReferrers reads the references of groups, with the referencing
// groups' accounts when the reader knows them (ReferrerReader).
func readReferrers(ctx context.Context, r ReferenceReader, region string, ids []string) (map[string][]domain.Referrer, error) {
	if rr, ok := r.(ReferrerReader); ok {
		return rr.GroupReferrers(ctx, region, ids)
	}
	refs, err := r.GroupReferences(ctx, region, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]domain.Referrer, len(refs))
	for g, others := range refs {
		for _, o := range others {
			out[g] = append(out[g], domain.Referrer{GroupID: o})
		}
	}
	return out, nil
}

// discovery is what one region's discovery has read so far.
type discovery struct {
	c      *Cleaner
	region string
	policy domain.CleanupPolicy
	now    time.Time
	groups []domain.SecurityGroup
	usage  usageBuilder
	// member: (instance, group) pairs, so an instance's primary ENI is not
	// counted a second time.
	member map[membership]bool
	// listed, when set, are the groups to plan (already listed, or one
	// part's share), and instances narrows the instance listing to their
	// network: a split run reads per part.
	listed    []domain.SecurityGroup
	preListed bool
	instances domain.InstanceFilter
	cache     *regionReads
	early     *earlyDeletes
	tags      *earlyTags
	splitOver int
}

// regionReads keeps the region-wide reads (ENIs, launch templates, Auto
// Scaling, ECI) for the shares of one part, which would otherwise read
// them once per network. Each field is written by one read at a time.
type regionReads struct {
	enis                        []domain.NetworkInterface
	templates                   map[string][]domain.TemplateVersionUse
	scaling                     map[string][]domain.ScalingUse
	containers                  map[string][]domain.ContainerGroupUse
	haveENIs, haveTemplates     bool
	haveScaling, haveContainers bool
}

// cached returns the value kept in *have/*v, or reads and keeps it.
func cached[T any](c *regionReads, have *bool, v *T, read func() (T, error)) (T, error) {
	if c != nil && *have {
		return *v, nil
	}
	got, err := read()
	if err == nil && c != nil {
		*v, *have = got, true
	}
	return got, err
}

// part narrows a discovery to some groups and their network's instances;
// the zero part is the whole region.
type part struct {
	groups    []domain.SecurityGroup
	listed    bool
	instances domain.InstanceFilter
	cache     *regionReads
	// early and tags, when set, let the reference read queue delete tasks
	// and write marks and unmarks as it goes (earlyDeletes, earlyTags);
	// only a region cleaned in one go sets them.
	early *earlyDeletes
	tags  *earlyTags
	// splitOver, when above 0, stops the discovery once the listing has
	// more groups: the region is to be split (apply mode only).
	splitOver int
}

type membership struct{ instance, group string }

// discover reads everything the plan needs. The listing of the groups and
// the bulk reads (instances, ENIs, launch templates, Auto Scaling, ECI) are
// independent and run at the same time, each paced by the adapter's
// limiter of its own action. The references, read only for the groups
// nothing else keeps, follow the listing page by page once the bulk reads
// are in, except the launch templates: their versions are read one call
// per template, and the references go on meanwhile (see readReferences).
// So a run takes about as long as its reference reads. Any failed read is
// reported in DiscoveryError (the listing first, then the bulk reads in
// the order above, then the references) and the plan then changes
// nothing.
//
// over reports a listing of more than p.splitOver groups: the other reads
// were stopped, and in holds only the complete listing, to split.
func (c *Cleaner) discover(ctx context.Context, region string, policy domain.CleanupPolicy, now time.Time, p part) (in domain.RegionInput, over bool) {
	d := &discovery{c: c, region: region, policy: policy, now: now, usage: usageBuilder{}, member: map[membership]bool{},
		listed: p.groups, preListed: p.listed, instances: p.instances, cache: p.cache, early: p.early, tags: p.tags,
		splitOver: p.splitOver}
	if d.cache == nil {
		d.cache = &regionReads{} // one discovery: nothing to share, nil-safe accessors below
	}
	// readCtx ends the reads other than the listing when the region turns
	// out to be split.
	readCtx, stopReads := context.WithCancel(ctx)
	defer stopReads()
	feed := d.list(ctx, stopReads)

	// In the order of DiscoveryError; templates is the one left running.
	reads := []func(context.Context) (merge func(), err error){d.readInstances, d.readInterfaces, d.readTemplates}
	const templates = 2
	if c.Scaling != nil {
		reads = append(reads, d.readScaling)
	}
	if c.Containers != nil {
		reads = append(reads, d.readContainers)
	}
	merges := make([]func(), len(reads))
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	late := &lateRead{done: make(chan struct{})}
	for i, read := range reads {
		if i == templates {
			go func() {
				defer close(late.done)
				late.merge, late.err = read(readCtx)
			}()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			merges[i], errs[i] = read(readCtx)
		}()
	}
	wg.Wait()
	// Merged in order (the ENI step needs the instances' memberships), also
	// after a failure: the plan then shows every group it withholds.
	for _, merge := range merges {
		if merge != nil {
			merge()
		}
	}
	var listErr, refErr error
	if errors.Join(errs...) == nil {
		listErr, refErr = d.readReferences(readCtx, feed, late)
	} else {
		listErr = d.drain(feed)
	}
	<-late.done
	if !late.merged && late.merge != nil {
		late.merge() // the plan shows what the templates keep, whatever failed
	}
	errs[templates] = late.err
	// The tasks and tags sent early go through even when a later read
	// fails (see earlyDeletes): each names a group whose reads all passed.
	ok := listErr == nil && errors.Join(errs...) == nil && refErr == nil
	d.early.finish(ok)
	d.tags.finish(ok)
	if listErr == nil && feed.over() {
		return domain.RegionInput{RegionID: region, Groups: d.groups}, true
	}
	in = d.input()
	for _, err := range append(append([]error{listErr}, errs...), refErr) {
		if err != nil {
			in.DiscoveryError = err.Error()
			break
		}
	}
	return in, false
}

// lateRead is the launch template read, which discovery does not wait for
// before it reads references: merge and err are set when done is closed;
// merged says the reader took them in.
type lateRead struct {
	done   chan struct{}
	merge  func()
	err    error
	merged bool
}

// input is what discovery has read so far, as the plan's input; the usage
// is copied, so later reads do not change it.
func (d *discovery) input() domain.RegionInput {
	in := domain.RegionInput{RegionID: d.region, Groups: d.groups, Usage: make(map[string]domain.GroupUsage, len(d.usage))}
	for id, u := range d.usage {
		c := *u // a copy: every field, with the ID lists cleaned up
		c.Instances, c.ENIs, c.ReferencedBy = domain.SortedUnique(u.Instances), domain.SortedUnique(u.ENIs), domain.SortedUnique(u.ReferencedBy)
		in.Usage[id] = c
	}
	return in
}

// withoutReferences is input without what the references added: the
// plan the early deletes weigh is the same however many were read.
func (d *discovery) withoutReferences() domain.RegionInput {
	in := d.input()
	for id, u := range in.Usage {
		u.ReferencedBy, u.ReferrerAccounts = nil, nil
		in.Usage[id] = u
	}
	return in
}

// pageFeed carries the listing's pages from the lister to the reference
// reader without holding the lister back (a page of groups takes one call,
// its references several). Its methods may be called concurrently.
type pageFeed struct {
	mu     sync.Mutex
	pages  [][]domain.SecurityGroup
	n      int  // groups put so far
	limit  int  // over past this many groups (0: no limit)
	isOver bool // set once n > limit
	ended  bool
	err    error
	more   chan struct{} // a token: pages or the end arrived
}

// put adds a page and reports whether the listing has just gone over the
// limit.
func (f *pageFeed) put(page []domain.SecurityGroup) (over bool) {
	f.mu.Lock()
	f.pages = append(f.pages, page)
	f.n += len(page)
	if f.limit > 0 && f.n > f.limit && !f.isOver {
		f.isOver, over = true, true
	}
	f.mu.Unlock()
	f.signal()
	return over
}

func (f *pageFeed) end(err error) {
	f.mu.Lock()
	f.ended, f.err = true, err
	f.mu.Unlock()
	f.signal()
}

func (f *pageFeed) signal() {
	select {
	case f.more <- struct{}{}:
	default:
	}
}

// count is the number of groups put so far.
func (f *pageFeed) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

func (f *pageFeed) over() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.isOver
}

// take returns the pages not yet taken, without waiting (f.more has a
// token when more came); ended says the listing is over (these are its
// last pages), with its error.
func (f *pageFeed) take() (pages [][]domain.SecurityGroup, ended bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pages, f.pages = f.pages, nil
	return pages, f.ended, f.err
}

// list starts listing all groups, no tag filter (DescribeSecurityGroups
// with a tag filter reaches at most 1000 matches, so scope is applied
// later), page by page when the lister can; stop is called when the
// listing goes past d.splitOver groups. The lister stops with ctx.
func (d *discovery) list(ctx context.Context, stop func()) *pageFeed {
	feed := &pageFeed{limit: d.splitOver, more: make(chan struct{}, 1)}
	put := func(page []domain.SecurityGroup) error {
		if feed.put(page) {
			logging.FromContext(ctx).Info("cleanup discovery: over the split threshold, reads stopped",
				zap.Int("split_over", d.splitOver))
			stop()
		}
		return nil // the pager's callback may refuse a page; this one never does
	}
	if d.preListed {
		_ = put(d.listed)
		feed.end(nil)
		return feed
	}
	go func() {
		var err error
		if pager, ok := d.c.Groups.(GroupPager); ok {
			err = pager.ListGroupPages(ctx, d.region, domain.GroupFilter{}, put)
		} else {
			var groups []domain.SecurityGroup
			if groups, err = d.c.Groups.ListGroups(ctx, d.region, domain.GroupFilter{}); err == nil {
				err = put(groups)
			}
		}
		if err != nil {
			feed.end(fmt.Errorf("list security groups in %s: %v", d.region, err))
			return
		}
		feed.end(nil)
		logging.FromContext(ctx).Info("cleanup discovery: groups listed", zap.Int("groups", feed.count()))
	}()
	return feed
}

// take adds a page to the groups; a group listed twice means paging that
// repeated an entry and may also have skipped one.
func (d *discovery) take(page []domain.SecurityGroup, seen map[string]bool) error {
	for _, g := range page {
		if seen[g.ID] {
			return fmt.Errorf("list security groups in %s: group %s listed twice: the listing is inconsistent", d.region, g.ID)
		}
		seen[g.ID] = true
	}
	d.groups = append(d.groups, page...)
	return nil
}

// drain waits for the end of the listing, keeping its groups (the plan
// shows every group it withholds), and returns its error.
func (d *discovery) drain(feed *pageFeed) error {
	seen := make(map[string]bool, len(d.groups))
	var bad error
	for {
		pages, ended, err := feed.take()
		for _, page := range pages {
			if bad == nil {
				bad = d.take(page, seen)
			}
		}
		if ended {
			if err != nil {
				return err
			}
			return bad
		}
		<-feed.more
	}
}

// readInstances counts each instance as a user of its groups.
func (d *discovery) readInstances(ctx context.Context) (func(), error) {
	instances, err := d.c.Instances.ListInstances(ctx, d.region, d.instances)
	if err != nil {
		return nil, fmt.Errorf("list instances in %s: %v", d.region, err)
	}
	logging.FromContext(ctx).Info("cleanup discovery: instances listed", zap.Int("instances", len(instances)))
	return func() {
		for _, inst := range instances {
			for _, gid := range inst.GroupIDs {
				u := d.usage.get(gid)
				u.Instances = append(u.Instances, inst.ID)
				d.member[membership{inst.ID, gid}] = true
			}
		}
	}, nil
}

// readInterfaces counts each ENI as a user of its groups, except an
// instance's primary ENI, which is the instance itself, already counted.
func (d *discovery) readInterfaces(ctx context.Context) (func(), error) {
	enis, err := cached(d.cache, &d.cache.haveENIs, &d.cache.enis, func() ([]domain.NetworkInterface, error) {
		return d.c.Interfaces.ListNetworkInterfaces(ctx, d.region)
	})
	if err != nil {
		return nil, fmt.Errorf("list network interfaces in %s: %v", d.region, err)
	}
	logging.FromContext(ctx).Info("cleanup discovery: network interfaces listed", zap.Int("enis", len(enis)))
	return func() {
		for _, eni := range enis {
			for _, gid := range eni.GroupIDs {
				if strings.EqualFold(eni.Type, "Primary") && d.member[membership{eni.InstanceID, gid}] {
					continue
				}
				u := d.usage.get(gid)
				u.ENIs = append(u.ENIs, eni.ID)
			}
		}
	}, nil
}

// readTemplates counts every launch template version naming a group as
// one of its users.
func (d *discovery) readTemplates(ctx context.Context) (func(), error) {
	templates, err := cached(d.cache, &d.cache.haveTemplates, &d.cache.templates, func() (map[string][]domain.TemplateVersionUse, error) {
		return d.c.Templates.TemplateGroups(ctx, d.region)
	})
	if err != nil {
		return nil, fmt.Errorf("read launch template versions in %s: %v", d.region, err)
	}
	return func() {
		// Logged when taken in: the references may have begun before.
		logging.FromContext(ctx).Info("cleanup discovery: launch templates read", zap.Int("groups_in_templates", len(templates)))
		for gid, uses := range templates {
			u := d.usage.get(gid)
			u.TemplateVersions = append(u.TemplateVersions, uses...)
		}
	}, nil
}

// readScaling counts every Auto Scaling configuration naming a group.
func (d *discovery) readScaling(ctx context.Context) (func(), error) {
	scaling, err := cached(d.cache, &d.cache.haveScaling, &d.cache.scaling, func() (map[string][]domain.ScalingUse, error) {
		return d.c.Scaling.ScalingConfigurationGroups(ctx, d.region)
	})
	if err != nil {
		return nil, fmt.Errorf("read auto scaling configurations in %s: %v", d.region, err)
	}
	logging.FromContext(ctx).Info("cleanup discovery: scaling configurations read", zap.Int("groups_in_configurations", len(scaling)))
	return func() {
		for gid, uses := range scaling {
			u := d.usage.get(gid)
			u.ScalingConfigurations = append(u.ScalingConfigurations, uses...)
		}
	}, nil
}

// readContainers counts every ECI container group bound to a group.
func (d *discovery) readContainers(ctx context.Context) (func(), error) {
	containers, err := cached(d.cache, &d.cache.haveContainers, &d.cache.containers, func() (map[string][]domain.ContainerGroupUse, error) {
		return d.c.Containers.ContainerGroupGroups(ctx, d.region)
	})
	if err != nil {
		return nil, fmt.Errorf("read ECI container groups in %s: %v", d.region, err)
	}
	logging.FromContext(ctx).Info("cleanup discovery: container groups read", zap.Int("groups_in_container_groups", len(containers)))
	return func() {
		for gid, uses := range containers {
			u := d.usage.get(gid)
			u.ContainerGroups = append(u.ContainerGroups, uses...)
		}
	}, nil
}

// readReferences takes the listing page by page, once the bulk reads but
// the launch templates' are in, and reads the references of the groups
// that nothing else already decides (references are the expensive read,
// 10 groups per call), a batch as soon as it is full.
//
// The template read is slow (a call per template, one after another) and
// keeps few groups, so the references do not wait for it: when it comes
// in, the groups it names leave the queue, and what was already read of
// their references is dropped (they are kept whatever their references
// say; the plan sees them as if never read). That costs at most the calls
// made for such groups while the templates were read.
//
// When the listing is complete and the templates are in, the early
// deletes and tags start with what is decided so far, and each later
// batch goes to them as its answer comes. It returns the listing's error
// and the references' apart; past d.splitOver groups, or after a failure
// (the templates' is late.err), it reads nothing more and only waits for
// the end of the listing.
func (d *discovery) readReferences(ctx context.Context, feed *pageFeed, late *lateRead) (listErr, refErr error) {
	log := logging.FromContext(ctx)
	var (
		seen    = map[string]bool{}
		queue   []domain.SecurityGroup // candidates whose references are not read yet
		read    []domain.SecurityGroup // candidates read, until the early start
		others  []domain.SecurityGroup // the groups that need no references, until the early start
		started bool
		ended   bool
		checked int // candidates read
		found   int // candidates so far
	)
	every := d.c.progressEvery()
	next := every
	readBatch := func(batch []domain.SecurityGroup) error {
		ids := make([]string, len(batch))
		for i, g := range batch {
			ids[i] = g.ID
		}
		refs, err := readReferrers(ctx, d.c.References, d.region, ids)
		if err != nil {
			return fmt.Errorf("read references of %s in %s: %v", strings.Join(ids, ","), d.region, err)
		}
		for _, gid := range ids {
			for _, other := range refs[gid] {
				if other.GroupID != gid && other.GroupID != "" { // a group's rules naming itself do not keep it
					addReferrer(d.usage.get(gid), other)
				}
			}
		}
		if started {
			d.early.checked(ids, d.usage)
			d.tags.decided(batch, d.usage)
		} else {
			read = append(read, batch...)
		}
		if checked += len(batch); checked >= next {
			log.Info("cleanup discovery: references progress", append([]zap.Field{zap.Int("checked", checked),
				zap.Int("candidates_so_far", found)}, d.early.progress()...)...)
			next += every
		}
		return nil
	}
	// takeTemplates merges the template read once it is in.
	takeTemplates := func() {
		late.merged = true
		if late.err != nil {
			return
		}
		late.merge()
		for _, g := range read {
			if u := d.usage[g.ID]; u != nil && len(u.TemplateVersions) > 0 {
				u.ReferencedBy, u.ReferrerAccounts = nil, nil
			}
		}
		kept := queue[:0]
		for _, g := range queue {
			if needsReferences(g, d.usage[g.ID], d.policy, d.now) {
				kept = append(kept, g)
			} else {
				others = append(others, g)
				found--
			}
		}
		queue = kept
	}

listing:
	for {
		pages, end, err := feed.take()
		for _, page := range pages {
			if listErr == nil {
				listErr = d.take(page, seen)
			}
			if listErr != nil {
				continue
			}
			var candidates []domain.SecurityGroup
			for _, g := range page {
				if needsReferences(g, d.usage[g.ID], d.policy, d.now) {
					candidates = append(candidates, g)
				} else {
					others = append(others, g)
				}
			}
			sort.Slice(candidates, func(i, j int) bool { return candidates[i].ID < candidates[j].ID })
			found += len(candidates)
			queue = append(queue, candidates...)
		}
		if end {
			ended = true
			if listErr == nil {
				listErr = err
			}
		}
		if !late.merged {
			select {
			case <-late.done:
				takeTemplates()
			default:
			}
		}
		stopped := listErr != nil || refErr != nil || (late.merged && late.err != nil) || feed.over()
		switch {
		case stopped && ended:
			return listErr, refErr
		case stopped:
			<-feed.more // only the end of the listing is awaited
		case ended && late.merged:
			break listing
		case len(queue) >= ReferenceBatchSize:
			// One full batch, then the feed again: the end of the listing
			// starts the early deletes and tags, and must not wait for the
			// queue. The last, short batch waits for the end.
			refErr = readBatch(queue[:ReferenceBatchSize])
			queue = queue[ReferenceBatchSize:]
		default:
			templatesDone := late.done
			if late.merged {
				templatesDone = nil
			}
			select {
			case <-feed.more:
			case <-templatesDone:
			}
		}
	}

	// The listing is complete and the templates are in: the plan's limits
	// can be weighed, and what is decided may go.
	ids := make([]string, len(read))
	for i, g := range read {
		ids[i] = g.ID
	}
	d.early.start(ctx, d.withoutReferences())
	d.early.checked(ids, d.usage)
	d.tags.start(ctx, d.region)
	d.tags.decided(append(others, read...), d.usage)
	started = true
	for len(queue) > 0 {
		n := min(ReferenceBatchSize, len(queue))
		if err := readBatch(queue[:n]); err != nil {
			return nil, err
		}
		queue = queue[n:]
	}
	log.Info("cleanup discovery: references read", append([]zap.Field{zap.Int("candidates", found)}, d.early.progress()...)...)
	return nil, nil
}

// needsReferences reports whether the plan's verdict on g can depend on
// its references: only then are they read.
func needsReferences(g domain.SecurityGroup, u *domain.GroupUsage, policy domain.CleanupPolicy, now time.Time) bool {
	if !policy.Scope.Matches(g) || g.ServiceManaged {
		return false
	}
	if _, protected := g.Tags[policy.ProtectTagKey]; protected {
		return false
	}
	if policy.DeclaredRole(g) != "" {
		return false // kept, or unmarked, whatever references say
	}
	if u != nil && u.InUse() {
		return false // kept or unmarked whatever references say
	}
	tooYoung := !g.CreationTime.IsZero() && now.Sub(g.CreationTime) < policy.MinGroupAge
	_, marked := g.Tags[policy.StaleTagKey]
	// A young unmarked group is kept either way; a young marked one may
	// need unmarking, which references decide.
	return !tooYoung || marked
}

// apply carries out a region's plan: unmarks first (a used group must not
// keep a mark a moment longer than needed), then marks, then delete tasks.
// Each batch stands alone: a failure is recorded on its groups and the
// rest go on. The tags and delete tasks already written or tried while the
// references were read (early) are not made again.
func (c *Cleaner) apply(ctx context.Context, rr *RegionReport, policy domain.CleanupPolicy, now time.Time, runID string, early *earlyDeletes, tags *earlyTags) {
	c.applyTags(ctx, rr, policy, tags.report(ctx, rr, true))
	queued := early.report(ctx, rr, true)
	var deletes []domain.Task
	for _, d := range rr.Decisions {
		if d.Action == domain.ActionDelete && !queued[d.GroupID] {
			deletes = append(deletes, domain.NewDeleteGroupTask(rr.RegionID, d.GroupID, d.StaleSince, runID, now))
		}
	}
	c.enqueueDeletes(ctx, rr, deletes)
	if n := rr.Summary.Errors; n > 0 {
		logging.FromContext(ctx).Error("cleanup apply had failures", zap.Int("errors", n), zap.Strings("details", rr.Errors))
	}
}

// applyTags makes a plan's unmarks, then its marks, 50 groups per call,
// except those of done (already made or tried).
func (c *Cleaner) applyTags(ctx context.Context, rr *RegionReport, policy domain.CleanupPolicy, done map[string]bool) {
	region := rr.RegionID
	var unmarks []string
	marks := map[string][]string{} // mark value -> groups
	for _, d := range rr.Decisions {
		if done[d.GroupID] {
			continue
		}
		switch d.Action {
		case domain.ActionUnmark:
			unmarks = append(unmarks, d.GroupID)
		case domain.ActionMark:
			marks[d.StaleSince] = append(marks[d.StaleSince], d.GroupID)
		}
	}
	for start := 0; start < len(unmarks); start += TagBatchSize {
		batch := unmarks[start:min(start+TagBatchSize, len(unmarks))]
		err := c.Tagger.UntagGroups(ctx, region, batch, []string{policy.StaleTagKey})
		if err != nil {
			rr.failed(batch, fmt.Sprintf("unmark %s: %v", strings.Join(batch, ","), err), err)
			continue
		}
		rr.Summary.Unmarked += len(batch)
	}

	values := make([]string, 0, len(marks))
	for v := range marks {
		values = append(values, v)
	}
	sort.Strings(values)
	for _, v := range values {
		ids := marks[v]
		for start := 0; start < len(ids); start += TagBatchSize {
			batch := ids[start:min(start+TagBatchSize, len(ids))]
			err := c.Tagger.TagGroups(ctx, region, batch, domain.Tags{policy.StaleTagKey: v})
			if err != nil {
				rr.failed(batch, fmt.Sprintf("mark %s=%s on %s: %v", policy.StaleTagKey, v, strings.Join(batch, ","), err), err)
				continue
			}
			rr.Summary.Marked += len(batch)
		}
	}

}

// enqueueDeletes sends delete tasks, 16 per call; a failed batch is
// recorded on its groups and the rest go on.
func (c *Cleaner) enqueueDeletes(ctx context.Context, rr *RegionReport, deletes []domain.Task) {
	for start := 0; start < len(deletes); start += TaskBatchSize {
		batch := deletes[start:min(start+TaskBatchSize, len(deletes))]
		// Resending a batch after a partial failure is harmless: the
		// worker re-checks each group and a gone group is done.
		err := c.Tasks.SendTasks(ctx, batch)
		ids := make([]string, len(batch))
		for i, t := range batch {
			ids[i] = t.GroupID
		}
		if err != nil {
			rr.failed(ids, fmt.Sprintf("enqueue delete tasks for %s: %v", strings.Join(ids, ","), err), err)
			continue
		}
		rr.Summary.DeleteTasksEnqueued += len(batch)
	}
}

func logSummary(log *zap.Logger, msg string, s Summary) {
	fields := []zap.Field{zap.Int("scanned", s.Scanned), zap.Int("in_scope", s.InScope),
		zap.Int("to_mark", s.ToMark), zap.Int("marked", s.Marked), zap.Int("to_unmark", s.ToUnmark), zap.Int("unmarked", s.Unmarked),
		zap.Int("to_delete", s.ToDelete), zap.Int("delete_tasks_enqueued", s.DeleteTasksEnqueued),
		zap.Any("kept_by_reason", s.KeptByReason), zap.Any("skipped_by_reason", s.SkippedByReason),
		zap.Int("errors", s.Errors)}
	if len(s.Blocked) > 0 {
		fields = append(fields, zap.Strings("blocked", s.Blocked))
	}
	if s.Errors > 0 {
		log.Warn(msg, fields...)
		return
	}
	log.Info(msg, fields...)
}

// discoveryErrorPrefix starts a region's error when its reads failed.
const discoveryErrorPrefix = "discovery: "
