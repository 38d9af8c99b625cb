package e2e_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/sgpilot/sgpilot"

// sdks maps each SDK (import path prefix) to the one package that may import
// it in shipped code.
var sdks = map[string]string{
	"github.com/aliyun/alibaba-cloud-sdk-go/": "shared/adapter/ecsapi",
	"github.com/aliyun/aliyun-mns-go-sdk":     "shared/adapter/mnsqueue",
	"github.com/aliyun/fc-runtime-go-sdk/":    "shared/adapter/fcruntime",
}

// sdkPrefixes also catches what the SDKs bring along (transitive deps).
var sdkPrefixes = []string{"github.com/aliyun/", "github.com/valyala/fasthttp", "github.com/alibabacloud-go/"}

// sdkInTests lists the packages whose _test files may import an SDK, and
// why: each proves something against the real SDK that nothing else can.
var sdkInTests = map[string]string{
	"shared/adapter/ecsapi":    "its own SDK, on the wire against localcloud",
	"shared/adapter/mnsqueue":  "its own SDK, on the wire against localcloud",
	"shared/adapter/fcruntime": "its own SDK's runtime types",
	"shared/localcloud/ecsemu": "the emulator is checked against the real ECS SDK",
	"shared/localcloud/mnsemu": "the emulator is checked against the real MNS SDK",
	"shared/localcloud/essemu": "the emulator is checked against the real ESS and ECI SDK clients",
	"shared/localcloud":        "the assembled server is checked with the real ECS, ESS and ECI clients on its one listener",
	"shared/cmd/localcloud":    "the command is checked with the real ECS SDK",
	"shared/e2e":               "end-to-end tests drive the real SDKs",
}

// pkgInfo is what `go list` says about one package of the module.
type pkgInfo struct {
	path                       string // relative to the module: "shared/app"
	imports, testImports, deps []string
}

// TestImportArrows enforces the layering of style.md and shared/README.md.
// Each rule names the packages it covers, what they must not import and why.
func TestImportArrows(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	pkgs := listModule(t)
	for _, v := range checkImports(pkgs) {
		t.Error(v)
	}
}

// checkImports returns one line per broken rule.
func checkImports(pkgs []pkgInfo) []string {
	var out []string
	// One line per package and rule: the first offending import, and how
	// many more (an SDK brings a dozen packages along).
	more := map[string]int{}
	var order []string
	fail := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		pkg, _, _ := strings.Cut(line, " ")
		_, why, _ := strings.Cut(line, ": ")
		key := pkg + "|" + why
		if _, seen := more[key]; seen {
			more[key]++
			return
		}
		more[key] = 0
		order = append(order, key)
		out = append(out, line)
	}

	// shared/cmd/sgpilot (the command for a real account) is shipped
	// tooling like the functions: it links the adapters through shared/app
	// and never the emulator or test code.
	product := func(p string) bool {
		for _, pre := range []string{"functions/", "shared/app", "shared/core/", "shared/usecase/", "shared/adapter/", "shared/cmd/sgpilot-demo", "shared/cmd/fczip", "shared/cmd/sgpilot"} {
			if strings.HasPrefix(p, pre) {
				return true
			}
		}
		return false
	}
	importers := map[string][]string{} // SDK -> non-test importers
	for _, p := range pkgs {
		// 1. Exactly one importer per SDK in shipped code. testkit/harness
		// is the one exception: it is test support (never shipped) that
		// hands the real ECS SDK to the end-to-end tests.
		for _, imp := range p.imports {
			for sdk := range sdks {
				if strings.HasPrefix(imp, sdk) && !contains(importers[sdk], p.path) {
					importers[sdk] = append(importers[sdk], p.path)
				}
			}
		}
		// 2. SDKs in _test files only where sdkInTests says why.
		if _, ok := sdkInTests[p.path]; !ok && !strings.HasPrefix(p.path, "shared/testkit/") {
			for _, imp := range p.testImports {
				if isSDK(imp) {
					fail("%s: a test imports %s; only the adapters, the emulators' SDK checks, testkit and e2e test against SDKs", p.path, imp)
				}
			}
		}
		// 3. Shipped code never links test doubles, the harness or e2e;
		// the functions and the use cases do not link the emulator either.
		for _, d := range p.deps {
			switch {
			case product(p.path) && (strings.HasPrefix(d, module+"/shared/testkit") || strings.HasPrefix(d, module+"/shared/e2e")):
				fail("%s links %s: shipped code never imports test code", p.path, d)
			case product(p.path) && p.path != "shared/cmd/sgpilot-demo" && strings.HasPrefix(d, module+"/shared/localcloud"):
				fail("%s links %s: only the demo (which runs it) may import the emulator", p.path, d)
			}
		}
		// 4. The demo is a client of localcloud and of the functions' JSON:
		// no SDK, so it cannot stand in for the functions' code paths.
		if p.path == "shared/cmd/sgpilot-demo" {
			for _, d := range p.deps {
				if isSDK(d) {
					fail("%s links %s: the demo drives localcloud over HTTP and links no SDK", p.path, d)
				}
			}
		}
		// 5. Adapters are independent of each other and of the use cases.
		if strings.HasPrefix(p.path, "shared/adapter/") {
			self := strings.SplitN(strings.TrimPrefix(p.path, "shared/adapter/"), "/", 2)[0]
			for _, d := range p.deps {
				rel := strings.TrimPrefix(d, module+"/")
				if strings.HasPrefix(rel, "shared/adapter/") && !strings.HasPrefix(rel, "shared/adapter/"+self) {
					fail("%s links %s: adapters do not depend on each other", p.path, d)
				}
				if strings.HasPrefix(rel, "shared/usecase/") || strings.HasPrefix(rel, "shared/app") {
					fail("%s links %s: adapters point inwards, to core only", p.path, d)
				}
			}
		}
		// 6. Use cases and core point inwards: no adapter, no app, no SDK.
		if strings.HasPrefix(p.path, "shared/usecase/") || strings.HasPrefix(p.path, "shared/core/") {
			for _, d := range p.deps {
				rel := strings.TrimPrefix(d, module+"/")
				switch {
				case isSDK(d):
					fail("%s links %s: use cases and core import no SDK", p.path, d)
				case strings.HasPrefix(rel, "shared/adapter/") || strings.HasPrefix(rel, "shared/app"):
					fail("%s links %s: use cases and core do not know the adapters or the wiring", p.path, d)
				}
			}
		}
		// 7. The domain, and the mechanics moved out of it that need no
		// vocabulary, import the standard library only.
		if p.path == "shared/core/domain" || p.path == "shared/core/workqueue" || p.path == "shared/core/cloudauth" {
			for _, d := range p.deps {
				if isModule(d) && d != module+"/shared/core/domain" || isThirdParty(d) {
					fail("%s links %s: the domain imports the standard library only (and so do workqueue and cloudauth)", p.path, d)
				}
			}
		}
		// 8. localcloud imports no SDK and nothing of sgpilot outside
		// localcloud, so SDK-against-emulator tests prove something.
		if strings.HasPrefix(p.path, "shared/localcloud") {
			for _, d := range p.deps {
				if isSDK(d) || isModule(d) && !strings.HasPrefix(d, module+"/shared/localcloud") {
					fail("%s links %s: localcloud imports no SDK and nothing of sgpilot outside localcloud", p.path, d)
				}
			}
		}
	}
	for sdk, want := range sdks {
		got := importers[sdk]
		var others []string
		for _, p := range got {
			if p != want && !(p == "shared/testkit/harness" && sdk == "github.com/aliyun/alibaba-cloud-sdk-go/") {
				others = append(others, p)
			}
		}
		sort.Strings(others)
		if !contains(got, want) {
			fail("%s is not imported by %s, its one importer", sdk, want)
		}
		if len(others) > 0 {
			fail("%s is imported by %s besides %s: one importer per SDK", sdk, strings.Join(others, ", "), want)
		}
	}
	for i, key := range order {
		if more[key] > 0 {
			out[i] += fmt.Sprintf(" (and %d more)", more[key])
		}
	}
	return out
}

// TestDomainHoldsNoMechanics keeps transport and batching mechanics out of
// the domain, in the packages that own them: deliveries with receipt handles
// (core/workqueue), credentials (core/cloudauth), batch helpers
// (core/batching).
func TestDomainHoldsNoMechanics(t *testing.T) {
	movedTo := map[string]string{
		"Delivery": "workqueue", "Credentials": "cloudauth",
		"BatchError": "batching", "ItemError": "batching", "ItemErrors": "batching", "UniqueNonEmpty": "batching", "InBatches": "batching",
	}
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join("..", "core", "domain", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no domain files: %v", err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range file.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					names = append(names, d.Name.Name)
				}
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					if ts, ok := sp.(*ast.TypeSpec); ok {
						names = append(names, ts.Name.Name)
					}
				}
			}
		}
		for _, name := range names {
			if home, ok := movedTo[name]; ok {
				t.Errorf("%s declares %s: it belongs in shared/core/%s, not the domain", f, name, home)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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

// listModule runs one `go list` over the module.
func listModule(t *testing.T) []pkgInfo {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-f",
		"{{.ImportPath}}|{{join .Imports \" \"}}|{{join .TestImports \" \"}} {{join .XTestImports \" \"}}|{{join .Deps \" \"}}", "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkgInfo
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 4 || !isModule(f[0]) {
			continue
		}
		pkgs = append(pkgs, pkgInfo{path: strings.TrimPrefix(strings.TrimPrefix(f[0], module), "/"),
			imports: strings.Fields(f[1]), testImports: strings.Fields(f[2]), deps: strings.Fields(f[3])})
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found only %d packages; is the test running from shared/e2e?", len(pkgs))
	}
	return pkgs
}
