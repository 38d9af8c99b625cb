package app

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestSetMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1)) // restore the test binary's limit
	cases := []struct {
		name string
		env  map[string]string
		want int64
	}{
		{"from the function's memory size", map[string]string{"FC_FUNCTION_MEMORY_SIZE": "256"}, 214748364}, // 0.8 × 256 MiB
		{"GOMEMLIMIT wins", map[string]string{"FC_FUNCTION_MEMORY_SIZE": "256", "GOMEMLIMIT": "100MiB"}, 0},
		{"no memory size", map[string]string{}, 0},
		{"not a number", map[string]string{"FC_FUNCTION_MEMORY_SIZE": "lots"}, 0},
		{"zero", map[string]string{"FC_FUNCTION_MEMORY_SIZE": "0"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			debug.SetMemoryLimit(math.MaxInt64)
			got := setMemoryLimit(func(k string) string { return c.env[k] })
			if got != c.want {
				t.Fatalf("setMemoryLimit = %d, want %d", got, c.want)
			}
			applied := debug.SetMemoryLimit(-1)
			if c.want > 0 && applied != c.want {
				t.Errorf("runtime limit %d, want %d", applied, c.want)
			}
			if c.want == 0 && applied != math.MaxInt64 {
				t.Errorf("runtime limit changed to %d", applied)
			}
		})
	}
}

func TestCleanupBudget(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	debug.SetMemoryLimit(math.MaxInt64)
	if b := cleanupBudget(); b != nil {
		t.Errorf("no memory limit: budget of %d groups, want none", b.Capacity())
	}
	debug.SetMemoryLimit(200 << 20)
	// Half of 200 MiB at 2 KiB a group.
	if got := cleanupBudget().Capacity(); got != 51200 {
		t.Errorf("budget %d groups, want 51200", got)
	}
}
