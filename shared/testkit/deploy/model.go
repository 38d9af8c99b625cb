// Package deploy checks sgpilot's deployment files against each other: s.yaml (Serverless Devs)
// and template.yml (ROS) must describe the same functions, triggers and queues, and the RAM
// policies in template.yml must be docs/ram/*.json verbatim. Both files are reduced to one
// Model, with s.yaml's ${vars.x} and the template's Ref / Fn::Sub / Fn::GetAtt resolved, and
// the models are compared field by field.
package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Model is what both deployment files say about sgpilot.
type Model struct {
	Functions map[string]Function
	Queues    []string // sorted queue names the file creates (template) or refers to (s.yaml)
}

// Function is one FC 3.0 function. Maps hold the resolved YAML values (strings, ints, bools,
// nested maps and lists), with keys in FC API spelling (lower camel case).
type Function struct {
	Handler, Runtime, Description, Role string
	Memory, Timeout                     int
	Env                                 map[string]string
	Log                                 map[string]any
	Async                               map[string]any // nil: no async invoke config
	ReservedConcurrency                 int            // 0: none
	Triggers                            map[string]Trigger
}

// Trigger is one trigger of a function.
type Trigger struct {
	Type, Qualifier string
	Config          map[string]any
}

// ReadYAML parses a YAML file into plain Go values.
func ReadYAML(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return doc, nil
}

// RepoRoot finds the module root from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		dir = parent
	}
}

var varRef = regexp.MustCompile(`\$\{vars\.([A-Za-z0-9_]+)\}`)

// FromServerlessYAML reduces a parsed s.yaml (edition 3.0.0, component fc3).
func FromServerlessYAML(doc map[string]any) (Model, error) {
	vars, _ := doc["vars"].(map[string]any)
	var resolveErr error
	var resolve func(v any, depth int) any
	resolve = func(v any, depth int) any {
		switch x := v.(type) {
		case string:
			return varRef.ReplaceAllStringFunc(x, func(m string) string {
				name := varRef.FindStringSubmatch(m)[1]
				val, ok := vars[name]
				if !ok || depth > 10 {
					resolveErr = fmt.Errorf("s.yaml: ${vars.%s} is not defined (or is circular)", name)
					return m
				}
				return fmt.Sprint(resolve(val, depth+1))
			})
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, e := range x {
				out[k] = resolve(e, depth)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = resolve(e, depth)
			}
			return out
		}
		return v
	}
	resources, ok := doc["resources"].(map[string]any)
	if !ok {
		return Model{}, fmt.Errorf("s.yaml: no resources")
	}
	m := Model{Functions: map[string]Function{}}
	queues := map[string]bool{}
	for resName, r := range resources {
		res, _ := resolve(r, 0).(map[string]any)
		if res["component"] != "fc3" {
			return Model{}, fmt.Errorf("s.yaml: resource %s: component %v, want fc3", resName, res["component"])
		}
		p, _ := res["props"].(map[string]any)
		name, _ := p["functionName"].(string)
		if name == "" {
			name = resName
		}
		f := Function{
			Handler: str(p["handler"]), Runtime: str(p["runtime"]), Description: str(p["description"]),
			Role: str(p["role"]), Memory: integer(p["memorySize"]), Timeout: integer(p["timeout"]),
			Env: stringMap(p["environmentVariables"]), Triggers: map[string]Trigger{},
		}
		if lc, ok := p["logConfig"].(map[string]any); ok {
			f.Log = lc
		}
		if ac, ok := p["asyncInvokeConfig"].(map[string]any); ok {
			f.Async = ac
		}
		if cc, ok := p["concurrencyConfig"].(map[string]any); ok {
			f.ReservedConcurrency = integer(cc["reservedConcurrency"])
		}
		for _, t := range list(p["triggers"]) {
			tm, _ := t.(map[string]any)
			cfg, _ := tm["triggerConfig"].(map[string]any)
			f.Triggers[str(tm["triggerName"])] = Trigger{Type: str(tm["triggerType"]), Qualifier: str(tm["qualifier"]), Config: cfg}
		}
		if _, dup := m.Functions[name]; dup {
			return Model{}, fmt.Errorf("s.yaml: function %s declared twice", name)
		}
		m.Functions[name] = f
		collectQueues(p, queues)
	}
	m.Queues = sortedKeys(queues)
	return m, resolveErr
}

// queueInARN finds queue names in MNS ARNs ("…:/queues/<name>" or "…:/queues/<name>/messages").
var queueInARN = regexp.MustCompile(`^acs:mns:[^:]*:[^:]*:/queues/([^/]+)(/messages)?$`)

// collectQueues gathers every queue a function's props refer to: queue environment variables,
// MNS trigger sources and MNS ARNs.
func collectQueues(v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && (k == "QueueName" || k == "SGPILOT_WORK_QUEUE" || k == "SGPILOT_DEAD_LETTER_QUEUE" || k == "SGPILOT_FAILED_EVENTS_QUEUE") {
				into[s] = true
			}
			collectQueues(e, into)
		}
	case []any:
		for _, e := range x {
			collectQueues(e, into)
		}
	case string:
		if m := queueInARN.FindStringSubmatch(x); m != nil {
			into[m[1]] = true
		}
	}
}

// Template is a parsed ROS template with the values its intrinsic functions resolve to.
type Template struct {
	Doc    map[string]any
	Params map[string]string // parameter defaults and pseudo parameters (ALIYUN::Region, ...)
}

// NewTemplate prepares doc for resolution; region and account stand for the stack's pseudo
// parameters, and overrides replace parameter defaults.
func NewTemplate(doc map[string]any, region, account string, overrides map[string]string) (*Template, error) {
	if doc["ROSTemplateFormatVersion"] != "2015-09-01" {
		return nil, fmt.Errorf("template: ROSTemplateFormatVersion %v, want 2015-09-01", doc["ROSTemplateFormatVersion"])
	}
	t := &Template{Doc: doc, Params: map[string]string{"ALIYUN::Region": region, "ALIYUN::AccountId": account}}
	params, _ := doc["Parameters"].(map[string]any)
	for name, p := range params {
		pm, _ := p.(map[string]any)
		if d, ok := pm["Default"]; ok {
			t.Params[name] = fmt.Sprint(d)
		}
	}
	for k, v := range overrides {
		if _, ok := params[k]; !ok {
			return nil, fmt.Errorf("template: no parameter %s", k)
		}
		t.Params[k] = v
	}
	return t, nil
}

// Resources returns the template's resources.
func (t *Template) Resources() map[string]map[string]any {
	out := map[string]map[string]any{}
	rs, _ := t.Doc["Resources"].(map[string]any)
	for name, r := range rs {
		rm, _ := r.(map[string]any)
		out[name] = rm
	}
	return out
}

var subRef = regexp.MustCompile(`\$\{([A-Za-z0-9_:]+)\}`)

// Resolve evaluates Ref, Fn::Sub and Fn::GetAtt (Arn and RoleName of RAM roles, QueueName of
// MNS queues) in v. Anything else it cannot evaluate is an error, so that a new construct in
// the template is noticed rather than compared as an opaque map.
func (t *Template) Resolve(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				switch k {
				case "Ref":
					name := str(arg)
					val, ok := t.Params[name]
					if !ok {
						return nil, fmt.Errorf("template: Ref %s: not a parameter with a default", name)
					}
					return val, nil
				case "Fn::Sub":
					s, ok := arg.(string)
					if !ok {
						return nil, fmt.Errorf("template: Fn::Sub with variables map is not supported here")
					}
					var err error
					out := subRef.ReplaceAllStringFunc(s, func(m string) string {
						name := subRef.FindStringSubmatch(m)[1]
						val, ok := t.Params[name]
						if !ok {
							err = fmt.Errorf("template: Fn::Sub %q: %s is not a parameter", s, name)
						}
						return val
					})
					return out, err
				case "Fn::GetAtt":
					return t.getAtt(arg)
				}
				if strings.HasPrefix(k, "Fn::") {
					return nil, fmt.Errorf("template: %s is not resolved by this test", k)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := t.Resolve(e)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := t.Resolve(e)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

func (t *Template) getAtt(arg any) (any, error) {
	l := list(arg)
	if len(l) != 2 {
		return nil, fmt.Errorf("template: Fn::GetAtt %v: want [resource, attribute]", arg)
	}
	res, ok := t.Resources()[str(l[0])]
	if !ok {
		return nil, fmt.Errorf("template: Fn::GetAtt of unknown resource %v", l[0])
	}
	props, _ := res["Properties"].(map[string]any)
	switch typ, attr := str(res["Type"]), str(l[1]); {
	case typ == "ALIYUN::RAM::Role" && attr == "RoleName":
		return t.Resolve(props["RoleName"])
	case typ == "ALIYUN::RAM::Role" && attr == "Arn":
		name, err := t.Resolve(props["RoleName"])
		if err != nil {
			return nil, err
		}
		return fmt.Sprintf("acs:ram::%s:role/%v", t.Params["ALIYUN::AccountId"], name), nil
	case typ == "ALIYUN::MNS::Queue" && attr == "QueueName":
		return t.Resolve(props["QueueName"])
	default:
		return nil, fmt.Errorf("template: Fn::GetAtt %s.%s is not resolved by this test", l[0], attr)
	}
}

// FromTemplate reduces the template's FC3 functions, triggers, async and concurrency configs
// and MNS queues.
func FromTemplate(t *Template) (Model, error) {
	m := Model{Functions: map[string]Function{}}
	type extra struct {
		kind  string
		props map[string]any
		name  string
	}
	var extras []extra
	for name, res := range t.Resources() {
		rp, err := t.Resolve(res["Properties"])
		if err != nil {
			return Model{}, fmt.Errorf("resource %s: %w", name, err)
		}
		p, _ := rp.(map[string]any)
		switch str(res["Type"]) {
		case "ALIYUN::FC3::Function":
			fn := str(p["FunctionName"])
			if _, dup := m.Functions[fn]; dup {
				return Model{}, fmt.Errorf("template: function %s declared twice", fn)
			}
			f := Function{
				Handler: str(p["Handler"]), Runtime: str(p["Runtime"]), Description: str(p["Description"]),
				Role: str(p["Role"]), Memory: integer(p["MemorySize"]), Timeout: integer(p["Timeout"]),
				Env: stringMap(p["EnvironmentVariables"]), Triggers: map[string]Trigger{},
			}
			if lc, ok := p["LogConfig"].(map[string]any); ok {
				f.Log = lowerCamelKeys(lc).(map[string]any)
			}
			m.Functions[fn] = f
		case "ALIYUN::FC3::Trigger", "ALIYUN::FC3::AsyncInvokeConfig", "ALIYUN::FC3::ConcurrencyConfig":
			extras = append(extras, extra{kind: str(res["Type"]), props: p, name: name})
		case "ALIYUN::MNS::Queue":
			m.Queues = append(m.Queues, str(p["QueueName"]))
		}
	}
	for _, e := range extras {
		fn := str(e.props["FunctionName"])
		f, ok := m.Functions[fn]
		if !ok {
			return Model{}, fmt.Errorf("template: %s %s belongs to unknown function %q", e.kind, e.name, fn)
		}
		switch e.kind {
		case "ALIYUN::FC3::Trigger":
			cfg, _ := e.props["TriggerConfig"].(map[string]any)
			tn := str(e.props["TriggerName"])
			if _, dup := f.Triggers[tn]; dup {
				return Model{}, fmt.Errorf("template: trigger %s of %s declared twice", tn, fn)
			}
			f.Triggers[tn] = Trigger{Type: str(e.props["TriggerType"]), Qualifier: str(e.props["Qualifier"]), Config: cfg}
		case "ALIYUN::FC3::AsyncInvokeConfig":
			ac := map[string]any{}
			for k, v := range e.props {
				if k != "FunctionName" {
					ac[k] = v
				}
			}
			f.Async = lowerCamelKeys(ac).(map[string]any)
		case "ALIYUN::FC3::ConcurrencyConfig":
			f.ReservedConcurrency = integer(e.props["ReservedConcurrency"])
		}
		m.Functions[fn] = f
	}
	sort.Strings(m.Queues)
	return m, nil
}

// Diff lists every difference between two models, s.yaml's first; empty means they agree.
func Diff(s, t Model) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, name := range unionKeys(s.Functions, t.Functions) {
		a, inS := s.Functions[name]
		b, inT := t.Functions[name]
		if !inS || !inT {
			add("function %s: in s.yaml %v, in template %v", name, inS, inT)
			continue
		}
		cmp := func(field string, x, y any) {
			if !equal(x, y) {
				add("function %s: %s: s.yaml %s, template %s", name, field, show(x), show(y))
			}
		}
		cmp("handler", a.Handler, b.Handler)
		cmp("runtime", a.Runtime, b.Runtime)
		cmp("description", a.Description, b.Description)
		cmp("role", a.Role, b.Role)
		cmp("memory", a.Memory, b.Memory)
		cmp("timeout", a.Timeout, b.Timeout)
		cmp("reserved concurrency", a.ReservedConcurrency, b.ReservedConcurrency)
		cmp("logConfig", a.Log, b.Log)
		cmp("asyncInvokeConfig", a.Async, b.Async)
		for _, k := range unionKeys(a.Env, b.Env) {
			x, inA := a.Env[k]
			y, inB := b.Env[k]
			switch {
			case !inA:
				add("function %s: env %s only in template", name, k)
			case !inB:
				add("function %s: env %s only in s.yaml", name, k)
			case x != y:
				add("function %s: env %s: s.yaml %q, template %q", name, k, x, y)
			}
		}
		for _, tn := range unionKeys(a.Triggers, b.Triggers) {
			x, inA := a.Triggers[tn]
			y, inB := b.Triggers[tn]
			if !inA || !inB {
				add("function %s: trigger %s: in s.yaml %v, in template %v", name, tn, inA, inB)
				continue
			}
			cmp("trigger "+tn+" type", x.Type, y.Type)
			cmp("trigger "+tn+" qualifier", x.Qualifier, y.Qualifier)
			for _, k := range unionKeys(x.Config, y.Config) {
				cmp("trigger "+tn+" "+k, x.Config[k], y.Config[k])
			}
		}
	}
	if !equal(s.Queues, t.Queues) {
		add("queues: s.yaml refers to %v, template creates %v", s.Queues, t.Queues)
	}
	return out
}

// equal compares resolved YAML values; numbers compare by value whatever their Go type.
func equal(x, y any) bool { return show(x) == show(y) }

func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "<none>"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ":" + show(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = show(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprint(v)
}

// lowerCamelKeys turns ROS spelling (MaxAsyncRetryAttempts) into FC API spelling.
func lowerCamelKeys(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r := []rune(k)
			r[0] = unicode.ToLower(r[0])
			out[string(r)] = lowerCamelKeys(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = lowerCamelKeys(e)
		}
		return out
	}
	return v
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func integer(v any) int {
	n, _ := v.(int)
	return n
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func stringMap(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, e := range m {
		out[k] = str(e)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func unionKeys[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	return sortedKeys(seen)
}
