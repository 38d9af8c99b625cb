package ramemu

import (
	"encoding/json"
	"errors"
	"fmt"

	"strings"
)

// Effects of a statement.
const (
	Allow = "Allow"
	Deny  = "Deny"
)

// Policy is one RAM policy document.
type Policy struct {
	Name      string      `json:"-"`
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one policy statement. Lists accept a single string too.
type Statement struct {
	Effect      string                        `json:"Effect"`
	Action      strList                       `json:"Action,omitempty"`
	NotAction   strList                       `json:"NotAction,omitempty"`
	Resource    strList                       `json:"Resource,omitempty"`
	NotResource strList                       `json:"NotResource,omitempty"`
	Condition   map[string]map[string]strList `json:"Condition,omitempty"`
}

// strList is a JSON string or list of strings.
type strList []string

func (s *strList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = strList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		// Bool conditions are written as JSON booleans too.
		var flag bool
		if err2 := json.Unmarshal(b, &flag); err2 == nil {
			*s = strList{fmt.Sprint(flag)}
			return nil
		}
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*s = many
	return nil
}

// operators RAM documents that the evaluator implements.
var operators = map[string]bool{
	"StringEquals": true, "StringNotEquals": true, "StringEqualsIgnoreCase": true,
	"StringNotEqualsIgnoreCase": true, "StringLike": true, "StringNotLike": true, "Bool": true,
}

// ParsePolicy reads a policy document and checks what the evaluator needs:
// Version 1, known effects and condition operators, an action and a
// resource element in every statement.
func ParsePolicy(name string, doc []byte) (Policy, error) {
	var p Policy
	if err := json.Unmarshal(doc, &p); err != nil {
		return Policy{}, fmt.Errorf("policy %s: %w", name, err)
	}
	p.Name = name
	var errs []error
	if p.Version != "1" {
		errs = append(errs, fmt.Errorf("version %q, want \"1\"", p.Version))
	}
	for i, st := range p.Statement {
		if st.Effect != Allow && st.Effect != Deny {
			errs = append(errs, fmt.Errorf("statement %d: effect %q", i, st.Effect))
		}
		if len(st.Action) == 0 && len(st.NotAction) == 0 {
			errs = append(errs, fmt.Errorf("statement %d: no Action", i))
		}
		if len(st.Resource) == 0 && len(st.NotResource) == 0 {
			errs = append(errs, fmt.Errorf("statement %d: no Resource", i))
		}
		for op := range st.Condition {
			if !operators[op] {
				errs = append(errs, fmt.Errorf("statement %d: condition operator %q is not modelled", i, op))
			}
		}
	}
	if len(errs) > 0 {
		return Policy{}, fmt.Errorf("policy %s: %w", name, errors.Join(errs...))
	}
	return p, nil
}

// Resource is one resource a request acts on.
type Resource struct {
	ARN string
	// Tags are the resource's tags before the call (acs:ResourceTag/<key>).
	Tags map[string]string
}

// Request is one authorization question.
type Request struct {
	Action    string // "<service>:<API>", e.g. "ecs:JoinSecurityGroup"
	Resources []Resource
	// Context holds request condition keys (e.g. "acs:SecureTransport").
	Context map[string][]string
}

// Decision is the answer for one resource.
type Decision struct {
	Allowed bool
	// Explicit is true when a Deny statement matched.
	Explicit bool
	// Resource is the ARN decided (the first refused one when not allowed).
	Resource string
	// Statement names the deciding statement ("policy#index"), if any.
	Statement string
}

// Evaluate decides req against policies: every resource must be allowed.
// A request with no resource is decided for "*".
func Evaluate(policies []Policy, req Request) Decision {
	resources := req.Resources
	if len(resources) == 0 {
		resources = []Resource{{ARN: "*"}}
	}
	var last Decision
	for _, res := range resources {
		d := evaluateOne(policies, req, res)
		if !d.Allowed {
			return d
		}
		last = d
	}
	return last
}

func evaluateOne(policies []Policy, req Request, res Resource) Decision {
	allowed := Decision{Resource: res.ARN}
	for _, p := range policies {
		for i, st := range p.Statement {
			if !st.matches(req, res) {
				continue
			}
			id := fmt.Sprintf("%s#%d", p.Name, i)
			if st.Effect == Deny {
				return Decision{Explicit: true, Resource: res.ARN, Statement: id}
			}
			if !allowed.Allowed {
				allowed = Decision{Allowed: true, Resource: res.ARN, Statement: id}
			}
		}
	}
	return allowed
}

func (st Statement) matches(req Request, res Resource) bool {
	if len(st.Action) > 0 && !anyMatch(st.Action, req.Action, true) {
		return false
	}
	if len(st.NotAction) > 0 && anyMatch(st.NotAction, req.Action, true) {
		return false
	}
	if len(st.Resource) > 0 && !anyMatch(st.Resource, res.ARN, false) {
		return false
	}
	if len(st.NotResource) > 0 && anyMatch(st.NotResource, res.ARN, false) {
		return false
	}
	for op, keys := range st.Condition {
		for key, want := range keys {
			if !condition(op, lookupKey(key, req, res), want) {
				return false
			}
		}
	}
	return true
}

// ActionMatches reports whether the action pattern (with * and ?) matches
// action, case-insensitively as RAM compares action names.
func ActionMatches(pattern, action string) bool {
	return wildcard(strings.ToLower(pattern), strings.ToLower(action))
}

// ResourceMatches reports whether the ARN pattern matches arn.
func ResourceMatches(pattern, arn string) bool { return wildcard(pattern, arn) }

func anyMatch(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if (fold && ActionMatches(p, s)) || (!fold && ResourceMatches(p, s)) {
			return true
		}
	}
	return false
}

// wildcard matches * (any run, including "/" and ":") and ? (one
// character). path.Match would stop * at "/", which ARNs contain.
func wildcard(pattern, s string) bool {
	if pattern == "*" {
		return true
	}
	// Classic two-pointer glob with backtracking over the last star.
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// lookupKey returns a condition key's values: acs:ResourceTag/<k> from the
// resource, anything else from the request context. Keys compare
// case-insensitively except the tag key itself.
func lookupKey(key string, req Request, res Resource) []string {
	if k, ok := cutPrefixFold(key, "acs:ResourceTag/"); ok {
		if v, ok := res.Tags[k]; ok {
			return []string{v}
		}
		return nil
	}
	for k, v := range req.Context {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}

// condition applies op: the key holds when any of its values matches any
// wanted value; a missing key fails the positive operators and satisfies
// the negated ones.
func condition(op string, have []string, want []string) bool {
	any := func(eq func(a, b string) bool) bool {
		for _, h := range have {
			for _, w := range want {
				if eq(h, w) {
					return true
				}
			}
		}
		return false
	}
	switch op {
	case "StringEquals":
		return any(func(a, b string) bool { return a == b })
	case "StringNotEquals":
		return !any(func(a, b string) bool { return a == b })
	case "StringEqualsIgnoreCase", "Bool":
		return any(strings.EqualFold)
	case "StringNotEqualsIgnoreCase":
		return !any(strings.EqualFold)
	case "StringLike":
		return any(func(a, b string) bool { return wildcard(b, a) })
	case "StringNotLike":
		return !any(func(a, b string) bool { return wildcard(b, a) })
	}
	return false
}
