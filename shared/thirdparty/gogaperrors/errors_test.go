package errors

import (
	stderrors "errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestNew_MessageAndCode(t *testing.T) {
	tn := TN("TESTNEW", 135, "code: {{.resp.Code}}, resource: {{.resource}}")
	err := tn.New(Params{"resp": errorResponse{Code: "Throttled"}}, Params{"resource": "q1"})
	if err.Namespace() != "TESTNEW" || err.Code() != 135 {
		t.Fatalf("namespace/code = %s/%d, want TESTNEW/135", err.Namespace(), err.Code())
	}
	re := regexp.MustCompile(`^code: Throttled, resource: q1, Id: TESTNEW#135:([0-9A-F]{7})$`)
	m := re.FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("Error() = %q, want it to match %s", err.Error(), re)
	}
	if m[1] != err.Id() {
		t.Errorf("Error() names id %s, Id() = %s", m[1], err.Id())
	}
}

func TestNew_LaterParamsWin(t *testing.T) {
	tn := TN("TESTMERGE", 1, "{{.a}} {{.b}}")
	got := tn.New(Params{"a": "first", "b": "kept"}, nil, Params{"a": "second"}).Error()
	if !strings.HasPrefix(got, "second kept, Id: ") {
		t.Errorf("Error() = %q, want it to start with %q", got, "second kept, Id: ")
	}
	if got := tn.New().Error(); !strings.HasPrefix(got, "<no value> <no value>, Id: ") {
		t.Errorf("New() without params: %q", got)
	}
}

func TestNew_IdsDiffer(t *testing.T) {
	tn := TN("TESTIDS", 1, "x")
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := tn.New().Id()
		if len(id) != 7 {
			t.Fatalf("id %q: want seven hex digits", id)
		}
		seen[id] = true
	}
	// Seven hex digits leave room for a rare collision, not for many.
	if len(seen) < 990 {
		t.Errorf("%d distinct ids out of 1000", len(seen))
	}
}

func TestIsEqual(t *testing.T) {
	a := TN("TESTEQ", 1, "a")
	b := TN("TESTEQ", 2, "b")
	other := TN("TESTEQ_OTHER", 1, "a")
	errA := a.New()
	cases := []struct {
		name string
		tmpl ErrCodeTemplate
		err  error
		want bool
	}{
		{"same template", a, errA, true},
		{"same namespace and code, other occurrence", a, a.New(Params{"x": 1}), true},
		{"other code", b, errA, false},
		{"same code, other namespace", other, errA, false},
		{"plain error", a, stderrors.New("a, Id: TESTEQ#1:0000000"), false},
		{"nil", a, nil, false},
		// As in the original, wrapping hides the code: callers test the
		// SDK's error itself.
		{"wrapped", a, fmt.Errorf("op: %w", errA), false},
		{"an ErrCode of another make", a, fakeCode{ns: "TESTEQ", code: 1}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.tmpl.IsEqual(tc.err); got != tc.want {
				t.Errorf("IsEqual(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
	// Through a pointer, as the SDK's package variables are used.
	if p := &a; !p.IsEqual(errA) {
		t.Error("(*ErrCodeTemplate).IsEqual: want true")
	}
}

type fakeCode struct {
	ns   string
	code uint64
}

func (f fakeCode) Error() string     { return "fake" }
func (f fakeCode) Id() string        { return "0000000" }
func (f fakeCode) Code() uint64      { return f.code }
func (f fakeCode) Namespace() string { return f.ns }

func TestTN_DuplicateCodePanics(t *testing.T) {
	TN("TESTDUP", 7, "first")
	TN("TESTDUP", 8, "another code is fine")
	TN("TESTDUP_OTHER", 7, "another namespace is fine")
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "TESTDUP:7") {
			t.Errorf("recover() = %v, want a panic naming TESTDUP:7", r)
		}
	}()
	TN("TESTDUP", 7, "second")
}

func TestNew_ConcurrentUse(t *testing.T) {
	tn := TN("TESTCONC", 1, "{{.i}}")
	done := make(chan string)
	for i := 0; i < 8; i++ {
		go func(i int) { done <- tn.New(Params{"i": i}).Error() }(i)
	}
	for i := 0; i < 8; i++ {
		if got := <-done; !strings.Contains(got, ", Id: TESTCONC#1:") {
			t.Errorf("Error() = %q", got)
		}
	}
}
