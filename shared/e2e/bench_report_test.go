package e2e_test

// The closing table of `make bench`: every benchmark records its headline
// figures here (measured, bound or goal, ratio, baseline) and TestMain
// prints them once all benchmarks have run, and writes them as JSON to
// bench-results/ (gitignored) for tools.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/sgpilot/sgpilot/shared/testkit/harness"
)

// benchFigure is one row of the table.
type benchFigure struct {
	Scenario string  `json:"scenario"`
	Name     string  `json:"name"`
	Measured float64 `json:"measured"`
	Unit     string  `json:"unit"`
	// Bound is what Measured is held against: a lower bound ("lower bound",
	// "rate bound": the best any implementation could do) or an absolute
	// goal ("goal"). Ratio is Measured ÷ Bound; Goal says how far the ratio
	// (for bounds) or the value (for goals) may go.
	Bound     float64 `json:"bound"`
	BoundKind string  `json:"boundKind"`
	Ratio     float64 `json:"ratio"`
	Goal      string  `json:"goal"`
	Met       bool    `json:"met"`
	// Baseline is the same figure for the approach sgpilot is compared
	// with (naive, or the old schedule), when there is one.
	Baseline     *float64 `json:"baseline,omitempty"`
	BaselineName string   `json:"baselineName,omitempty"`
	Note         string   `json:"note,omitempty"`
}

var benchFigures struct {
	sync.Mutex
	rows []benchFigure
}

func recordFigure(f benchFigure) {
	benchFigures.Lock()
	defer benchFigures.Unlock()
	benchFigures.rows = append(benchFigures.rows, f)
}

// ratioFigure records a figure held against a lower or rate bound: met when
// measured ÷ bound ≤ maxRatio.
func ratioFigure(scenario, name string, measured float64, unit string, bound float64, kind string, maxRatio float64) benchFigure {
	f := benchFigure{Scenario: scenario, Name: name, Measured: measured, Unit: unit, Bound: bound, BoundKind: kind,
		Goal: fmt.Sprintf("ratio ≤ %.2f", maxRatio)}
	if bound > 0 {
		f.Ratio = measured / bound
		f.Met = f.Ratio <= maxRatio
	}
	return f
}

// goalFigure records a figure held against an absolute goal: met when
// measured ≤ goal.
func goalFigure(scenario, name string, measured float64, unit string, goal float64) benchFigure {
	f := benchFigure{Scenario: scenario, Name: name, Measured: measured, Unit: unit, Bound: goal, BoundKind: "goal",
		Goal: "≤ " + formatValue(goal, unit)}
	if goal > 0 {
		f.Ratio = measured / goal
	}
	f.Met = measured <= goal
	return f
}

func (f benchFigure) withBaseline(name string, v float64) benchFigure {
	f.Baseline, f.BaselineName = &v, name
	return f
}

func (f benchFigure) withNote(note string) benchFigure {
	f.Note = note
	return f
}

func formatValue(v float64, unit string) string {
	switch unit {
	case "s":
		return fmt.Sprintf("%.2f s", v)
	case "ms":
		return fmt.Sprintf("%.1f ms", v)
	case "MB":
		return fmt.Sprintf("%.2f MB", v)
	case "calls":
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g %s", v, unit)
}

// printBenchFigures prints the closing table of the benchmarks that ran
// (called by TestMain) and writes bench-results/latest.json.
func printBenchFigures() {
	benchFigures.Lock()
	rows := benchFigures.rows
	benchFigures.Unlock()
	order := []string{"trickle", "burst", "cleanup", "scale", "functions"}
	slices.SortStableFunc(rows, func(a, b benchFigure) int {
		return cmp.Compare(slices.Index(order, a.Scenario), slices.Index(order, b.Scenario))
	})
	if len(rows) > 0 {
		printFigures(os.Stdout, rows)
		if err := writeFigures(rows); err != nil {
			fmt.Fprintf(os.Stderr, "bench results: %v\n", err)
		}
	}
}

func printFigures(w io.Writer, rows []benchFigure) {
	fmt.Fprintf(w, "\n=== sgpilot benchmark figures (issue 12) ===\n")
	fmt.Fprintf(w, "%-9s %-44s %12s %-26s %7s %-14s %-6s %s\n", "scenario", "figure", "measured", "bound / goal", "ratio", "goal", "", "baseline")
	for _, r := range rows {
		bound := "-"
		if r.BoundKind != "" {
			bound = r.BoundKind + " " + formatValue(r.Bound, r.Unit)
		}
		ratio := "-"
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.3f", r.Ratio)
		}
		base := ""
		if r.Baseline != nil {
			base = r.BaselineName + " " + formatValue(*r.Baseline, r.Unit)
		}
		fmt.Fprintf(w, "%-9s %-44s %12s %-26s %7s %-14s %-6s %s\n", r.Scenario, r.Name, formatValue(r.Measured, r.Unit), bound, ratio, r.Goal, verdict(r.Met), base)
		if r.Note != "" {
			fmt.Fprintf(w, "%-9s   note: %s\n", "", r.Note)
		}
	}
	fmt.Fprintln(w)
}

// writeFigures writes bench-results/bench-<UTC time>.json and latest.json.
func writeFigures(rows []benchFigure) error {
	root, err := harness.RepoRoot()
	if err != nil {
		return err
	}
	dir := filepath.Join(root, "bench-results")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	body, err := json.MarshalIndent(struct {
		Time    time.Time     `json:"time"`
		Figures []benchFigure `json:"figures"`
	}{time.Now().UTC(), rows}, "", "  ")
	if err != nil {
		return err
	}
	name := filepath.Join(dir, "bench-"+time.Now().UTC().Format("20060102T150405Z")+".json")
	if err := os.WriteFile(name, body, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "figures written to %s\n", name)
	return os.WriteFile(filepath.Join(dir, "latest.json"), body, 0o644)
}
