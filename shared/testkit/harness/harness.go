// Package harness starts a localcloud running sgpilot's real function
// binaries (shared/localcloud/stack) and adds the real ECS SDK, for the
// end-to-end tests and the benchmarks. The demo uses stack directly: it is
// shipped tooling and imports no test code and no SDK.
package harness

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/localcloud"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/stack"
)

// Functions are the function directories under functions/.
var Functions = stack.Functions

// RepoRoot finds the module root by walking up from the working directory.
func RepoRoot() (string, error) { return stack.RepoRoot() }

// BuildFunctions compiles every function once per process (stack.BuildFunctions).
func BuildFunctions() (string, error) { return stack.BuildFunctions() }

// WaitFor polls cond until it holds or ctx ends (stack.WaitFor).
var WaitFor = stack.WaitFor

// Options configures Start.
type Options struct {
	// Functions runs the three functions of s.yaml with their triggers.
	Functions bool
	// FunctionsFile: "s.yaml" or "template.yml"; "" = $SGPILOT_E2E_FUNCTIONS,
	// else s.yaml (see ram.go).
	FunctionsFile string
	// CodeDir holds built functions (default: BuildFunctions()).
	CodeDir string
	// Seed replaces the default account (see DemoSeed).
	Seed *ecsemu.Seed
	// FunctionEnv is added to the functions' environment (e.g. faster retries).
	FunctionEnv map[string]string
	// Log receives function output (nil = discard).
	Log io.Writer
	// RetryTimeScale shortens the event stream's push retry waits
	// (fcemu.Options.RetryTimeScale); zero means DefaultRetryTimeScale.
	// The number of retries never changes.
	RetryTimeScale float64
	ECS            localcloud.Options
}

// DefaultRetryTimeScale turns BACKOFF_RETRY's 10-20 s waits into 100-200 ms.
const DefaultRetryTimeScale = 0.01

// FailedEventsQueue is the dead-letter queue of the work-queue event stream
// (s.yaml runOptions.deadLetterQueue).
const FailedEventsQueue = "sgpilot-failed-events"

// Cloud is a running stack with an SDK client.
type Cloud struct {
	*stack.Stack
	SDK *ecs.Client
}

// Start starts localcloud (with the functions when asked) and returns it.
func Start(ctx context.Context, opts Options) (*Cloud, error) {
	opts = withEnvDefaults(opts)
	cloud := opts.ECS
	if cloud.FC.RetryTimeScale == 0 {
		cloud.FC.RetryTimeScale = opts.RetryTimeScale
	}
	if cloud.FC.RetryTimeScale == 0 {
		cloud.FC.RetryTimeScale = DefaultRetryTimeScale
	}
	// localcloud creates the stream's dead-letter queue from s.yaml when it
	// runs the functions; without them the queue must exist all the same,
	// as the ROS stack (template.yml) creates it.
	if !slices.Contains(cloud.Queues, FailedEventsQueue) {
		cloud.Queues = append(slices.Clip(cloud.Queues), FailedEventsQueue)
	}
	st, err := stack.Start(ctx, stack.Options{Functions: opts.Functions, FunctionsFile: opts.FunctionsFile, CodeDir: opts.CodeDir,
		Seed: opts.Seed, FunctionEnv: opts.FunctionEnv, Log: opts.Log, Cloud: cloud})
	if err != nil {
		return nil, err
	}
	c := &Cloud{Stack: st}
	if c.SDK, err = c.NewSDK(); err != nil {
		_ = st.Close()
		return nil, err
	}
	return c, nil
}

// RunInstances creates n instances through the SDK in vSwitch (or the
// classic network when vSwitch is ""), in baseGroup, tagged with roles.
func (c *Cloud) RunInstances(vSwitch, baseGroup, roles string, n int) ([]string, error) {
	var ids []string
	for n > 0 {
		batch := min(n, 100) // RunInstances' Amount limit
		req := ecs.CreateRunInstancesRequest()
		req.RegionId = c.Region
		req.ImageId = "aliyun_3_x64_20G_alibase_20260101.vhd"
		req.InstanceType = "ecs.g7.large"
		req.VSwitchId = vSwitch
		req.SecurityGroupId = baseGroup
		req.Amount = requests.NewInteger(batch)
		if roles != "" {
			req.Tag = &[]ecs.RunInstancesTag{{Key: RoleTagKey, Value: roles}}
		}
		resp, err := c.SDK.RunInstances(req)
		if err != nil {
			return ids, fmt.Errorf("RunInstances: %w", err)
		}
		ids = append(ids, resp.InstanceIdSets.InstanceIdSet...)
		n -= batch
	}
	return ids, nil
}
