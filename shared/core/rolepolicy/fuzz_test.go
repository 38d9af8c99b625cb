package rolepolicy_test

import (
	"errors"
	"testing"

	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
)

// FuzzParse: Parse never panics, and fails only with a *ValidationError.
func FuzzParse(f *testing.F) {
	f.Add(rolepolicy.DefaultYAML())
	f.Add(rolepolicy.ExampleYAML())
	f.Add([]byte("version: 1\nroles: {a: {rules: [{direction: ingress, protocol: tcp, ports: 1/2, source: {cidr: 1.2.3.4}}]}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := rolepolicy.Parse(data)
		if err != nil {
			var ve *rolepolicy.ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("error %v is not a ValidationError with problems", err)
			}
			return
		}
		if p.Version != rolepolicy.Version || len(p.Roles) == 0 {
			t.Fatalf("accepted policy %+v", p)
		}
	})
}
