package app

import (
	"math"
	"runtime/debug"
	"strconv"

	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
)

// memoryLimitShare is the part of the function's memory size given to the
// Go runtime as its soft limit: the rest covers the binary's own pages and
// the runtime's untracked memory, which the limit does not count.
const memoryLimitShare = 0.8

// setMemoryLimit gives the Go runtime a soft memory limit below the
// function's memory size: FC kills an instance that goes over its size, and
// with the default GOGC alone a heap of live size L may grow to 2L before
// the collector runs. Near the limit the collector runs more often instead.
// GOMEMLIMIT, when set, wins (the runtime has read it already). It returns
// the limit set, in bytes, or 0.
//
// FC_FUNCTION_MEMORY_SIZE (MB) is among the variables FC sets for an
// instance according to the reference, marked unconfirmed there; without
// it nothing is set, and GOMEMLIMIT in the function's environment does the
// same job.
func setMemoryLimit(getenv func(string) string) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return 0
	}
	mb, err := strconv.ParseInt(getenv("FC_FUNCTION_MEMORY_SIZE"), 10, 64)
	if err != nil || mb <= 0 {
		return 0
	}
	limit := int64(float64(mb<<20) * memoryLimitShare)
	debug.SetMemoryLimit(limit)
	return limit
}

// cleanupBudget is the group budget of this process's cleanup regions and
// parts: half of the Go memory limit (the other half is for the other jobs
// of a batch and the collector's headroom), at cleanup.BytesPerHeldGroup
// per group. Without a limit (GOMEMLIMIT unset and no memory size known)
// nothing is bounded, as before the limit existed.
func cleanupBudget() *cleanup.GroupBudget {
	limit := debug.SetMemoryLimit(-1) // reads the limit
	if limit <= 0 || limit == math.MaxInt64 {
		return nil
	}
	return cleanup.NewGroupBudget(int(limit / 2 / cleanup.BytesPerHeldGroup))
}
