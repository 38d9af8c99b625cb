package e2e_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/sgpilot/sgpilot"

var sdkPrefixes = []string{"github.com/aliyun/", "github.com/valyala/fasthttp", "github.com/alibabacloud-go/"}

// TestImportArrows enforces the layering of style.md: the domain and the use
// cases import no SDK; localcloud imports neither an SDK nor anything of
// sgpilot outside localcloud (so SDK-against-emulator tests prove something);
// functions never import test doubles or the emulator.
func TestImportArrows(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	rules := []struct {
		pkgs      string
		forbidden func(dep string) bool
		why       string
	}{
		{"./shared/core/domain", func(d string) bool { return isModule(d) && d != module+"/shared/core/domain" || isSDK(d) || isThirdParty(d) },
			"domain imports the standard library only"},
		{"./shared/usecase/onboard/... ./shared/usecase/cleanup/... ./shared/usecase/intake/... ./shared/usecase/worker/... ./shared/core/events/...", isSDK,
			"use cases import no SDK"},
		{"./shared/localcloud/...", func(d string) bool {
			return isSDK(d) || (isModule(d) && !strings.HasPrefix(d, module+"/shared/localcloud"))
		}, "localcloud imports no SDK and nothing of sgpilot's domain"},
		{"./functions/...", func(d string) bool {
			return strings.HasPrefix(d, module+"/shared/localcloud") || strings.HasPrefix(d, module+"/shared/testkit")
		}, "functions never import the emulator or fakes"},
	}
	for _, r := range rules {
		for _, pattern := range strings.Fields(r.pkgs) {
			pkgs := goList(t, "-e", pattern)
			for _, pkg := range pkgs {
				for _, dep := range goList(t, "-deps", pkg) {
					if r.forbidden(dep) {
						t.Errorf("%s imports %s: %s", pkg, dep, r.why)
					}
				}
			}
		}
	}
}

func isModule(p string) bool { return p == module || strings.HasPrefix(p, module+"/") }

func isSDK(p string) bool {
	for _, pre := range sdkPrefixes {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

// isThirdParty reports a non-standard-library, non-module import path.
func isThirdParty(p string) bool {
	first := strings.SplitN(p, "/", 2)[0]
	return strings.Contains(first, ".") && !isModule(p)
}

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && strings.Contains(string(ee.Stderr), "matched no packages") {
			return nil
		}
		t.Fatalf("go list %v: %v", args, err)
	}
	var pkgs []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" && !strings.HasPrefix(line, ".") && !strings.Contains(line, "matched no packages") {
			pkgs = append(pkgs, line)
		}
	}
	return pkgs
}
