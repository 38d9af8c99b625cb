package cleanup_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenReport is an apply run over the decision world (hz) and a region
// whose ENI listing fails (bj).
func goldenReport(t *testing.T) cleanup.Report {
	t.Helper()
	f := decisionWorld()
	f.addGroups(groupIn(bj, "sg-bjfresh01"))
	f.fault = func(method, region string) error {
		if region == bj && method == "ListNetworkInterfaces" {
			return domain.Errorf(domain.KindThrottled, "ecs DescribeNetworkInterfaces", "Throttling.User", "Request was denied due to user flow control.")
		}
		return nil
	}
	return MustRun(t, newCleaner(f, newFakeQueue()), cleanup.ModeApply, t0, hz, bj)
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-golden +got), run go test -update if the change is intended:\n%s", name, diff)
	}
}

func TestRenderTable_Golden(t *testing.T) {
	var buf bytes.Buffer
	if err := cleanup.RenderTable(&buf, goldenReport(t)); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "plan.golden", buf.Bytes())
}

func TestReport_JSONGolden(t *testing.T) {
	b, err := json.MarshalIndent(goldenReport(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "report.golden.json", append(b, '\n'))

	// The JSON reads back into the same exported shape (the domain plan
	// is Go-only).
	var back cleanup.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Regions) != 2 || back.Summary.ToMark != 3 || back.Regions[0].Decisions[0].GroupID == "" {
		t.Errorf("round trip lost data: %+v", back.Summary)
	}
}

func TestRenderTable_KeepsRowsOnOneLine(t *testing.T) {
	f := newFakeECS()
	g := mg("sg-oddname01")
	g.Name = "tab\there\nnewline"
	f.addGroups(g)
	var buf bytes.Buffer
	if err := cleanup.RenderTable(&buf, MustRun(t, newCleaner(f, newFakeQueue()), cleanup.ModePlan, t0)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("tab here newline")) {
		t.Errorf("name not flattened:\n%s", buf.String())
	}
}
