package e2e_test

// BenchmarkOnboardingTrickle: instances created one per second, each
// reaching Running 10–40 s after creation (seeded), and the time from
// Running to joined. Two localclouds run the same trickle side by side:
// one delivers every state-change event (sgpilot as built), the other hides
// the Running events from EventBridge, so only the Created event and the
// worker's retry schedule can join an instance (the old schedule).
//
//	SGPILOT_BENCH_TRICKLE   how long instances keep coming (default 5m; e.g. 30s for a quick run)

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud"
	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/testkit/harness"
)

const (
	trickleSeed        = 12
	trickleMinRunning  = 10 * time.Second
	trickleMaxRunning  = 40 * time.Second
	trickleStarting    = time.Second // Starting → Running; Pending takes the rest
	trickleGoalP99     = 2 * time.Second
	trickleJoinTimeout = 10 * time.Minute
)

type trickleRun struct {
	name      string
	n         int
	latencies []time.Duration // joined − Running
	calls     ecsCalls
	problems  []string
}

func BenchmarkOnboardingTrickle(b *testing.B) {
	span := 5 * time.Minute
	if v := strings.TrimSpace(os.Getenv("SGPILOT_BENCH_TRICKLE")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			b.Fatalf("SGPILOT_BENCH_TRICKLE=%q: want a duration of at least 1s", v)
		}
		span = d
	}
	n := int(span / time.Second)
	b.ResetTimer()
	var (
		wg             sync.WaitGroup
		sgpilot, sched trickleRun
	)
	wg.Add(2)
	go func() { defer wg.Done(); sgpilot = runTrickle(b, "all events", n, false) }()
	go func() { defer wg.Done(); sched = runTrickle(b, "no Running event", n, true) }()
	wg.Wait()
	b.StopTimer()

	w := os.Stdout
	fmt.Fprintf(w, "\n=== BenchmarkOnboardingTrickle: %d instances, one per second, each Running %s–%s after creation (seed %d) ===\n",
		n, trickleMinRunning, trickleMaxRunning, trickleSeed)
	fmt.Fprintf(w, "latency = joined (all role groups, seen in the emulator's state every 50 ms) − Running (the state-change event's publication).\n"+
		"\"all events\": EventBridge delivers every ecs:Instance:StateChange; \"no Running event\": the Running events are hidden from\n"+
		"EventBridge, so only the Created event and the work queue's retry schedule can join an instance (the old schedule).\n\n")
	fmt.Fprintf(w, "%-20s %10s %10s %10s %10s %12s\n", "variant", "joined", "p50", "p99", "max", "ECS calls")
	for _, r := range []trickleRun{sgpilot, sched} {
		calls, _ := r.calls.total()
		fmt.Fprintf(w, "%-20s %10s %10s %10s %10s %12d\n", r.name, fmt.Sprintf("%d/%d", len(r.latencies), r.n),
			secs(percentile(r.latencies, .50)), secs(percentile(r.latencies, .99)), secs(percentile(r.latencies, 1)), calls)
	}
	fmt.Fprintln(w)

	p50, p99 := percentile(sgpilot.latencies, .50), percentile(sgpilot.latencies, .99)
	note := ""
	if len(sgpilot.latencies) > 0 && p99 > trickleGoalP99 && p99 >= percentile(sched.latencies, .99)/2 {
		note = "joined − Running follows the retry schedule: the Running event does not (yet) start onboarding"
	}
	recordFigure(benchFigure{Scenario: "trickle", Name: "Running → joined p50", Measured: p50.Seconds(), Unit: "s",
		Goal: "(no goal)", Met: true}.withBaseline("old schedule", percentile(sched.latencies, .50).Seconds()))
	recordFigure(goalFigure("trickle", "Running → joined p99", p99.Seconds(), "s", trickleGoalP99.Seconds()).
		withBaseline("old schedule", percentile(sched.latencies, .99).Seconds()).withNote(note))
	b.ReportMetric(p50.Seconds(), "p50-s")
	b.ReportMetric(p99.Seconds(), "p99-s")
	b.ReportMetric(percentile(sched.latencies, .99).Seconds(), "old-p99-s")

	for _, r := range []trickleRun{sgpilot, sched} {
		for _, p := range r.problems {
			b.Errorf("%s: %s", r.name, p)
		}
	}
}

// runTrickle runs one variant on its own localcloud. Both variants draw the
// same Running delays (same seed, same order of creation).
func runTrickle(b *testing.B, name string, n int, hideRunning bool) trickleRun {
	r := trickleRun{name: name, n: n}
	rng := rand.New(rand.NewSource(trickleSeed))
	opts := localcloud.Options{ECS: ecsemu.Options{
		StartingDuration: trickleStarting,
		PendingFor: func() time.Duration {
			span := trickleMaxRunning - trickleMinRunning
			return trickleMinRunning - trickleStarting + time.Duration(rng.Int63n(int64(span)+1))
		},
	}}
	if hideRunning {
		opts.FC.DropEvent = func(ev core.CloudEvent) bool { return stateOf(ev) == "Running" }
	}
	seed := harness.DemoSeed()
	c, err := harness.Start(context.Background(), harness.Options{Functions: true, Seed: &seed, Log: benchLog(b), ECS: opts})
	if err != nil {
		b.Error(err)
		return r
	}
	defer c.Close()
	c.Env.Controls.SetRateLimit("ecs", core.AnyAction, core.RateLimit{PerSecond: benchRate, Burst: 1})
	c.Env.Controls.SetRateLimit("ecs", "RunInstances", core.RateLimit{PerSecond: 1e6, Burst: 1 << 20})
	c.Env.Controls.ResetCounters()

	var mu sync.Mutex
	running := map[string]time.Time{}
	unsub := c.Env.Events.Subscribe(func(ev core.CloudEvent) {
		if stateOf(ev) != "Running" {
			return
		}
		var d struct {
			ResourceID string `json:"resourceId"`
		}
		if json.Unmarshal(ev.Data, &d) == nil {
			mu.Lock()
			running[d.ResourceID] = time.Now()
			mu.Unlock()
		}
	})
	defer unsub()

	want := map[string][]string{}
	joined := map[string]time.Time{}
	type net struct{ vsw, base, web, db string }
	nets := []net{{harness.VSwitchA, harness.BaseA, harness.WebA, harness.DBA}, {harness.VSwitchB, harness.BaseB, harness.WebB, harness.DBB}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(n)*time.Second+trickleJoinTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	next := time.Now()
	created := 0
watch:
	for {
		now := time.Now()
		if created < n && !now.Before(next) {
			nw := nets[created%2]
			ids, err := c.RunInstances(nw.vsw, nw.base, "web,db", 1)
			if err != nil {
				r.problems = append(r.problems, fmt.Sprintf("RunInstances: %v", err))
				return r
			}
			want[ids[0]] = sorted([]string{nw.base, nw.web, nw.db})
			created++
			next = next.Add(time.Second)
		}
		got := c.InstanceGroups()
		for id, wg := range want {
			if _, ok := joined[id]; !ok && slices.Equal(got[id], wg) {
				joined[id] = now
			}
		}
		if created == n && len(joined) == n {
			break
		}
		select {
		case <-ctx.Done():
			r.problems = append(r.problems, fmt.Sprintf("%d of %d instances never joined their groups", n-len(joined), n))
			break watch
		case <-tick.C:
		}
	}
	mu.Lock()
	for id, at := range joined {
		if run, ok := running[id]; ok {
			r.latencies = append(r.latencies, max(0, at.Sub(run)))
		} else {
			r.problems = append(r.problems, "no Running event seen for "+id)
		}
	}
	mu.Unlock()
	if _, err := waitWorkQueueIdle(ctx, c, 3*time.Second); err != nil {
		r.problems = append(r.problems, "work queue never emptied: "+err.Error())
	}
	r.calls = readECSCalls(c.Env.Controls, "RunInstances")
	if dl := deadLetters(c); len(dl) > 0 {
		r.problems = append(r.problems, fmt.Sprintf("%d dead letters, e.g. %s", len(dl), dl[0]))
	}
	return r
}

// stateOf returns the state of an ecs:Instance:StateChange event, or "".
func stateOf(ev core.CloudEvent) string {
	if ev.Type != "ecs:Instance:StateChange" {
		return ""
	}
	var d struct {
		State string `json:"state"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	return d.State
}
