package cloudauth_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sgpilot/sgpilot/shared/core/cloudauth"
)

func TestCredentialsNeverPrintSecrets(t *testing.T) {
	c := cloudauth.Credentials{AccessKeyID: "STS.NUabcdefghijklmn", AccessKeySecret: "supersecret", SecurityToken: "CAIStoken"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c)} {
		for _, secret := range []string{"supersecret", "CAIStoken", "abcdefghijklmn"} {
			if strings.Contains(s, secret) {
				t.Fatalf("%q leaks %q", s, secret)
			}
		}
	}
}
