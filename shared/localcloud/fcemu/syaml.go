package fcemu

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// LoadOptions steers LoadServerlessYAMLWith.
type LoadOptions struct {
	// Vars override (or add) top-level vars entries, as `s deploy` flags would.
	Vars map[string]string
	// Getenv resolves ${env(X)}, ${env('X', 'default')} and ${env.X}. Nil
	// means every such reference without a default is an error.
	Getenv func(string) string
	// Config resolves ${config('Key')} (e.g. "AccountID"). Missing keys are
	// an error.
	Config map[string]string
	// UnzipDir is where zipped code is extracted (one sub-directory per
	// function). Empty means a fresh os.MkdirTemp directory per function,
	// recorded in FunctionSpec.CodeTempDir.
	UnzipDir string
}

// LoadServerlessYAML reads a Serverless Devs s.yaml (edition 3.0.0,
// component fc3) and returns its functions. vars override the file's vars;
// ${env(X)} references read the process environment.
func LoadServerlessYAML(path string, vars map[string]string) ([]FunctionSpec, error) {
	return LoadServerlessYAMLWith(path, LoadOptions{Vars: vars, Getenv: os.Getenv})
}

// LoadServerlessYAMLWith is LoadServerlessYAML with every input explicit.
//
// Supported: top-level edition (3.0.0), name, access, vars, resources; per
// resource component fc3 and props region, functionName, runtime (go1),
// handler, code (folder or .zip, relative to the file), memorySize, timeout,
// instanceConcurrency, environmentVariables, instanceLifecycleConfig
// (initializer, preStop), asyncInvokeConfig, role (FunctionSpec.Role: the
// credentials FC hands the function carry it) and triggers of type timer and
// eventbridge (Default and MNS sources); description is accepted. Props the
// emulator does not model but that matter little locally (logConfig,
// vpcConfig, cpu, ...) become Warnings;
// props that would (layers, nasConfig, custom runtimes, OSS code, ...) and
// unknown keys are errors. Other trigger types become warnings: the
// emulator never fires them, manual invocation still works.
func LoadServerlessYAMLWith(path string, opts LoadOptions) ([]FunctionSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read s.yaml: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("%s: empty document", path)
	}
	l := &loader{file: path, dir: filepath.Dir(path), opts: opts, root: doc.Content[0]}
	return l.load()
}

type loader struct {
	file     string
	dir      string
	opts     LoadOptions
	root     *yaml.Node
	vars     *yaml.Node
	warnings []string
}

func (l *loader) errorf(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return fmt.Errorf("%s:%d: %s", l.file, line, fmt.Sprintf(format, args...))
}

func (l *loader) load() ([]FunctionSpec, error) {
	top, err := l.asMap(l.root, "")
	if err != nil {
		return nil, err
	}
	edition, _, err := top.str("edition")
	if err != nil {
		return nil, err
	}
	if edition != "3.0.0" {
		return nil, l.errorf(l.root, "edition %q is not supported (want 3.0.0, the fc3 component's edition)", edition)
	}
	top.str("name")
	top.str("access")
	if n := top.get("vars"); n != nil {
		if n.Kind != yaml.MappingNode {
			return nil, l.errorf(n, "vars must be a mapping")
		}
		l.vars = n
	} else {
		l.vars = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	l.applyVarOverrides()
	for _, k := range []string{"flow", "actions"} {
		if n := top.get(k); n != nil {
			l.warnings = append(l.warnings, fmt.Sprintf("top-level %q (Serverless Devs hooks) is ignored", k))
		}
	}
	if n := top.get("template"); n != nil {
		return nil, l.errorf(n, "template blocks are not supported; inline the props")
	}
	resNode := top.get("resources")
	if err := top.noRest(); err != nil {
		return nil, err
	}
	if resNode == nil || resNode.Kind != yaml.MappingNode {
		return nil, l.errorf(l.root, "resources mapping is missing")
	}
	var specs []FunctionSpec
	for i := 0; i+1 < len(resNode.Content); i += 2 {
		name := resNode.Content[i].Value
		spec, ok, err := l.resource(name, resNode.Content[i+1])
		if err != nil {
			return nil, err
		}
		if ok {
			specs = append(specs, spec)
		}
	}
	names := map[string]bool{}
	for i := range specs {
		if names[specs[i].Name] {
			return nil, fmt.Errorf("%s: function %q is defined twice", l.file, specs[i].Name)
		}
		names[specs[i].Name] = true
		specs[i].Warnings = append(append([]string(nil), l.warnings...), specs[i].Warnings...)
	}
	return specs, nil
}

func (l *loader) applyVarOverrides() {
	keys := make([]string, 0, len(l.opts.Vars))
	for k := range l.opts.Vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := &yaml.Node{Kind: yaml.ScalarNode, Value: l.opts.Vars[k]}
		replaced := false
		for i := 0; i+1 < len(l.vars.Content); i += 2 {
			if l.vars.Content[i].Value == k {
				l.vars.Content[i+1] = val
				replaced = true
			}
		}
		if !replaced {
			l.vars.Content = append(l.vars.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, val)
		}
	}
}

// ---- variable resolution ----

var refRE = regexp.MustCompile(`\$\{([^}]*)\}`)

const maxRefDepth = 16

type refScope struct {
	resourceName string
	resource     *yaml.Node // the resource mapping (for this.*)
}

// resolveTree substitutes ${...} references in every scalar under n, in place.
func (l *loader) resolveTree(n *yaml.Node, sc refScope, depth int) error {
	switch n.Kind {
	case yaml.ScalarNode:
		return l.resolveScalar(n, sc, depth)
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			if err := l.resolveTree(n.Content[i], sc, depth); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if err := l.resolveTree(c, sc, depth); err != nil {
				return err
			}
		}
	case yaml.AliasNode:
		if n.Alias != nil {
			*n = *copyNode(n.Alias)
			return l.resolveTree(n, sc, depth)
		}
	}
	return nil
}

func (l *loader) resolveScalar(n *yaml.Node, sc refScope, depth int) error {
	if !strings.Contains(n.Value, "${") {
		return nil
	}
	if depth > maxRefDepth {
		return l.errorf(n, "variable references nest deeper than %d (a cycle?)", maxRefDepth)
	}
	// A scalar that is exactly one reference to a mapping or list takes the
	// referenced node's place.
	if m := refRE.FindStringSubmatchIndex(n.Value); m != nil && m[0] == 0 && m[1] == len(n.Value) {
		target, err := l.lookupRef(n, strings.TrimSpace(n.Value[m[2]:m[3]]), sc, depth)
		if err != nil {
			return err
		}
		if target.Kind != yaml.ScalarNode {
			*n = *copyNode(target)
			return l.resolveTree(n, sc, depth+1)
		}
	}
	var firstErr error
	out := refRE.ReplaceAllStringFunc(n.Value, func(ref string) string {
		expr := strings.TrimSpace(ref[2 : len(ref)-1])
		target, err := l.lookupRef(n, expr, sc, depth)
		if err == nil && target.Kind != yaml.ScalarNode {
			err = l.errorf(n, "${%s} is a mapping or list and cannot be embedded in a string", expr)
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return ""
		}
		return target.Value
	})
	if firstErr != nil {
		return firstErr
	}
	n.Value = out
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
		n.Tag = "" // let "128" become an int again
	}
	return nil
}

var (
	envCallRE    = regexp.MustCompile(`^env\(\s*['"]?([^'",)]+?)['"]?\s*(?:,\s*['"]?([^'")]*?)['"]?\s*)?\)$`)
	configCallRE = regexp.MustCompile(`^config\(\s*['"]?([^'")]+?)['"]?\s*\)$`)
)

// lookupRef returns the fully resolved node an expression names.
func (l *loader) lookupRef(at *yaml.Node, expr string, sc refScope, depth int) (*yaml.Node, error) {
	scalar := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }
	switch {
	case strings.HasPrefix(expr, "vars."):
		return l.lookupPath(at, l.vars, strings.TrimPrefix(expr, "vars."), expr, sc, depth)
	case strings.HasPrefix(expr, "env."):
		name := strings.TrimPrefix(expr, "env.")
		return l.envRef(at, expr, name, "", false)
	case envCallRE.MatchString(expr):
		m := envCallRE.FindStringSubmatch(expr)
		hasDefault := strings.Contains(expr, ",")
		return l.envRef(at, expr, m[1], m[2], hasDefault)
	case configCallRE.MatchString(expr):
		key := configCallRE.FindStringSubmatch(expr)[1]
		v, ok := l.opts.Config[key]
		if !ok {
			return nil, l.errorf(at, "${%s}: config key %q is not provided (LoadOptions.Config)", expr, key)
		}
		return scalar(v), nil
	case expr == "this.name" && sc.resource != nil:
		return scalar(sc.resourceName), nil
	case strings.HasPrefix(expr, "this.props.") && sc.resource != nil:
		return l.lookupPath(at, sc.resource, strings.TrimPrefix(expr, "this."), expr, sc, depth)
	case strings.HasPrefix(expr, "resources."):
		rest := strings.TrimPrefix(expr, "resources.")
		resName, path, _ := strings.Cut(rest, ".")
		resNode := mapGet(mapGet(l.root, "resources"), resName)
		if resNode == nil {
			return nil, l.errorf(at, "${%s}: no resource %q", expr, resName)
		}
		if !strings.HasPrefix(path, "props.") {
			return nil, l.errorf(at, "${%s}: only resources.<name>.props.* can be referenced (outputs do not exist locally)", expr)
		}
		return l.lookupPath(at, resNode, path, expr, refScope{resourceName: resName, resource: resNode}, depth)
	}
	return nil, l.errorf(at, "unsupported variable reference ${%s} (supported: vars.*, env(X), env.X, config('K'), this.name, this.props.*, resources.<name>.props.*)", expr)
}

func (l *loader) envRef(at *yaml.Node, expr, name, def string, hasDefault bool) (*yaml.Node, error) {
	v := ""
	if l.opts.Getenv != nil {
		v = l.opts.Getenv(name)
	}
	if v == "" {
		if !hasDefault {
			return nil, l.errorf(at, "${%s}: environment variable %s is not set", expr, name)
		}
		v = def
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Value: v}, nil
}

func (l *loader) lookupPath(at, base *yaml.Node, path, expr string, sc refScope, depth int) (*yaml.Node, error) {
	cur := base
	for _, part := range strings.Split(path, ".") {
		switch {
		case cur.Kind == yaml.MappingNode:
			cur = mapGet(cur, part)
		case cur.Kind == yaml.SequenceNode:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(cur.Content) {
				cur = nil
			} else {
				cur = cur.Content[i]
			}
		default:
			cur = nil
		}
		if cur == nil {
			return nil, l.errorf(at, "${%s}: %q not found", expr, path)
		}
	}
	out := copyNode(cur)
	if err := l.resolveTree(out, sc, depth+1); err != nil {
		return nil, err
	}
	return out, nil
}

func mapGet(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func copyNode(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return copyNode(n.Alias)
	}
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = copyNode(x)
	}
	return &c
}

// ---- typed access to mappings ----

type ymap struct {
	l    *loader
	path string
	n    *yaml.Node
	used map[string]bool
}

func (l *loader) asMap(n *yaml.Node, path string) (*ymap, error) {
	if n.Kind != yaml.MappingNode {
		return nil, l.errorf(n, "%s must be a mapping", nonEmpty(path, "document"))
	}
	return &ymap{l: l, path: path, n: n, used: map[string]bool{}}, nil
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (m *ymap) child(key string) string {
	if m.path == "" {
		return key
	}
	return m.path + "." + key
}

// get looks key up exactly, then case-insensitively (s.yaml examples vary
// the case of EventBridge parameter names), and marks it used.
func (m *ymap) get(key string) *yaml.Node {
	for pass := 0; pass < 2; pass++ {
		for i := 0; i+1 < len(m.n.Content); i += 2 {
			k := m.n.Content[i].Value
			if k == key || (pass == 1 && strings.EqualFold(k, key)) {
				m.used[k] = true
				return m.n.Content[i+1]
			}
		}
	}
	return nil
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func (m *ymap) str(key string) (string, bool, error) {
	n := m.get(key)
	if isNull(n) {
		return "", false, nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", false, m.l.errorf(n, "%s must be a scalar", m.child(key))
	}
	return n.Value, true, nil
}

func (m *ymap) int(key string) (int, bool, error) {
	n := m.get(key)
	if isNull(n) {
		return 0, false, nil
	}
	var v int
	if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
		if i, err := strconv.Atoi(strings.TrimSpace(n.Value)); err == nil && n.Kind == yaml.ScalarNode {
			return i, true, nil
		}
		return 0, false, m.l.errorf(n, "%s must be an integer, got %q", m.child(key), n.Value)
	}
	return v, true, nil
}

func (m *ymap) bool(key string) (bool, bool, error) {
	n := m.get(key)
	if isNull(n) {
		return false, false, nil
	}
	var v bool
	if n.Kind == yaml.ScalarNode && n.Decode(&v) == nil {
		return v, true, nil
	}
	if n.Kind == yaml.ScalarNode {
		if b, err := strconv.ParseBool(strings.TrimSpace(n.Value)); err == nil {
			return b, true, nil
		}
	}
	return false, false, m.l.errorf(n, "%s must be true or false, got %q", m.child(key), n.Value)
}

func (m *ymap) sub(key string) (*ymap, error) {
	n := m.get(key)
	if isNull(n) {
		return nil, nil
	}
	return m.l.asMap(n, m.child(key))
}

// rest returns the keys not read yet.
func (m *ymap) rest() []*yaml.Node {
	var out []*yaml.Node
	for i := 0; i+1 < len(m.n.Content); i += 2 {
		if !m.used[m.n.Content[i].Value] {
			out = append(out, m.n.Content[i])
		}
	}
	return out
}

func (m *ymap) noRest() error {
	if r := m.rest(); len(r) > 0 {
		return m.l.errorf(r[0], "unknown or unsupported key %q in %s", r[0].Value, nonEmpty(m.path, "the top level"))
	}
	return nil
}

// ---- resources ----

var (
	// Props accepted and ignored: they do not change what the function does locally.
	warnProps = []string{"logConfig", "internetAccess", "cpu", "diskSize", "tags",
		"tracingConfig", "vpcConfig", "customDNS", "provisionConfig", "concurrencyConfig", "instanceType",
		"instanceIsolationMode", "sessionAffinity", "disableOndemand", "enableLongLiving"}
	// Props whose effect the emulator cannot reproduce.
	errorProps = []string{"layers", "nasConfig", "ossMountConfig", "customContainerConfig",
		"customRuntimeConfig", "gpuConfig", "cpuArch", "resourceGroupId"}
)

func (l *loader) resource(name string, n *yaml.Node) (FunctionSpec, bool, error) {
	res, err := l.asMap(n, "resources."+name)
	if err != nil {
		return FunctionSpec{}, false, err
	}
	comp, _, err := res.str("component")
	if err != nil {
		return FunctionSpec{}, false, err
	}
	if comp != "fc3" && !strings.HasPrefix(comp, "fc3@") && comp != "devsapp/fc3" {
		l.warnings = append(l.warnings, fmt.Sprintf("resource %q uses component %q, which the emulator does not run; skipped", name, comp))
		return FunctionSpec{}, false, nil
	}
	if res.get("actions") != nil {
		l.warnings = append(l.warnings, fmt.Sprintf("resource %q: actions (deploy hooks) are ignored", name))
	}
	if x := res.get("extend"); x != nil {
		return FunctionSpec{}, false, l.errorf(x, "resources.%s.extend is not supported", name)
	}
	propsNode := res.get("props")
	if err := res.noRest(); err != nil {
		return FunctionSpec{}, false, err
	}
	if propsNode == nil {
		return FunctionSpec{}, false, l.errorf(n, "resources.%s has no props", name)
	}
	// Resolve references on a copy of the whole resource so this.props.* work.
	resCopy := copyNode(n)
	if err := l.resolveTree(resCopy, refScope{resourceName: name, resource: resCopy}, 0); err != nil {
		return FunctionSpec{}, false, err
	}
	props, err := l.asMap(mapGet(resCopy, "props"), "resources."+name+".props")
	if err != nil {
		return FunctionSpec{}, false, err
	}
	spec, err := l.props(name, props)
	return spec, err == nil, err
}

func (l *loader) props(resName string, p *ymap) (FunctionSpec, error) {
	var s FunctionSpec
	var err error
	var ok bool
	fail := func(e error) (FunctionSpec, error) { return FunctionSpec{}, e }
	p.str("description") // no effect anywhere, so accepted silently
	if s.Region, _, err = p.str("region"); err != nil {
		return fail(err)
	}
	if s.Name, ok, err = p.str("functionName"); err != nil {
		return fail(err)
	} else if !ok {
		s.Name = resName
	}
	if s.Runtime, _, err = p.str("runtime"); err != nil {
		return fail(err)
	}
	if s.Runtime != RuntimeGo {
		return fail(l.errorf(p.get("runtime"), "%s: runtime %q is not supported (the emulator runs go1 functions built with fc-runtime-go-sdk)", p.path, s.Runtime))
	}
	if s.Handler, _, err = p.str("handler"); err != nil {
		return fail(err)
	}
	if s.Role, _, err = p.str("role"); err != nil {
		return fail(err)
	}
	if s.MemorySize, _, err = p.int("memorySize"); err != nil {
		return fail(err)
	}
	if s.TimeoutSeconds, _, err = p.int("timeout"); err != nil {
		return fail(err)
	}
	if s.InstanceConcurrency, _, err = p.int("instanceConcurrency"); err != nil {
		return fail(err)
	}
	if s.InstanceConcurrency > 1 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("function %q: instanceConcurrency %d is honoured by the emulator; whether FC honours it for runtime go1 is unconfirmed", s.Name, s.InstanceConcurrency))
	}
	if err := l.code(&s, p); err != nil {
		return fail(err)
	}
	if env, err := p.sub("environmentVariables"); err != nil {
		return fail(err)
	} else if env != nil {
		s.Environment = map[string]string{}
		for i := 0; i+1 < len(env.n.Content); i += 2 {
			k, v := env.n.Content[i], env.n.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				return fail(l.errorf(v, "environment variable %s must be a scalar", k.Value))
			}
			s.Environment[k.Value] = v.Value
		}
	}
	if lc, err := p.sub("instanceLifecycleConfig"); err != nil {
		return fail(err)
	} else if lc != nil {
		if s.Initializer, err = l.hook(lc, "initializer"); err != nil {
			return fail(err)
		}
		if s.PreStop, err = l.hook(lc, "preStop"); err != nil {
			return fail(err)
		}
		if lc.get("preFreeze") != nil {
			s.Warnings = append(s.Warnings, fmt.Sprintf("function %q: preFreeze is not modelled (instances are never frozen)", s.Name))
		}
		if err := lc.noRest(); err != nil {
			return fail(err)
		}
	}
	if ac, err := p.sub("asyncInvokeConfig"); err != nil {
		return fail(err)
	} else if ac != nil {
		if err := l.async(&s, ac); err != nil {
			return fail(err)
		}
	}
	if tn := p.get("triggers"); !isNull(tn) {
		if tn.Kind != yaml.SequenceNode {
			return fail(l.errorf(tn, "%s.triggers must be a list", p.path))
		}
		for _, t := range tn.Content {
			if err := l.trigger(&s, t, p.path+".triggers"); err != nil {
				return fail(err)
			}
		}
	}
	for _, k := range warnProps {
		if p.get(k) != nil {
			s.Warnings = append(s.Warnings, fmt.Sprintf("function %q: %s is not modelled and is ignored", s.Name, k))
		}
	}
	for _, k := range errorProps {
		if n := p.get(k); n != nil && !isNull(n) {
			return fail(l.errorf(n, "%s.%s is not supported by the emulator", p.path, k))
		}
	}
	if err := p.noRest(); err != nil {
		return fail(err)
	}
	if err := s.Validate(); err != nil {
		return fail(fmt.Errorf("%s: %w", l.file, err))
	}
	return s, nil
}

func (l *loader) code(s *FunctionSpec, p *ymap) error {
	n := p.get("code")
	if isNull(n) {
		return l.errorf(p.n, "%s.code is missing", p.path)
	}
	src := ""
	switch n.Kind {
	case yaml.ScalarNode:
		src = n.Value
	case yaml.MappingNode:
		m, _ := l.asMap(n, p.path+".code")
		v, ok, err := m.str("src")
		if err != nil {
			return err
		}
		if !ok || m.noRest() != nil {
			return l.errorf(n, "%s.code: only a local path (or {src: path}) is supported, not OSS code", p.path)
		}
		src = v
	default:
		return l.errorf(n, "%s.code must be a path", p.path)
	}
	if !filepath.IsAbs(src) {
		src = filepath.Join(l.dir, src)
	}
	// Absolute, because exec resolves a relative program path against the
	// child's working directory, which is the code folder itself.
	if abs, err := filepath.Abs(src); err == nil {
		src = abs
	}
	if strings.HasSuffix(strings.ToLower(src), ".zip") {
		dir := l.opts.UnzipDir
		var err error
		if dir == "" {
			if dir, err = os.MkdirTemp("", "fcemu-code-"+s.Name+"-"); err != nil {
				return fmt.Errorf("unzip code of %s: %w", s.Name, err)
			}
			s.CodeTempDir = dir
		} else {
			dir = filepath.Join(dir, s.Name)
		}
		if err := unzip(src, dir); err != nil {
			if s.CodeTempDir != "" {
				_ = os.RemoveAll(s.CodeTempDir)
			}
			return fmt.Errorf("unzip code of %s: %w", s.Name, err)
		}
		s.CodeDir = dir
		return nil
	}
	s.CodeDir = src
	return nil
}

func (l *loader) hook(lc *ymap, key string) (*LifecycleHook, error) {
	h, err := lc.sub(key)
	if err != nil || h == nil {
		return nil, err
	}
	handler, _, err := h.str("handler")
	if err != nil {
		return nil, err
	}
	timeout, _, err := h.int("timeout")
	if err != nil {
		return nil, err
	}
	if err := h.noRest(); err != nil {
		return nil, err
	}
	if handler == "" {
		return nil, nil // an empty handler disables the hook
	}
	if timeout <= 0 {
		timeout = DefaultTimeoutSeconds
	}
	return &LifecycleHook{Handler: handler, TimeoutSeconds: timeout}, nil
}

func (l *loader) async(s *FunctionSpec, ac *ymap) error {
	if n, ok, err := ac.int("maxAsyncRetryAttempts"); err != nil {
		return err
	} else if ok {
		s.Async.MaxAsyncRetryAttempts = IntPtr(n)
	}
	if n, ok, err := ac.int("maxAsyncEventAgeInSeconds"); err != nil {
		return err
	} else if ok {
		s.Async.MaxAsyncEventAge = time.Duration(n) * time.Second
	}
	ac.str("qualifier")
	if ac.get("asyncTask") != nil {
		s.Warnings = append(s.Warnings, fmt.Sprintf("function %q: asyncTask (task mode) is not modelled; invocations behave as plain async invocations", s.Name))
	}
	dc, err := ac.sub("destinationConfig")
	if err != nil {
		return err
	}
	if dc != nil {
		for _, k := range []string{"onFailure", "onSuccess"} {
			d, err := dc.sub(k)
			if err != nil {
				return err
			}
			if d == nil {
				continue
			}
			arn, _, err := d.str("destination")
			if err != nil {
				return err
			}
			if err := d.noRest(); err != nil {
				return err
			}
			if _, err := QueueNameFromARN(arn); err != nil {
				return l.errorf(d.n, "%s: %v", d.path, err)
			}
			if k == "onFailure" {
				s.Async.OnFailure = arn
			} else {
				s.Async.OnSuccess = arn
			}
		}
		if err := dc.noRest(); err != nil {
			return err
		}
	}
	return ac.noRest()
}

func (l *loader) trigger(s *FunctionSpec, n *yaml.Node, path string) error {
	t, err := l.asMap(n, path+"[]")
	if err != nil {
		return err
	}
	name, _, err := t.str("triggerName")
	if err != nil {
		return err
	}
	typ, _, err := t.str("triggerType")
	if err != nil {
		return err
	}
	t.path = path + "." + name
	if q, ok, _ := t.str("qualifier"); ok && q != "LATEST" {
		s.Warnings = append(s.Warnings, fmt.Sprintf("function %q trigger %q: qualifier %q is ignored (the emulator has no versions or aliases)", s.Name, name, q))
	}
	t.str("invocationRole")
	t.str("sourceArn")
	t.str("description")
	cfgNode := t.get("triggerConfig")
	if err := t.noRest(); err != nil {
		return err
	}
	switch typ {
	case TriggerTimer, TriggerEventBridge:
	default:
		s.Warnings = append(s.Warnings, fmt.Sprintf("function %q trigger %q: trigger type %q is not modelled and never fires (invoke the function manually)", s.Name, name, typ))
		return nil
	}
	if isNull(cfgNode) {
		return l.errorf(n, "%s: triggerConfig is missing", t.path)
	}
	cfg, err := l.asMap(cfgNode, t.path+".triggerConfig")
	if err != nil {
		return err
	}
	spec := TriggerSpec{Name: name, Type: typ, Enabled: true}
	if typ == TriggerTimer {
		tt := &TimerTrigger{}
		if tt.CronExpression, _, err = cfg.str("cronExpression"); err != nil {
			return err
		}
		if en, ok, err := cfg.bool("enable"); err != nil {
			return err
		} else if ok {
			spec.Enabled = en
		}
		if tt.Payload, _, err = cfg.str("payload"); err != nil {
			return err
		}
		if _, err := ParseCron(tt.CronExpression); err != nil {
			return l.errorf(cfgNode, "%s: %v", cfg.path, err)
		}
		spec.Timer = tt
	} else {
		eb, enabled, err := l.eventbridge(s, name, cfg)
		if err != nil {
			return err
		}
		spec.EventBridge, spec.Enabled = eb, enabled
	}
	if err := cfg.noRest(); err != nil {
		return err
	}
	s.Triggers = append(s.Triggers, spec)
	return nil
}

// eventbridge reads an eventbridge trigger's triggerConfig, one step per
// block: filter pattern, event source, event sink, run options.
func (l *loader) eventbridge(s *FunctionSpec, trig string, cfg *ymap) (*EventBridgeTrigger, bool, error) {
	eb := &EventBridgeTrigger{SourceType: SourceDefault}
	enabled := true
	if en, ok, err := cfg.bool("triggerEnable"); err != nil {
		return nil, false, err
	} else if ok {
		enabled = en
	}
	var err error
	if eb.AsyncInvocation, _, err = cfg.bool("asyncInvocationType"); err != nil {
		return nil, false, err
	}
	pat, err := l.filterPattern(eb, cfg)
	if err != nil {
		return nil, false, err
	}
	if err := l.eventSource(s, trig, eb, pat, cfg); err != nil {
		return nil, false, err
	}
	sinkMode, err := l.eventSink(cfg)
	if err != nil {
		return nil, false, err
	}
	ro, err := cfg.sub("runOptions")
	if err != nil {
		return nil, false, err
	}
	if ro != nil {
		if err := l.runOptions(eb, ro); err != nil {
			return nil, false, err
		}
	}
	if eb.Mode == "" {
		eb.Mode = sinkMode // deliveryOption.mode is the lower-priority spelling
	}
	if w := ignoredRunOptions(eb, ro); w != "" {
		s.Warnings = append(s.Warnings, fmt.Sprintf("function %q trigger %q: %s", s.Name, trig, w))
	}
	if err := eb.validateRunOptions(); err != nil {
		return nil, false, l.errorf(cfg.n, "%s: %v", cfg.path, err)
	}
	return eb, enabled, nil
}

// filterPattern reads eventRuleFilterPattern, a JSON string or an inline
// mapping, into eb and returns it parsed.
func (l *loader) filterPattern(eb *EventBridgeTrigger, cfg *ymap) (*Pattern, error) {
	if pn := cfg.get("eventRuleFilterPattern"); !isNull(pn) {
		if pn.Kind == yaml.ScalarNode {
			eb.FilterPattern = pn.Value
		} else {
			var v any
			if err := pn.Decode(&v); err != nil {
				return nil, l.errorf(pn, "eventRuleFilterPattern: %v", err)
			}
			b, err := json.Marshal(v)
			if err != nil {
				return nil, l.errorf(pn, "eventRuleFilterPattern: %v", err)
			}
			eb.FilterPattern = string(b)
		}
	}
	pat, err := ParsePattern(eb.FilterPattern)
	if err != nil {
		return nil, l.errorf(cfg.n, "%s.eventRuleFilterPattern: %v", cfg.path, err)
	}
	return pat, nil
}

// eventSource reads eventSourceConfig: the source type and, for MNS, its
// queue parameters.
func (l *loader) eventSource(s *FunctionSpec, trig string, eb *EventBridgeTrigger, pat *Pattern, cfg *ymap) error {
	src, err := cfg.sub("eventSourceConfig")
	if err != nil || src == nil {
		return err
	}
	if t, ok, err := src.str("eventSourceType"); err != nil {
		return err
	} else if ok {
		eb.SourceType = t
	}
	params, err := src.sub("eventSourceParameters")
	if err != nil {
		return err
	}
	switch eb.SourceType {
	case SourceDefault:
	case SourceMNS:
		if err := l.mnsSource(s, trig, eb, pat, src, params); err != nil {
			return err
		}
	default:
		return l.errorf(src.n, "%s: eventSourceType %q is not modelled (Default and MNS are)", src.path, eb.SourceType)
	}
	if params != nil {
		for _, k := range params.rest() {
			return l.errorf(k, "%s: %q does not fit eventSourceType %s", params.path, k.Value, eb.SourceType)
		}
	}
	return src.noRest()
}

func (l *loader) mnsSource(s *FunctionSpec, trig string, eb *EventBridgeTrigger, pat *Pattern, src, params *ymap) error {
	var mp *ymap
	var err error
	if params != nil {
		if mp, err = params.sub("sourceMNSParameters"); err != nil {
			return err
		}
	}
	if mp == nil {
		return l.errorf(src.n, "%s: MNS source needs eventSourceParameters.sourceMNSParameters", src.path)
	}
	eb.MNS = &MNSSource{}
	if eb.MNS.QueueName, _, err = mp.str("QueueName"); err != nil {
		return err
	}
	if eb.MNS.IsBase64Decode, _, err = mp.bool("IsBase64Decode"); err != nil {
		return err
	}
	mp.str("RegionId")
	if err := mp.noRest(); err != nil {
		return err
	}
	want := "MNS-" + s.Name + "-" + trig
	if vals, ok := pat.sourceValues(); ok && !contains(vals, want) {
		s.Warnings = append(s.Warnings, fmt.Sprintf("function %q trigger %q: eventRuleFilterPattern lists sources %v but MNS events come from %q, so no message will be delivered", s.Name, trig, vals, want))
	}
	return nil
}

// eventSink reads eventSinkConfig.deliveryOption and returns its mode.
func (l *loader) eventSink(cfg *ymap) (string, error) {
	sink, err := cfg.sub("eventSinkConfig")
	if err != nil || sink == nil {
		return "", err
	}
	dopt, err := sink.sub("deliveryOption")
	if err != nil {
		return "", err
	}
	mode := ""
	if dopt != nil {
		if mode, _, err = dopt.str("mode"); err != nil {
			return "", err
		}
		schema, _, err := dopt.str("eventSchema")
		if err != nil {
			return "", err
		}
		if schema != "" && schema != "CloudEvents" {
			return "", l.errorf(dopt.n, "%s.eventSchema %q is not modelled (CloudEvents is)", dopt.path, schema)
		}
		if err := dopt.noRest(); err != nil {
			return "", err
		}
	}
	return mode, sink.noRest()
}

// runOptions reads runOptions into eb; validateRunOptions checks the values.
func (l *loader) runOptions(eb *EventBridgeTrigger, ro *ymap) error {
	var err error
	if eb.Mode, _, err = ro.str("mode"); err != nil {
		return err
	}
	if eb.MaximumTasks, _, err = ro.int("maximumTasks"); err != nil {
		return err
	}
	if eb.ErrorsTolerance, _, err = ro.str("errorsTolerance"); err != nil {
		return err
	}
	if err := l.retryStrategy(eb, ro); err != nil {
		return err
	}
	if err := l.deadLetterQueue(eb, ro); err != nil {
		return err
	}
	if err := l.batchWindow(eb, ro); err != nil {
		return err
	}
	return ro.noRest()
}

func (l *loader) retryStrategy(eb *EventBridgeTrigger, ro *ymap) error {
	rs, err := ro.sub("retryStrategy")
	if err != nil || rs == nil {
		return err
	}
	if eb.Retry.Policy, _, err = rs.str("PushRetryStrategy"); err != nil {
		return err
	}
	if n, ok, err := rs.int("MaximumRetryAttempts"); err != nil {
		return err
	} else if ok {
		eb.Retry.MaximumRetryAttempts = IntPtr(n)
	}
	if n, ok, err := rs.int("MaximumEventAgeInSeconds"); err != nil {
		return err
	} else if ok {
		eb.Retry.MaximumEventAge = time.Duration(n) * time.Second
	}
	return rs.noRest()
}

func (l *loader) deadLetterQueue(eb *EventBridgeTrigger, ro *ymap) error {
	dl, err := ro.sub("deadLetterQueue")
	if err != nil || dl == nil {
		return err
	}
	if eb.DeadLetterQueue, _, err = dl.str("Arn"); err != nil {
		return err
	}
	if eb.DeadLetterQueue != "" {
		if _, err := QueueNameFromARN(eb.DeadLetterQueue); err != nil {
			return l.errorf(dl.n, "%s: %v", dl.path, err)
		}
	}
	return dl.noRest()
}

func (l *loader) batchWindow(eb *EventBridgeTrigger, ro *ymap) error {
	bw, err := ro.sub("batchWindow")
	if err != nil || bw == nil {
		return err
	}
	c, _, err := bw.int("CountBasedWindow")
	if err != nil {
		return err
	}
	t, _, err := bw.int("TimeBasedWindow")
	if err != nil {
		return err
	}
	eb.Batch = &BatchWindow{Count: c, Time: time.Duration(t) * time.Second}
	return bw.noRest()
}

// ignoredRunOptions explains, when it applies, that an MNS trigger in
// event-driven mode ignores its runOptions, which only event streams honour.
func ignoredRunOptions(eb *EventBridgeTrigger, ro *ymap) string {
	if ro == nil || eb.SourceType != SourceMNS || eb.streaming() {
		return ""
	}
	if eb.Batch != nil {
		return "" // validateRunOptions rejects it with a clearer error
	}
	if eb.Retry != (RetryStrategy{}) || eb.ErrorsTolerance != "" || eb.DeadLetterQueue != "" {
		return "runOptions retryStrategy, errorsTolerance and deadLetterQueue apply only with mode event-streaming; this event-driven trigger ignores them"
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func unzip(src, dst string) error {
	zr, err := zip.OpenReader(src)
	if err != nil {
		return err
	}
	defer zr.Close()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, f := range zr.File {
		name := filepath.Clean(filepath.FromSlash(f.Name))
		if name == "." || filepath.IsAbs(name) || strings.HasPrefix(name, ".."+string(filepath.Separator)) || name == ".." {
			return fmt.Errorf("zip entry %q escapes the code directory", f.Name)
		}
		target := filepath.Join(dst, name)
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		// Zips built on Windows or by some tools drop the exec bit; FC runs
		// the handler regardless, so every file gets it back.
		mode := f.Mode().Perm() | 0o755
		if err := extractFile(f, target, mode); err != nil {
			return err
		}
	}
	return nil
}

func extractFile(f *zip.File, target string, mode os.FileMode) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
