// Command localcloud runs sgpilot's local Alibaba Cloud (ECS, MNS, EventBridge
// delivery and the FC runtime) on loopback, or invokes a function on a
// running one. `localcloud --help` prints the usage below.
//
//	localcloud [flags]                         serve until SIGINT/SIGTERM
//	localcloud invoke [--addr A] FUNCTION [--event-file F | --event JSON] [--async]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/sgpilot/sgpilot/shared/localcloud"
	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/stack"
)

// DefaultAddr is the fixed address `make localcloud` and `make invoke-%` agree on.
const DefaultAddr = "127.0.0.1:9400"

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "invoke":
			os.Exit(invoke(os.Args[2:], os.Stdout, os.Stderr))
		case "help":
			os.Args[1] = "--help"
		}
	}
	os.Exit(serve(os.Args[1:], os.Stdout, os.Stderr))
}

// Seed choices besides a file.
const (
	seedDemo = "demo" // sgpilot's demo account with the sample instance (stack.SampleSeed)
	seedBare = "bare" // localcloud's own default: one VPC with one vSwitch, nothing else
)

const serveUsage = `localcloud runs a local Alibaba Cloud for sgpilot: ECS, MNS, EventBridge
delivery and the FC runtime API on one loopback port, with sgpilot's three
functions started from s.yaml. The real SDKs and the real function binaries
talk to it over HTTP.

Usage:
  localcloud [flags]                 serve until Ctrl-C (SIGINT) or SIGTERM
  localcloud invoke FUNCTION [flags] invoke a function on a running localcloud
                                     (localcloud invoke --help for its flags)
  localcloud help                    this text

Examples:
  localcloud                                          # what make localcloud runs
  localcloud invoke queue-worker --event-file functions/queue-worker/testdata/plan.json
  localcloud invoke nightly-cleanup --event '{"mode":"plan","format":"text"}'
  localcloud --addr 127.0.0.1:0 --json --functions none   # emulators only, any free port

Flags:
`

const invokeUsage = `localcloud invoke calls a function on a running localcloud, as s invoke
does on Function Compute, and prints its answer (a text answer as text, JSON
indented). A function error prints the message and exits 1.

Usage:
  localcloud invoke FUNCTION [--event-file F | --event JSON] [--async] [--addr host:port]

Examples:
  localcloud invoke instance-created --event-file functions/instance-created/testdata/event.json
  localcloud invoke queue-worker --event '{"mode":"plan","instanceIds":["i-bp1aaaaaaaaaaaaaaaa1"],"format":"text"}'

Flags:
`

func serve(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("localcloud", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), serveUsage); fs.PrintDefaults() }
	if wantsHelp(args) {
		fs.SetOutput(stdout) // asked for: stdout, so it pipes into less
	}
	addr := fs.String("addr", DefaultAddr, "listen address (port 0 = any free port)")
	asJSON := fs.Bool("json", false, "print one JSON line with endpoints and credentials instead of text")
	seed := fs.String("seed", seedDemo, `ECS account: "demo" = sgpilot's demo account, whose IDs the sample events of functions/*/testdata name; "bare" = one VPC with one vSwitch; else a seed file (JSON, see shared/localcloud/ecsemu/SEED.md)`)
	functions := fs.String("functions", "auto", `s.yaml whose functions and triggers to run; "auto" = ./s.yaml when present, "none" = no functions`)
	ramMode := fs.String("ram", "off", `RAM for the functions' roles: "off", "record" (record each call's decision) or "enforce" (refuse what the role's policy does not allow)`)
	policies := fs.String("policies", "", "with an s.yaml: folder of <function>.json policies for the functions' roles (default: docs/ram beside the file, when present)")
	account := fs.String("account", localcloud.DefaultAccountID, "account ID (UID)")
	region := fs.String("region", localcloud.DefaultRegion, "region ID")
	queues := fs.String("queues", "sgpilot-work,sgpilot-dead-letter", "MNS queues to create at start (comma-separated)")
	akID := fs.String("access-key-id", "", "test AccessKey ID (default: random)")
	akSecret := fs.String("access-key-secret", "", "test AccessKey secret (default: random; prefer LOCALCLOUD_ACCESS_KEY_SECRET)")
	faultSeed := fs.Int64("fault-seed", 1, "seed of injected random faults")
	logFile := fs.String("log", "", "write function output here (default: stderr)")
	var vars multiFlag
	fs.Var(&vars, "var", "override an s.yaml var or a template parameter: name=value (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "localcloud: unknown command %q (commands: invoke, help)\n", fs.Arg(0))
		return 2
	}
	if *akSecret == "" {
		*akSecret = os.Getenv("LOCALCLOUD_ACCESS_KEY_SECRET")
	}
	if (*akID == "") != (*akSecret == "") {
		fmt.Fprintln(stderr, "localcloud: give both --access-key-id and --access-key-secret, or neither")
		return 2
	}
	var logW io.Writer = stderr
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintln(stderr, "localcloud:", err)
			return 1
		}
		defer f.Close()
		logW = f
	}
	varMap, err := vars.toMap()
	if err != nil {
		fmt.Fprintln(stderr, "localcloud:", err)
		return 2
	}
	built := ""
	if *functions, built, err = resolveFunctions(*functions, varMap, stderr); err != nil {
		fmt.Fprintln(stderr, "localcloud:", err)
		return 1
	}
	if built != "" {
		defer os.RemoveAll(built)
	}

	seedFile, removeSeed, err := seedPath(*seed)
	if err != nil {
		fmt.Fprintln(stderr, "localcloud:", err)
		return 1
	}

	ram, err := ramOptions(*ramMode, *policies, *functions)
	if err != nil {
		fmt.Fprintln(stderr, "localcloud:", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := localcloud.Start(ctx, localcloud.Options{
		Addr: *addr, AccountID: *account, Region: *region, AccessKeyID: *akID, AccessKeySecret: *akSecret,
		SeedFile: seedFile, FunctionsFile: *functions, Vars: varMap, Queues: splitList(*queues),
		FaultSeed: *faultSeed, Log: logW, RAM: ram,
	})
	removeSeed()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	info := srv.Info()
	if *asJSON {
		line, _ := json.Marshal(info)
		fmt.Fprintln(stdout, string(line))
	} else {
		printInfo(stdout, info)
	}
	<-ctx.Done()
	if !*asJSON {
		fmt.Fprintln(stdout, "localcloud: stopping")
	}
	if err := srv.Close(); err != nil {
		fmt.Fprintln(stderr, "localcloud: stop:", err)
		return 1
	}
	return 0
}

// resolveFunctions picks the s.yaml to run and makes sure its code exists:
// with "auto", ./s.yaml when present; its `codeDir` var defaults to ./dist,
// and when ./dist lacks a function binary, the functions are built for this
// machine into a temporary folder (so `go run ./shared/cmd/localcloud` from
// the repository runs the three functions with no other step).
// It returns the s.yaml path and the temporary folder to remove at exit.
func resolveFunctions(flagValue string, vars map[string]string, log io.Writer) (string, string, error) {
	switch flagValue {
	case "none", "":
		return "", "", nil
	case "auto":
		if _, err := os.Stat("s.yaml"); err != nil {
			return "", "", nil
		}
		flagValue = "s.yaml"
	}
	if _, ok := vars["codeDir"]; ok {
		return flagValue, "", nil
	}
	dir := filepath.Dir(flagValue)
	fns, err := filepath.Glob(filepath.Join(dir, "functions", "*", "main.go"))
	if err != nil || len(fns) == 0 {
		return flagValue, "", nil // not the sgpilot repository: use the file's own codeDir
	}
	complete := true
	for _, f := range fns {
		if _, err := os.Stat(filepath.Join(dir, "dist", filepath.Base(filepath.Dir(f)), "main")); err != nil {
			complete = false
		}
	}
	if complete {
		return flagValue, "", nil
	}
	out, err := os.MkdirTemp("", "localcloud-functions-")
	if err != nil {
		return "", "", err
	}
	for _, f := range fns {
		name := filepath.Base(filepath.Dir(f))
		fmt.Fprintf(log, "localcloud: dist/%s/main is missing; building %s for this machine\n", name, name)
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(out, name, "main"), "./functions/"+name)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			_ = os.RemoveAll(out)
			return "", "", fmt.Errorf("build %s: %v\n%s", name, err, b)
		}
	}
	vars["codeDir"] = out
	return flagValue, out, nil
}

// seedPath turns the --seed value into a seed file for localcloud.Start:
// "demo" is written to a temporary file, removed by the returned func once
// Start has read it.
func seedPath(v string) (string, func(), error) {
	switch v {
	case seedBare, "":
		return "", func() {}, nil
	case seedDemo:
	default:
		return v, func() {}, nil
	}
	b, err := json.Marshal(stack.SampleSeed())
	if err != nil {
		return "", nil, fmt.Errorf("demo seed: %w", err)
	}
	f, err := os.CreateTemp("", "localcloud-seed-*.json")
	if err != nil {
		return "", nil, fmt.Errorf("demo seed: %w", err)
	}
	remove := func() { _ = os.Remove(f.Name()) }
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		remove()
		return "", nil, fmt.Errorf("demo seed: %w", err)
	}
	return f.Name(), remove, nil
}

// ramOptions reads --ram and --policies; the policy folder defaults to
// docs/ram beside the functions file (sgpilot's layout).
func ramOptions(mode, policies, functionsFile string) (localcloud.RAMOptions, error) {
	if mode == "off" {
		mode = localcloud.RAMOff
	}
	o := localcloud.RAMOptions{Mode: mode, PolicyDir: policies}
	if mode != localcloud.RAMOff && mode != localcloud.RAMRecord && mode != localcloud.RAMEnforce {
		return o, fmt.Errorf("--ram %q: want off, record or enforce", mode)
	}
	if o.PolicyDir == "" && functionsFile != "" {
		if st, err := os.Stat(filepath.Join(filepath.Dir(functionsFile), "docs", "ram")); err == nil && st.IsDir() {
			o.PolicyDir = filepath.Join(filepath.Dir(functionsFile), "docs", "ram")
		}
	}
	return o, nil
}

func printInfo(w io.Writer, in localcloud.Info) {
	fmt.Fprintf(w, `localcloud is running (account %s, region %s)

  ECS endpoint      %s      (SDK: client.Domain = %q)
  MNS endpoint      %s   dial %s
  admin             %s   (controls/, ecs/, mns/, fc/, info)
  AccessKey ID      %s
  AccessKey secret  %s
  default VPC       %s   vSwitch %s
`, in.AccountID, in.RegionID, in.ECSEndpoint, strings.TrimPrefix(in.ECSEndpoint, "http://"),
		in.MNSEndpoint, in.MNSDialAddress, in.AdminEndpoint, in.AccessKeyID, in.AccessKeySecret, in.DefaultVPCID, in.DefaultVSwitchID)
	if len(in.Functions) > 0 {
		fmt.Fprintf(w, "  functions         %s\n", strings.Join(in.Functions, ", "))
	}
	fmt.Fprintln(w, "\nThese are test credentials of this emulator only. Ctrl-C stops it.")
}

func invoke(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("localcloud invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), invokeUsage); fs.PrintDefaults() }
	if wantsHelp(args) {
		fs.SetOutput(stdout)
	}
	addr := fs.String("addr", envOr("LOCALCLOUD_ADDR", DefaultAddr), "address of the running localcloud")
	eventFile := fs.String("event-file", "", "file holding the event payload")
	event := fs.String("event", "", "event payload as a string")
	async := fs.Bool("async", false, "invoke asynchronously (FC's async retry policy applies)")
	// The function name may stand before, between or after the flags.
	var function string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		if function != "" {
			fmt.Fprintf(stderr, "localcloud invoke: one function at a time (got %s and %s)\n", function, fs.Arg(0))
			return 2
		}
		function, args = fs.Arg(0), fs.Args()[1:]
	}
	if function == "" {
		fmt.Fprintln(stderr, "usage: localcloud invoke FUNCTION [--event-file F | --event JSON] [--async] [--addr host:port]")
		return 2
	}
	var payload []byte
	switch {
	case *eventFile != "" && *event != "":
		fmt.Fprintln(stderr, "localcloud invoke: give --event-file or --event, not both")
		return 2
	case *eventFile != "":
		b, err := os.ReadFile(*eventFile)
		if err != nil {
			fmt.Fprintln(stderr, "localcloud invoke:", err)
			return 1
		}
		payload = b
	case *event != "":
		payload = []byte(*event)
	default:
		payload = []byte("{}")
	}
	res, err := fcemu.InvokeOverHTTP("http://"+*addr+localcloud.AdminPrefix+"fc", function, payload, *async)
	if err != nil {
		fmt.Fprintln(stderr, "localcloud invoke:", err)
		return 1
	}
	if *async {
		fmt.Fprintf(stdout, "accepted: request %s\n", res.RequestID)
		return 0
	}
	if res.Error != nil {
		fmt.Fprintf(stderr, "function error (%s), request %s: %s\n", res.Error.ErrorType, res.RequestID, res.Error.ErrorMessage)
		return 1
	}
	fmt.Fprintln(stdout, prettyJSON(res.Payload))
	return 0
}

// prettyJSON indents a JSON result; a JSON string holding text (the cleanup
// table) is printed as that text.
func prettyJSON(b []byte) string {
	var s string
	if json.Unmarshal(b, &s) == nil {
		return s
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	out, _ := json.MarshalIndent(v, "", "  ")
	return string(out)
}

func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help", "--h":
			return true
		}
	}
	return false
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func (m multiFlag) toMap() (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range m {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, errors.New("--var wants name=value, got " + kv)
		}
		out[k] = v
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
