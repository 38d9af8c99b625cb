package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
)

type files struct {
	root     string
	sdoc     map[string]any
	tdoc     map[string]any
	region   string
	account  string
	template *Template
}

func load(t *testing.T) files {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	f := files{root: root}
	if f.sdoc, err = ReadYAML(filepath.Join(root, "s.yaml")); err != nil {
		t.Fatal(err)
	}
	if f.tdoc, err = ReadYAML(filepath.Join(root, "template.yml")); err != nil {
		t.Fatal(err)
	}
	vars, _ := f.sdoc["vars"].(map[string]any)
	f.region, f.account = str(vars["region"]), str(vars["accountId"])
	if f.template, err = NewTemplate(f.tdoc, f.region, f.account, nil); err != nil {
		t.Fatal(err)
	}
	return f
}

func models(t *testing.T, sdoc, tdoc map[string]any, region, account string) (Model, Model) {
	t.Helper()
	s, err := FromServerlessYAML(sdoc)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := NewTemplate(tdoc, region, account, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := FromTemplate(tpl)
	if err != nil {
		t.Fatal(err)
	}
	return s, m
}

func TestServerlessYAMLAndTemplateAgree(t *testing.T) {
	f := load(t)
	s, m := models(t, f.sdoc, f.tdoc, f.region, f.account)
	if len(s.Functions) != 3 {
		t.Fatalf("s.yaml has %d functions, want 3", len(s.Functions))
	}
	for _, d := range Diff(s, m) {
		t.Error(d)
	}
	want := []string{"sgpilot-dead-letter", "sgpilot-failed-events", "sgpilot-work"}
	if !equal(toAny(m.Queues), toAny(want)) {
		t.Errorf("template queues %v, want %v", m.Queues, want)
	}
}

// The comparison must notice a change on either side; each case edits a freshly parsed copy.
func TestDiffNoticesEveryKindOfChange(t *testing.T) {
	cases := []struct {
		name   string
		side   string // "s" or "template"
		mutate func(t *testing.T, doc map[string]any)
		want   string // substring of one reported difference
	}{
		{"drain timer enabled in s.yaml", "s", func(t *testing.T, d map[string]any) {
			sTrigger(t, d, "queue-worker", "drain-safety-net")["enable"] = true
		}, "trigger drain-safety-net enable"},
		{"drain timer enabled in template", "template", func(t *testing.T, d map[string]any) {
			tProps(t, d, "QueueWorkerDrainTimer")["TriggerConfig"].(map[string]any)["enable"] = true
		}, "trigger drain-safety-net enable"},
		{"env var missing in template", "template", func(t *testing.T, d map[string]any) {
			delete(tProps(t, d, "NightlyCleanupFunction")["EnvironmentVariables"].(map[string]any), "SGPILOT_MAX_DELETIONS")
		}, "env SGPILOT_MAX_DELETIONS only in s.yaml"},
		{"env var value differs", "s", func(t *testing.T, d map[string]any) {
			d["vars"].(map[string]any)["gracePeriod"] = "3d"
		}, "env SGPILOT_GRACE_PERIOD"},
		{"memory", "template", func(t *testing.T, d map[string]any) {
			tProps(t, d, "QueueWorkerFunction")["MemorySize"] = 512
		}, "memory"},
		{"timeout", "s", func(t *testing.T, d map[string]any) {
			sProps(t, d, "nightly-cleanup")["timeout"] = 300
		}, "timeout"},
		{"handler", "template", func(t *testing.T, d map[string]any) {
			tProps(t, d, "InstanceCreatedFunction")["Handler"] = "bootstrap"
		}, "handler"},
		{"runtime", "s", func(t *testing.T, d map[string]any) {
			sProps(t, d, "instance-created")["runtime"] = "custom.debian10"
		}, "runtime"},
		{"role", "template", func(t *testing.T, d map[string]any) {
			tProps(t, d, "NightlyCleanupFunction")["Role"] = map[string]any{"Fn::GetAtt": []any{"QueueWorkerRole", "Arn"}}
		}, "role"},
		{"schedule", "template", func(t *testing.T, d map[string]any) {
			tProps(t, d, "NightlyCleanupTimer")["TriggerConfig"].(map[string]any)["cronExpression"] = "0 0 4 * * *"
		}, "trigger nightly cronExpression"},
		{"payload", "s", func(t *testing.T, d map[string]any) {
			sTrigger(t, d, "nightly-cleanup", "nightly")["payload"] = `{"mode":"plan"}`
		}, "trigger nightly payload"},
		{"event filter", "template", func(t *testing.T, d map[string]any) {
			tProps(t, d, "InstanceCreatedStateTrigger")["TriggerConfig"].(map[string]any)["eventRuleFilterPattern"] = `{"source":["acs.ecs"]}`
		}, "eventRuleFilterPattern"},
		{"event source enabled", "s", func(t *testing.T, d map[string]any) {
			sTrigger(t, d, "instance-created", "ecs-run-instances")["triggerEnable"] = true
		}, "trigger ecs-run-instances triggerEnable"},
		{"runOptions maximumTasks", "s", func(t *testing.T, d map[string]any) {
			sTrigger(t, d, "queue-worker", "work-queue")["runOptions"].(map[string]any)["maximumTasks"] = 2
		}, "trigger work-queue runOptions"},
		{"runOptions dead-letter queue", "template", func(t *testing.T, d map[string]any) {
			ro := tProps(t, d, "QueueWorkerQueueTrigger")["TriggerConfig"].(map[string]any)["runOptions"].(map[string]any)
			ro["deadLetterQueue"] = map[string]any{"Arn": "acs:mns:cn-hangzhou:1:/queues/other"}
		}, "trigger work-queue runOptions"},
		{"trigger missing in template", "template", func(t *testing.T, d map[string]any) {
			delete(d["Resources"].(map[string]any), "InstanceCreatedReconcileTimer")
		}, "trigger hourly-reconcile: in s.yaml true, in template false"},
		{"trigger type", "template", func(t *testing.T, d map[string]any) {
			tProps(t, d, "QueueWorkerDrainTimer")["TriggerType"] = "eventbridge"
		}, "trigger drain-safety-net type"},
		{"queue name", "template", func(t *testing.T, d map[string]any) {
			tProps(t, d, "FailedEventsQueue")["QueueName"] = "sgpilot-failed"
		}, "queues"},
		{"async destination", "s", func(t *testing.T, d map[string]any) {
			d["vars"].(map[string]any)["failedEventsQueue"] = "sgpilot-dead-letter"
		}, "asyncInvokeConfig"},
		{"reserved concurrency", "template", func(t *testing.T, d map[string]any) {
			tProps(t, d, "QueueWorkerConcurrency")["ReservedConcurrency"] = 10
		}, "reserved concurrency"},
		{"log store", "s", func(t *testing.T, d map[string]any) {
			d["vars"].(map[string]any)["logStore"] = "other"
		}, "logConfig"},
		{"function missing", "s", func(t *testing.T, d map[string]any) {
			delete(d["resources"].(map[string]any), "nightly-cleanup")
		}, "function nightly-cleanup: in s.yaml false"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := load(t) // fresh, unshared copies
			if tc.side == "s" {
				tc.mutate(t, f.sdoc)
			} else {
				tc.mutate(t, f.tdoc)
			}
			s, m := models(t, f.sdoc, f.tdoc, f.region, f.account)
			diffs := Diff(s, m)
			for _, d := range diffs {
				if strings.Contains(d, tc.want) {
					return
				}
			}
			t.Errorf("no difference mentioning %q; got %q", tc.want, diffs)
		})
	}
}

// localcloud runs the functions of the same s.yaml; a change here must not break it.
func TestServerlessYAMLLoadsInLocalcloud(t *testing.T) {
	f := load(t)
	code := t.TempDir()
	for _, fn := range []string{"instance-created", "queue-worker", "nightly-cleanup"} {
		if err := os.MkdirAll(filepath.Join(code, fn), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(code, fn, "main"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	specs, err := fcemu.LoadServerlessYAMLWith(filepath.Join(f.root, "s.yaml"), fcemu.LoadOptions{
		Vars: map[string]string{"codeDir": code}, Getenv: func(string) string { return "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 3 {
		t.Fatalf("%d functions, want 3", len(specs))
	}
	for _, s := range specs {
		want := "http://" + f.account + ".mns." + f.region + "-internal.aliyuncs.com"
		if got := s.Environment["SGPILOT_MNS_ENDPOINT"]; got != want {
			t.Errorf("%s: SGPILOT_MNS_ENDPOINT %q, want %q (nested vars resolved)", s.Name, got, want)
		}
	}
	checkMemorySizes(t, f, "s.yaml", specs)
	st, err := fcemu.LoadROSTemplate(filepath.Join(f.root, "template.yml"), fcemu.ROSOptions{
		AccountID: f.account, Region: f.region, CodeDir: code,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkMemorySizes(t, f, "template.yml", st.Functions)
}

// checkMemorySizes: localcloud holds each function to the memorySize it
// runs with, so the end-to-end tests only meet FC's out-of-memory kills if
// every loader passes on the size s.yaml deploys.
func checkMemorySizes(t *testing.T, f files, from string, specs []fcemu.FunctionSpec) {
	t.Helper()
	want := map[string]int{}
	for _, r := range f.sdoc["resources"].(map[string]any) {
		p, _ := r.(map[string]any)["props"].(map[string]any)
		if name := str(p["functionName"]); name != "" {
			want[name] = integer(p["memorySize"])
		}
	}
	if len(specs) != len(want) {
		t.Errorf("%s: %d functions, s.yaml deploys %d", from, len(specs), len(want))
	}
	for _, s := range specs {
		if w := want[s.Name]; w == 0 || s.MemorySize != w {
			t.Errorf("%s: %s runs with memorySize %d, s.yaml deploys %d", from, s.Name, s.MemorySize, w)
		}
	}
}

func sProps(t *testing.T, d map[string]any, res string) map[string]any {
	t.Helper()
	r, ok := d["resources"].(map[string]any)[res].(map[string]any)
	if !ok {
		t.Fatalf("s.yaml: no resource %s", res)
	}
	return r["props"].(map[string]any)
}

func sTrigger(t *testing.T, d map[string]any, res, name string) map[string]any {
	t.Helper()
	for _, tr := range sProps(t, d, res)["triggers"].([]any) {
		if m := tr.(map[string]any); m["triggerName"] == name {
			return m["triggerConfig"].(map[string]any)
		}
	}
	t.Fatalf("s.yaml: %s has no trigger %s", res, name)
	return nil
}

func tProps(t *testing.T, d map[string]any, res string) map[string]any {
	t.Helper()
	r, ok := d["Resources"].(map[string]any)[res].(map[string]any)
	if !ok {
		t.Fatalf("template: no resource %s", res)
	}
	return r["Properties"].(map[string]any)
}

func toAny(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}
