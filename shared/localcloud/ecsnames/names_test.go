package ecsnames_test

import (
	"strings"
	"testing"

	"github.com/sgpilot/sgpilot/shared/localcloud/ecsnames"
)

func TestValidGroupName(t *testing.T) {
	tests := []struct {
		name, in string
		want     bool
	}{
		{"plain", "sg-web", true},
		{"all allowed signs", "a1.b:c_d-e", true},
		{"unicode letter first", "安全组web", true},
		{"one character", "a", false},
		{"128 characters", "a" + strings.Repeat("b", 127), true},
		{"129 characters", "a" + strings.Repeat("b", 128), false},
		{"digit first", "1web", false},
		{"space", "web app", false},
		{"url", "http://web", false},
		{"https url", "https://web", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ecsnames.ValidGroupName(tc.in); got != tc.want {
				t.Errorf("ValidGroupName(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestValidDescription(t *testing.T) {
	tests := []struct {
		name, in string
		want     bool
	}{
		{"plain", "web tier", true},
		{"one character", "x", false},
		{"256 characters", strings.Repeat("d", 256), true},
		{"257 characters", strings.Repeat("d", 257), false},
		{"url", "https://example.com", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ecsnames.ValidDescription(tc.in); got != tc.want {
				t.Errorf("ValidDescription(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}
