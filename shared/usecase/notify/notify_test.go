package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sgpilot/sgpilot/shared/core/runreport"
	"github.com/sgpilot/sgpilot/shared/usecase/notify"
)

func reasons(as []runreport.Attention) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Reason)
	}
	return out
}

func TestAssess(t *testing.T) {
	tests := []struct {
		name string
		r    runreport.Report
		want []string
	}{
		{name: "quiet night", r: runreport.Report{Kind: runreport.KindCleanup, Counts: runreport.Counts{Planned: 3, Done: 3}}},
		{name: "refusals alone are not an alert", r: runreport.Report{Counts: runreport.Counts{Refused: map[string]int{"in-use": 2}}}},
		{name: "zero counts under a reason are quiet", r: runreport.Report{Counts: runreport.Counts{DeadLettered: map[string]int{"x": 0}, Withheld: map[string]int{"blast-radius": 0}}}},
		{name: "dead letters", r: runreport.Report{Counts: runreport.Counts{DeadLettered: map[string]int{"max-deliveries": 2}}},
			want: []string{runreport.AttentionDeadLetters}},
		{name: "blast radius", r: runreport.Report{Counts: runreport.Counts{Withheld: map[string]int{"blast-radius": 7}}},
			want: []string{runreport.AttentionWithheld}},
		{name: "other limit", r: runreport.Report{Counts: runreport.Counts{Withheld: map[string]int{"revoke-limit": 1}}},
			want: []string{runreport.AttentionChangesWithheld}},
		{name: "high finding", r: runreport.Report{Counts: runreport.Counts{Findings: map[string]int{"high": 1, "low": 4}}},
			want: []string{runreport.AttentionHighFindings}},
		{name: "medium findings only", r: runreport.Report{Counts: runreport.Counts{Findings: map[string]int{"high": 0, "medium": 4}}}},
		{name: "drift repaired", r: runreport.Report{Counts: runreport.Counts{Repaired: 2}}, want: []string{runreport.AttentionDriftRepaired}},
		{name: "region failed", r: runreport.Report{FailedRegions: []string{"cn-beijing"}}, want: []string{runreport.AttentionRegionFailed}},
		{name: "everything, in order", r: runreport.Report{FailedRegions: []string{"cn-beijing"}, Counts: runreport.Counts{
			Repaired: 1, Findings: map[string]int{"high": 1}, Withheld: map[string]int{"blast-radius": 1, "revoke-limit": 1},
			DeadLettered: map[string]int{"x": 1}}},
			want: []string{runreport.AttentionDeadLetters, runreport.AttentionWithheld, runreport.AttentionChangesWithheld,
				runreport.AttentionHighFindings, runreport.AttentionDriftRepaired, runreport.AttentionRegionFailed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := notify.Assess(tt.r)
			if !reflect.DeepEqual(reasons(got), tt.want) {
				t.Fatalf("Assess = %v, want %v", reasons(got), tt.want)
			}
			for _, a := range got {
				if a.Detail == "" {
					t.Errorf("%s has no detail", a.Reason)
				}
			}
		})
	}
}

func TestDecide(t *testing.T) {
	attention := []runreport.Attention{{Reason: runreport.AttentionDeadLetters, Detail: "x"}}
	tests := []struct {
		name   string
		r      runreport.Report
		digest bool
		want   notify.Decision
	}{
		{name: "quiet, no digest", r: runreport.Report{Kind: runreport.KindCleanup, Mode: "apply"}},
		{name: "quiet apply night with digest", r: runreport.Report{Kind: runreport.KindCleanup, Mode: "apply"}, digest: true,
			want: notify.Decision{Publish: true, Tag: notify.TagDigest}},
		{name: "quiet plan with digest", r: runreport.Report{Kind: runreport.KindCleanup, Mode: "plan"}, digest: true},
		{name: "quiet onboarding with digest", r: runreport.Report{Kind: runreport.KindOnboarding, Mode: "push"}, digest: true},
		{name: "attention", r: runreport.Report{Kind: runreport.KindOnboarding, NeedsAttention: attention},
			want: notify.Decision{Publish: true, Tag: notify.TagAttention}},
		{name: "attention beats digest", r: runreport.Report{Kind: runreport.KindCleanup, Mode: "apply", NeedsAttention: attention}, digest: true,
			want: notify.Decision{Publish: true, Tag: notify.TagAttention}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := notify.Decide(tt.r, tt.digest); got != tt.want {
				t.Fatalf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

type recorder struct {
	tags, bodies []string
	err          error
}

func (r *recorder) Publish(_ context.Context, tag, body string) error {
	if r.err != nil {
		return r.err
	}
	r.tags, r.bodies = append(r.tags, tag), append(r.bodies, body)
	return nil
}

func TestNotifier(t *testing.T) {
	loud := runreport.New(runreport.KindCleanup, "run-1", "nightly-cleanup", runreport.Report{}.StartedAt)
	loud.Mode = "apply"
	loud.Counts.Withheld = map[string]int{"blast-radius": 3}
	loud.NeedsAttention = notify.Assess(loud)
	quiet := runreport.New(runreport.KindCleanup, "run-2", "nightly-cleanup", loud.StartedAt)

	t.Run("publishes what needs a person", func(t *testing.T) {
		rec := &recorder{}
		sent, err := (&notify.Notifier{Topic: rec}).Notify(context.Background(), loud)
		if err != nil || !sent {
			t.Fatalf("Notify = %v, %v", sent, err)
		}
		var m notify.Message
		if err := json.Unmarshal([]byte(rec.bodies[0]), &m); err != nil {
			t.Fatal(err)
		}
		if rec.tags[0] != notify.TagAttention || m.Report.RunID != "run-1" || !strings.Contains(m.Subject, "deletions-withheld") {
			t.Fatalf("tag %s, message %+v", rec.tags[0], m)
		}
	})
	t.Run("quiet run publishes nothing", func(t *testing.T) {
		rec := &recorder{}
		sent, err := (&notify.Notifier{Topic: rec}).Notify(context.Background(), quiet)
		if err != nil || sent || len(rec.bodies) != 0 {
			t.Fatalf("Notify = %v, %v; published %v", sent, err, rec.bodies)
		}
	})
	t.Run("off", func(t *testing.T) {
		var n *notify.Notifier
		if sent, err := n.Notify(context.Background(), loud); sent || err != nil {
			t.Fatalf("nil notifier: %v, %v", sent, err)
		}
	})
	t.Run("publish error", func(t *testing.T) {
		rec := &recorder{err: errors.New("boom")}
		_, err := (&notify.Notifier{Topic: rec}).Notify(context.Background(), loud)
		if err == nil || !strings.Contains(err.Error(), "run-1") {
			t.Fatalf("err = %v", err)
		}
	})
}
