package main_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/localcloud"
	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/stack"
	"github.com/sgpilot/sgpilot/shared/testkit/harness"
)

// TestCommand starts the real localcloud command with the project's s.yaml
// and with its template.yml, RAM enforced, reads its one-line JSON start-up
// contract, talks to ECS with the SDK, invokes a function with `localcloud
// invoke` (under its role's policy), and stops it with SIGTERM.
func TestCommand(t *testing.T) {
	bin, root, code := buildCommand(t)
	for _, file := range []string{"s.yaml", "template.yml"} {
		t.Run(file, func(t *testing.T) {
			info, cmd := startCommand(t, bin, filepath.Join(root, file), code)
			for name, v := range map[string]string{"ecsEndpoint": info.ECSEndpoint, "mnsEndpoint": info.MNSEndpoint, "accessKeyId": info.AccessKeyID,
				"accessKeySecret": info.AccessKeySecret, "regionId": info.RegionID, "accountId": info.AccountID,
				"defaultVpcId": info.DefaultVPCID, "defaultVSwitchId": info.DefaultVSwitchID} {
				if v == "" {
					t.Errorf("start-up JSON lacks %s", name)
				}
			}
			if len(info.Functions) != 3 {
				t.Errorf("functions = %v", info.Functions)
			}

			// --help names the subcommands and every flag, with examples, on stdout.
			for _, args := range [][]string{{"--help"}, {"help"}, {"invoke", "--help"}} {
				out, err := exec.Command(bin, args...).Output()
				if err != nil {
					t.Fatalf("localcloud %v: %v", args, err)
				}
				wants := []string{"Usage:", "Examples:", "invoke", "-addr", "-seed", "-functions", "-json", "-var", "-log", "-queues", "-region", "-account", "-fault-seed", "-access-key-id"}
				if args[0] == "invoke" {
					wants = []string{"Usage:", "Examples:", "-addr", "-event-file", "-event", "-async"}
				}
				for _, w := range wants {
					if !strings.Contains(string(out), w) {
						t.Errorf("localcloud %v lacks %q:\n%s", args, w, out)
					}
				}
			}

			client, err := ecs.NewClientWithAccessKey(info.RegionID, info.AccessKeyID, info.AccessKeySecret)
			if err != nil {
				t.Fatal(err)
			}
			client.Domain = strings.TrimPrefix(info.ECSEndpoint, "http://")
			req := ecs.CreateDescribeSecurityGroupsRequest()
			req.VpcId = info.DefaultVPCID
			if _, err := client.DescribeSecurityGroups(req); err != nil {
				t.Fatalf("SDK against the printed endpoint: %v", err)
			}

			addr := strings.TrimPrefix(info.ECSEndpoint, "http://")
			out, err := exec.Command(bin, "invoke", "--addr", addr, "nightly-cleanup", "--event", `{"mode":"plan","format":"text"}`).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Region cn-hangzhou") {
				t.Fatalf("localcloud invoke: %v\n%s", err, out)
			}
			out, err = exec.Command(bin, "invoke", "--addr", addr, "queue-worker", "--event", `{"mode":"nonsense"}`).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "nonsense") {
				t.Fatalf("a function error must fail the command and show the message: %v\n%s", err, out)
			}

			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("exit after SIGTERM: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("did not stop on SIGTERM")
			}

		})
	}
}

// buildCommand builds the functions and the localcloud command once per test.
func buildCommand(t *testing.T) (bin, root, code string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs binaries")
	}
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	code, err = harness.BuildFunctions()
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(t.TempDir(), "localcloud")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin, root, code
}

// startCommand starts the command with a functions file and the default
// seed, RAM enforced, and reads its one-line JSON start-up contract.
func startCommand(t *testing.T, bin, functionsFile, code string) (localcloud.Info, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--json", "--functions", functionsFile, "--var", "codeDir="+code,
		"--ram", "enforce", "--log", filepath.Join(t.TempDir(), "fn.log"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatal("no start-up line")
	}
	var info localcloud.Info
	if err := json.Unmarshal(lines.Bytes(), &info); err != nil {
		t.Fatalf("start-up line is not JSON: %q", lines.Text())
	}
	return info, cmd
}

// TestSampleEvents invokes every sample event of functions/*/testdata, as
// they are, on `localcloud` with its default seed, through `localcloud
// invoke` as `make invoke-%` does; each must succeed. The instance-created
// sample must then get the sample instance onboarded.
func TestSampleEvents(t *testing.T) {
	bin, root, code := buildCommand(t)
	info, _ := startCommand(t, bin, filepath.Join(root, "s.yaml"), code)
	files, err := filepath.Glob(filepath.Join(root, "functions", "*", "testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events: %v", err)
	}
	addr := strings.TrimPrefix(info.ECSEndpoint, "http://")
	for _, f := range files {
		fn := filepath.Base(filepath.Dir(filepath.Dir(f)))
		t.Run(fn+"/"+filepath.Base(f), func(t *testing.T) {
			out, err := exec.Command(bin, "invoke", "--addr", addr, fn, "--event-file", f).CombinedOutput()
			if err != nil {
				t.Fatalf("localcloud invoke %s --event-file %s: %v\n%s", fn, f, err, out)
			}
			if strings.Contains(string(out), "null") {
				t.Errorf("answer holds a null:\n%s", out)
			}
		})
	}

	client, err := ecs.NewClientWithAccessKey(info.RegionID, info.AccessKeyID, info.AccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	client.Domain = addr
	req := ecs.CreateDescribeInstancesRequest()
	req.InstanceIds = `["` + stack.SampleInstance + `"]`
	var groups []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := client.DescribeInstances(req)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Instances.Instance) != 1 {
			t.Fatalf("sample instance %s is not in the default seed", stack.SampleInstance)
		}
		groups = resp.Instances.Instance[0].SecurityGroupIds.SecurityGroupId
		if slices.Contains(groups, stack.WebA) && slices.Contains(groups, stack.DBA) {
			return
		}
	}
	t.Fatalf("after the sample events, %s is in %v; want its web and db groups too", stack.SampleInstance, groups)
}

// TestTextAnswerOverHTTP shows what a "format":"text" answer is on the wire
// (fcemu's invoke API, as FC's): fc-runtime-go-sdk JSON-encodes every result,
// so the body is one JSON string holding the text, and a JSON answer uses
// lower-camel names and [] for an empty list.
func TestTextAnswerOverHTTP(t *testing.T) {
	bin, root, code := buildCommand(t)
	info, _ := startCommand(t, bin, filepath.Join(root, "s.yaml"), code)
	plan := `{"mode":"plan","instanceIds":["` + stack.SampleInstance + `"]`
	res, err := fcemu.InvokeOverHTTP(info.InvokeEndpoint, "queue-worker", []byte(plan+`,"format":"text"}`), false)
	if err != nil || res.Error != nil {
		t.Fatalf("invoke: %v %+v", err, res.Error)
	}
	var text string
	if err := json.Unmarshal(res.Payload, &text); err != nil {
		t.Fatalf("text answer is not a JSON string: %s", res.Payload)
	}
	if !strings.Contains(text, "INSTANCE") || !strings.Contains(text, stack.SampleInstance+"  db,web") {
		t.Errorf("text answer:\n%s", text)
	}

	res, err = fcemu.InvokeOverHTTP(info.InvokeEndpoint, "queue-worker", []byte(plan+`}`), false)
	if err != nil || res.Error != nil {
		t.Fatalf("invoke: %v %+v", err, res.Error)
	}
	body := string(res.Payload)
	for _, want := range []string{`"instanceId":"` + stack.SampleInstance + `"`, `"toJoin":["`} {
		if !strings.Contains(body, want) {
			t.Errorf("JSON plan lacks %s: %s", want, body)
		}
	}
	for _, bad := range []string{"null", `"ToJoin"`, `"InstanceID"`} {
		if strings.Contains(body, bad) {
			t.Errorf("JSON plan holds %s: %s", bad, body)
		}
	}
}
