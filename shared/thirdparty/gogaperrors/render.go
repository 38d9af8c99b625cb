package errors

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"
)

// render fills the {{.a.b.c}} actions of tmpl from data and copies the rest
// of tmpl as it is. It follows map keys and exported struct fields through
// pointers and interfaces, printing the result as text/template would for
// the values the MNS SDK passes. It never looks up methods by name: reflect's
// Method and MethodByName are what make the linker keep every method (see
// README.md). Actions other than field paths ({{if}}, pipelines, method
// calls) are not supported and are copied unchanged.
func render(tmpl string, data Params) string {
	var b strings.Builder
	for {
		open := strings.Index(tmpl, "{{")
		if open < 0 {
			break
		}
		end := strings.Index(tmpl[open+2:], "}}")
		if end < 0 {
			break
		}
		end += open + 2
		b.WriteString(tmpl[:open])
		if path, ok := fieldPath(tmpl[open+2 : end]); ok {
			b.WriteString(lookup(reflect.ValueOf(data), path))
		} else {
			b.WriteString(tmpl[open : end+2])
		}
		tmpl = tmpl[end+2:]
	}
	b.WriteString(tmpl)
	return b.String()
}

// fieldPath splits an action such as " .resp.Code " into its names;
// "." alone is the empty path (the whole of data).
func fieldPath(action string) ([]string, bool) {
	action = strings.TrimSpace(action)
	if action == "." {
		return nil, true
	}
	if !strings.HasPrefix(action, ".") {
		return nil, false
	}
	names := strings.Split(action[1:], ".")
	for _, n := range names {
		if !isIdent(n) {
			return nil, false
		}
	}
	return names, true
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r != '_' && !unicode.IsLetter(r) && (i == 0 || !unicode.IsDigit(r)) {
			return false
		}
	}
	return true
}

// lookup follows path from v and formats what it finds. A missing map key
// anywhere on the path gives "<no value>", as in text/template; a path that
// cannot be followed at all gives "<reason>".
func lookup(v reflect.Value, path []string) string {
	for _, name := range path {
		next, err := field(v, name)
		if err != nil {
			return "<" + err.Error() + ">"
		}
		v = next
	}
	return format(v)
}

// field steps from v to its map entry or struct field called name.
func field(v reflect.Value, name string) (reflect.Value, error) {
	if !v.IsValid() {
		return v, nil // a missing key earlier on the path
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return reflect.Value{}, fmt.Errorf("nil pointer evaluating %s.%s", v.Type(), name)
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Map:
		// Keys of type string or interface{}, as text/template accepts.
		if key := reflect.ValueOf(name); key.Type().AssignableTo(v.Type().Key()) {
			return v.MapIndex(key), nil
		}
	case reflect.Struct:
		if sf, ok := v.Type().FieldByName(name); ok {
			if !sf.IsExported() {
				return reflect.Value{}, fmt.Errorf("%s is an unexported field of struct type %s", name, v.Type())
			}
			return v.FieldByIndexErr(sf.Index)
		}
	}
	return reflect.Value{}, fmt.Errorf("can't evaluate field %s in type %s", name, v.Type())
}

// format prints v the way text/template does: pointers print as what they
// point to unless the pointer is what has the Error or String method, and
// an absent value prints as "<no value>".
func format(v reflect.Value) string {
	if v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			break
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		return "<no value>"
	}
	if !v.CanInterface() {
		return fmt.Sprintf("<can't print unexported value of type %s>", v.Type())
	}
	x := v.Interface()
	if printsItself(x) {
		return fmt.Sprint(x)
	}
	if v.CanAddr() {
		if p := v.Addr().Interface(); printsItself(p) {
			return fmt.Sprint(p)
		}
	}
	switch v.Kind() {
	case reflect.Chan, reflect.Func:
		return fmt.Sprintf("<can't print %s of type %s>", v.Kind(), v.Type())
	}
	return fmt.Sprint(x)
}

func printsItself(x interface{}) bool {
	switch x.(type) {
	case error, fmt.Stringer:
		return true
	}
	return false
}
