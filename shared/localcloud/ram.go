package localcloud

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/mnsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/ramemu"
)

// RAM modes.
const (
	// RAMOff: the functions' role credentials are not restricted (default).
	RAMOff = ""
	// RAMRecord: every call of a function is decided against its role's
	// policies and recorded, but nothing is refused.
	RAMRecord = "record"
	// RAMEnforce: refused calls answer as the real service (ECS
	// Forbidden.RAM, MNS AccessDenied), and are recorded.
	RAMEnforce = "enforce"
)

// RAMOptions turns on RAM for the functions' roles. Credentials without a
// role (the test key, admin) are never restricted.
type RAMOptions struct {
	Mode string // RAMOff, RAMRecord or RAMEnforce
	// Recorder collects the decisions; share one across servers to report
	// on several runs. Nil = a new one (Server.RAMRecorder).
	Recorder *ramemu.Recorder
	// PolicyDir serves an s.yaml, which names roles but not their policies:
	// <PolicyDir>/<function>.json is attached to each function's role when
	// it exists (sgpilot's docs/ram). A template brings its own policies.
	PolicyDir string
	// RolePolicies attaches more policy files to roles, by role name (e.g.
	// docs/ram/queue-worker-create-groups.json when groups may be created).
	RolePolicies map[string][]string
}

func (o RAMOptions) validate() error {
	switch o.Mode {
	case RAMOff, RAMRecord, RAMEnforce:
		return nil
	}
	return fmt.Errorf("RAM mode %q is not %q, %q or empty", o.Mode, RAMRecord, RAMEnforce)
}

// RAMRecorder returns the record of RAM decisions (nil when RAM is off).
func (s *Server) RAMRecorder() *ramemu.Recorder {
	if s.Env.RAM == nil {
		return nil
	}
	return s.Env.RAM.Recorder()
}

// loadFunctions reads the functions file, s.yaml or ROS template, creates
// what a template declares besides functions (queues, role policies) and
// attaches the policies RAMOptions names.
func (s *Server) loadFunctions(opts Options) ([]fcemu.FunctionSpec, error) {
	data, err := os.ReadFile(opts.FunctionsFile)
	if err != nil {
		return nil, err
	}
	var specs []fcemu.FunctionSpec
	if fcemu.IsROSTemplate(data) {
		specs, err = s.loadTemplate(opts)
	} else {
		specs, err = fcemu.LoadServerlessYAML(opts.FunctionsFile, opts.Vars)
		if err == nil {
			err = s.attachPolicyDir(opts.RAM.PolicyDir, specs)
		}
	}
	if err != nil {
		return nil, err
	}
	if s.Env.RAM != nil {
		for role, files := range opts.RAM.RolePolicies {
			for _, f := range files {
				if err := s.attachFile(ramemu.RoleARN(s.info.AccountID, role), f); err != nil {
					return nil, err
				}
			}
		}
	}
	return specs, nil
}

func (s *Server) loadTemplate(opts Options) ([]fcemu.FunctionSpec, error) {
	params := map[string]string{}
	for k, v := range opts.Vars {
		if k != "codeDir" {
			params[k] = v
		}
	}
	codeDir := opts.Vars["codeDir"]
	if codeDir != "" && !filepath.IsAbs(codeDir) {
		codeDir = filepath.Join(filepath.Dir(opts.FunctionsFile), codeDir)
	}
	st, err := fcemu.LoadROSTemplate(opts.FunctionsFile, fcemu.ROSOptions{Parameters: params,
		AccountID: s.info.AccountID, Region: s.info.RegionID, CodeDir: codeDir})
	if err != nil {
		return nil, err
	}
	for _, w := range st.Warnings {
		fmt.Fprintf(opts.Log, "localcloud: %s: %s\n", opts.FunctionsFile, w)
	}
	for _, q := range st.Queues {
		attrs := mnsemu.DefaultQueueAttributes()
		for _, f := range []struct {
			v, def int
			dst    *int
		}{
			{q.DelaySeconds, attrs.DelaySeconds, &attrs.DelaySeconds},
			{q.MaximumMessageSize, attrs.MaximumMessageSize, &attrs.MaximumMessageSize},
			{q.MessageRetentionPeriod, attrs.MessageRetentionPeriod, &attrs.MessageRetentionPeriod},
			{q.VisibilityTimeout, attrs.VisibilityTimeout, &attrs.VisibilityTimeout},
			{q.PollingWaitSeconds, attrs.PollingWaitSeconds, &attrs.PollingWaitSeconds},
		} {
			if f.v != 0 {
				*f.dst = f.v
			}
		}
		// A queue Options.Queues already created keeps its attributes.
		if err := s.MNS.CreateQueue(q.Name, attrs); err != nil && !mnsemu.IsCode(err, mnsemu.CodeQueueAlreadyExist) {
			return nil, fmt.Errorf("create queue %s: %w", q.Name, err)
		}
	}
	if s.Env.RAM != nil {
		for _, r := range st.Roles {
			for _, p := range r.Policies {
				pol, err := ramemu.ParsePolicy(p.Name, p.Document)
				if err != nil {
					return nil, fmt.Errorf("role %s: %w", r.Name, err)
				}
				s.Env.RAM.Attach(r.ARN, pol)
			}
		}
	}
	return st.Functions, nil
}

// attachPolicyDir attaches <dir>/<function>.json to each function's role.
func (s *Server) attachPolicyDir(dir string, specs []fcemu.FunctionSpec) error {
	if s.Env.RAM == nil || dir == "" {
		return nil
	}
	for _, spec := range specs {
		f := filepath.Join(dir, spec.Name+".json")
		if spec.Role == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			continue // a role with no policy file allows nothing
		}
		if err := s.attachFile(spec.Role, f); err != nil {
			return err
		}
	}
	return nil
}

// attachFile attaches a policy document file, with ${ALIYUN::Region} and
// ${ALIYUN::AccountId} filled in as ROS's Fn::Sub would (docs/ram writes them).
func (s *Server) attachFile(roleARN, file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("policy of role %s: %w", ramemu.RoleName(roleARN), err)
	}
	b = []byte(expandPseudo(string(b), s.info.AccountID, s.info.RegionID))
	name := filepath.Base(file)
	pol, err := ramemu.ParsePolicy(name[:len(name)-len(filepath.Ext(name))], b)
	if err != nil {
		return err
	}
	s.Env.RAM.Attach(roleARN, pol)
	return nil
}

func expandPseudo(s, account, region string) string {
	return strings.NewReplacer("${ALIYUN::AccountId}", account, "${ALIYUN::Region}", region).Replace(s)
}
