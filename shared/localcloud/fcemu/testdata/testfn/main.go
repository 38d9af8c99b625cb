// Command testfn is the function the fcemu tests run. Its behaviour is
// steered by the event: an object with "action" (or a timer payload / MNS
// message body holding such an object) picks what it does; anything else is
// echoed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
)

type command struct {
	Action  string `json:"action"`
	Message string `json:"message"`
	Ms      int    `json:"ms"`
	Code    int    `json:"code"`
	Until   int    `json:"until"`
	MB      int    `json:"mb"`
}

var initCount atomic.Int64

// held keeps what "alloc" allocated reachable, so it stays resident across
// invocations of the same process, as a leak would.
var (
	heldMu sync.Mutex
	held   [][]byte
)

func main() {
	fc.RegisterInitializerFunction(func(ctx context.Context) {
		initCount.Add(1)
		fmt.Println("testfn: initializer ran")
		if os.Getenv("TESTFN_INIT_FAIL") == "1" {
			panic("initializer asked to fail")
		}
	})
	fc.RegisterPreStopFunction(func(ctx context.Context) {
		fmt.Println("testfn: preStop ran")
	})
	fc.Start(handle)
}

func handle(ctx context.Context, event json.RawMessage) (map[string]any, error) {
	fctx, _ := fccontext.FromContext(ctx)
	trimmed := strings.TrimSpace(string(event))
	if strings.HasPrefix(trimmed, "[") {
		return batch(event)
	}
	cmd := findCommand(event)
	switch cmd.Action {
	case "error":
		return nil, errors.New(cmd.Message)
	case "panic":
		panic(cmd.Message)
	case "exit":
		fmt.Println("testfn: exiting with", cmd.Code)
		os.Exit(cmd.Code)
	case "sleep":
		start := time.Now()
		time.Sleep(time.Duration(cmd.Ms) * time.Millisecond) // deliberately ignores ctx
		return map[string]any{"pid": os.Getpid(), "start": start.UnixNano(), "end": time.Now().UnixNano()}, nil
	case "alloc":
		// Write one byte per page so every page is resident, not just mapped.
		buf := make([]byte, cmd.MB<<20)
		for i := 0; i < len(buf); i += 4096 {
			buf[i] = 1
		}
		heldMu.Lock()
		held = append(held, buf)
		total := 0
		for _, b := range held {
			total += len(b) >> 20
		}
		heldMu.Unlock()
		time.Sleep(time.Duration(cmd.Ms) * time.Millisecond) // hold it while the invocation lasts
		return map[string]any{"pid": os.Getpid(), "heldMB": total}, nil
	case "fail-until":
		if fctx.RetryCount < cmd.Until {
			return nil, fmt.Errorf("retry count %d is below %d", fctx.RetryCount, cmd.Until)
		}
		return map[string]any{"retryCount": fctx.RetryCount}, nil
	case "context":
		deadline, _ := ctx.Deadline()
		return map[string]any{
			"pid":             os.Getpid(),
			"initCount":       initCount.Load(),
			"requestId":       fctx.RequestID,
			"accessKeyId":     fctx.Credentials.AccessKeyId,
			"accessKeySecret": fctx.Credentials.AccessKeySecret,
			"securityToken":   fctx.Credentials.SecurityToken,
			"functionName":    fctx.Function.Name,
			"handler":         fctx.Function.Handler,
			"memory":          fctx.Function.Memory,
			"timeout":         fctx.Function.Timeout,
			"region":          fctx.Region,
			"accountId":       fctx.AccountId,
			"retryCount":      fctx.RetryCount,
			"qualifier":       fctx.Service.Qualifier,
			"deadlineMs":      deadline.UnixMilli(),
			"env": map[string]string{
				"FC_FUNCTION_NAME":             os.Getenv("FC_FUNCTION_NAME"),
				"FC_REGION":                    os.Getenv("FC_REGION"),
				"FC_ACCOUNT_ID":                os.Getenv("FC_ACCOUNT_ID"),
				"FC_RUNTIME_API":               os.Getenv("FC_RUNTIME_API"),
				"ALIBABA_CLOUD_ACCESS_KEY_ID":  os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"),
				"ALIBABA_CLOUD_SECURITY_TOKEN": os.Getenv("ALIBABA_CLOUD_SECURITY_TOKEN"),
				"CUSTOM":                       os.Getenv("CUSTOM"),
				"OVERRIDE":                     os.Getenv("OVERRIDE"),
			},
		}, nil
	}
	fctx.GetLogger().Infof("echo %d bytes", len(event))
	return map[string]any{"echo": event, "retryCount": fctx.RetryCount, "pid": os.Getpid()}, nil
}

// findCommand looks for the command in the event itself, in its data
// object, in a timer event's payload string, or in an MNS event's
// data.messageBody.
func findCommand(event json.RawMessage) command {
	var probe struct {
		command
		TriggerName *string `json:"triggerName"`
		Payload     string  `json:"payload"`
		Data        struct {
			command
			MessageBody string `json:"messageBody"`
		} `json:"data"`
	}
	if json.Unmarshal(event, &probe) != nil {
		return command{}
	}
	if probe.Action != "" {
		return probe.command
	}
	if probe.Data.Action != "" {
		return probe.Data.command
	}
	var inner command
	if probe.TriggerName != nil && json.Unmarshal([]byte(probe.Payload), &inner) == nil {
		return inner
	}
	if probe.Data.MessageBody != "" && json.Unmarshal([]byte(probe.Data.MessageBody), &inner) == nil {
		return inner
	}
	return command{}
}

func batch(event json.RawMessage) (map[string]any, error) {
	var events []json.RawMessage
	if err := json.Unmarshal(event, &events); err != nil {
		return nil, err
	}
	var bodies []string
	for _, ev := range events {
		var m struct {
			Data struct {
				MessageBody string `json:"messageBody"`
			} `json:"data"`
		}
		_ = json.Unmarshal(ev, &m)
		bodies = append(bodies, m.Data.MessageBody)
		if findCommand(ev).Action == "error" {
			return nil, errors.New("batch holds a failing message")
		}
	}
	return map[string]any{"batch": len(events), "bodies": bodies}, nil
}
