package ramemu

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Grant is one (action, resource) pair an Allow statement grants a
// function, and how many allowed calls it covered.
type Grant struct {
	Function  string
	Policy    string
	Statement int
	Action    string // as written, possibly with wildcards
	Resource  string // as written
	Condition bool   // the statement has a Condition
	Used      int    // allowed calls matching Action and Resource
}

// Grants expands every Allow statement of granted into its (action,
// resource) pairs and counts the allowed uses each covers.
func Grants(granted map[string][]Policy, uses []Use) []Grant {
	var out []Grant
	for fn, policies := range granted {
		for _, p := range policies {
			for i, st := range p.Statement {
				if st.Effect != Allow {
					continue
				}
				for _, a := range st.Action {
					for _, r := range st.Resource {
						g := Grant{Function: fn, Policy: p.Name, Statement: i, Action: a, Resource: r, Condition: len(st.Condition) > 0}
						for _, u := range uses {
							if u.Function == fn && u.Allowed && ActionMatches(a, u.Action) && ResourceMatches(r, u.Resource) {
								g.Used += u.Count
							}
						}
						out = append(out, g)
					}
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Function != b.Function {
			return a.Function < b.Function
		}
		if a.Policy != b.Policy {
			return a.Policy < b.Policy
		}
		if a.Statement != b.Statement {
			return a.Statement < b.Statement
		}
		if a.Action != b.Action {
			return a.Action < b.Action
		}
		return a.Resource < b.Resource
	})
	return out
}

// Row is one line of the usage table: a function and an action (a granted
// pattern, or an action called without any grant matching it).
type Row struct {
	Function string
	Action   string
	Granted  bool
	Used     int // allowed calls
	Denied   int // refused calls
}

// Table builds the function × action table from grants and uses.
func Table(granted map[string][]Policy, uses []Use) []Row {
	rows := map[[2]string]*Row{}
	get := func(fn, action string) *Row {
		k := [2]string{fn, action}
		if rows[k] == nil {
			rows[k] = &Row{Function: fn, Action: action}
		}
		return rows[k]
	}
	patterns := map[string][]string{}
	for _, g := range Grants(granted, nil) {
		r := get(g.Function, g.Action)
		if !r.Granted {
			r.Granted = true
			patterns[g.Function] = append(patterns[g.Function], g.Action)
		}
	}
	for _, u := range uses {
		var hit []string
		for _, p := range patterns[u.Function] {
			if ActionMatches(p, u.Action) {
				hit = append(hit, p)
			}
		}
		if len(hit) == 0 {
			hit = []string{u.Action}
		}
		for _, a := range hit {
			r := get(u.Function, a)
			if u.Allowed {
				r.Used += u.Count
			} else {
				r.Denied += u.Count
			}
		}
	}
	out := make([]Row, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Function != out[j].Function {
			return out[i].Function < out[j].Function
		}
		return out[i].Action < out[j].Action
	})
	return out
}

// WriteTable prints rows as an aligned text table.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FUNCTION\tACTION\tGRANTED\tUSED\tDENIED")
	for _, r := range rows {
		g := "no"
		if r.Granted {
			g = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", r.Function, r.Action, g, r.Used, r.Denied)
	}
	return tw.Flush()
}

// Unused returns the grants no allowed call used, except those excuse
// gives a reason for (e.g. CreateSecurityGroup when groups may be created).
func Unused(grants []Grant, excuse func(Grant) string) []Grant {
	var out []Grant
	for _, g := range grants {
		if g.Used == 0 && (excuse == nil || excuse(g) == "") {
			out = append(out, g)
		}
	}
	return out
}

// String renders a grant for messages.
func (g Grant) String() string {
	cond := ""
	if g.Condition {
		cond = " (with condition)"
	}
	return fmt.Sprintf("%s: %s on %s%s [%s statement %d]", g.Function, g.Action, strings.TrimSpace(g.Resource), cond, g.Policy, g.Statement)
}
