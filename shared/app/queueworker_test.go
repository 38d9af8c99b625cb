package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sgpilot/sgpilot/shared/app"
	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// Dead-letter tooling payloads are checked before the credentials are
// looked up; a write without a selection never reaches a queue.
func TestQueueWorker_DeadLetterPayloadsValidatedFirst(t *testing.T) {
	worker, err := app.QueueWorker(deps(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		payload string
		want    string // "" when the payload is valid (the call then fails on credentials)
	}{
		{"list", `{"mode":"dead-letters","action":"list"}`, ""},
		{"list as text", `{"mode":"dead-letters","action":"list","format":"text"}`, ""},
		{"replay by instance", `{"mode":"dead-letters","action":"replay","instanceIds":["i-bp1aaaaaaaaaaaaaaaa1"]}`, ""},
		{"purge everything", `{"mode":"dead-letters","action":"purge","all":true}`, ""},
		{"no action", `{"mode":"dead-letters"}`, "action"},
		{"purge without selection", `{"mode":"dead-letters","action":"purge"}`, `"all":true`},
		{"replay of a whole queue without all", `{"mode":"dead-letters","action":"replay","queue":"sgpilot-dead-letter"}`, "selection"},
		{"show without ids", `{"mode":"dead-letters","action":"show"}`, "ids"},
		{"unknown queue", `{"mode":"dead-letters","action":"list","queue":"sgpilot-work"}`, "sgpilot-work"},
		{"bad format", `{"mode":"dead-letters","action":"list","format":"xml"}`, "xml"},
		{"tooling field in drain", `{"mode":"drain","action":"purge","all":true}`, "dead-letters"},
		{"misspelt field", `{"mode":"dead-letters","action":"list","reason":["x"]}`, "reason"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := worker(context.Background(), []byte(tc.payload))
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), "no credentials") {
					t.Fatalf("err = %v, want the payload accepted (and the missing credentials reported)", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || domain.KindOf(err) != domain.KindInvalid {
				t.Fatalf("err = %v, want a KindInvalid error mentioning %q", err, tc.want)
			}
		})
	}
}
