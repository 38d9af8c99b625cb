package fcemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Pattern is a parsed EventBridge event rule filter pattern.
//
// The supported subset: a JSON object whose keys name event fields; a value
// is either a nested object (matching the fields of an object-valued event
// field, e.g. {"data":{"eventName":[...]}}) or an array of alternatives. An
// alternative is an exact scalar (string, number, bool, null) or one of
// {"prefix":s}, {"suffix":s}, {"anything-but":scalar|[scalars]|{"prefix":s}},
// {"exists":bool}, {"numeric":[op,n,...]} with ops = != < <= > >=. An array
// event value matches if any element matches. An empty pattern {} matches
// every event. Anything else is rejected by ParsePattern.
type Pattern struct {
	fields []fieldPattern
}

type fieldPattern struct {
	key    string
	nested *Pattern
	alts   []matcher
}

type matcherKind int

const (
	mExact matcherKind = iota
	mPrefix
	mSuffix
	mAnythingBut
	mAnythingButPrefix
	mExists
	mNumeric
)

type matcher struct {
	kind   matcherKind
	value  any   // exact value (decoded JSON scalar), prefix/suffix string, exists bool
	values []any // anything-but values
	ops    []numericOp
}

type numericOp struct {
	op string
	n  float64
}

// ParsePattern parses a filter pattern. An empty string means "match all".
func ParsePattern(s string) (*Pattern, error) {
	if strings.TrimSpace(s) == "" {
		return &Pattern{}, nil
	}
	var raw any
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("event pattern is not valid JSON: %w", err)
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("event pattern must be a JSON object")
	}
	return parsePatternObject(obj, "")
}

func parsePatternObject(obj map[string]any, path string) (*Pattern, error) {
	p := &Pattern{}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		full := path + k
		switch v := obj[k].(type) {
		case map[string]any:
			np, err := parsePatternObject(v, full+".")
			if err != nil {
				return nil, err
			}
			p.fields = append(p.fields, fieldPattern{key: k, nested: np})
		case []any:
			if len(v) == 0 {
				return nil, fmt.Errorf("event pattern field %s: empty array matches nothing", full)
			}
			fp := fieldPattern{key: k}
			for _, alt := range v {
				m, err := parseMatcher(alt, full)
				if err != nil {
					return nil, err
				}
				fp.alts = append(fp.alts, m)
			}
			p.fields = append(p.fields, fp)
		default:
			return nil, fmt.Errorf("event pattern field %s: value must be an array of alternatives or an object", full)
		}
	}
	return p, nil
}

func parseMatcher(alt any, path string) (matcher, error) {
	obj, ok := alt.(map[string]any)
	if !ok {
		if _, isArr := alt.([]any); isArr {
			return matcher{}, fmt.Errorf("event pattern field %s: nested arrays are not allowed", path)
		}
		return matcher{kind: mExact, value: alt}, nil
	}
	if len(obj) != 1 {
		return matcher{}, fmt.Errorf("event pattern field %s: a matcher object must have exactly one key", path)
	}
	for op, v := range obj {
		switch op {
		case "prefix", "suffix":
			s, ok := v.(string)
			if !ok {
				return matcher{}, fmt.Errorf("event pattern field %s: %s needs a string", path, op)
			}
			kind := mPrefix
			if op == "suffix" {
				kind = mSuffix
			}
			return matcher{kind: kind, value: s}, nil
		case "exists":
			b, ok := v.(bool)
			if !ok {
				return matcher{}, fmt.Errorf("event pattern field %s: exists needs true or false", path)
			}
			return matcher{kind: mExists, value: b}, nil
		case "anything-but":
			switch x := v.(type) {
			case []any:
				for _, e := range x {
					if !isScalar(e) {
						return matcher{}, fmt.Errorf("event pattern field %s: anything-but list must hold scalars", path)
					}
				}
				return matcher{kind: mAnythingBut, values: x}, nil
			case map[string]any:
				pre, ok := x["prefix"].(string)
				if !ok || len(x) != 1 {
					return matcher{}, fmt.Errorf("event pattern field %s: anything-but object supports only {\"prefix\": string}", path)
				}
				return matcher{kind: mAnythingButPrefix, value: pre}, nil
			default:
				return matcher{kind: mAnythingBut, values: []any{x}}, nil
			}
		case "numeric":
			arr, ok := v.([]any)
			if !ok || len(arr) == 0 || len(arr)%2 != 0 {
				return matcher{}, fmt.Errorf("event pattern field %s: numeric needs [op, number, ...]", path)
			}
			m := matcher{kind: mNumeric}
			for i := 0; i < len(arr); i += 2 {
				op, ok1 := arr[i].(string)
				n, ok2 := arr[i+1].(float64)
				if !ok1 || !ok2 {
					return matcher{}, fmt.Errorf("event pattern field %s: numeric needs [op, number, ...]", path)
				}
				switch op {
				case "=", "!=", "<", "<=", ">", ">=":
				default:
					return matcher{}, fmt.Errorf("event pattern field %s: unknown numeric operator %q", path, op)
				}
				m.ops = append(m.ops, numericOp{op, n})
			}
			return m, nil
		default:
			return matcher{}, fmt.Errorf("event pattern field %s: matcher %q is not supported by the emulator", path, op)
		}
	}
	panic("unreachable")
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

// MatchJSON reports whether the JSON object event matches the pattern.
func (p *Pattern) MatchJSON(event []byte) bool {
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(event))
	if err := dec.Decode(&obj); err != nil {
		return false
	}
	return p.Match(obj)
}

// Match reports whether an event decoded into generic JSON values matches.
func (p *Pattern) Match(event map[string]any) bool {
	for _, f := range p.fields {
		v, present := event[f.key]
		if f.nested != nil {
			sub, ok := v.(map[string]any)
			if !ok {
				return false
			}
			if !f.nested.Match(sub) {
				return false
			}
			continue
		}
		if !matchAlternatives(f.alts, v, present) {
			return false
		}
	}
	return true
}

func matchAlternatives(alts []matcher, v any, present bool) bool {
	for _, m := range alts {
		if m.kind == mExists {
			if m.value.(bool) == present {
				return true
			}
			continue
		}
		if !present {
			continue
		}
		if arr, ok := v.([]any); ok {
			for _, e := range arr {
				if m.matchValue(e) {
					return true
				}
			}
			continue
		}
		if m.matchValue(v) {
			return true
		}
	}
	return false
}

func (m matcher) matchValue(v any) bool {
	switch m.kind {
	case mExact:
		return scalarEqual(m.value, v)
	case mPrefix:
		s, ok := v.(string)
		return ok && strings.HasPrefix(s, m.value.(string))
	case mSuffix:
		s, ok := v.(string)
		return ok && strings.HasSuffix(s, m.value.(string))
	case mAnythingBut:
		for _, x := range m.values {
			if scalarEqual(x, v) {
				return false
			}
		}
		return true
	case mAnythingButPrefix:
		s, ok := v.(string)
		return !ok || !strings.HasPrefix(s, m.value.(string))
	case mNumeric:
		n, ok := v.(float64)
		if !ok {
			return false
		}
		for _, o := range m.ops {
			var r bool
			switch o.op {
			case "=":
				r = n == o.n
			case "!=":
				r = n != o.n
			case "<":
				r = n < o.n
			case "<=":
				r = n <= o.n
			case ">":
				r = n > o.n
			case ">=":
				r = n >= o.n
			}
			if !r {
				return false
			}
		}
		return true
	}
	return false
}

func scalarEqual(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	}
	return false
}

// sourceValues returns the exact strings the pattern lists for "source", if
// it constrains the source only with exact values.
func (p *Pattern) sourceValues() ([]string, bool) {
	for _, f := range p.fields {
		if f.key != "source" || f.nested != nil {
			continue
		}
		var out []string
		for _, m := range f.alts {
			s, ok := m.value.(string)
			if m.kind != mExact || !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}
