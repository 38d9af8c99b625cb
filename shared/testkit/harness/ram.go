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
//	SGPILOT_E2E_RAM=enforce|record       hold each function to its role's policy and record every
//	                                     call in RAMRecorder (shared/e2e's TestMain prints the table)
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
		opts.ECS.RAM.Mode = os.Getenv(EnvRAM)
	}
	if opts.ECS.RAM.Mode != localcloud.RAMOff && opts.ECS.RAM.Recorder == nil {
		opts.ECS.RAM.Recorder = RAMRecorder()
	}
	return opts
}
