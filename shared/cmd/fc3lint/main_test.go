package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	const td = "../../testkit/fc3schema/testdata/"
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"valid file and its s preview output", []string{td + "valid.s.yaml", "-rendered", td + "valid.preview.json"}, 0, "valid.preview.json ok"},
		{"broken file fails", []string{"-rendered", td + "valid.preview.json", td + "broken.s.yaml"}, 1, "16 problem(s)"},
		{"preview output must be JSON", []string{"-rendered", td + "valid.s.yaml"}, 1, "parse"},
		{"nothing to check", nil, 2, "usage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tc.args, &out, &errOut)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.wantCode, errOut.String())
			}
			if all := out.String() + errOut.String(); !strings.Contains(all, tc.wantOut) {
				t.Errorf("output lacks %q:\n%s", tc.wantOut, all)
			}
		})
	}
}
