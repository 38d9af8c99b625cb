package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
	"github.com/sgpilot/sgpilot/shared/usecase/intake"
	"github.com/sgpilot/sgpilot/shared/usecase/worker"
)

// TestAnswersAreLowerCamelWithoutNulls walks every answer type the functions
// return, empty and filled, through answer and encoding/json, and fails on an
// uppercase key (a Go field name without a tag) or a null.
func TestAnswersAreLowerCamelWithoutNulls(t *testing.T) {
	plan := domain.MembershipPlan{InstanceID: "i-bp1aaaaaaaaaaaaaaaa1", Roles: []domain.Role{"web"}, Current: []string{"sg-1"},
		Desired: []string{"sg-1"}, RoleGroups: map[domain.Role][]string{"web": {"sg-1"}}, Reason: domain.ReasonComplete}
	answers := []struct {
		name string
		v    any
	}{
		{"cleanup result, empty", CleanupResult{}},
		{"cleanup result, a region", CleanupResult{Report: cleanup.Report{RunID: "r", Regions: []cleanup.RegionReport{{RegionID: "cn-hangzhou",
			Decisions: []cleanup.Decision{{GroupID: "sg-1", Action: domain.ActionKeep}}}}}}},
		{"plan result, empty", PlanResult{}},
		{"plan result, a complete plan (toJoin nil)", PlanResult{Region: "cn-hangzhou", Plans: []domain.MembershipPlan{plan, {}}}},
		{"worker summary, empty", worker.Summary{}},
		{"worker summary, dead letters", worker.Summary{Received: 2, DeadLettered: map[string]int{"no-role-group": 1}, Duration: time.Second}},
		{"intake summary, empty", intake.Summary{}},
		{"intake summary, reconcile", intake.Summary{Mode: intake.ModeReconcile, Reconcile: &intake.ReconcileSummary{RegionID: "cn-hangzhou"},
			Tasks: []domain.Task{{Kind: domain.TaskOnboard}}}},
		{"reconcile summary, empty", intake.ReconcileSummary{}},
	}
	for _, a := range answers {
		t.Run(a.name, func(t *testing.T) {
			b, err := json.Marshal(answer(a.v))
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			for _, bad := range badKeys(v, "") {
				t.Errorf("%s in %s", bad, b)
			}
		})
	}
}

// badKeys lists the paths of uppercase keys and nulls in a decoded document.
func badKeys(v any, path string) []string {
	var out []string
	switch v := v.(type) {
	case nil:
		out = append(out, "null at "+path)
	case map[string]any:
		for k, e := range v {
			if r := []rune(k); len(r) > 0 && unicode.IsUpper(r[0]) && !strings.HasPrefix(path, ".roleGroups") &&
				!strings.HasSuffix(path, "ByReason") && !strings.HasSuffix(path, "deadLettered") {
				out = append(out, "uppercase key "+path+"."+k)
			}
			out = append(out, badKeys(e, path+"."+k)...)
		}
	case []any:
		for _, e := range v {
			out = append(out, badKeys(e, path+"[]")...)
		}
	}
	return out
}

// TestBadKeysCatchesNulls keeps the walk above honest: without answer, a
// complete plan's toJoin is null.
func TestBadKeysCatchesNulls(t *testing.T) {
	b, _ := json.Marshal(PlanResult{Plans: []domain.MembershipPlan{{}}})
	var v any
	_ = json.Unmarshal(b, &v)
	if len(badKeys(v, "")) == 0 {
		t.Fatalf("no null found in %s", b)
	}
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in    string
		table bool
		want  string
		bad   bool
	}{
		{"", false, FormatJSON, false}, {"json", false, FormatJSON, false}, {"text", false, FormatText, false},
		{"table", true, FormatText, false}, {"table", false, "", true}, {"yaml", true, "", true},
	} {
		t.Run(tc.in+map[bool]string{true: "/table-ok"}[tc.table], func(t *testing.T) {
			got, err := parseFormat(tc.in, tc.table)
			if (err != nil) != tc.bad || got != tc.want {
				t.Fatalf("parseFormat(%q) = %q, %v", tc.in, got, err)
			}
			if err != nil && domain.KindOf(err) != domain.KindInvalid {
				t.Fatalf("kind = %v", domain.KindOf(err))
			}
		})
	}
}

func TestRenderPlans(t *testing.T) {
	got, err := renderPlans(PlanResult{Region: "cn-hangzhou", Plans: []domain.MembershipPlan{
		{InstanceID: "i-1", Roles: []domain.Role{"web"}, ToJoin: []string{"sg-web"}, Reason: domain.ReasonJoin, Detail: "join sg-web for roles web"},
		{InstanceID: "i-2", Reason: domain.ReasonNoRoles},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"region cn-hangzhou", "INSTANCE", "i-1       web    join      sg-web", "i-2       -      no-roles  -"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

func TestRenderWorkerSummary(t *testing.T) {
	got := renderWorkerSummary(worker.Summary{Received: 3, Done: 1, Retried: 1, Batches: 1,
		DeadLettered: map[string]int{"no-role-group": 1}, Stopped: "idle", Duration: 1500 * time.Millisecond})
	want := "Queue worker: 3 task(s) received in 1 batch(es): 1 done, 1 retried later, 1 dead-lettered (1 no-role-group).\nStopped: idle, after 1.5s.\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestTakeFormat(t *testing.T) {
	for _, tc := range []struct {
		name, in, wantOut, wantFormat string
		bad                           bool
	}{
		{"no format", `{"mode":"reconcile"}`, `{"mode":"reconcile"}`, FormatJSON, false},
		{"text taken out", `{"mode":"reconcile","dryRun":true,"format":"text"}`, `{"dryRun":true,"mode":"reconcile"}`, FormatText, false},
		{"json taken out", `{"instanceIds":["i-1"],"format":"json"}`, `{"instanceIds":["i-1"]}`, FormatJSON, false},
		{"the word in a value only", `{"mode":"\"format\""}`, `{"mode":"\"format\""}`, FormatJSON, false},
		{"unknown format", `{"mode":"reconcile","format":"table"}`, "", "", true},
		{"not a string", `{"format":1}`, "", "", true},
		{"an event passes", `{"specversion":"1.0","format":"x"}`, `{"specversion":"1.0","format":"x"}`, FormatJSON, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, f, err := takeFormat([]byte(tc.in))
			if (err != nil) != tc.bad {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				if domain.KindOf(err) != domain.KindInvalid {
					t.Fatalf("kind = %v", domain.KindOf(err))
				}
				return
			}
			if string(out) != tc.wantOut || f != tc.wantFormat {
				t.Fatalf("takeFormat(%s) = %s, %q", tc.in, out, f)
			}
		})
	}
}

func TestRenderIntakeSummary(t *testing.T) {
	got := renderIntakeSummary(intake.Summary{Mode: intake.ModeReconcile, DryRun: true, Received: 1, Accepted: 1, TaskIDs: []string{"a", "b"},
		Reconcile: &intake.ReconcileSummary{RegionID: "cn-hangzhou", Instances: 3, RoleGroups: 2, Complete: 1, NeedsAttention: 1,
			Attention: []intake.Issue{{InstanceID: "i-3", Reason: domain.ReasonNoRoleGroup, Detail: "no cache group"}},
			ByReason:  map[domain.Reason]int{domain.ReasonJoin: 2, domain.ReasonComplete: 1}}})
	for _, want := range []string{"would enqueue (dry run) 2 task(s)", "Region cn-hangzhou: 3 role-tagged", "by reason: 1 complete, 2 join",
		"i-3 no-role-group: no cache group"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}
