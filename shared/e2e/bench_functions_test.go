package e2e_test

// BenchmarkFunctions: per function, the cold start (process launch → first
// GET .../invocation/next on the runtime API, median of 20 starts) and the
// size of the deployment zip built as `make build` builds it. Peak RSS is
// recorded by the burst and cleanup benchmarks, which load the functions.
//
//	SGPILOT_BENCH_COLD_STARTS   cold starts per function (default 20)

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
	"github.com/sgpilot/sgpilot/shared/testkit/harness"
)

// Goals of issue 12 for each function.
const (
	goalColdStart = 10 * time.Millisecond
	goalZipBytes  = 4 << 20
	goalPeakRSS   = 25 << 20
)

// coldStartPayload is a harmless event per function: whatever the function
// answers, the process has started and polled by then.
var coldStartPayload = map[string]string{
	"instance-created": `{}`,
	"queue-worker":     `[]`,
	"nightly-cleanup":  `{"mode":"plan"}`,
}

func BenchmarkFunctions(b *testing.B) {
	rounds := benchEnvInt(b, "SGPILOT_BENCH_COLD_STARTS", 20)
	if rounds == 0 {
		b.Skip("SGPILOT_BENCH_COLD_STARTS=0")
	}
	zips, err := buildReleaseZips(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	seed := harness.DemoSeed()
	c, err := harness.Start(context.Background(), harness.Options{Functions: true, Seed: &seed, Log: benchLog(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	b.ResetTimer()
	starts := map[string][]time.Duration{}
	for _, fn := range harness.Functions {
		for i := 0; i < rounds; i++ {
			if _, err := c.FC.Recycle(ctx, fn); err != nil {
				b.Fatalf("recycle %s: %v", fn, err)
			}
			before, _ := c.FC.Stats(fn)
			if _, err := c.FC.Invoke(ctx, fn, []byte(coldStartPayload[fn]), fcemu.InvokeOptions{Source: "bench"}); err != nil {
				b.Fatalf("invoke %s: %v", fn, err)
			}
			after, _ := c.FC.Stats(fn)
			starts[fn] = append(starts[fn], after.StartLatencies[len(before.StartLatencies):]...)
		}
	}
	b.StopTimer()

	w := os.Stdout
	fmt.Fprintf(w, "\n=== BenchmarkFunctions: cold start (process launch → first runtime API poll) over %d starts, zip as `make build` makes it ===\n", rounds)
	fmt.Fprintf(w, "%-18s %8s %10s %10s %10s %12s %12s\n", "function", "starts", "min", "median", "max", "zip bytes", "binary bytes")
	for _, fn := range harness.Functions {
		s := starts[fn]
		z := zips[fn]
		fmt.Fprintf(w, "%-18s %8d %10s %10s %10s %12d %12d\n", fn, len(s), ms(percentile(s, 0)), ms(median(s)), ms(percentile(s, 1)), z.zip, z.binary)
		recordFigure(goalFigure("functions", fn+": cold start (median)", float64(median(s))/float64(time.Millisecond), "ms",
			float64(goalColdStart)/float64(time.Millisecond)))
		recordFigure(goalFigure("functions", fn+": zip size", float64(z.zip)/(1<<20), "MB", float64(goalZipBytes)/(1<<20)).
			withNote(fmt.Sprintf("binary %.1f MB, stripped", float64(z.binary)/(1<<20))))
		b.ReportMetric(float64(median(s))/float64(time.Millisecond), fn+"-coldstart-ms")
		b.ReportMetric(float64(z.zip), fn+"-zip-bytes")
	}
	fmt.Fprintf(w, "(e2e binaries are built with -trimpath only; the zips with make build's -trimpath -ldflags=\"-s -w\" for linux/amd64)\n\n")
}

// recordPeakRSS records each function's peak resident set seen by fcemu.
func recordPeakRSS(c *harness.Cloud, during string, fns ...string) {
	for _, fn := range fns {
		st, ok := c.FC.Stats(fn)
		if !ok || st.PeakRSSKiB == 0 {
			continue
		}
		recordFigure(goalFigure("functions", fn+": peak RSS ("+during+")", float64(st.PeakRSSKiB)/1024, "MB", float64(goalPeakRSS)/(1<<20)))
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

type zipSize struct{ zip, binary int64 }

// buildReleaseZips builds each function as `make build` does (linux/amd64,
// static, stripped) and zips it with fczip, in dir.
func buildReleaseZips(dir string) (map[string]zipSize, error) {
	root, err := harness.RepoRoot()
	if err != nil {
		return nil, err
	}
	out := map[string]zipSize{}
	for _, fn := range harness.Functions {
		bin := filepath.Join(dir, fn, "main")
		zip := filepath.Join(dir, fn+".zip")
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./functions/"+fn)
		build.Dir = root
		build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
		if msg, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build %s: %v\n%s", fn, err, msg)
		}
		pack := exec.Command("go", "run", "./shared/cmd/fczip", "-o", zip, bin)
		pack.Dir = root
		if msg, err := pack.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("zip %s: %v\n%s", fn, err, msg)
		}
		var z zipSize
		for _, p := range []struct {
			path string
			n    *int64
		}{{zip, &z.zip}, {bin, &z.binary}} {
			st, err := os.Stat(p.path)
			if err != nil {
				return nil, err
			}
			*p.n = st.Size()
		}
		out[fn] = z
	}
	return out, nil
}
