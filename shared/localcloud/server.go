package localcloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/essemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/mnsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/ramemu"
)

// Defaults of a localcloud started with zero Options.
const (
	DefaultAddr      = "127.0.0.1:0"
	DefaultAccountID = "1234567890123456"
	DefaultRegion    = "cn-hangzhou"
	// AdminPrefix is where the admin endpoints are mounted.
	AdminPrefix = "/_localcloud/"
)

// Options configures a localcloud.
type Options struct {
	Addr      string // listen address; port 0 picks a free port
	AccountID string
	Region    string
	// AccessKeyID/AccessKeySecret is the test key pair; empty = random.
	AccessKeyID, AccessKeySecret string
	// SeedFile is an ecsemu seed (JSON); empty = the default account.
	SeedFile string
	// FunctionsFile is the s.yaml or the ROS template.yml (told apart by
	// its ROSTemplateFormatVersion) whose functions and triggers to run;
	// empty = no functions. Vars override an s.yaml's `vars`, or a
	// template's parameters; for a template, Vars["codeDir"] is the folder
	// holding <codeDir>/<FunctionName>/<Handler> (its code is in OSS).
	FunctionsFile string
	Vars          map[string]string
	// RAM evaluates the functions' roles' policies (see RAMOptions).
	RAM RAMOptions
	// Queues are created at start (e.g. the work and dead-letter queues).
	Queues []string
	// QueueAttributes apply to Queues; zero = MNS defaults.
	QueueAttributes mnsemu.QueueAttributes
	// FunctionEnv is added to every function's environment, after the
	// endpoints localcloud injects.
	FunctionEnv map[string]string
	FaultSeed   int64
	Log         io.Writer // function output and emulator notes; nil = discard
	ECS         ecsemu.Options
	ESS         essemu.Options
	MNS         mnsemu.Options
	FC          fcemu.Options
}

// Info is what localcloud tells people and scripts about itself.
type Info struct {
	ECSEndpoint      string   `json:"ecsEndpoint"`
	ESSEndpoint      string   `json:"essEndpoint"` // Auto Scaling and ECI, routed by Version
	MNSEndpoint      string   `json:"mnsEndpoint"`
	MNSDialAddress   string   `json:"mnsDialAddress"`
	AdminEndpoint    string   `json:"adminEndpoint"`
	InvokeEndpoint   string   `json:"invokeEndpoint"`
	AccessKeyID      string   `json:"accessKeyId"`
	AccessKeySecret  string   `json:"accessKeySecret"`
	RegionID         string   `json:"regionId"`
	AccountID        string   `json:"accountId"`
	DefaultVPCID     string   `json:"defaultVpcId"`
	DefaultVSwitchID string   `json:"defaultVSwitchId"`
	Functions        []string `json:"functions,omitempty"`
}

// Server is a running localcloud.
type Server struct {
	Env  *core.Env
	ECS  *ecsemu.Service
	ESS  *essemu.Service
	MNS  *mnsemu.Service
	FC   *fcemu.Emulator
	info Info
	http *http.Server
	ln   net.Listener
	done chan error
}

// Start builds the emulators, seeds them, starts listening and, when a
// functions file is given, starts the functions and their triggers.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	env := core.NewEnv(opts.AccountID, opts.FaultSeed)
	if err := opts.RAM.validate(); err != nil {
		return nil, fmt.Errorf("localcloud: %w", err)
	}
	if opts.RAM.Mode != RAMOff {
		env.RAM = ramemu.New(ramemu.Options{Enforce: opts.RAM.Mode == RAMEnforce, Recorder: opts.RAM.Recorder})
	}
	cred := core.Credential{AccessKeyID: opts.AccessKeyID, AccessKeySecret: opts.AccessKeySecret}
	if cred.AccessKeyID == "" || cred.AccessKeySecret == "" {
		cred = env.Credentials.NewAccessKey()
	} else {
		env.Credentials.AddAccessKey(cred.AccessKeyID, cred.AccessKeySecret)
	}

	ecsOpts := opts.ECS
	if ecsOpts.Region == "" {
		ecsOpts.Region = opts.Region
	}
	ecs, err := ecsemu.New(env, ecsOpts)
	if err != nil {
		return nil, fmt.Errorf("localcloud: ECS emulator: %w", err)
	}
	if opts.SeedFile != "" {
		if err := ecs.LoadSeed(opts.SeedFile); err != nil {
			_ = ecs.Close()
			return nil, fmt.Errorf("localcloud: seed %s: %w", opts.SeedFile, err)
		}
	}
	essOpts := opts.ESS
	if essOpts.Region == "" {
		essOpts.Region = opts.Region
	}
	if essOpts.HasRegion == nil {
		essOpts.HasRegion = ecs.HasRegion
	}
	ess, err := essemu.New(env, essOpts)
	if err != nil {
		_ = ecs.Close()
		return nil, fmt.Errorf("localcloud: ESS emulator: %w", err)
	}
	mnsOpts := opts.MNS
	if mnsOpts.Region == "" {
		mnsOpts.Region = opts.Region
	}
	mns := mnsemu.New(env, mnsOpts)
	for _, q := range opts.Queues {
		if err := mns.CreateQueue(q, withQueueDefaults(opts.QueueAttributes)); err != nil {
			_ = ecs.Close()
			mns.Close()
			return nil, fmt.Errorf("localcloud: create queue %s: %w", q, err)
		}
	}

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		_ = ecs.Close()
		mns.Close()
		return nil, fmt.Errorf("localcloud: listen on %s: %w", opts.Addr, err)
	}
	base := "http://" + ln.Addr().String()
	s := &Server{Env: env, ECS: ecs, ESS: ess, MNS: mns, ln: ln, done: make(chan error, 1)}
	s.info = Info{
		ECSEndpoint:      base,
		ESSEndpoint:      base,
		MNSEndpoint:      fmt.Sprintf("http://%s.mns.%s.aliyuncs.com", opts.AccountID, opts.Region),
		MNSDialAddress:   ln.Addr().String(),
		AdminEndpoint:    base + AdminPrefix,
		InvokeEndpoint:   base + AdminPrefix + "fc",
		AccessKeyID:      cred.AccessKeyID,
		AccessKeySecret:  cred.AccessKeySecret,
		RegionID:         opts.Region,
		AccountID:        opts.AccountID,
		DefaultVPCID:     ecs.DefaultVPCID(),
		DefaultVSwitchID: ecs.DefaultVSwitchID(),
	}

	fcOpts := opts.FC
	if fcOpts.Region == "" {
		fcOpts.Region = opts.Region
	}
	if fcOpts.Log == nil {
		fcOpts.Log = opts.Log
	}
	fcOpts.Env = mergeEnv(s.FunctionEnvironment(), opts.FunctionEnv, fcOpts.Env)
	fcOpts.Queues = queueSource{mns}
	fcOpts.Sender = queueSender{mns}
	s.FC = fcemu.New(env, fcOpts)

	mux := http.NewServeMux()
	mux.Handle(AdminPrefix+"controls/", http.StripPrefix(strings.TrimSuffix(AdminPrefix, "/")+"/controls", core.AdminHandler(env)))
	mux.Handle(AdminPrefix+"ecs/", http.StripPrefix(strings.TrimSuffix(AdminPrefix, "/")+"/ecs", ecs.AdminHandler()))
	mux.Handle(AdminPrefix+"ess/", http.StripPrefix(strings.TrimSuffix(AdminPrefix, "/")+"/ess", ess.AdminHandler()))
	mux.Handle(AdminPrefix+"mns/", http.StripPrefix(strings.TrimSuffix(AdminPrefix, "/")+"/mns", mns.AdminHandler()))
	mux.Handle(AdminPrefix+"fc/", http.StripPrefix(strings.TrimSuffix(AdminPrefix, "/")+"/fc", s.FC.InvokeHandler()))
	mux.HandleFunc(AdminPrefix+"info", func(w http.ResponseWriter, r *http.Request) { writeInfo(w, s.Info()) })
	mux.Handle("/queues", mns)
	mux.Handle("/queues/", mns)
	mux.Handle("/topics", mns) // MNS topics (mnsemu/topics*.go)
	mux.Handle("/topics/", mns)
	mux.Handle(mnsemu.SigningCertPath, mns)
	mux.Handle("/", rpcByVersion(ecs, ess))
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { s.done <- s.http.Serve(ln) }()

	if opts.FunctionsFile != "" {
		if err := s.startFunctions(ctx, opts); err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("localcloud: functions from %s: %w", opts.FunctionsFile, err)
		}
	}
	return s, nil
}

// startFunctions loads the functions file, creates the MNS queues its
// functions write to (trigger dead-letter queues, async destinations), as a
// deployment would have, and starts the functions and their triggers.
func (s *Server) startFunctions(ctx context.Context, opts Options) error {
	specs, err := s.loadFunctions(opts)
	if err != nil {
		return err
	}
	for _, spec := range specs {
		for _, q := range spec.DestinationQueues() {
			err := s.MNS.CreateQueue(q, withQueueDefaults(opts.QueueAttributes))
			if err != nil && !mnsemu.IsCode(err, mnsemu.CodeQueueAlreadyExist) {
				return fmt.Errorf("create queue %s of function %s: %w", q, spec.Name, err)
			}
		}
		if s.Env.RAM != nil && spec.Role != "" {
			s.Env.RAM.Bind(ramemu.Principal{Role: spec.Role, Session: spec.Name})
		}
		if err := s.FC.AddFunction(spec); err != nil {
			return err
		}
		s.info.Functions = append(s.info.Functions, spec.Name)
	}
	return s.FC.Start(ctx)
}

// Info returns endpoints, test credentials and defaults.
func (s *Server) Info() Info { return s.info }

// FunctionEnvironment is what localcloud injects into every function so the
// unchanged binaries reach the emulators: the ECS endpoint override (which
// the functions also use for Auto Scaling and ECI, served on the same
// listener and routed by Version), the five-part MNS endpoint the SDK
// insists on, and the address to dial for it.
func (s *Server) FunctionEnvironment() map[string]string {
	return map[string]string{
		"SGPILOT_ECS_ENDPOINT":     s.info.ECSEndpoint,
		"SGPILOT_MNS_ENDPOINT":     s.info.MNSEndpoint,
		"SGPILOT_MNS_DIAL_ADDRESS": s.info.MNSDialAddress,
		"SGPILOT_ACCOUNT_ID":       s.info.AccountID,
		"NO_PROXY":                 "127.0.0.1,localhost",
	}
}

// Close stops the functions, the listener and the emulators.
func (s *Server) Close() error {
	var errs []error
	if s.FC != nil {
		errs = append(errs, s.FC.Close())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := <-s.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, err)
	}
	s.MNS.Close()
	errs = append(errs, s.ECS.Close())
	return errors.Join(errs...)
}

func mergeEnv(layers ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, l := range layers {
		for k, v := range l {
			out[k] = v
		}
	}
	return out
}

func withQueueDefaults(a mnsemu.QueueAttributes) mnsemu.QueueAttributes {
	if a == (mnsemu.QueueAttributes{}) {
		return mnsemu.DefaultQueueAttributes()
	}
	return a
}

// rpcByVersion sends the RPC products that share "/" to their emulator by
// the Version parameter (ESS 2014-08-28, ECI 2018-08-08; anything else is
// ECS's, which answers an unknown version itself). ParseForm keeps the parsed
// body on the request, so the emulator reads the same parameters.
func rpcByVersion(ecs, ess http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err == nil && essemu.Handles(r.Form) {
			ess.ServeHTTP(w, r)
			return
		}
		ecs.ServeHTTP(w, r)
	})
}

// queueSource and queueSender adapt the MNS emulator to fcemu's interfaces.
type queueSource struct{ mns *mnsemu.Service }

func (q queueSource) Receive(ctx context.Context, queue string, max int, wait time.Duration) ([]fcemu.QueueMessage, error) {
	msgs, err := q.mns.Receive(ctx, queue, max, wait)
	if mnsemu.IsCode(err, mnsemu.CodeMessageNotExist) {
		return nil, nil // an empty queue after the wait is not an error to a trigger
	}
	if err != nil {
		return nil, err
	}
	out := make([]fcemu.QueueMessage, len(msgs))
	for i, m := range msgs {
		out[i] = fcemu.QueueMessage{ID: m.ID, Body: m.Body, ReceiptHandle: m.ReceiptHandle, DequeueCount: m.DequeueCount, EnqueueTime: m.EnqueueTime}
	}
	return out, nil
}

func (q queueSource) Delete(queue, receiptHandle string) error {
	return q.mns.Delete(queue, receiptHandle)
}

type queueSender struct{ mns *mnsemu.Service }

func (q queueSender) Send(queue, body string) error {
	_, err := q.mns.Send(queue, body, 0, 0)
	return err
}
