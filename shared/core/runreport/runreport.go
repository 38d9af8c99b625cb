// Package runreport is the one report every sgpilot run produces: what was
// planned, done, withheld, refused and dead-lettered, why, how long it took
// and which ECS calls it made. The use cases keep their own detailed
// reports; adapters in shared/app fold them into this shape, which is logged
// as one structured line (message "run report") and returned by the
// plan/apply invocations, so a dashboard or an alert can rely on one schema.
//
// The schema is stable: fields are only ever added. Schema names its
// version; a change that is not an addition gets a new version.
package runreport

import (
	"encoding/json"
	"sort"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Schema is the version of the report's shape.
const Schema = "sgpilot.runreport/v1"

// LogMessage is the message of the log line that carries a report.
const LogMessage = "run report"

// LogField is the key under which the report sits in that line.
const LogField = "runReport"

// Kind says which sort of run a report describes.
type Kind string

// Kinds of runs.
const (
	KindOnboarding Kind = "onboarding" // a queue-worker batch: push delivery or drain
	KindCleanup    Kind = "cleanup"    // a nightly-cleanup plan or apply
	KindRoles      Kind = "roles"      // a role-policy converge run (plan or apply)
	KindAudit      Kind = "audit"      // a rule audit
	KindReconcile  Kind = "reconcile"  // a backfill / reconcile of existing instances
)

// Counts are the run's items by fate. Withheld, Refused and DeadLettered
// are by reason; a nil map marshals as {} so queries need no null checks.
type Counts struct {
	// Planned is what the run decided to change (marks, deletions, rules,
	// memberships); Done is how many of those it did.
	Planned int `json:"planned"`
	Done    int `json:"done"`
	// Retried are items that failed this time and will be tried again.
	Retried int `json:"retried"`
	// Withheld are planned changes a safety limit held back
	// ("blast-radius", "revoke-limit", ...).
	Withheld map[string]int `json:"withheld"`
	// Refused are changes the cloud or a check refused (by reason or error
	// kind).
	Refused map[string]int `json:"refused"`
	// DeadLettered are tasks given up on and parked in the dead-letter queue.
	DeadLettered map[string]int `json:"deadLettered"`
	// Errors are failed steps that will be retried or need a look.
	Errors int `json:"errors"`
	// Findings are audit findings by severity ("high", "medium", ...).
	Findings map[string]int `json:"findings,omitempty"`
	// Repaired counts drift the run put right (rules re-authorized or
	// revoked to match the policy, memberships restored).
	Repaired int `json:"repaired"`
}

// Attention is one reason a person should look at the run.
type Attention struct {
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

// Reasons for Attention. They are part of the schema.
const (
	AttentionDeadLetters     = "dead-letters"
	AttentionWithheld        = "deletions-withheld"
	AttentionHighFindings    = "audit-high-severity"
	AttentionDriftRepaired   = "drift-repaired"
	AttentionRegionFailed    = "region-failed"
	AttentionChangesWithheld = "changes-withheld"
)

// Report is one run's report.
type Report struct {
	Schema   string   `json:"schema"`
	Kind     Kind     `json:"kind"`
	RunID    string   `json:"runId"`
	Function string   `json:"function"`
	Mode     string   `json:"mode,omitempty"`
	Regions  []string `json:"regions"`
	// FailedRegions are regions whose discovery or run failed.
	FailedRegions []string  `json:"failedRegions,omitempty"`
	StartedAt     time.Time `json:"startedAt"`
	DurationMS    int64     `json:"durationMs"`
	Counts        Counts    `json:"counts"`
	// ECSCalls are the ECS API calls the run made, by action.
	ECSCalls map[string]int64 `json:"ecsCalls"`
	// NeedsAttention lists why a person should look; empty on a quiet run.
	NeedsAttention []Attention `json:"needsAttention"`
}

// New starts a report of kind for function at start.
func New(kind Kind, runID, function string, start time.Time) Report {
	return Report{Schema: Schema, Kind: kind, RunID: runID, Function: function, StartedAt: start.UTC()}
}

// Finish records the duration up to end.
func (r *Report) Finish(end time.Time) { r.DurationMS = end.Sub(r.StartedAt).Milliseconds() }

// MarshalJSON fills nil maps and slices so every field is always present.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report
	p := plain(r.normalized())
	return json.Marshal(p)
}

func (r Report) normalized() Report {
	if r.Schema == "" {
		r.Schema = Schema
	}
	if r.Regions == nil {
		r.Regions = []string{}
	}
	if r.Counts.Withheld == nil {
		r.Counts.Withheld = map[string]int{}
	}
	if r.Counts.Refused == nil {
		r.Counts.Refused = map[string]int{}
	}
	if r.Counts.DeadLettered == nil {
		r.Counts.DeadLettered = map[string]int{}
	}
	if r.ECSCalls == nil {
		r.ECSCalls = map[string]int64{}
	}
	if r.NeedsAttention == nil {
		r.NeedsAttention = []Attention{}
	}
	return r
}

// Total sums a by-reason count.
func Total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// Add adds n to m[reason], creating m when needed, and returns m.
func Add(m map[string]int, reason string, n int) map[string]int {
	if n == 0 {
		return m
	}
	if m == nil {
		m = map[string]int{}
	}
	m[reason] += n
	return m
}

// CallsSince returns the calls made between two snapshots of cumulative
// per-action counters (after minus before), leaving out actions not called.
func CallsSince(before, after map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for action, n := range after {
		if d := n - before[action]; d > 0 {
			out[action] = d
		}
	}
	return out
}

// MarshalLogObject writes the report as a zap object with the same keys as
// its JSON, so the log line and the invocation result agree.
func (r Report) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := enc.AddReflected(k, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// Log writes the report as one line: Warn when it needs attention, Info
// otherwise.
func Log(log *zap.Logger, r Report) {
	f := zap.Object(LogField, r)
	if len(r.NeedsAttention) > 0 {
		log.Warn(LogMessage, f)
		return
	}
	log.Info(LogMessage, f)
}
