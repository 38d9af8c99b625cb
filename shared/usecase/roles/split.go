package roles

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
	"github.com/sgpilot/sgpilot/shared/core/task"
)

// TaskSender puts tasks on the work queue (shared/adapter/mnsqueue.Queue,
// shared/testkit/fake.Queue); a partial failure is an error naming the
// tasks not sent.
type TaskSender interface {
	SendTasks(ctx context.Context, tasks []domain.Task) error
}

// DefaultRetryAfter is the wait of a network task whose reads or writes
// failed transiently.
const DefaultRetryAfter = time.Minute

// PolicyHash identifies a policy: the SHA-256 of its JSON form. A network
// task carries the hash of the run's policy; the worker refuses to apply a
// different one.
func PolicyHash(p rolepolicy.Policy) string {
	b, err := json.Marshal(p)
	if err != nil {
		// A policy is plain data; an encoding failure is a bug, and an
		// empty hash never matches a task's (Validate refuses it).
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// splits reports whether an apply of a region with these networks is
// queued by network rather than run in place.
func (o Options) splits(nets []networkInput) bool {
	if o.Mode != ModeApply || o.SplitOver <= 0 || o.Tasks == nil {
		return false
	}
	groups := 0
	for _, n := range nets {
		groups += len(n.groups)
	}
	return groups > o.SplitOver
}

// queue sends one TaskRolesNetwork per network. Each network is then
// applied by the worker exactly as Run would apply it here: MaxRevokes is
// per network, so the blast-radius limit is the same.
func (c *Converger) queue(ctx context.Context, region string, nets []networkInput, opts Options) []NetworkResult {
	hash := PolicyHash(opts.Policy)
	runID := opts.RunID
	if runID == "" {
		runID = "roles-" + time.Now().UTC().Format("20060102T150405Z")
	}
	out := make([]NetworkResult, 0, len(nets))
	tasks := make([]domain.Task, 0, len(nets))
	for _, n := range nets {
		t := domain.NewRolesNetworkTask(region, n.net.VPCID, hash, runID, time.Now())
		tasks = append(tasks, t)
		out = append(out, NetworkResult{Network: n.net, Created: map[string]string{}, QueuedAs: t.ID})
	}
	if err := opts.Tasks.SendTasks(ctx, tasks); err != nil {
		// Which ones went is in the error's text; saying all failed is
		// the safe side (the next night runs them again, level-based).
		for i := range out {
			out[i].Error, out[i].ErrorKind = "queue "+out[i].QueuedAs+": "+err.Error(), domain.KindOf(err).String()
		}
	}
	logging.FromContext(ctx).Info("roles region split by network", zap.String(logging.FieldRegion, region),
		zap.Int("networks", len(nets)), zap.Int("split_over", opts.SplitOver), zap.String("run_id", runID))
	return out
}

// RunNetwork plans, and in apply mode applies, one network of a region:
// the role groups of that network only, so that its cost does not grow
// with the region. The result is what Run reports for the network.
func (c *Converger) RunNetwork(ctx context.Context, opts Options, n rolepolicy.Network) (NetworkResult, error) {
	opts = opts.withDefaults()
	calls := &counter{m: map[string]int{}}
	f := domain.GroupFilter{VPCID: n.VPCID, NetworkType: domain.NetworkVPC}
	if n.VPCID == "" {
		f = domain.GroupFilter{NetworkType: domain.NetworkClassic}
	}
	calls.add("ListGroups")
	groups, err := c.ECS.ListGroups(ctx, n.RegionID, f)
	if err != nil {
		return NetworkResult{Network: n}, fmt.Errorf("list groups of %s: %w", n, err)
	}
	in := networkInput{net: n}
	for _, g := range groups {
		if g.VPCID != n.VPCID || g.ServiceManaged {
			continue
		}
		if _, ok := domain.GroupRole(g, opts.RoleTagKey); ok {
			in.groups = append(in.groups, g)
		}
	}
	res := c.network(ctx, calls, in, opts)
	return res, res.err
}

// NetworkRunner is the worker's handler of TaskRolesNetwork: it applies
// the role policy to the task's network, with this function's copy of the
// policy, which must be the one the run planned with (same hash).
type NetworkRunner struct {
	Converger *Converger
	// Options: the policy and tag keys; Regions, Mode and the split
	// fields are ignored (a task is one network, applied).
	Options Options
	// RetryAfter: DefaultRetryAfter when ≤ 0.
	RetryAfter time.Duration
	// PolicyErr, when set, is why this function has no policy: every
	// task is dead-lettered with it.
	PolicyErr error
}

var _ task.Handler = (*NetworkRunner)(nil)

// Handle runs each network as a job of its own, at the worker's
// concurrency. Outcomes: done when the network matches the policy; retry
// on a failed read or write (the rerun plans afresh: level-based); dead
// letter for an invalid task or a policy that differs from the run's.
func (r *NetworkRunner) Handle(ctx context.Context, tasks []domain.Task) []task.Job {
	hash := PolicyHash(r.Options.Policy)
	var jobs []task.Job
	for _, t := range tasks {
		if err := t.Validate(); err != nil {
			jobs = append(jobs, task.Known(task.Terminal(t.ID, task.ReasonInvalidTask, err.Error())))
			continue
		}
		if t.Kind != domain.TaskRolesNetwork {
			jobs = append(jobs, task.Known(task.Terminal(t.ID, task.ReasonUnsupportedKind,
				fmt.Sprintf("the roles network runner got a %q task", t.Kind))))
			continue
		}
		if r.PolicyErr != nil {
			jobs = append(jobs, task.Known(task.Terminal(t.ID, ReasonPolicyMismatch,
				"this worker's role policy does not load: "+r.PolicyErr.Error())))
			continue
		}
		if t.RolesNet.PolicyHash != hash {
			jobs = append(jobs, task.Known(task.Terminal(t.ID, ReasonPolicyMismatch, fmt.Sprintf(
				"the run planned with role policy %.12s, this worker has %.12s: give the queue-worker the same policy (SGPILOT_ROLE_POLICY_FILE) and replay",
				t.RolesNet.PolicyHash, hash))))
			continue
		}
		jobs = append(jobs, task.Job{TaskIDs: []string{t.ID}, Run: func(ctx context.Context) []task.Outcome {
			return []task.Outcome{r.run(ctx, t).For(t.ID)}
		}})
	}
	return jobs
}

// ReasonPolicyMismatch: a roles-network task planned with another policy.
const ReasonPolicyMismatch task.Reason = "role-policy-mismatch"

func (r *NetworkRunner) run(ctx context.Context, t domain.Task) task.Outcome {
	n := rolepolicy.Network{RegionID: t.RegionID, VPCID: t.RolesNet.VPCID}
	ctx = logging.With(ctx, zap.String(logging.FieldRegion, t.RegionID), zap.String("network", n.String()),
		zap.String("run_id", t.Cause), zap.String(logging.FieldTaskID, t.ID))
	opts := r.Options
	opts.Mode, opts.Tasks, opts.SplitOver = ModeApply, nil, 0
	res, err := r.Converger.RunNetwork(ctx, opts, n)
	if err != nil {
		after := r.RetryAfter
		if after <= 0 {
			after = DefaultRetryAfter
		}
		logging.FromContext(ctx).Warn("roles network failed", zap.Error(err))
		return task.FromError("", fmt.Errorf("roles apply of %s: %w", n, err), task.Options{Backoff: after, Soon: after})
	}
	detail := fmt.Sprintf("created %d groups, revoked %d rules, authorized %d rules", len(res.Created), res.Revoked, res.Authorized)
	if res.Plan != nil && len(res.Plan.Withheld) > 0 {
		detail += fmt.Sprintf("; %d revokes withheld (over the blast-radius limit)", len(res.Plan.Withheld))
	}
	logging.FromContext(ctx).Info("roles network applied", zap.String("detail", detail))
	return task.Succeeded("", "applied", detail)
}
