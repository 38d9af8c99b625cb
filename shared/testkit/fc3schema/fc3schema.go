// Package fc3schema checks sgpilot's s.yaml (Serverless Devs 3.0, fc3
// component) without the network: it renders the ${vars.*} references the
// way `s preview` does and validates the result against s.schema.json, a
// schema the project wrote from the fc3 and Function Compute 3.0 docs.
//
// The fc3 component cannot be downloaded here, so `s verify` (which fetches
// the component's own schema from the Serverless Devs registry) does not run;
// this package is the props check, and `make lint` also runs it on the
// output of the real `s preview`.
package fc3schema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"gopkg.in/yaml.v3"
)

//go:embed s.schema.json
var schemaJSON []byte

const schemaURL = "https://sgpilot.invalid/fc3/s.schema.json"

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("parse s.schema.json: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("add s.schema.json: %w", err)
	}
	s, err := c.Compile(schemaURL)
	if err != nil {
		return nil, fmt.Errorf("compile s.schema.json: %w", err)
	}
	return s, nil
})

// CheckFile renders and validates the s.yaml at path.
func CheckFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	doc, err := Render(b)
	if err != nil {
		return fmt.Errorf("render %s: %w", path, err)
	}
	if err := Validate(doc); err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	return nil
}

// CheckRenderedJSON validates the output of `s preview -o json`, which has
// already been rendered by the real Serverless Devs CLI.
func CheckRenderedJSON(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("parse %s as JSON (is it s preview output?): %w", path, err)
	}
	if err := Validate(doc); err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	return nil
}

// Validate checks a rendered s.yaml document (maps, slices, strings, numbers
// and booleans, as from YAML or JSON decoding) against the schema, then the
// rules a JSON schema cannot state.
func Validate(doc any) error {
	s, err := compiled()
	if err != nil {
		return err
	}
	// Round-trip through JSON so that numbers reach the validator as
	// json.Number, whatever decoder produced doc.
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode document: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("decode document: %w", err)
	}
	var problems []string
	if err := s.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return fmt.Errorf("validate: %w", err)
		}
		problems = append(problems, leafErrors(ve)...)
	}
	problems = append(problems, crossChecks(inst)...)
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return &Error{Problems: problems}
}

// Error lists every problem found, one per line, each starting with the JSON
// pointer of the offending value.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	return fmt.Sprintf("%d problem(s) in s.yaml:\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// leafErrors flattens the validator's tree to its leaves: the causes a reader
// can act on ("at /x/y: value must be one of ...").
func leafErrors(ve *jsonschema.ValidationError) []string {
	if len(ve.Causes) == 0 {
		return []string{fmt.Sprintf("at %s: %s", pointer(ve.InstanceLocation), ve.ErrorKind.LocalizedString(english))}
	}
	var out []string
	for _, c := range ve.Causes {
		out = append(out, leafErrors(c)...)
	}
	return out
}

var english = message.NewPrinter(language.English)

func pointer(tokens []string) string {
	if len(tokens) == 0 {
		return "/"
	}
	return "/" + strings.Join(tokens, "/")
}

// crossChecks are rules over several values or inside strings: no unrendered
// reference, one function name per resource, unique trigger names per function, and event patterns
// that are JSON objects (EventBridge rejects anything else at deploy time).
func crossChecks(doc any) []string {
	out := unrendered(doc, "")
	resources, _ := lookup(doc, "resources").(map[string]any)
	names := map[string]string{}
	keys := make([]string, 0, len(resources))
	for k := range resources {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, res := range keys {
		props, _ := lookup(resources[res], "props").(map[string]any)
		if fn, ok := props["functionName"].(string); ok {
			if other, dup := names[fn]; dup {
				out = append(out, fmt.Sprintf("at /resources/%s/props/functionName: %q is also the function of resource %s", res, fn, other))
			}
			names[fn] = res
		}
		triggers, _ := props["triggers"].([]any)
		seen := map[string]bool{}
		for i, t := range triggers {
			at := fmt.Sprintf("/resources/%s/props/triggers/%d", res, i)
			if name, ok := lookup(t, "triggerName").(string); ok {
				if seen[name] {
					out = append(out, fmt.Sprintf("at %s/triggerName: trigger %q appears twice in function %s", at, name, res))
				}
				seen[name] = true
			}
			if pattern, ok := lookup(t, "triggerConfig", "eventRuleFilterPattern").(string); ok {
				var obj map[string]any
				if err := json.Unmarshal([]byte(pattern), &obj); err != nil || obj == nil {
					out = append(out, fmt.Sprintf("at %s/triggerConfig/eventRuleFilterPattern: not a JSON object: %q", at, pattern))
				}
			}
		}
	}
	return out
}

// unrendered reports strings still holding "${": s preview leaves an
// unterminated reference as it is instead of failing.
func unrendered(v any, at string) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			out = append(out, unrendered(e, at+"/"+k)...)
		}
	case []any:
		for i, e := range x {
			out = append(out, unrendered(e, fmt.Sprintf("%s/%d", at, i))...)
		}
	case string:
		if strings.Contains(x, "${") {
			out = append(out, fmt.Sprintf("at %s: unrendered reference in %q", at, x))
		}
	}
	return out
}

func lookup(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// Render parses an s.yaml and replaces each ${vars.NAME} with the value of
// vars.NAME, itself rendered first (vars may refer to other vars), as
// `s preview` does. A string that is exactly one reference takes the var's
// value with its type; inside a longer string the value is formatted. Other
// expressions (${env(...)}, ${resources...}, ...) are not used by sgpilot
// and are reported rather than guessed.
func Render(yamlText []byte) (any, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(yamlText, &doc); err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	if doc == nil {
		return nil, errors.New("empty document")
	}
	vars, _ := doc["vars"].(map[string]any)
	r := &renderer{vars: vars, done: map[string]any{}, busy: map[string]bool{}}
	out, err := r.value(doc, "")
	if err != nil {
		return nil, err
	}
	return out, nil
}

var refRE = regexp.MustCompile(`\$\{([^}]*)\}`)
var varRE = regexp.MustCompile(`^\s*vars\.([A-Za-z0-9_-]+)\s*$`)

type renderer struct {
	vars map[string]any
	done map[string]any
	busy map[string]bool
}

func (r *renderer) value(v any, at string) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			rv, err := r.value(e, at+"/"+k)
			if err != nil {
				return nil, err
			}
			out[k] = rv
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			rv, err := r.value(e, fmt.Sprintf("%s/%d", at, i))
			if err != nil {
				return nil, err
			}
			out[i] = rv
		}
		return out, nil
	case string:
		return r.str(x, at)
	default:
		return v, nil
	}
}

func (r *renderer) str(s, at string) (any, error) {
	locs := refRE.FindAllStringSubmatchIndex(s, -1)
	if len(locs) == 1 && locs[0][0] == 0 && locs[0][1] == len(s) {
		return r.ref(s[locs[0][2]:locs[0][3]], at)
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		b.WriteString(s[last:l[0]])
		v, err := r.ref(s[l[2]:l[3]], at)
		if err != nil {
			return nil, err
		}
		fmt.Fprint(&b, v)
		last = l[1]
	}
	b.WriteString(s[last:])
	out := b.String()
	if strings.Contains(out, "${") {
		return nil, fmt.Errorf("at %s: unterminated ${ in %q", at, s)
	}
	return out, nil
}

func (r *renderer) ref(expr, at string) (any, error) {
	m := varRE.FindStringSubmatch(expr)
	if m == nil {
		return nil, fmt.Errorf("at %s: ${%s}: only ${vars.NAME} is supported here", at, expr)
	}
	name := m[1]
	if v, ok := r.done[name]; ok {
		return v, nil
	}
	raw, ok := r.vars[name]
	if !ok {
		return nil, fmt.Errorf("at %s: ${vars.%s} not found", at, name)
	}
	if r.busy[name] {
		return nil, fmt.Errorf("at %s: ${vars.%s} refers to itself", at, name)
	}
	r.busy[name] = true
	v, err := r.value(raw, "/vars/"+name)
	delete(r.busy, name)
	if err != nil {
		return nil, err
	}
	r.done[name] = v
	return v, nil
}
