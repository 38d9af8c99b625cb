package fcemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ROSOptions steers LoadROSTemplate.
type ROSOptions struct {
	// Parameters override the template's parameter defaults.
	Parameters map[string]string
	// AccountID and Region are the pseudo parameters ALIYUN::AccountId and
	// ALIYUN::Region (the emulator's account and region).
	AccountID, Region string
	// CodeDir holds one folder per function, named after FunctionName, with
	// the Handler executable inside (as `make build` lays out dist/): a
	// template's code lives in OSS, which the emulator does not read.
	CodeDir string
}

// ROSStack is what a ROS template deploys that localcloud models.
type ROSStack struct {
	Functions []FunctionSpec
	Queues    []ROSQueue
	Roles     []ROSRole
	// Warnings lists resources and properties accepted but not modelled.
	Warnings []string
}

// ROSQueue is an ALIYUN::MNS::Queue. Zero attributes mean MNS defaults.
type ROSQueue struct {
	Name                   string
	DelaySeconds           int
	MaximumMessageSize     int
	MessageRetentionPeriod int
	VisibilityTimeout      int
	PollingWaitSeconds     int
}

// ROSRole is an ALIYUN::RAM::Role with its inline policies and the
// ALIYUN::RAM::ManagedPolicy documents attached to it.
type ROSRole struct {
	Name     string
	ARN      string
	Policies []ROSPolicy
}

// ROSPolicy is a named policy document, as JSON.
type ROSPolicy struct {
	Name     string
	Document []byte
}

// IsROSTemplate reports whether data is a ROS template: a mapping with a
// top-level ROSTemplateFormatVersion (an s.yaml has edition instead).
func IsROSTemplate(data []byte) bool {
	var top map[string]any
	if yaml.Unmarshal(data, &top) != nil {
		return false
	}
	_, ok := top["ROSTemplateFormatVersion"]
	return ok
}

// LoadROSTemplate reads a ROS template (template.yml) and returns the FC
// 3.0 functions with their triggers, async and concurrency settings, the
// MNS queues and the RAM roles it declares.
//
// Modelled resource types: ALIYUN::FC3::Function (FunctionName, Handler,
// Runtime, MemorySize, Timeout, InstanceConcurrency, EnvironmentVariables,
// Role; Code is replaced by opts.CodeDir), ALIYUN::FC3::Trigger (timer and
// eventbridge; TriggerConfig is FC's trigger JSON, read exactly as s.yaml's
// triggerConfig), ALIYUN::FC3::AsyncInvokeConfig, ALIYUN::FC3::ConcurrencyConfig
// (accepted, as s.yaml's concurrencyConfig), ALIYUN::MNS::Queue,
// ALIYUN::RAM::Role (Policies) and ALIYUN::RAM::ManagedPolicy (Roles).
// Other types become warnings. Resources whose Condition is false are
// skipped. Intrinsic functions: Ref (parameters, ALIYUN::Region,
// ALIYUN::AccountId, ALIYUN::StackName, resources), Fn::Sub, Fn::GetAtt
// (role Arn/RoleName, queue QueueName/ARN/ARN.WithSlash/QueueUrl),
// Fn::Join, Fn::Select, Fn::If and, in Conditions, Fn::Equals, Fn::Not,
// Fn::And, Fn::Or.
func LoadROSTemplate(path string, opts ROSOptions) (*ROSStack, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	var top map[string]any
	if err := yaml.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if _, ok := top["ROSTemplateFormatVersion"]; !ok {
		return nil, fmt.Errorf("%s: not a ROS template (no ROSTemplateFormatVersion)", path)
	}
	r := &rosLoader{file: path, opts: opts, params: map[string]string{}, conds: map[string]bool{}}
	r.order = resourceOrder(data)
	if err := r.load(top); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r.stack, nil
}

type rosResource struct {
	id    string
	typ   string
	props map[string]any // resolved
}

type rosLoader struct {
	file      string
	opts      ROSOptions
	params    map[string]string
	condDefs  map[string]any
	conds     map[string]bool
	resources map[string]map[string]any // raw
	order     []string                  // logical IDs in document order
	stack     *ROSStack
}

func (r *rosLoader) load(top map[string]any) error {
	r.stack = &ROSStack{}
	if err := r.parameters(asMap(top["Parameters"])); err != nil {
		return err
	}
	r.condDefs = asMap(top["Conditions"])
	r.resources = map[string]map[string]any{}
	for id, v := range asMap(top["Resources"]) {
		m := asMap(v)
		if m == nil {
			return fmt.Errorf("resource %s is not a mapping", id)
		}
		r.resources[id] = m
	}
	// Document order: triggers and policies keep the order they are written in.
	ids := make([]string, 0, len(r.resources))
	seen := map[string]bool{}
	for _, id := range r.order {
		if _, ok := r.resources[id]; ok && !seen[id] {
			ids = append(ids, id)
			seen[id] = true
		}
	}
	var rest []string
	for id := range r.resources {
		if !seen[id] {
			rest = append(rest, id)
		}
	}
	sort.Strings(rest)
	ids = append(ids, rest...)
	var res []rosResource
	for _, id := range ids {
		raw := r.resources[id]
		if c, ok := raw["Condition"]; ok {
			on, err := r.condition(fmt.Sprint(c), 0)
			if err != nil {
				return fmt.Errorf("resource %s: %w", id, err)
			}
			if !on {
				continue
			}
		}
		props, err := r.resolve(raw["Properties"], 0)
		if err != nil {
			return fmt.Errorf("resource %s: %w", id, err)
		}
		pm := asMap(props)
		if pm == nil {
			pm = map[string]any{}
		}
		res = append(res, rosResource{id: id, typ: fmt.Sprint(raw["Type"]), props: pm})
	}
	return r.build(res)
}

func (r *rosLoader) parameters(defs map[string]any) error {
	for name, v := range defs {
		d := asMap(v)
		val := ""
		if def, ok := d["Default"]; ok {
			val = scalarString(def)
		}
		if o, ok := r.opts.Parameters[name]; ok {
			val = o
		}
		if allowed, ok := d["AllowedValues"].([]any); ok {
			okv := false
			for _, a := range allowed {
				okv = okv || scalarString(a) == val
			}
			if !okv {
				return fmt.Errorf("parameter %s = %q is not one of %v", name, val, allowed)
			}
		}
		if pat, ok := d["AllowedPattern"].(string); ok {
			if re, err := regexp.Compile(pat); err == nil && !re.MatchString(val) {
				return fmt.Errorf("parameter %s = %q does not match %s", name, val, pat)
			}
		}
		r.params[name] = val
	}
	for name := range r.opts.Parameters {
		if _, ok := defs[name]; !ok {
			r.stack.Warnings = append(r.stack.Warnings, fmt.Sprintf("parameter %s is not declared by the template; ignored", name))
		}
	}
	return nil
}

const maxROSDepth = 32

func (r *rosLoader) pseudo(name string) (string, bool) {
	switch name {
	case "ALIYUN::Region":
		return r.opts.Region, true
	case "ALIYUN::AccountId", "ALIYUN::TenantId":
		return r.opts.AccountID, true
	case "ALIYUN::StackName":
		return "localcloud", true
	case "ALIYUN::StackId":
		return "localcloud-stack", true
	case "ALIYUN::NoValue":
		return "", true
	}
	v, ok := r.params[name]
	return v, ok
}

// resolve evaluates intrinsic functions in v.
func (r *rosLoader) resolve(v any, depth int) (any, error) {
	if depth > maxROSDepth {
		return nil, errors.New("intrinsic functions nest too deep (a cycle?)")
	}
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return r.intrinsic(k, arg, depth)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			rv, err := r.resolve(e, depth+1)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = rv
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			rv, err := r.resolve(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = rv
		}
		return out, nil
	}
	return v, nil
}

var subRE = regexp.MustCompile(`\$\{([^}]*)\}`)

func (r *rosLoader) intrinsic(fn string, arg any, depth int) (any, error) {
	resolved, err := r.resolve(arg, depth+1)
	if err != nil {
		return nil, err
	}
	switch fn {
	case "Ref":
		name := scalarString(resolved)
		if v, ok := r.pseudo(name); ok {
			return v, nil
		}
		if _, ok := r.resources[name]; ok {
			return r.getAtt(name, "Ref", depth)
		}
		return nil, fmt.Errorf("resolve Ref %s: no such parameter or resource", name)
	case "Fn::GetAtt":
		l, ok := resolved.([]any)
		if !ok || len(l) != 2 {
			return nil, fmt.Errorf("Fn::GetAtt wants [resource, attribute], got %v", resolved)
		}
		return r.getAtt(scalarString(l[0]), scalarString(l[1]), depth)
	case "Fn::Join":
		l, ok := resolved.([]any)
		if !ok || len(l) != 2 {
			return nil, fmt.Errorf("Fn::Join wants [delimiter, list], got %v", resolved)
		}
		items, _ := l[1].([]any)
		parts := make([]string, len(items))
		for i, it := range items {
			parts[i] = scalarString(it)
		}
		return strings.Join(parts, scalarString(l[0])), nil
	case "Fn::Select":
		l, ok := resolved.([]any)
		if !ok || len(l) != 2 {
			return nil, fmt.Errorf("Fn::Select wants [index, list], got %v", resolved)
		}
		i, err := strconv.Atoi(scalarString(l[0]))
		items, _ := l[1].([]any)
		if err != nil || i < 0 || i >= len(items) {
			return nil, fmt.Errorf("Fn::Select index %v out of range", l[0])
		}
		return items[i], nil
	case "Fn::Sub":
		return r.sub(resolved, depth)
	case "Fn::If":
		l, ok := arg.([]any) // branches resolve lazily: only the one taken
		if !ok || len(l) != 3 {
			return nil, fmt.Errorf("Fn::If wants [condition, then, else], got %v", arg)
		}
		on, err := r.condition(scalarString(l[0]), depth+1)
		if err != nil {
			return nil, err
		}
		if on {
			return r.resolve(l[1], depth+1)
		}
		return r.resolve(l[2], depth+1)
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or":
		return r.evalCondition(map[string]any{fn: arg}, depth)
	}
	return nil, fmt.Errorf("intrinsic function %s is not modelled", fn)
}

func (r *rosLoader) sub(arg any, depth int) (any, error) {
	text, vars := "", map[string]any{}
	switch x := arg.(type) {
	case string:
		text = x
	case []any:
		if len(x) != 2 {
			return nil, fmt.Errorf("Fn::Sub wants a string or [string, variables], got %v", arg)
		}
		text, vars = scalarString(x[0]), asMap(x[1])
	default:
		return nil, fmt.Errorf("Fn::Sub wants a string, got %v", arg)
	}
	var firstErr error
	out := subRE.ReplaceAllStringFunc(text, func(m string) string {
		name := strings.TrimSpace(m[2 : len(m)-1])
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}" // ${!Literal} stays literal
		}
		if v, ok := vars[name]; ok {
			return scalarString(v)
		}
		if v, ok := r.pseudo(name); ok {
			return v
		}
		if res, attr, ok := strings.Cut(name, "."); ok {
			if v, err := r.getAtt(res, attr, depth); err == nil {
				return scalarString(v)
			} else if firstErr == nil {
				firstErr = err
			}
			return ""
		}
		if _, ok := r.resources[name]; ok {
			v, err := r.getAtt(name, "Ref", depth)
			if err != nil && firstErr == nil {
				firstErr = err
			}
			return scalarString(v)
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("Fn::Sub: ${%s} is no parameter, pseudo parameter or resource", name)
		}
		return ""
	})
	return out, firstErr
}

// getAtt returns the attributes the emulator can know before anything
// exists: names and ARNs derived from properties. Role Arn/RoleName follow
// DATASOURCE::RAM::Role (unconfirmed for ALIYUN::RAM::Role); queue
// attributes follow ALIYUN::MNS::Queue's documented outputs.
func (r *rosLoader) getAtt(id, attr string, depth int) (any, error) {
	raw, ok := r.resources[id]
	if !ok {
		return nil, fmt.Errorf("Fn::GetAtt: no resource %s", id)
	}
	propsV, err := r.resolve(raw["Properties"], depth+1)
	if err != nil {
		return nil, err
	}
	props := asMap(propsV)
	typ := fmt.Sprint(raw["Type"])
	switch typ {
	case "ALIYUN::RAM::Role":
		name := scalarString(props["RoleName"])
		switch attr {
		case "Ref", "RoleName":
			return name, nil
		case "Arn":
			return "acs:ram::" + r.opts.AccountID + ":role/" + name, nil
		}
	case "ALIYUN::MNS::Queue":
		name := scalarString(props["QueueName"])
		base := "acs:mns:" + r.opts.Region + ":" + r.opts.AccountID
		switch attr {
		case "Ref", "QueueName":
			return name, nil
		case "ARN":
			return base + ":queues/" + name, nil
		case "ARN.WithSlash":
			return base + ":/queues/" + name, nil
		case "QueueUrl":
			return "http://" + r.opts.AccountID + ".mns." + r.opts.Region + ".aliyuncs.com/queues/" + name, nil
		}
	case "ALIYUN::FC3::Function":
		switch attr {
		case "Ref", "FunctionName":
			return scalarString(props["FunctionName"]), nil
		case "FunctionArn":
			return "acs:fc:" + r.opts.Region + ":" + r.opts.AccountID + ":functions/" + scalarString(props["FunctionName"]), nil
		}
	case "ALIYUN::SLS::Project":
		if attr == "Ref" || attr == "Name" {
			return scalarString(props["Name"]), nil
		}
	}
	return nil, fmt.Errorf("Fn::GetAtt %s.%s: attribute not modelled for %s", id, attr, typ)
}

func (r *rosLoader) condition(name string, depth int) (bool, error) {
	if v, ok := r.conds[name]; ok {
		return v, nil
	}
	def, ok := r.condDefs[name]
	if !ok {
		return false, fmt.Errorf("condition %s is not defined", name)
	}
	v, err := r.evalCondition(def, depth+1)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	b, _ := v.(bool)
	r.conds[name] = b
	return b, nil
}

func (r *rosLoader) evalCondition(def any, depth int) (any, error) {
	if depth > maxROSDepth {
		return nil, errors.New("conditions nest too deep")
	}
	m := asMap(def)
	if len(m) != 1 {
		return nil, fmt.Errorf("condition %v is not one function", def)
	}
	for fn, arg := range m {
		l, _ := arg.([]any)
		switch fn {
		case "Condition":
			return r.condition(scalarString(arg), depth+1)
		case "Fn::Equals":
			if len(l) != 2 {
				return nil, errors.New("Fn::Equals wants two values")
			}
			a, err := r.resolve(l[0], depth+1)
			if err != nil {
				return nil, err
			}
			b, err := r.resolve(l[1], depth+1)
			if err != nil {
				return nil, err
			}
			return scalarString(a) == scalarString(b), nil
		case "Fn::Not", "Fn::And", "Fn::Or":
			vals := make([]bool, len(l))
			for i, e := range l {
				v, err := r.evalCondition(e, depth+1)
				if err != nil {
					return nil, err
				}
				vals[i], _ = v.(bool)
			}
			switch fn {
			case "Fn::Not":
				if len(vals) != 1 {
					return nil, errors.New("Fn::Not wants one condition")
				}
				return !vals[0], nil
			case "Fn::And":
				all := true
				for _, v := range vals {
					all = all && v
				}
				return all, nil
			default:
				anyv := false
				for _, v := range vals {
					anyv = anyv || v
				}
				return anyv, nil
			}
		}
		return nil, fmt.Errorf("condition function %s is not modelled", fn)
	}
	return nil, nil
}

// ---- building the stack ----

// ROS property name -> s.yaml key, for the function properties read.
var rosFunctionProps = map[string]string{
	"FunctionName": "functionName", "Handler": "handler", "Runtime": "runtime", "MemorySize": "memorySize",
	"Timeout": "timeout", "InstanceConcurrency": "instanceConcurrency", "EnvironmentVariables": "environmentVariables",
	"Role": "role", "Description": "description",
}

// Function properties accepted and not modelled (Code: see ROSOptions.CodeDir).
var rosFunctionIgnored = map[string]bool{"Code": true, "LogConfig": true, "InternetAccess": true, "Cpu": true,
	"DiskSize": true, "Tags": true, "TracingConfig": true, "VpcConfig": true, "CustomDNS": true}

func (r *rosLoader) build(res []rosResource) error {
	fns := map[string]map[string]any{} // FunctionName -> s.yaml-shaped props
	var order []string
	roles := map[string]*ROSRole{}
	for _, x := range res {
		if x.typ != "ALIYUN::FC3::Function" {
			continue
		}
		name := scalarString(x.props["FunctionName"])
		if name == "" {
			return fmt.Errorf("resource %s: FunctionName is missing", x.id)
		}
		if r.opts.CodeDir == "" {
			return fmt.Errorf("function %s: no code folder (localcloud reads <codeDir>/%s, not OSS)", name, name)
		}
		p := map[string]any{"code": filepath.Join(r.opts.CodeDir, name)}
		for k, v := range x.props {
			if sk, ok := rosFunctionProps[k]; ok {
				p[sk] = v
				continue
			}
			if !rosFunctionIgnored[k] {
				return fmt.Errorf("resource %s: property %s is not modelled", x.id, k)
			}
			if k != "Code" {
				r.stack.Warnings = append(r.stack.Warnings, fmt.Sprintf("function %q: %s is not modelled and is ignored", name, k))
			}
		}
		if _, dup := fns[name]; dup {
			return fmt.Errorf("function %s is defined twice", name)
		}
		fns[name] = p
		order = append(order, name)
	}
	function := func(x rosResource) (map[string]any, error) {
		name := scalarString(x.props["FunctionName"])
		p, ok := fns[name]
		if !ok {
			return nil, fmt.Errorf("resource %s (%s) names function %q, which the template does not deploy", x.id, x.typ, name)
		}
		return p, nil
	}
	for _, x := range res {
		switch x.typ {
		case "ALIYUN::FC3::Function":
		case "ALIYUN::FC3::Trigger":
			p, err := function(x)
			if err != nil {
				return err
			}
			t := map[string]any{}
			for k, sk := range map[string]string{"TriggerName": "triggerName", "TriggerType": "triggerType", "Qualifier": "qualifier",
				"TriggerConfig": "triggerConfig", "InvocationRole": "invocationRole", "SourceArn": "sourceArn", "Description": "description"} {
				if v, ok := x.props[k]; ok {
					t[sk] = v
				}
			}
			list, _ := p["triggers"].([]any)
			p["triggers"] = append(list, t)
		case "ALIYUN::FC3::AsyncInvokeConfig":
			p, err := function(x)
			if err != nil {
				return err
			}
			a := map[string]any{}
			for k, sk := range map[string]string{"MaxAsyncRetryAttempts": "maxAsyncRetryAttempts",
				"MaxAsyncEventAgeInSeconds": "maxAsyncEventAgeInSeconds", "Qualifier": "qualifier"} {
				if v, ok := x.props[k]; ok {
					a[sk] = v
				}
			}
			if dc := asMap(x.props["DestinationConfig"]); dc != nil {
				d := map[string]any{}
				for k, sk := range map[string]string{"OnFailure": "onFailure", "OnSuccess": "onSuccess"} {
					if o := asMap(dc[k]); o != nil {
						d[sk] = map[string]any{"destination": o["Destination"]}
					}
				}
				a["destinationConfig"] = d
			}
			p["asyncInvokeConfig"] = a
		case "ALIYUN::FC3::ConcurrencyConfig":
			p, err := function(x)
			if err != nil {
				return err
			}
			p["concurrencyConfig"] = map[string]any{"reservedConcurrency": x.props["ReservedConcurrency"]}
		case "ALIYUN::MNS::Queue":
			q := ROSQueue{Name: scalarString(x.props["QueueName"])}
			for k, dst := range map[string]*int{"DelaySeconds": &q.DelaySeconds, "MaximumMessageSize": &q.MaximumMessageSize,
				"MessageRetentionPeriod": &q.MessageRetentionPeriod, "VisibilityTimeout": &q.VisibilityTimeout,
				"PollingWaitSeconds": &q.PollingWaitSeconds} {
				if v, ok := x.props[k]; ok {
					n, err := strconv.Atoi(scalarString(v))
					if err != nil {
						return fmt.Errorf("queue %s: %s %v is not a number", q.Name, k, v)
					}
					*dst = n
				}
			}
			if q.Name == "" {
				return fmt.Errorf("resource %s: QueueName is missing", x.id)
			}
			r.stack.Queues = append(r.stack.Queues, q)
		case "ALIYUN::RAM::Role":
			name := scalarString(x.props["RoleName"])
			role := roles[name]
			if role == nil {
				role = &ROSRole{Name: name, ARN: "acs:ram::" + r.opts.AccountID + ":role/" + name}
				roles[name] = role
			}
			pols, _ := x.props["Policies"].([]any)
			for _, pv := range pols {
				pm := asMap(pv)
				doc, err := json.Marshal(pm["PolicyDocument"])
				if err != nil {
					return fmt.Errorf("role %s policy: %w", name, err)
				}
				role.Policies = append(role.Policies, ROSPolicy{Name: scalarString(pm["PolicyName"]), Document: doc})
			}
		case "ALIYUN::RAM::ManagedPolicy":
			doc, err := json.Marshal(x.props["PolicyDocument"])
			if err != nil {
				return fmt.Errorf("resource %s: %w", x.id, err)
			}
			pol := ROSPolicy{Name: scalarString(x.props["PolicyName"]), Document: doc}
			names, _ := x.props["Roles"].([]any)
			for _, n := range names {
				role := roles[scalarString(n)]
				if role == nil {
					role = &ROSRole{Name: scalarString(n), ARN: "acs:ram::" + r.opts.AccountID + ":role/" + scalarString(n)}
					roles[role.Name] = role
				}
				role.Policies = append(role.Policies, pol)
			}
		default:
			r.stack.Warnings = append(r.stack.Warnings, fmt.Sprintf("resource %s (%s) is not modelled and is skipped", x.id, x.typ))
		}
	}
	roleNames := make([]string, 0, len(roles))
	for n := range roles {
		roleNames = append(roleNames, n)
	}
	sort.Strings(roleNames)
	for _, n := range roleNames {
		r.stack.Roles = append(r.stack.Roles, *roles[n])
	}
	sort.Strings(order)
	for _, name := range order {
		spec, err := r.function(name, fns[name])
		if err != nil {
			return err
		}
		spec.Region = r.opts.Region
		r.stack.Functions = append(r.stack.Functions, spec)
	}
	return nil
}

// function reads s.yaml-shaped props with the s.yaml loader, so both files
// are held to the same checks.
func (r *rosLoader) function(name string, props map[string]any) (FunctionSpec, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(props); err != nil {
		return FunctionSpec{}, fmt.Errorf("function %s: %w", name, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(buf.Bytes(), &doc); err != nil || len(doc.Content) != 1 {
		return FunctionSpec{}, fmt.Errorf("function %s: re-reading properties: %v", name, err)
	}
	l := &loader{file: r.file, dir: filepath.Dir(r.file), opts: LoadOptions{}, root: doc.Content[0]}
	m, err := l.asMap(doc.Content[0], "Resources("+name+").Properties")
	if err != nil {
		return FunctionSpec{}, err
	}
	spec, err := l.props(name, m)
	if err != nil {
		return FunctionSpec{}, err
	}
	spec.Warnings = append(spec.Warnings, r.stack.Warnings...)
	return spec, nil
}

// resourceOrder returns the logical IDs under Resources in document order.
func resourceOrder(data []byte) []string {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) != 1 {
		return nil
	}
	res := mapGet(doc.Content[0], "Resources")
	if res == nil {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(res.Content); i += 2 {
		out = append(out, res.Content[i].Value)
	}
	return out
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// scalarString renders a YAML scalar as the string ROS would see.
func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}
