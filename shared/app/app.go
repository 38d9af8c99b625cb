// Package app wires sgpilot's functions: configuration, logger, adapters and
// use cases, one constructor per function. The functions' mains only call
// Main; end-to-end tests drive the same handlers through the real binaries.
package app

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/adapter/ecsapi"
	"github.com/sgpilot/sgpilot/shared/adapter/fcruntime"
	"github.com/sgpilot/sgpilot/shared/adapter/mnsqueue"
	"github.com/sgpilot/sgpilot/shared/core/cloudauth"
	"github.com/sgpilot/sgpilot/shared/core/config"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/retry"
)

// Builder makes a function's handler from its dependencies.
type Builder func(deps *Deps) (fcruntime.Handler, error)

// Main loads the configuration from the environment, builds the logger and
// the handler, and runs it under the FC runtime. It exits with a clear
// message when the configuration is invalid, before serving anything.
func Main(function string, build Builder) {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", function, err)
		os.Exit(2)
	}
	logger, err := logging.New(cfg.LogLevel, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", function, err)
		os.Exit(2)
	}
	logger = logger.With(zap.String(logging.FieldFunction, function))
	limit := setMemoryLimit(os.Getenv)
	logger.Info("starting", zap.Any("config", cfg.Redacted()), zap.Int64("memory_limit_bytes", limit))
	deps := NewDeps(cfg, logger, os.Getenv)
	h, err := build(deps)
	if err != nil {
		logger.Error("cannot build handler", zap.Error(err))
		os.Exit(2)
	}
	fcruntime.Start(logger, function, h)
}

// Deps are the dependencies shared by the handlers of one process. Adapter
// clients are built lazily from the invocation's credentials and reused while
// the credentials stay the same (FC rotates role credentials, so a change
// builds new clients; the client-side rate limiter lives on across
// invocations otherwise).
type Deps struct {
	Config config.Config
	Logger *zap.Logger
	Getenv func(string) string

	mu      sync.Mutex
	credKey string
	// templates outlives the ECS clients rebuilt at each credential
	// rotation: launch template versions never change, so a warm instance
	// reads each one once.
	templates *ecsapi.TemplateVersionCache
	// limiter paces ECS calls across client rebuilds too.
	limiter *ecsapi.RateLimiter
	ecs     *ecsapi.Client
	work    *mnsqueue.Queue
	dlq     *mnsqueue.Queue
	failed  *mnsqueue.Queue

	// Exit ends the process (nil means os.Exit); tests replace it.
	Exit func(code int)
	// ExitDelay is how long after a handler panic the process waits for the
	// runtime to post the response before it exits (0 means
	// DefaultExitDelay).
	ExitDelay time.Duration
}

// DefaultExitDelay leaves the FC runtime time to post the invocation's
// response before the process exits after a handler panic.
const DefaultExitDelay = time.Second

// ExitCodePanicked is the exit status after a handler panic.
const ExitCodePanicked = 3

// exitAfterResponse ends the process shortly after the current invocation
// responds. A recovered panic may leave the process in a bad state (a lock
// held, a half-updated cache), so, like aws-lambda-go after a panic, the
// function reports it and exits rather than serve the next invocation; the
// platform starts a fresh instance.
func (d *Deps) exitAfterResponse(ctx context.Context) {
	exit, delay := d.Exit, d.ExitDelay
	if exit == nil {
		exit = os.Exit
	}
	if delay <= 0 {
		delay = DefaultExitDelay
	}
	logging.FromContext(ctx).Error("a handler panicked: the process exits after this response",
		zap.Duration("after", delay), zap.Int("code", ExitCodePanicked))
	time.AfterFunc(delay, func() { exit(ExitCodePanicked) })
}

// NewDeps returns dependencies for cfg.
func NewDeps(cfg config.Config, logger *zap.Logger, getenv func(string) string) *Deps {
	return &Deps{Config: cfg, Logger: logger, Getenv: getenv}
}

// Clients are the adapters for one invocation.
type Clients struct {
	ECS        *ecsapi.Client
	Work       *mnsqueue.Queue
	DeadLetter *mnsqueue.Queue
	// FailedEvents is read by the queue-worker's dead-letter tooling only.
	FailedEvents *mnsqueue.Queue
}

// Clients returns adapters signed with the invocation's credentials.
func (d *Deps) Clients(ctx context.Context) (Clients, error) {
	creds, err := fcruntime.Credentials(ctx, d.Getenv)
	if err != nil {
		return Clients{}, err
	}
	key := creds.AccessKeyID + "\x00" + creds.SecurityToken
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ecs != nil && d.credKey == key {
		return Clients{ECS: d.ecs, Work: d.work, DeadLetter: d.dlq, FailedEvents: d.failed}, nil
	}
	cfg := d.Config
	if d.limiter == nil {
		d.limiter = ecsapi.NewRateLimiter(cfg.ECSRateLimit, nil)
	}
	if d.templates == nil {
		d.templates = ecsapi.NewTemplateVersionCache()
	}
	ecs, err := ecsapi.New(ecsapi.Config{
		RegionID: cfg.Regions[0], Endpoint: cfg.ECSEndpoint, Credentials: creds, RateLimit: cfg.ECSRateLimit,
		Retry: retry.Default(), TemplateVersions: d.templates, Limiter: d.limiter,
	})
	if err != nil {
		return Clients{}, fmt.Errorf("build ECS client: %w", err)
	}
	work, err := d.queue(cfg.WorkQueue, creds)
	if err != nil {
		return Clients{}, err
	}
	dlq, err := d.queue(cfg.DeadLetterQueue, creds)
	if err != nil {
		return Clients{}, err
	}
	failed, err := d.queue(cfg.FailedEventsQueue, creds)
	if err != nil {
		return Clients{}, err
	}
	d.credKey, d.ecs, d.work, d.dlq, d.failed = key, ecs, work, dlq, failed
	return Clients{ECS: ecs, Work: work, DeadLetter: dlq, FailedEvents: failed}, nil
}

func (d *Deps) queue(name string, creds cloudauth.Credentials) (*mnsqueue.Queue, error) {
	q, err := mnsqueue.New(mnsqueue.Config{
		Endpoint: d.Config.MNSEndpoint, DialAddress: d.Config.MNSDialAddress, Queue: name, Credentials: creds,
	})
	if err != nil {
		return nil, fmt.Errorf("build MNS client for queue %s: %w", name, err)
	}
	return q, nil
}
