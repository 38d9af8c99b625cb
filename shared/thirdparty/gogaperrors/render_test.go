package errors

import (
	"errors"
	"strings"
	"testing"
	"text/template"
)

// The MNS SDK's templates (aliyun-mns-go-sdk v1.0.11 errors.go), the inputs
// that matter most.
const (
	sdkResponseTemplate = "ali_mns response status error,code: {{.resp.Code}}, message: {{.resp.Message}}, resource: {{.resource}} request id: {{.resp.RequestId}}, host id: {{.resp.HostId}}"
	sdkBodyTemplate     = "decode body failed, {{.err}}, body: \"{{.body}}\""
	sdkElementTemplate  = "get body decode element error, local: {{.local}}, error: {{.err}}"
	sdkUnmarshalError   = "unmarshal error response failed, {{.err}}, ResponseBody: {{.resp}}"
)

// errorResponse has the shape of the SDK's ErrorResponse.
type errorResponse struct {
	Code      string
	Message   string
	RequestId string
	HostId    string
}

type inner struct {
	Name  string
	Count int
	Tags  map[string]string
	Next  *inner
}

type wrapper struct {
	In      inner
	Ptr     *inner
	Any     interface{}
	private string
}

// named prints itself through a pointer receiver, as many types do.
type named struct{ n string }

func (p *named) String() string { return "named(" + p.n + ")" }

type holder struct{ N named }

type codeName string

// TestRender_MatchesTextTemplate runs each case through text/template and
// through render: the shim exists to print what the original printed.
func TestRender_MatchesTextTemplate(t *testing.T) {
	resp := errorResponse{Code: "QueueNotExist", Message: "The queue name you provided is not exist.", RequestId: "5F2A", HostId: "http://q.mns.cn-hangzhou.aliyuncs.com"}
	in := &inner{Name: "n1", Count: 3, Tags: map[string]string{"k": "v"}, Next: &inner{Name: "n2"}}
	cases := []struct {
		name string
		tmpl string
		data Params
	}{
		{"response by value", sdkResponseTemplate, Params{"resp": resp, "resource": "queues/q1"}},
		{"response by pointer", sdkResponseTemplate, Params{"resp": &resp, "resource": "queues/q1"}},
		{"response missing", sdkResponseTemplate, Params{"resource": "queues/q1"}},
		{"error value", "send request failed, {{.err}}", Params{"err": errors.New("dial tcp: connection refused")}},
		{"nil error", "send request failed, {{.err}}", Params{"err": nil}},
		{"missing key", "send request failed, {{.err}}", Params{}},
		{"nil params", "send request failed, {{.err}}", nil},
		{"several keys", sdkBodyTemplate, Params{"err": errors.New("EOF"), "body": "<Message>"}},
		{"integers and strings", sdkElementTemplate, Params{"local": 42, "err": "bad element"}},
		{"string response body", sdkUnmarshalError, Params{"err": errors.New("EOF"), "resp": "<html>502 Bad Gateway</html>"}},
		{"no actions", "mns queue batch operation fail", Params{"name": "q"}},
		{"spaces inside braces", "queue name: {{ .name }}", Params{"name": "q1"}},
		{"adjacent actions", "{{.a}}{{.b}}", Params{"a": 1, "b": "x"}},
		{"nested struct through pointer", "{{.w.Ptr.Next.Name}} {{.w.In.Count}}", Params{"w": &wrapper{Ptr: in, In: *in}}},
		{"nested map", "{{.m.inner.key}}", Params{"m": map[string]interface{}{"inner": map[string]string{"key": "deep"}}}},
		{"map field of struct", "{{.w.Ptr.Tags.k}} {{.w.Ptr.Tags.absent}}", Params{"w": wrapper{Ptr: in}}},
		{"missing key mid-path", "{{.absent.Code}}", Params{}},
		{"interface keys", "{{.m.x}}", Params{"m": map[interface{}]int{"x": 7}}},
		{"interface field", "{{.w.Any.Name}}", Params{"w": wrapper{Any: in}}},
		{"struct printed whole", "{{.resp}}", Params{"resp": resp}},
		{"pointer to struct printed whole", "{{.resp}}", Params{"resp": &resp}},
		{"nil pointer printed", "{{.p}}", Params{"p": (*inner)(nil)}},
		{"pointer-receiver stringer reached through a field", "{{.h.N}}", Params{"h": &holder{N: named{"x"}}}},
		{"stringer by pointer", "{{.s}}", Params{"s": &named{"y"}}},
		{"whole data", "{{.}}", Params{"a": 1}},
		{"unicode names", "{{.größe}}", Params{"größe": "L"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := viaTextTemplate(t, tc.tmpl, tc.data)
			if got := render(tc.tmpl, tc.data); got != want {
				t.Errorf("render(%q)\n got %q\nwant %q (text/template)", tc.tmpl, got, want)
			}
		})
	}
}

// TestRender_UnfollowablePaths: where text/template stops with an error
// (and gogap's New returned an ERRCODE error instead), render puts the
// reason in place of the action and keeps the rest. Its reason names the
// value's own type where text/template names the map's element type.
func TestRender_UnfollowablePaths(t *testing.T) {
	cases := []struct {
		name         string
		tmpl         string
		data         Params
		reason       string
		templateSays string
	}{
		{"field of a string", "code: {{.resp.Code}}.", Params{"resp": "text"}, "can't evaluate field Code in type string", "can't evaluate field Code"},
		{"absent struct field", "{{.w.Nope}}", Params{"w": wrapper{}}, "can't evaluate field Nope in type errors.wrapper", "can't evaluate field Nope"},
		{"unexported field", "{{.w.private}}", Params{"w": wrapper{private: "s"}}, "private is an unexported field of struct type errors.wrapper", "private is an unexported field"},
		{"nil pointer on the path", "{{.w.Ptr.Name}}", Params{"w": wrapper{}}, "nil pointer evaluating *errors.inner.Name", "nil pointer evaluating *errors.inner.Name"},
		{"field of nil", "{{.err.Code}}", Params{"err": nil}, "nil pointer evaluating interface {}.Code", "nil pointer evaluating interface {}.Code"},
		{"function value", "{{.f}}", Params{"f": func() {}}, "can't print func of type func()", "can't print"},
		{"named string keys", "{{.m.x}}", Params{"m": map[codeName]int{"x": 7}}, "can't evaluate field x in type map[errors.codeName]int", "can't evaluate field x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := render(tc.tmpl, tc.data)
			if !strings.Contains(got, "<"+tc.reason+">") {
				t.Errorf("render(%q) = %q, want it to contain <%s>", tc.tmpl, got, tc.reason)
			}
			tt := template.Must(template.New("x").Parse(tc.tmpl))
			err := tt.Execute(&strings.Builder{}, tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.templateSays) {
				t.Errorf("text/template error %v, want one saying %q", err, tc.templateSays)
			}
		})
	}
}

// TestRender_OtherActionsAreCopied: only field paths are substituted; the
// rest, including an unclosed action (which text/template refuses to parse),
// stays as written.
func TestRender_OtherActionsAreCopied(t *testing.T) {
	for _, tmpl := range []string{
		"{{if .a}}yes{{end}}",
		"{{.a | printf \"%q\"}}",
		"{{len .a}}",
		"{{.a.}}",
		"{{.1a}}",
		"{{}}",
		"queue {{.name",
	} {
		if got := render(tmpl, Params{"a": "x"}); got != tmpl {
			t.Errorf("render(%q) = %q, want it unchanged", tmpl, got)
		}
	}
}

func viaTextTemplate(t *testing.T, tmpl string, data Params) string {
	t.Helper()
	tt, err := template.New("x").Parse(tmpl)
	if err != nil {
		t.Fatalf("text/template parse %q: %v", tmpl, err)
	}
	var b strings.Builder
	if err := tt.Execute(&b, data); err != nil {
		t.Fatalf("text/template execute %q: %v", tmpl, err)
	}
	return b.String()
}
