package main_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/localcloud"
	"github.com/sgpilot/sgpilot/shared/testkit/harness"
)

// TestCommand starts the real localcloud command with the project's s.yaml
// and with its template.yml, RAM enforced, reads its one-line JSON start-up
// contract, talks to ECS with the SDK, invokes a function with `localcloud
// invoke` (under its role's policy), and stops it with SIGTERM.
func TestCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs binaries")
	}
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	code, err := harness.BuildFunctions()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "localcloud")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, file := range []string{"s.yaml", "template.yml"} {
		t.Run(file, func(t *testing.T) { runCommand(t, bin, filepath.Join(root, file), code) })
	}
}

func runCommand(t *testing.T, bin, functionsFile, code string) {
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
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatal("no start-up line")
	}
	var info localcloud.Info
	if err := json.Unmarshal(lines.Bytes(), &info); err != nil {
		t.Fatalf("start-up line is not JSON: %q", lines.Text())
	}
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
	out, err := exec.Command(bin, "invoke", "--addr", addr, "nightly-cleanup", "--event", `{"mode":"plan","format":"table"}`).CombinedOutput()
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
}
