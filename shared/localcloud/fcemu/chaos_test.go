package fcemu_test

import (
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
)

func TestInvocationFaults(t *testing.T) {
	tests := []struct {
		name               string
		faults             fcemu.InvocationFaults
		wantType           string
		wantKill, wantTime int64
	}{
		{name: "killed mid-invocation", faults: fcemu.InvocationFaults{KillRate: 1, KillWithin: 50 * time.Millisecond},
			wantType: fcemu.ErrorTypeProcessExited, wantKill: 1},
		{name: "out of time", faults: fcemu.InvocationFaults{TimeoutRate: 1, Timeout: 50 * time.Millisecond},
			wantType: fcemu.ErrorTypeTimeout, wantTime: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := MustEmulator(t, newEnv(), fastOptions(), testSpec("fn"))
			if err := e.SetInvocationFaults("fn", tc.faults); err != nil {
				t.Fatal(err)
			}
			res := MustInvoke(t, e, "fn", `{"action":"sleep","ms":1000}`)
			if res.Error == nil || res.Error.ErrorType != tc.wantType {
				t.Fatalf("error = %+v, want %s", res.Error, tc.wantType)
			}
			st, _ := e.Stats("fn")
			if st.InjectedKills != tc.wantKill || st.InjectedTimeouts != tc.wantTime || st.Crashes != 0 {
				t.Errorf("stats = %+v", st)
			}
			// Faults off: the function works again on a fresh instance.
			if err := e.SetInvocationFaults("fn", fcemu.InvocationFaults{}); err != nil {
				t.Fatal(err)
			}
			if res := MustInvoke(t, e, "fn", `{}`); res.Error != nil {
				t.Errorf("after the faults: %+v", res.Error)
			}
		})
	}
	e := MustEmulator(t, newEnv(), fastOptions(), testSpec("fn"))
	if err := e.SetInvocationFaults("fn", fcemu.InvocationFaults{KillRate: 0.7, TimeoutRate: 0.7}); err == nil {
		t.Error("rates adding up to more than 1 were accepted")
	}
}
