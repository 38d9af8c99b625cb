package ramemu

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Principal is who a temporary credential stands for: an assumed role and
// the session name (localcloud uses the function name, so that the record
// is per function).
type Principal struct {
	Role    string // role ARN, "acs:ram::<uid>:role/<name>"
	Session string
}

// RoleARN returns the ARN of role name in account.
func RoleARN(account, name string) string { return "acs:ram::" + account + ":role/" + name }

// RoleName returns the name part of a role ARN (the ARN itself if it has none).
func RoleName(arn string) string {
	if _, name, ok := strings.Cut(arn, ":role/"); ok {
		return name
	}
	return arn
}

// DeniedError is a refused request. Each emulator turns it into its own
// wire error (ECS Forbidden.RAM, MNS AccessDenied).
type DeniedError struct {
	Principal Principal
	Action    string
	Resource  string
	// Explicit: a Deny statement matched (else no Allow did).
	Explicit bool
}

func (e *DeniedError) Error() string {
	kind := "no statement allows it"
	if e.Explicit {
		kind = "a Deny statement matches"
	}
	return fmt.Sprintf("role %s (session %s) may not %s on %s: %s",
		RoleName(e.Principal.Role), e.Principal.Session, e.Action, e.Resource, kind)
}

// Engine holds the roles' policies and decides requests. Safe for
// concurrent use.
type Engine struct {
	enforce bool
	rec     *Recorder

	mu    sync.RWMutex
	roles map[string][]Policy // role ARN -> attached policies
}

// Options configures an Engine.
type Options struct {
	// Enforce refuses denied requests; false only records them.
	Enforce bool
	// Recorder receives every decision; nil = a private one.
	Recorder *Recorder
}

// New returns an Engine with no roles.
func New(opts Options) *Engine {
	rec := opts.Recorder
	if rec == nil {
		rec = NewRecorder()
	}
	return &Engine{enforce: opts.Enforce, rec: rec, roles: map[string][]Policy{}}
}

// Recorder returns where decisions are recorded.
func (e *Engine) Recorder() *Recorder { return e.rec }

// Enforcing reports whether denied requests are refused.
func (e *Engine) Enforcing() bool { return e.enforce }

// Attach adds a policy to a role (creating the role). A policy of the same
// name replaces the earlier one, as re-attaching does.
func (e *Engine) Attach(roleARN string, p Policy) {
	e.mu.Lock()
	defer e.mu.Unlock()
	list := e.roles[roleARN]
	for i := range list {
		if list[i].Name == p.Name {
			list[i] = p
			return
		}
	}
	e.roles[roleARN] = append(list, p)
}

// Policies returns the policies attached to a role.
func (e *Engine) Policies(roleARN string) []Policy {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return append([]Policy(nil), e.roles[roleARN]...)
}

// Bind tells the recorder that session acts with role, so the record
// knows what each function was granted even if it never calls anything.
func (e *Engine) Bind(p Principal) { e.rec.bind(p.Session, p.Role, e.Policies(p.Role)) }

// Authorize decides req for p and records the decision. It returns a
// *DeniedError when the request is refused and the engine enforces.
func (e *Engine) Authorize(p Principal, req Request) error {
	policies := e.Policies(p.Role)
	resources := req.Resources
	if len(resources) == 0 {
		resources = []Resource{{ARN: "*"}}
	}
	var refused *Decision
	for _, r := range resources {
		d := evaluateOne(policies, req, r)
		e.rec.record(p, req.Action, r.ARN, d.Allowed)
		if !d.Allowed && refused == nil {
			refused = &d
		}
	}
	if refused == nil || !e.enforce {
		return nil
	}
	return &DeniedError{Principal: p, Action: req.Action, Resource: refused.Resource, Explicit: refused.Explicit}
}

// Use is the record of one (function, action, resource) and its outcome.
type Use struct {
	Function string
	Role     string
	Action   string
	Resource string
	Allowed  bool
	Count    int
}

// Recorder collects decisions and grants, across any number of engines
// (one per localcloud), so a test process can report on all its scenarios.
// Safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	uses    map[Use]int // Count is zero in the key
	granted map[string]map[string]Policy
	roles   map[string]string
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder {
	return &Recorder{uses: map[Use]int{}, granted: map[string]map[string]Policy{}, roles: map[string]string{}}
}

func (r *Recorder) record(p Principal, action, resource string, allowed bool) {
	r.mu.Lock()
	r.uses[Use{Function: p.Session, Role: p.Role, Action: action, Resource: resource, Allowed: allowed}]++
	r.mu.Unlock()
}

func (r *Recorder) bind(session, role string, policies []Policy) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.roles[session] = role
	g := r.granted[session]
	if g == nil {
		g = map[string]Policy{}
		r.granted[session] = g
	}
	for _, p := range policies {
		g[p.Name] = p
	}
}

// Uses returns every recorded decision, sorted by function, action, resource.
func (r *Recorder) Uses() []Use {
	r.mu.Lock()
	out := make([]Use, 0, len(r.uses))
	for u, n := range r.uses {
		u.Count = n
		out = append(out, u)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Function != b.Function {
			return a.Function < b.Function
		}
		if a.Action != b.Action {
			return a.Action < b.Action
		}
		if a.Resource != b.Resource {
			return a.Resource < b.Resource
		}
		return !a.Allowed && b.Allowed
	})
	return out
}

// Granted returns, per function (session), the policies its role had in
// any run that bound it, sorted by policy name.
func (r *Recorder) Granted() map[string][]Policy {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]Policy{}
	for fn, ps := range r.granted {
		for _, p := range ps {
			out[fn] = append(out[fn], p)
		}
		sort.Slice(out[fn], func(i, j int) bool { return out[fn][i].Name < out[fn][j].Name })
	}
	return out
}
