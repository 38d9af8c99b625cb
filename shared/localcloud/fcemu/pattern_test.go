package fcemu_test

import (
	"strings"
	"testing"

	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
)

const sampleEvent = `{"id":"1","source":"acs.ecs","type":"ecs:ActionTrail:ApiCall","subject":"acs.ecs:cn-hangzhou:1:RunInstances",
"data":{"eventName":"RunInstances","count":3,"tags":["web","prod"],"userIdentity":{"type":"ram-user"},"flag":true,"nothing":null}}`

func TestPattern_Match(t *testing.T) {
	tests := []struct {
		name, pattern string
		want          bool
	}{
		{"empty matches all", ``, true},
		{"empty object matches all", `{}`, true},
		{"exact source and type", `{"source":["acs.ecs"],"type":["ecs:Instance:StateChange","ecs:ActionTrail:ApiCall"]}`, true},
		{"type not listed", `{"type":["ecs:Instance:StateChange"]}`, false},
		{"nested field", `{"data":{"eventName":["RunInstances","CreateInstance"]}}`, true},
		{"nested field mismatch", `{"data":{"eventName":["DeleteInstance"]}}`, false},
		{"deeper nesting", `{"data":{"userIdentity":{"type":["ram-user"]}}}`, true},
		{"nested pattern on scalar", `{"source":{"x":["y"]}}`, false},
		{"missing field", `{"data":{"missing":["x"]}}`, false},
		{"array value any element", `{"data":{"tags":["prod"]}}`, true},
		{"number", `{"data":{"count":[3]}}`, true},
		{"number as string does not match", `{"data":{"count":["3"]}}`, false},
		{"bool", `{"data":{"flag":[true]}}`, true},
		{"null", `{"data":{"nothing":[null]}}`, true},
		{"prefix", `{"type":[{"prefix":"ecs:ActionTrail:"}]}`, true},
		{"prefix mismatch", `{"type":[{"prefix":"oss:"}]}`, false},
		{"suffix", `{"subject":[{"suffix":":RunInstances"}]}`, true},
		{"anything-but scalar", `{"source":[{"anything-but":"acs.oss"}]}`, true},
		{"anything-but list hit", `{"source":[{"anything-but":["acs.oss","acs.ecs"]}]}`, false},
		{"anything-but prefix", `{"type":[{"anything-but":{"prefix":"ecs:"}}]}`, false},
		{"exists true", `{"data":{"eventName":[{"exists":true}]}}`, true},
		{"exists false on missing", `{"data":{"missing":[{"exists":false}]}}`, true},
		{"exists false on present", `{"data":{"eventName":[{"exists":false}]}}`, false},
		{"numeric range", `{"data":{"count":[{"numeric":[">",0,"<=",3]}]}}`, true},
		{"numeric out of range", `{"data":{"count":[{"numeric":[">",3]}]}}`, false},
		{"alternatives mix", `{"source":["acs.oss",{"prefix":"acs.e"}]}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := fcemu.ParsePattern(tc.pattern)
			if err != nil {
				t.Fatalf("ParsePattern: %v", err)
			}
			if got := p.MatchJSON([]byte(sampleEvent)); got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPattern_Invalid(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{`[]`, "must be a JSON object"},
		{`{"source":"acs.ecs"}`, "array of alternatives"},
		{`{"source":[]}`, "empty array"},
		{`{"source":[["a"]]}`, "nested arrays"},
		{`{"source":[{"wildcard":"a*"}]}`, "not supported"},
		{`{"source":[{"prefix":1}]}`, "needs a string"},
		{`{"n":[{"numeric":[">"]}]}`, "numeric needs"},
		{`{"n":[{"numeric":["~",1]}]}`, "unknown numeric operator"},
		{`{`, "not valid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.pattern, func(t *testing.T) {
			_, err := fcemu.ParsePattern(tc.pattern)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
