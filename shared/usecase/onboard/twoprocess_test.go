package onboard_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/task"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/onboard"
)

// procKey marks a context with the "process" whose call it carries, so
// that the fake's interceptor can force an interleaving.
type procKey struct{}

func procOf(ctx context.Context) string { p, _ := ctx.Value(procKey{}).(string); return p }

// barrier releases its waiters once parties have arrived (or ctx ends).
type barrier struct {
	mu      sync.Mutex
	parties int
	n       int
	ch      chan struct{}
}

func newBarrier(parties int) *barrier { return &barrier{parties: parties, ch: make(chan struct{})} }

func (b *barrier) wait(ctx context.Context) {
	b.mu.Lock()
	b.n++
	if b.n == b.parties {
		close(b.ch)
	}
	b.mu.Unlock()
	select {
	case <-b.ch:
	case <-ctx.Done():
	}
}

// proc is one queue-worker process: its own Onboarder and lock table.
type proc struct {
	name  string
	group string // the role group only this process's configuration allows
	ob    *onboard.Onboarder
	done  chan struct{}
}

// Two queue-worker processes (separate Onboarders, separate lock tables)
// onboard the same instance at once on an account whose quota (10) is
// above sgpilot's limit (5). Their configurations differ, as during a
// redeployment: each allows a different web group, so from the same read
// of 4 groups each plans a fifth, and together they make 6. Whatever the
// interleaving, every task ends with the instance within the limit, the
// instance ends in exactly one of the two groups, and the tasks converge
// within a few deliveries.
func TestHandle_TwoProcessesKeepTheLimit(t *testing.T) {
	tests := []struct {
		name string
		// lockstep: both read, then both join, then both check, together.
		lockstep bool
		// slowLoser: the process whose group ranks highest leaves it only
		// after the other has re-checked (it is slower than RecheckDelay).
		slowLoser bool
		// aFirst: B reads, then A runs to the end, then B writes.
		aFirst bool
		// swap gives A the group that ranks highest.
		swap bool
		// keptLow: the group that ranks lowest is the one kept, and its
		// task is done in the first round.
		keptLow   bool
		maxRounds int
	}{
		{name: "lockstep", lockstep: true, keptLow: true, maxRounds: 2},
		{name: "lockstep, A ranks highest", lockstep: true, swap: true, keptLow: true, maxRounds: 2},
		{name: "lockstep, loser slower than the recheck", lockstep: true, slowLoser: true, maxRounds: 3},
		{name: "A ends before B writes", aFirst: true, maxRounds: 2},
		{name: "A ends before B writes, A ranks highest", aFirst: true, swap: true, maxRounds: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ecs := fake.NewECS().SetDefaultGroupLimit(10)
			low := ecs.AddGroup(roleGroup(vpcA, "web"))
			high := ecs.AddGroup(roleGroup(vpcA, "web"))
			if low >= high {
				t.Fatalf("group IDs %s, %s: want them created in ascending order", low, high)
			}
			var base []string
			for i := 0; i < 4; i++ {
				base = append(base, ecs.AddGroup(domain.SecurityGroup{RegionID: region, VPCID: vpcA, Name: fmt.Sprintf("base-%d", i)}))
			}
			id := ecs.AddInstance(vpcInstance(vpcA, "web", base...))

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			a := &proc{name: "A", group: low, done: make(chan struct{})}
			b := &proc{name: "B", group: high, done: make(chan struct{})}
			if tc.swap {
				a.group, b.group = high, low
			}
			loser := map[bool]*proc{true: a, false: b}[a.group == high]
			other := map[*proc]*proc{a: b, b: a}
			// waiting is closed when the winner starts its wait before the
			// recheck: it has seen the instance above the limit.
			waiting := make(chan struct{})
			var waitOnce sync.Once
			for _, p := range []*proc{a, b} {
				p.ob = mustOnboarder(t, ecs, onboard.Options{GroupLimit: 5, Locks: onboard.NewLocks(), AllowedGroupIDs: []string{p.group},
					// The recheck waits until the other process has ended
					// its run (or a second: it may be gone).
					Sleep: func(ctx context.Context, d time.Duration) error {
						if d != onboard.DefaultRecheckDelay {
							t.Errorf("slept %s, want the recheck delay", d)
						}
						waitOnce.Do(func() { close(waiting) })
						select {
						case <-other[p].done:
						case <-time.After(time.Second):
						}
						return ctx.Err()
					}})
			}

			var mu sync.Mutex
			forcing := tc.lockstep
			calls := map[string]int{}
			joined, checked := newBarrier(2), newBarrier(2)
			winnerLeaving := make(chan struct{})
			var once sync.Once
			ecs.SetInterceptor(func(ctx context.Context, method string, _ []any) error {
				p := procOf(ctx)
				mu.Lock()
				calls[p+" "+method]++
				n, on := calls[p+" "+method], forcing
				mu.Unlock()
				if !on || p == "" {
					return nil
				}
				switch {
				case method == "JoinGroup" && n == 1:
					joined.wait(ctx) // both have read before either joins
				case method == "DescribeInstances" && n == 2:
					checked.wait(ctx) // both have joined before either checks
				case !tc.slowLoser && method == "LeaveGroup" && p == loser.name:
					// Both checks read 6 before the loser gives way.
					select {
					case <-waiting:
					case <-time.After(2 * time.Second):
						t.Error("the winner did not wait for the loser")
					}
				case tc.slowLoser && method == "LeaveGroup" && p == loser.name:
					<-winnerLeaving
				case tc.slowLoser && method == "LeaveGroup":
					once.Do(func() { close(winnerLeaving) })
				}
				return nil
			})
			if tc.slowLoser {
				// The winner's recheck does not wait for the loser here.
				other[other[loser]] = &proc{done: closed()}
			}

			count := func() int { in, _ := ecs.Instance(id); return len(in.GroupIDs) }
			last := map[string]task.Outcome{}
			run := func(p *proc, jobs []task.Job) {
				defer close(p.done)
				o := only(t, task.RunAll(context.WithValue(ctx, procKey{}, p.name), jobs))
				if n := count(); n > 5 {
					t.Errorf("round 1: %s's task ended with the instance in %d groups, over the limit of 5 (%+v)", p.name, n, o)
				}
				mu.Lock()
				last[p.name] = o
				mu.Unlock()
			}
			handle := func(p *proc) []task.Job {
				return p.ob.Handle(context.WithValue(ctx, procKey{}, p.name), tasksFor(id))
			}

			// Round 1: the race.
			switch {
			case tc.aFirst:
				jobsB := handle(b)
				run(a, handle(a))
				run(b, jobsB)
			default:
				var wg sync.WaitGroup
				for _, p := range []*proc{a, b} {
					wg.Add(1)
					go func() { defer wg.Done(); run(p, handle(p)) }()
				}
				wg.Wait()
			}
			if ctx.Err() != nil {
				t.Fatal("round 1 hung")
			}
			mu.Lock()
			round1 := fmt.Sprint(calls)
			mu.Unlock()
			if tc.keptLow {
				winner := other[loser]
				// Each: the batch's read and the check; the winner also
				// reads again after the wait.
				mu.Lock()
				want := map[string]int{winner.name: 3, loser.name: 2}
				for name, n := range want {
					if got := calls[name+" DescribeInstances"]; got != n {
						t.Errorf("%s made %d DescribeInstances in round 1, want %d", name, got, n)
					}
				}
				mu.Unlock()
				if o := last[winner.name]; o.Result != task.Done {
					t.Errorf("the task whose group ranks lowest: %+v, want done in the first round", o)
				}
				if o := last[loser.name]; o.Result != task.Retry || o.Reason != task.ReasonChanged {
					t.Errorf("the task whose group ranks highest: %+v, want a retry to re-plan", o)
				}
			}

			// Later deliveries of the retried tasks: jittered retries do not
			// meet, so they come one after the other.
			mu.Lock()
			forcing = false
			mu.Unlock()
			rounds := 1
			for ; ; rounds++ {
				var again []*proc
				for _, p := range []*proc{a, b} {
					if last[p.name].Result == task.Retry {
						again = append(again, p)
					}
				}
				if len(again) == 0 {
					break
				}
				if rounds == tc.maxRounds {
					t.Fatalf("not settled after %d rounds: %+v", rounds, last)
				}
				for _, p := range again {
					o := only(t, task.RunAll(context.WithValue(ctx, procKey{}, p.name), handle(p)))
					if n := count(); n > 5 {
						t.Errorf("round %d: %s's task ended with the instance in %d groups", rounds+1, p.name, n)
					}
					last[p.name] = o
				}
			}

			got := groupsOf(t, ecs, id)
			inLow, inHigh := contains(got, low), contains(got, high)
			if inLow == inHigh || len(got) != 5 {
				t.Errorf("final groups %v: want the 4 base groups and exactly one web group (low %s, high %s)", got, low, high)
			}
			if tc.keptLow && !inLow {
				t.Errorf("final groups %v: the group that ranks lowest (%s) should be the one kept", got, low)
			}
			// Each process ends done (its group is in) or refused as over
			// the limit (the other's group is in and its own cannot fit).
			for _, p := range []*proc{a, b} {
				o := last[p.name]
				mine := contains(got, p.group)
				if (mine && o.Result != task.Done) || (!mine && (o.Result != task.DeadLetter || o.Reason != domain.ReasonOverLimit)) {
					t.Errorf("%s ended %+v with its group in: %v", p.name, o, mine)
				}
			}
			t.Logf("settled in %d rounds; calls in round 1: %s; in all: %v", rounds, round1, calls)
		})
	}
}

// Another writer undid part of this task's plan between its writes and
// the check: the task re-plans (a retry), writing nothing more.
func TestHandle_CheckSeesThePlanUndone(t *testing.T) {
	ecs := fake.NewECS()
	web := ecs.AddGroup(roleGroup(vpcA, "web"))
	db := ecs.AddGroup(roleGroup(vpcA, "db"))
	def := ecs.AddGroup(domain.SecurityGroup{RegionID: region, VPCID: vpcA})
	id := ecs.AddInstance(vpcInstance(vpcA, "web,db", def))
	describes := 0
	ecs.SetInterceptor(func(ctx context.Context, method string, _ []any) error {
		if method == "DescribeInstances" {
			if describes++; describes == 2 {
				// Another process, with an older read, leaves web.
				if err := ecs.LeaveGroup(context.Background(), region, id, web); err != nil {
					t.Errorf("other writer: %v", err)
				}
			}
		}
		return nil
	})
	o := runOne(t, mustOnboarder(t, ecs, onboard.Options{Locks: onboard.NewLocks()}), id)
	if o.Result != task.Retry || o.Reason != task.ReasonChanged {
		t.Fatalf("outcome %+v, want a retry to re-plan", o)
	}
	if o.RetryAfter < onboard.DefaultNotReadyDelay || o.RetryAfter > 2*onboard.DefaultNotReadyDelay {
		t.Errorf("retry after %s, want jittered in [%s, %s]", o.RetryAfter, onboard.DefaultNotReadyDelay, 2*onboard.DefaultNotReadyDelay)
	}
	if diff := cmp.Diff(sorted(def, db), groupsOf(t, ecs, id)); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	if n := ecs.Calls("LeaveGroup"); n != 1 {
		t.Errorf("%d leaves, want only the other writer's", n)
	}
}

// The check's read fails: a done task becomes a retry (the next delivery
// reads the instance and writes nothing if it is complete).
func TestHandle_CheckReadFails(t *testing.T) {
	ecs := fake.NewECS()
	web := ecs.AddGroup(roleGroup(vpcA, "web"))
	id := ecs.AddInstance(vpcInstance(vpcA, "web"))
	ob := mustOnboarder(t, ecs, onboard.Options{Locks: onboard.NewLocks()})
	jobs := ob.Handle(context.Background(), tasksFor(id))
	ecs.FailNext("DescribeInstances", throttled())
	o := only(t, task.RunAll(context.Background(), jobs))
	if o.Result != task.Retry || o.Reason != task.ReasonThrottled {
		t.Fatalf("outcome %+v, want a throttled retry", o)
	}
	if diff := cmp.Diff([]string{web}, groupsOf(t, ecs, id)); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	again := runOne(t, ob, id)
	if again.Result != task.Done || again.Reason != domain.ReasonComplete {
		t.Errorf("next delivery %+v, want done, complete", again)
	}
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func closed() chan struct{} { c := make(chan struct{}); close(c); return c }

// Another process adds a group between this task's join and its check,
// taking the instance to 6 with a group that ranks below this task's: this
// task leaves its own join and re-plans; if ECS refuses that leave, the
// task is dead-lettered (its next delivery would not know what to leave).
func TestHandle_CheckRepairsItsOwnJoin(t *testing.T) {
	tests := []struct {
		name       string
		leaveFails bool
		want       task.Result
		wantReason domain.Reason
	}{
		{"left and re-planned", false, task.Retry, task.ReasonChanged},
		{"leave refused", true, task.DeadLetter, domain.ReasonOverLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ecs := fake.NewECS().SetDefaultGroupLimit(10)
			other := ecs.AddGroup(domain.SecurityGroup{RegionID: region, VPCID: vpcA, Name: "other"}) // ranks lowest
			var base []string
			for i := 0; i < 4; i++ {
				base = append(base, ecs.AddGroup(domain.SecurityGroup{RegionID: region, VPCID: vpcA}))
			}
			web := ecs.AddGroup(roleGroup(vpcA, "web"))
			id := ecs.AddInstance(vpcInstance(vpcA, "web", base...))
			describes := 0
			ecs.SetInterceptor(func(ctx context.Context, method string, _ []any) error {
				if method == "DescribeInstances" {
					if describes++; describes == 2 {
						if err := ecs.JoinGroup(context.Background(), region, id, other); err != nil {
							t.Errorf("other process: %v", err)
						}
						if tc.leaveFails {
							ecs.FailNext("LeaveGroup", throttled())
						}
					}
				}
				return nil
			})
			o := runOne(t, mustOnboarder(t, ecs, onboard.Options{GroupLimit: 5, Locks: onboard.NewLocks()}), id)
			if o.Result != tc.want || o.Reason != tc.wantReason {
				t.Fatalf("outcome %+v, want %s %s", o, tc.want, tc.wantReason)
			}
			want := sorted(append([]string{other}, base...)...)
			if tc.leaveFails {
				want = sorted(append([]string{other, web}, base...)...)
			}
			if diff := cmp.Diff(want, groupsOf(t, ecs, id)); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
		})
	}
}
