package stack

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

	"github.com/sgpilot/sgpilot/shared/localcloud"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/mnsemu"
)

// Functions are the function directories under functions/.
var Functions = []string{"instance-created", "queue-worker", "nightly-cleanup"}

// Queue names: sgpilot's defaults (SGPILOT_WORK_QUEUE, SGPILOT_DEAD_LETTER_QUEUE).
const (
	WorkQueue       = "sgpilot-work"
	DeadLetterQueue = "sgpilot-dead-letter"
	// NotifyTopic is the notification topic of s.yaml (README "Notifications").
	NotifyTopic = "sgpilot-notify"
)

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
			return "", errors.New("stack: not inside the sgpilot module")
		}
		dir = parent
	}
}

var (
	buildMu  sync.Mutex
	buildDir string
)

// BuildFunctions compiles every function for this machine (the emulator runs
// them as local processes) into a temporary folder laid out like dist/, once
// per process, and returns that folder. Statically linked, as for FC.
// RemoveBuild deletes the folder.
func BuildFunctions() (string, error) {
	return BuildFunctionsContext(context.Background(), nil)
}

// BuildFunctionsContext is BuildFunctions with a context (canceling it stops
// the compiler) and a writer that hears about each function as it is built
// (nil = silent). A failed or canceled build leaves nothing behind.
func BuildFunctionsContext(ctx context.Context, progress io.Writer) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildDir != "" {
		return buildDir, nil
	}
	if progress == nil {
		progress = io.Discard
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "sgpilot-functions-")
	if err != nil {
		return "", fmt.Errorf("stack: build folder: %w", err)
	}
	for i, fn := range Functions {
		start := time.Now()
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(dir, fn, "main"), "./functions/"+fn)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
		if out, err := cmd.CombinedOutput(); err != nil {
			_ = os.RemoveAll(dir)
			if ctx.Err() != nil {
				return "", fmt.Errorf("build %s: %w", fn, ctx.Err())
			}
			return "", fmt.Errorf("build %s: %v\n%s", fn, err, out)
		}
		fmt.Fprintf(progress, "  built %s (%d/%d, %.0fs)\n", fn, i+1, len(Functions), time.Since(start).Seconds())
	}
	buildDir = dir
	return dir, nil
}

// RemoveBuild deletes the folder BuildFunctions made (about 100 MB), if any;
// the next BuildFunctions builds again (quickly: Go's build cache remains).
func RemoveBuild() error {
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildDir == "" {
		return nil
	}
	err := os.RemoveAll(buildDir)
	buildDir = ""
	return err
}

// Options configures Start.
type Options struct {
	// Functions runs the three functions of s.yaml with their triggers.
	Functions bool
	// FunctionsFile is the file the functions come from, relative to the
	// repository: "" or "s.yaml", or "template.yml" (the ROS stack).
	FunctionsFile string
	// CodeDir holds built functions (default: BuildFunctions()).
	CodeDir string
	// Seed replaces the default account (see DemoSeed).
	Seed *ecsemu.Seed
	// FunctionEnv is added to the functions' environment (e.g. faster retries).
	FunctionEnv map[string]string
	// Log receives function output (nil = discard).
	Log io.Writer
	// Progress hears about the build of the functions (nil = silent).
	Progress io.Writer
	// Cloud holds further localcloud options (queues are added to).
	Cloud localcloud.Options
}

// Stack is a running localcloud, with sgpilot's functions when asked.
type Stack struct {
	*localcloud.Server
	Region string
}

// Start starts localcloud (with the functions when asked), creates the work
// and dead-letter queues, seeds the account and returns it.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	lo := opts.Cloud
	lo.Queues = append(lo.Queues, WorkQueue, DeadLetterQueue)
	lo.Log = opts.Log
	lo.FunctionEnv = opts.FunctionEnv
	if opts.Functions {
		root, err := RepoRoot()
		if err != nil {
			return nil, err
		}
		code := opts.CodeDir
		if code == "" {
			if code, err = BuildFunctionsContext(ctx, opts.Progress); err != nil {
				return nil, err
			}
		}
		lo.FunctionsFile = filepath.Join(root, "s.yaml")
		lo.Vars = map[string]string{"codeDir": code, "accountId": localcloud.DefaultAccountID, "region": localcloud.DefaultRegion}
		if opts.FunctionsFile != "" && opts.FunctionsFile != "s.yaml" {
			lo.FunctionsFile = filepath.Join(root, opts.FunctionsFile)
			lo.Vars = map[string]string{"codeDir": code} // a template's account and region are localcloud's
		}
		withRAMPolicies(&lo, root, opts.FunctionEnv)
	}
	srv, err := localcloud.Start(ctx, lo)
	if err != nil {
		return nil, err
	}
	if _, err := srv.MNS.CreateTopic(NotifyTopic, mnsemu.TopicAttributes{}); err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("stack: create topic %s: %w", NotifyTopic, err)
	}
	if opts.Seed != nil {
		if err := srv.ECS.Seed(*opts.Seed); err != nil {
			_ = srv.Close()
			return nil, fmt.Errorf("stack: seed: %w", err)
		}
	}
	return &Stack{Server: srv, Region: srv.Info().RegionID}, nil
}

// InstanceGroups returns each instance's groups (sorted) from the emulator's
// state, without an API call (so counters measure sgpilot alone).
func (s *Stack) InstanceGroups() map[string][]string {
	out := map[string][]string{}
	for _, in := range s.ECS.Snapshot().Instances {
		g := append([]string(nil), in.SecurityGroupIDs...)
		sort.Strings(g)
		out[in.ID] = g
	}
	return out
}

// GroupTags returns every security group's tags by group ID, from the
// emulator's state (no API call).
func (s *Stack) GroupTags() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, g := range s.ECS.Snapshot().SecurityGroups {
		tags := map[string]string{}
		for _, t := range g.Tags {
			tags[t.Key] = t.Value
		}
		out[g.ID] = tags
	}
	return out
}

// QueueDepth is the number of messages (visible or not) in a queue.
func (s *Stack) QueueDepth(name string) int {
	for _, q := range s.MNS.Snapshot().Queues {
		if q.Name == name {
			return len(q.Messages)
		}
	}
	return 0
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
