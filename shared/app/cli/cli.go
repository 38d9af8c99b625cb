// Package cli is the sgpilot command: the use cases of the three functions,
// run in this process against an account (shared/app.Local), with
// credentials from the aliyun CLI's profile file or the ALIBABA_CLOUD_*
// variables. It is read-only unless a write is asked for with --apply, and
// it prints the plan before it applies one. shared/cmd/sgpilot is its main.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/app"
	"github.com/sgpilot/sgpilot/shared/core/config"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
)

// Exit statuses.
const (
	ExitOK      = 0
	ExitFailed  = 1 // the command ran and failed, or its run reported errors
	ExitUsage   = 2 // bad command line or settings; a write without --apply
	ExitRefused = 3 // an approval no longer matched the plan: nothing changed
)

// Usage is the command's help.
const Usage = `sgpilot: run sgpilot's plans on an Alibaba Cloud account from this machine.

Usage:
  sgpilot plan                      onboarding plans (role-tagged instances whose groups are
                                    incomplete: the reconcile dry run) and the cleanup plan
  sgpilot audit                     audit every security group's rules
  sgpilot roles plan                what the role policy would change
  sgpilot roles apply --apply       make the role groups match the policy
  sgpilot cleanup plan              the stale-group cleanup plan
  sgpilot cleanup apply --apply [--approve PLAN-ID]
                                    mark, unmark and queue deletions, as the nightly run does;
                                    --approve lifts the blast-radius limit for exactly that plan
  sgpilot dead-letters list [selection]
  sgpilot dead-letters show ID...
  sgpilot dead-letters replay --apply (selection | --all)
                                    put dead-lettered tasks back on the work queue

Nothing changes without --apply: a write first prints its plan, then applies it.

Flags:
  --region R          region to work in (repeat or comma-separate); default: SGPILOT_REGIONS,
                      else the profile's region, else ALIBABA_CLOUD_REGION_ID
  --profile NAME      profile of the aliyun CLI (~/.aliyun/config.json; AK or StsToken mode)
  --account-id ID     the account (needed for the MNS queues: cleanup apply, dead-letters)
  --endpoint URL      ECS, Auto Scaling and ECI endpoint override (e.g. localcloud's)
  --mns-endpoint URL  MNS endpoint; a host:port that is not <account>.mns.<region>.aliyuncs.com
                      is dialed for the account's endpoint (localcloud)
  --json              JSON output (default: text)
  --apply             allow a write
  --approve ID        (cleanup apply) a withheld plan's ID
  --quiet             no progress lines (warnings still show)
  --verbose           the use cases' JSON log lines on stderr instead of progress lines
  Dead-letter selection: --id ID, --reason R, --instance I, --task T (each repeatable),
  --queue Q, --all, --limit N

Credentials, first found: --profile; ALIBABA_CLOUD_ACCESS_KEY_ID, _SECRET and
ALIBABA_CLOUD_SECURITY_TOKEN; the aliyun CLI's ALIBABA_CLOUD_PROFILE or current profile.
They are never printed. Every SGPILOT_* setting of the functions applies (README).
`

// Env is what the command reads and writes besides its arguments.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Home holds .aliyun/config.json.
	Home string
	// Terminal: Stderr is a terminal (progress is redrawn in place).
	Terminal bool
}

// list is a repeatable flag that also splits commas.
type list []string

func (l *list) String() string { return strings.Join(*l, ",") }
func (l *list) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// options are the parsed command line.
type options struct {
	cmd, action string
	args        []string // positional arguments after the command

	regions                     list
	profile, accountID          string
	endpoint, mnsEndpoint       string
	json, apply, quiet, verbose bool
	approve                     string
	ids, reasons, instances     list
	tasks                       list
	queue                       string
	all                         bool
	limit                       int
}

// commands and their actions ("" = none).
var commands = map[string][]string{
	"plan": nil, "audit": nil, "roles": {"plan", "apply"}, "cleanup": {"plan", "apply"},
	"dead-letters": {"list", "show", "replay"},
}

// usageError is a bad command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func parse(args []string) (options, error) {
	var o options
	if len(args) == 0 {
		return o, usageError{"no command"}
	}
	o.cmd, args = args[0], args[1:]
	actions, ok := commands[o.cmd]
	if !ok {
		return o, usageError{fmt.Sprintf("unknown command %q", o.cmd)}
	}
	if actions != nil {
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			return o, usageError{fmt.Sprintf("%s needs one of: %s", o.cmd, strings.Join(actions, ", "))}
		}
		o.action, args = args[0], args[1:]
		known := false
		for _, a := range actions {
			known = known || a == o.action
		}
		if !known {
			return o, usageError{fmt.Sprintf("%s %s: want one of %s", o.cmd, o.action, strings.Join(actions, ", "))}
		}
	}
	fs := flag.NewFlagSet("sgpilot", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(&o.regions, "region", "")
	fs.StringVar(&o.profile, "profile", "", "")
	fs.StringVar(&o.accountID, "account-id", "", "")
	fs.StringVar(&o.endpoint, "endpoint", "", "")
	fs.StringVar(&o.mnsEndpoint, "mns-endpoint", "", "")
	fs.BoolVar(&o.json, "json", false, "")
	fs.BoolVar(&o.apply, "apply", false, "")
	fs.BoolVar(&o.quiet, "quiet", false, "")
	fs.BoolVar(&o.verbose, "verbose", false, "")
	fs.StringVar(&o.approve, "approve", "", "")
	fs.Var(&o.ids, "id", "")
	fs.Var(&o.reasons, "reason", "")
	fs.Var(&o.instances, "instance", "")
	fs.Var(&o.tasks, "task", "")
	fs.StringVar(&o.queue, "queue", "", "")
	fs.BoolVar(&o.all, "all", false, "")
	fs.IntVar(&o.limit, "limit", 0, "")
	// Flags and positional arguments may come in any order.
	for {
		if err := fs.Parse(args); err != nil {
			return o, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		o.args = append(o.args, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if o.approve != "" && !(o.cmd == "cleanup" && o.action == "apply") {
		return o, usageError{"--approve belongs to cleanup apply"}
	}
	if len(o.args) > 0 && !(o.cmd == "dead-letters" && o.action != "list") {
		return o, usageError{fmt.Sprintf("unexpected argument %q", o.args[0])}
	}
	o.ids = append(o.ids, o.args...)
	return o, nil
}

// writes reports whether the command changes the account.
func (o options) writes() bool {
	return o.action == "apply" || (o.cmd == "dead-letters" && o.action == "replay")
}

// needsQueues reports whether the command talks to MNS.
func (o options) needsQueues() bool {
	return o.cmd == "dead-letters" || (o.cmd == "cleanup" && o.action == "apply")
}

// Run runs the command line args and returns the exit status.
func Run(ctx context.Context, args []string, env Env) int {
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(env.Stdout, Usage)
		return ExitOK
	}
	o, err := parse(args)
	if err != nil {
		fmt.Fprintf(env.Stderr, "sgpilot: %v\n\n%s", err, Usage)
		return ExitUsage
	}
	prog := newProgress(env.Stderr, env.Terminal && !o.verbose)
	prog.quiet = o.quiet
	defer prog.clear()
	r, err := newRunner(o, env, prog)
	if err != nil {
		fmt.Fprintf(env.Stderr, "sgpilot: %v\n", err)
		return ExitUsage
	}
	ctx = logging.WithContext(ctx, r.logger)
	code, err := r.run(ctx)
	prog.clear()
	if err != nil {
		fmt.Fprintf(env.Stderr, "sgpilot: %v\n", err)
		switch {
		case app.IsConflict(err):
			return ExitRefused
		case domain.KindOf(err) == domain.KindInvalid || errors.As(err, new(usageError)):
			return ExitUsage
		}
		return ExitFailed
	}
	return code
}

// runner holds one invocation's wiring.
type runner struct {
	o      options
	env    Env
	prog   *progress
	logger *zap.Logger
	local  *app.Local
}

func newRunner(o options, env Env, prog *progress) (*runner, error) {
	f, err := resolveCredentials(o.profile, env.Getenv, env.Home)
	if err != nil {
		return nil, err
	}
	cfg, err := loadConfig(o, env.Getenv, f.region)
	if err != nil {
		return nil, err
	}
	var logger *zap.Logger
	switch {
	case o.verbose:
		if logger, err = logging.New("debug", env.Stderr); err != nil {
			return nil, err
		}
	default: // --quiet keeps the warnings
		logger = zap.New(&core{p: prog})
	}
	local, err := app.NewLocal(cfg, logger, f.creds)
	if err != nil {
		return nil, err
	}
	prog.step("credentials from %s; regions %s", f.source, strings.Join(cfg.Regions, ","))
	return &runner{o: o, env: env, prog: prog, logger: logger, local: local}, nil
}

// unknownAccount stands in for the account ID when none is given and the
// command needs no queue: config.Load wants one for the functions. The
// audit is then run without it (every referenced group counts as the
// account's own), so the placeholder reaches no decision.
const unknownAccount = "1000000000000000"

// loadConfig builds the functions' configuration from the SGPILOT_*
// variables with the command's flags on top, and the defaults a machine
// outside Function Compute lacks (region, account, MNS endpoint).
func loadConfig(o options, getenv func(string) string, profileRegion string) (config.Config, error) {
	set := map[string]string{}
	if len(o.regions) > 0 {
		set[config.EnvRegions] = strings.Join(o.regions, ",")
	}
	if o.accountID != "" {
		set[config.EnvAccountID] = o.accountID
	}
	if o.endpoint != "" {
		set[config.EnvECSEndpoint] = o.endpoint
	}
	get := func(name string) string {
		if v, ok := set[name]; ok {
			return v
		}
		return getenv(name)
	}
	region := firstRegion(get(config.EnvRegions))
	if region == "" {
		region = profileRegion
		if region == "" {
			region = getenv(EnvRegionID)
		}
		set[config.EnvFCRegion] = region
	}
	account := get(config.EnvAccountID)
	if account == "" {
		if o.needsQueues() {
			return config.Config{}, fmt.Errorf("%s %s reads MNS queues, whose endpoint names the account: pass --account-id or set %s "+
				"(aliyun sts GetCallerIdentity shows it)", o.cmd, o.action, config.EnvAccountID)
		}
		set[config.EnvFCAccountID] = unknownAccount
	}
	if err := mnsSettings(o.mnsEndpoint, get, set, account, region); err != nil {
		return config.Config{}, err
	}
	cfg, err := config.Load(get)
	if err != nil {
		return config.Config{}, err
	}
	if account == "" {
		cfg.AccountID = ""
	}
	return cfg, nil
}

// mnsSettings fills SGPILOT_MNS_ENDPOINT (and, for an emulator, the dial
// address). The public endpoint is http(s)://<account>.mns.<region>.aliyuncs.com
// (shared/docs/alibaba-reference.md, MNS endpoint form; the -internal one is
// reachable from inside the region's VPCs only, so not from a laptop).
func mnsSettings(flagValue string, get func(string) string, set map[string]string, account, region string) error {
	if account == "" {
		account = unknownAccount
	}
	public := fmt.Sprintf("https://%s.mns.%s.aliyuncs.com", account, region)
	if flagValue == "" {
		if get(config.EnvMNSEndpoint) == "" {
			set[config.EnvMNSEndpoint] = public
		}
		return nil
	}
	u, err := url.Parse(flagValue)
	if err != nil || u.Host == "" {
		u, err = url.Parse("http://" + flagValue)
	}
	if err != nil || u.Host == "" {
		return fmt.Errorf("--mns-endpoint %q: want a URL", flagValue)
	}
	if len(strings.Split(u.Hostname(), ".")) == 5 {
		set[config.EnvMNSEndpoint] = flagValue
		return nil
	}
	// An address of its own (localcloud): dial it, and keep the host the
	// SDK insists on.
	set[config.EnvMNSDialAddress] = u.Host
	set[config.EnvMNSEndpoint] = fmt.Sprintf("http://%s.mns.%s.aliyuncs.com", account, region)
	return nil
}

func firstRegion(s string) string {
	for _, r := range strings.Split(s, ",") {
		if r = strings.TrimSpace(r); r != "" {
			return r
		}
	}
	return ""
}

// output prints v as JSON (--json) or its text.
func (r *runner) output(v any, text string) error {
	r.prog.clear()
	if r.o.json {
		enc := json.NewEncoder(r.env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("write JSON: %w", err)
		}
		return nil
	}
	if _, err := io.WriteString(r.env.Stdout, text); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// refuse ends a write asked for without --apply, after its plan.
func (r *runner) refuse(what string) (int, error) {
	r.prog.clear()
	fmt.Fprintf(r.env.Stderr, "sgpilot: nothing changed: %s changes the account; the plan is above. Re-run with --apply to %s.\n",
		r.o.cmd+" "+r.o.action, what)
	return ExitUsage, nil
}
