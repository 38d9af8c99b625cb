// Package errors is sgpilot's stand-in for github.com/gogap/errors: the part
// of its API that aliyun-mns-go-sdk v1.0.11 calls (TN, Params,
// ErrCodeTemplate.New and IsEqual, the ErrCode interface), with messages
// rendered by a field-path substituter instead of text/template. Linking
// text/template stops the linker from dropping unused methods, which kept
// the whole typed ECS client in every function binary (see README.md).
package errors

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Params are the values a template's {{.name}} actions read.
type Params map[string]interface{}

// ErrCode is an error that carries a namespace and a numeric code, which is
// what ErrCodeTemplate.IsEqual compares.
type ErrCode interface {
	error
	// Id tells one occurrence from another in logs (seven hex digits).
	Id() string
	Code() uint64
	Namespace() string
}

// ErrCodeTemplate makes errors of one namespace and code with a message
// rendered from a template.
type ErrCodeTemplate struct {
	namespace string
	code      uint64
	template  string
}

var (
	takenMu sync.Mutex
	taken   = map[string]struct{}{}
)

// TN declares the template for code in namespace. Declaring the same pair
// twice panics, as the original does: two templates sharing a code would
// make IsEqual ambiguous, and declarations run at package init, where a
// panic names the culprit at once.
func TN(namespace string, code uint64, template string) ErrCodeTemplate {
	key := fmt.Sprintf("%s:%d", namespace, code)
	takenMu.Lock()
	defer takenMu.Unlock()
	if _, dup := taken[key]; dup {
		panic(fmt.Sprintf("error code %s already exist", key))
	}
	taken[key] = struct{}{}
	return ErrCodeTemplate{namespace: namespace, code: code, template: template}
}

// New makes an error from the template; several Params are merged, later
// ones winning. A path the substituter cannot follow is rendered in place
// as <...why...> and the error keeps its own code (gogap instead returned a
// different error under the ERRCODE namespace).
func (t ErrCodeTemplate) New(v ...Params) ErrCode {
	data := Params{}
	for _, p := range v {
		for k, val := range p {
			data[k] = val
		}
	}
	return &codedError{
		id:        nextID(),
		namespace: t.namespace,
		code:      t.code,
		message:   render(t.template, data),
	}
}

// IsEqual reports whether err is an ErrCode of this template's namespace
// and code. It does not look through wrapping, as the original does not.
func (t ErrCodeTemplate) IsEqual(err error) bool {
	e, ok := err.(ErrCode)
	return ok && e.Code() == t.code && e.Namespace() == t.namespace
}

type codedError struct {
	id        string
	namespace string
	code      uint64
	message   string
}

func (e *codedError) Id() string        { return e.id }
func (e *codedError) Code() uint64      { return e.code }
func (e *codedError) Namespace() string { return e.namespace }

// Error keeps the original layout, "<message>, Id: <namespace>#<code>:<id>",
// so that log searches and parsers written against the SDK's errors still
// match.
func (e *codedError) Error() string {
	return fmt.Sprintf("%s, Id: %s#%d:%s", e.message, e.namespace, e.code, e.id)
}

var idSeq atomic.Uint64

// nextID returns seven hex digits that differ between errors made close
// together: the clock, mixed with a counter so that two errors in the same
// nanosecond still differ.
func nextID() string {
	x := uint64(time.Now().UnixNano()) ^ (idSeq.Add(1) * 0x9E3779B97F4A7C15)
	x ^= x >> 29
	return fmt.Sprintf("%07X", x&0xFFFFFFF)
}
