// Package harness starts a localcloud running sgpilot's real function
// binaries and drives it through the real ECS SDK, for the end-to-end tests,
// the benchmarks and `make demo`. It is the one place that knows how to build
// the functions for local runs and how to seed a realistic account.
package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/localcloud"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
)

// Functions are the function directories under functions/.
var Functions = []string{"instance-created", "queue-worker", "nightly-cleanup"}

// RepoRoot finds the module root by walking up from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/sgpilot/sgpilot") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("harness: not inside the sgpilot module")
		}
		dir = parent
	}
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// BuildFunctions compiles every function for this machine (the emulator runs
// them as local processes) into a temporary folder laid out like dist/, once
// per process, and returns that folder. Statically linked, as for FC.
func BuildFunctions() (string, error) {
	buildOnce.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		buildDir, buildErr = os.MkdirTemp("", "sgpilot-functions-")
		if buildErr != nil {
			return
		}
		for _, fn := range Functions {
			cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(buildDir, fn, "main"), "./functions/"+fn)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", fn, err, out)
				return
			}
		}
	})
	return buildDir, buildErr
}

// Options configures Start.
type Options struct {
	// Functions runs the three functions of s.yaml with their triggers.
	Functions bool
	// CodeDir holds built functions (default: BuildFunctions()).
	CodeDir string
	// Seed replaces the default account (see DemoSeed).
	Seed *ecsemu.Seed
	// FunctionEnv is added to the functions' environment (e.g. faster retries).
	FunctionEnv map[string]string
	// Log receives function output (nil = discard).
	Log io.Writer
	ECS localcloud.Options
}

// Cloud is a running localcloud with an SDK client.
type Cloud struct {
	*localcloud.Server
	SDK    *ecs.Client
	Region string
}

// Start starts localcloud (with the functions when asked) and returns it.
func Start(ctx context.Context, opts Options) (*Cloud, error) {
	lo := opts.ECS
	lo.Queues = append(lo.Queues, "sgpilot-work", "sgpilot-dead-letter")
	lo.Log = opts.Log
	lo.FunctionEnv = opts.FunctionEnv
	if opts.Functions {
		root, err := RepoRoot()
		if err != nil {
			return nil, err
		}
		code := opts.CodeDir
		if code == "" {
			if code, err = BuildFunctions(); err != nil {
				return nil, err
			}
		}
		lo.FunctionsFile = filepath.Join(root, "s.yaml")
		lo.Vars = map[string]string{"codeDir": code, "accountId": localcloud.DefaultAccountID, "region": localcloud.DefaultRegion}
	}
	srv, err := localcloud.Start(ctx, lo)
	if err != nil {
		return nil, err
	}
	if opts.Seed != nil {
		if err := srv.ECS.Seed(*opts.Seed); err != nil {
			_ = srv.Close()
			return nil, fmt.Errorf("harness: seed: %w", err)
		}
	}
	c := &Cloud{Server: srv, Region: srv.Info().RegionID}
	if c.SDK, err = c.NewSDK(); err != nil {
		_ = srv.Close()
		return nil, err
	}
	return c, nil
}

// InstanceGroups returns each instance's groups (sorted) from the emulator's
// state, without an API call (so counters measure sgpilot alone).
func (c *Cloud) InstanceGroups() map[string][]string {
	out := map[string][]string{}
	for _, in := range c.ECS.Snapshot().Instances {
		g := append([]string(nil), in.SecurityGroupIDs...)
		sort.Strings(g)
		out[in.ID] = g
	}
	return out
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
			req.Tag = &[]ecs.RunInstancesTag{{Key: "sgpilot:role", Value: roles}}
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

// WaitFor polls cond until it holds or ctx ends; it returns the last reason
// cond gave for not holding.
func WaitFor(ctx context.Context, every time.Duration, cond func() (bool, string)) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		ok, why := cond()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up waiting: %s", why)
		case <-t.C:
		}
	}
}
