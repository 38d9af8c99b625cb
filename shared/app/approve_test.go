package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sgpilot/sgpilot/shared/app"
	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// An approval is checked before anything reaches the cloud: it belongs to
// an apply, names a configured region, and is a well-formed plan ID.
func TestApprovePayloadIsValidatedFirst(t *testing.T) {
	h, err := app.NightlyCleanup(deps(t))
	if err != nil {
		t.Fatal(err)
	}
	const id = "cn-hangzhou:3:0123456789abcdef"
	tests := []struct{ name, payload, want string }{
		{"in a plan", `{"mode":"plan","approve":"` + id + `"}`, `belongs to "mode":"apply"`},
		{"malformed", `{"mode":"apply","approve":"yes please"}`, "yes please"},
		{"another region", `{"mode":"apply","approve":"cn-beijing:3:0123456789abcdef"}`, "cn-beijing"},
		{"regions beyond it", `{"mode":"apply","approve":"` + id + `","regions":["cn-hangzhou","cn-hangzhou"]}`, "covers region cn-hangzhou only"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h(context.Background(), []byte(tc.payload))
			if domain.KindOf(err) != domain.KindInvalid || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want KindInvalid mentioning %q", err, tc.want)
			}
		})
	}
	// A valid approval gets past validation, to the credential lookup.
	if _, err := h(context.Background(), []byte(`{"mode":"apply","approve":"`+id+`"}`)); err == nil || !strings.Contains(err.Error(), "no credentials") {
		t.Fatalf("a valid approval: err = %v, want the missing credentials", err)
	}
}
