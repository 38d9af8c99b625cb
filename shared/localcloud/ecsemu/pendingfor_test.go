package ecsemu_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
)

// PendingFor gives each new instance its own Pending time, so instances of
// one RunInstances reach Running (and announce it) at different times.
func TestRunInstances_PendingForPerInstance(t *testing.T) {
	delays := []time.Duration{10 * time.Second, 30 * time.Second}
	next := 0
	f := newFixture(t, ecsemu.Options{PendingFor: func() time.Duration {
		d := delays[next%len(delays)]
		next++
		return d
	}})
	f.env.Clock.Freeze()
	sg := f.createGroup(t, f.svc.DefaultVPCID(), "web")
	ids := f.run(t, f.svc.DefaultVSwitchID(), 2, sg)

	running := func() map[string]bool {
		out := map[string]bool{}
		for _, ev := range f.eventsOf("ecs:Instance:StateChange") {
			var d struct{ ResourceID, State string }
			if err := json.Unmarshal(ev.Data, &d); err == nil && d.State == "Running" {
				out[d.ResourceID] = true
			}
		}
		return out
	}
	steps := []struct {
		name    string
		advance time.Duration
		want    map[string]bool
	}{
		{"before either is due", 9 * time.Second, map[string]bool{}},
		{"first Running", 10*time.Second + ecsemu.DefaultStartingDuration - 9*time.Second, map[string]bool{ids[0]: true}},
		{"second Running", 20 * time.Second, map[string]bool{ids[0]: true, ids[1]: true}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			f.env.Clock.Advance(st.advance)
			f.svc.Tick()
			got := running()
			if len(got) != len(st.want) {
				t.Fatalf("Running events for %v, want %v", got, st.want)
			}
			for id := range st.want {
				if !got[id] {
					t.Fatalf("no Running event for %s (got %v)", id, got)
				}
			}
		})
	}
}
