package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Policy is a RAM policy document (grammar: "Policy elements" of the RAM documentation).
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one policy statement. Action and Resource may be a string or a list in RAM's
// grammar; StringList accepts both.
type Statement struct {
	Effect    string                    `json:"Effect"`
	Action    StringList                `json:"Action"`
	Resource  StringList                `json:"Resource"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

// StringList is a JSON string or list of strings.
type StringList []string

// UnmarshalJSON accepts "x" and ["x", "y"].
func (l *StringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = StringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings, got %s", b)
	}
	*l = many
	return nil
}

// ParsePolicy decodes a policy strictly (unknown fields are errors) and checks its grammar.
func ParsePolicy(b []byte) (Policy, error) {
	var p Policy
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Policy{}, fmt.Errorf("decode policy: %w", err)
	}
	if dec.More() {
		return Policy{}, fmt.Errorf("decode policy: trailing data")
	}
	return p, p.Validate()
}

var (
	actionName = regexp.MustCompile(`^[a-z]+:[A-Z][A-Za-z]*\*?$`)
	// Conditions RAM documents for Allow statements that sgpilot may use.
	conditionOps = map[string]bool{"StringEquals": true, "StringLike": true, "Bool": true, "IpAddress": true}
)

// Validate checks the grammar: Version "1", Effect Allow or Deny, service:Action names,
// resources "*" or an ARN, conditions with known operators.
func (p Policy) Validate() error {
	if p.Version != "1" {
		return fmt.Errorf("policy version %q, want \"1\"", p.Version)
	}
	if len(p.Statement) == 0 {
		return fmt.Errorf("no statements")
	}
	for i, s := range p.Statement {
		if s.Effect != "Allow" && s.Effect != "Deny" {
			return fmt.Errorf("statement %d: Effect %q, want Allow or Deny", i, s.Effect)
		}
		if len(s.Action) == 0 {
			return fmt.Errorf("statement %d: no Action", i)
		}
		for _, a := range s.Action {
			if !actionName.MatchString(a) {
				return fmt.Errorf("statement %d: action %q is not service:Action", i, a)
			}
		}
		if len(s.Resource) == 0 {
			return fmt.Errorf("statement %d: no Resource", i)
		}
		for _, r := range s.Resource {
			if r != "*" && !strings.HasPrefix(r, "acs:") {
				return fmt.Errorf("statement %d: resource %q is neither * nor an acs: ARN", i, r)
			}
		}
		for op, kv := range s.Condition {
			if !conditionOps[op] {
				return fmt.Errorf("statement %d: condition operator %q", i, op)
			}
			if len(kv) == 0 {
				return fmt.Errorf("statement %d: empty %s condition", i, op)
			}
		}
	}
	return nil
}

// Actions returns the policy's Allow actions.
func (p Policy) Actions() map[string]bool {
	out := map[string]bool{}
	for _, s := range p.Statement {
		if s.Effect == "Allow" {
			for _, a := range s.Action {
				out[a] = true
			}
		}
	}
	return out
}

// UnwrapSub replaces each {"Fn::Sub": "text"} in a template value with its text, so that a
// policy written in the template can be compared with the same policy as a JSON file whose
// placeholders are the ${ALIYUN::Region} / ${ALIYUN::AccountId} of Fn::Sub.
func UnwrapSub(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x["Fn::Sub"].(string); ok && len(x) == 1 {
			return s
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = UnwrapSub(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = UnwrapSub(e)
		}
		return out
	}
	return v
}
