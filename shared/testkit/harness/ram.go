package harness

import (
	"os"
	"sync"

	"github.com/sgpilot/sgpilot/shared/localcloud"
	"github.com/sgpilot/sgpilot/shared/localcloud/ramemu"
)

// Environment switches that let every end-to-end test run another way
// without changing it:
//
//	SGPILOT_E2E_FUNCTIONS=template.yml   run the functions of the ROS template instead of s.yaml
//	SGPILOT_E2E_RAM=enforce|record|off   hold each function to its role's policy and record every
//	                                     call in RAMRecorder (default enforce: every end-to-end test
//	                                     proves its functions' permissions; shared/e2e's TestMain
//	                                     fails on a refusal and on a grant no test used)
const (
	EnvFunctions = "SGPILOT_E2E_FUNCTIONS"
	EnvRAM       = "SGPILOT_E2E_RAM"
)

var (
	ramMu  sync.Mutex
	ramRec = ramemu.NewRecorder()
)

// RAMRecorder returns the recorder every cloud started with RAM on shares.
func RAMRecorder() *ramemu.Recorder {
	ramMu.Lock()
	defer ramMu.Unlock()
	return ramRec
}

// SetRAMRecorder replaces the shared recorder (for a test that wants its
// own record) and returns a function restoring the previous one.
func SetRAMRecorder(r *ramemu.Recorder) (restore func()) {
	ramMu.Lock()
	prev := ramRec
	ramRec = r
	ramMu.Unlock()
	return func() {
		ramMu.Lock()
		ramRec = prev
		ramMu.Unlock()
	}
}

func withEnvDefaults(opts Options) Options {
	if opts.FunctionsFile == "" {
		opts.FunctionsFile = os.Getenv(EnvFunctions)
	}
	if opts.ECS.RAM.Mode == localcloud.RAMOff {
		opts.ECS.RAM.Mode = RAMMode()
	}
	if opts.ECS.RAM.Mode != localcloud.RAMOff && opts.ECS.RAM.Recorder == nil {
		opts.ECS.RAM.Recorder = RAMRecorder()
	}
	return opts
}

// RAMMode is the RAM mode end-to-end clouds run with: SGPILOT_E2E_RAM, or
// enforce when it is unset ("off" turns it off).
func RAMMode() string {
	switch m := os.Getenv(EnvRAM); m {
	case "":
		return localcloud.RAMEnforce
	case "off":
		return localcloud.RAMOff
	default:
		return m
	}
}
