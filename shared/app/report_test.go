package app

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/runreport"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
	"github.com/sgpilot/sgpilot/shared/usecase/intake"
	"github.com/sgpilot/sgpilot/shared/usecase/notify"
	"github.com/sgpilot/sgpilot/shared/usecase/roles"
	"github.com/sgpilot/sgpilot/shared/usecase/worker"
)

func reasons(r runreport.Report) []string {
	var out []string
	for _, a := range notify.Assess(r) {
		out = append(out, a.Reason)
	}
	return out
}

func TestRunReportAdapters(t *testing.T) {
	tr := runTracker{start: time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)}
	tests := []struct {
		name       string
		r          runreport.Report
		wantKind   runreport.Kind
		wantCounts runreport.Counts
		wantFailed []string
		want       []string // attention reasons
	}{
		{
			name: "cleanup over the blast radius, one region not discovered",
			r: cleanupRunReport("nightly-cleanup", tr, cleanup.Report{RunID: "c1", Mode: cleanup.ModeApply,
				Summary: cleanup.Summary{ToMark: 2, ToDelete: 3, Marked: 2, Errors: 1},
				Regions: []cleanup.RegionReport{
					{RegionID: "cn-hangzhou", Decisions: []cleanup.Decision{
						{GroupID: "sg-1", Reason: domain.ReasonBlastRadius}, {GroupID: "sg-2", Reason: domain.ReasonBlastRadius},
						{GroupID: "sg-3", Reason: domain.ReasonInUse}}},
					{RegionID: "cn-beijing", Errors: []string{"discovery: DescribeInstances: throttled"}},
				}}),
			wantKind:   runreport.KindCleanup,
			wantCounts: runreport.Counts{Planned: 5, Done: 2, Errors: 1, Withheld: map[string]int{"blast-radius": 2}},
			wantFailed: []string{"cn-beijing"},
			want:       []string{runreport.AttentionWithheld, runreport.AttentionRegionFailed},
		},
		{
			name: "quiet cleanup",
			r: cleanupRunReport("nightly-cleanup", tr, cleanup.Report{RunID: "c2", Mode: cleanup.ModeApply,
				Summary: cleanup.Summary{ToMark: 1, Marked: 1}, Regions: []cleanup.RegionReport{{RegionID: "cn-hangzhou"}}}),
			wantKind:   runreport.KindCleanup,
			wantCounts: runreport.Counts{Planned: 1, Done: 1},
		},
		{
			name: "worker batch with dead letters",
			r: workerRunReport("queue-worker", "push", "cn-hangzhou", tr, worker.Summary{Received: 4, Done: 2, Retried: 1, Invalid: 1,
				DeadLettered: map[string]int{"invalid-task": 1}, DeleteErrors: 1}),
			wantKind: runreport.KindOnboarding,
			wantCounts: runreport.Counts{Planned: 4, Done: 2, Retried: 1, Errors: 1, Refused: map[string]int{"invalid": 1},
				DeadLettered: map[string]int{"invalid-task": 1}},
			want: []string{runreport.AttentionDeadLetters},
		},
		{
			name: "roles apply repaired drift, revokes withheld",
			r: rolesRunReport("nightly-cleanup", tr, []string{"cn-hangzhou"}, roles.Report{Mode: roles.ModeApply,
				Summary: roles.Summary{RulesToAuth: 2, RulesToRevoke: 20, Withheld: 20, RulesAuthorized: 2}}),
			wantKind:   runreport.KindRoles,
			wantCounts: runreport.Counts{Planned: 22, Done: 2, Repaired: 2, Withheld: map[string]int{"revoke-limit": 20}},
			want:       []string{runreport.AttentionChangesWithheld, runreport.AttentionDriftRepaired},
		},
		{
			name: "roles plan repairs nothing",
			r: rolesRunReport("nightly-cleanup", tr, []string{"cn-hangzhou"}, roles.Report{Mode: roles.ModePlan,
				Summary: roles.Summary{RulesToAuth: 2}}),
			wantKind:   runreport.KindRoles,
			wantCounts: runreport.Counts{Planned: 2},
		},
		{
			name: "audit with a high finding and a failed region",
			r: auditRunReport("nightly-cleanup", tr, []string{"cn-hangzhou", "cn-beijing"}, roles.AuditReport{
				Counts:  map[string]int{"high": 1, "low": 3},
				Regions: []roles.RegionAudit{{RegionID: "cn-hangzhou"}, {RegionID: "cn-beijing", Error: "denied"}}}),
			wantKind:   runreport.KindAudit,
			wantCounts: runreport.Counts{Errors: 1, Findings: map[string]int{"high": 1, "low": 3}},
			wantFailed: []string{"cn-beijing"},
			want:       []string{runreport.AttentionHighFindings, runreport.AttentionRegionFailed},
		},
		{
			name: "reconcile queued drift and found a refusal",
			r: reconcileRunReport("instance-created", tr, intake.ReconcileSummary{RegionID: "cn-hangzhou", Instances: 5, Complete: 2, Enqueued: 2,
				Attention: []intake.Issue{{InstanceID: "i-1", Reason: domain.ReasonOverLimit}}}),
			wantKind:   runreport.KindReconcile,
			wantCounts: runreport.Counts{Planned: 5, Done: 4, Repaired: 2, Refused: map[string]int{"over-group-limit": 1}},
			want:       []string{runreport.AttentionDriftRepaired},
		},
		{
			name:       "reconcile dry run repairs nothing",
			r:          reconcileRunReport("instance-created", tr, intake.ReconcileSummary{RegionID: "cn-hangzhou", DryRun: true, Instances: 3, Complete: 1}),
			wantKind:   runreport.KindReconcile,
			wantCounts: runreport.Counts{Planned: 3, Done: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.r.Kind != tt.wantKind || tt.r.Schema != runreport.Schema || !tt.r.StartedAt.Equal(tr.start) {
				t.Errorf("kind %s schema %s start %s", tt.r.Kind, tt.r.Schema, tt.r.StartedAt)
			}
			if !reflect.DeepEqual(tt.r.Counts, tt.wantCounts) {
				t.Errorf("counts %+v, want %+v", tt.r.Counts, tt.wantCounts)
			}
			if !reflect.DeepEqual(tt.r.FailedRegions, tt.wantFailed) {
				t.Errorf("failed regions %v, want %v", tt.r.FailedRegions, tt.wantFailed)
			}
			if got := reasons(tt.r); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("attention %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWorkerResultKeepsTheSummaryJSON(t *testing.T) {
	sum := worker.Summary{Received: 2, Done: 1, DeadLettered: map[string]int{"x": 1}, Duration: 1500 * time.Millisecond}
	res := WorkerResult{Summary: sum, RunReport: runreport.New(runreport.KindOnboarding, "r1", "queue-worker", time.Unix(0, 0))}
	got, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	if m["received"] != 2.0 || m["durationMs"] != 1500.0 {
		t.Errorf("summary fields lost: %s", got)
	}
	if rr, ok := m["runReport"].(map[string]any); !ok || rr["runId"] != "r1" {
		t.Errorf("runReport missing: %s", got)
	}
}
