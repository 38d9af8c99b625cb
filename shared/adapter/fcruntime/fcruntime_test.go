package fcruntime_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/adapter/fcruntime"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
)

func testLogger(t *testing.T, buf *bytes.Buffer) *zap.Logger {
	t.Helper()
	l, err := logging.New("debug", buf)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestWrap_CarriesRequestAndCredentials(t *testing.T) {
	var buf bytes.Buffer
	ctx := fccontext.NewContext(context.Background(), &fccontext.FcContext{RequestID: "req-42", Region: "cn-hangzhou", AccountId: "1234567890123456",
		Credentials: fccontext.Credentials{AccessKeyId: "STS.abc", AccessKeySecret: "s3cret", SecurityToken: "tok"}})
	h := fcruntime.Wrap(testLogger(t, &buf), "queue-worker", func(ctx context.Context, payload []byte) (any, error) {
		inv, ok := fcruntime.InvocationFromContext(ctx)
		if !ok || inv.RequestID != "req-42" || inv.AccountID != "1234567890123456" {
			t.Errorf("invocation = %+v", inv)
		}
		c, err := fcruntime.Credentials(ctx, func(string) string { return "" })
		if err != nil || c.SecurityToken != "tok" {
			t.Errorf("credentials = %v, %v", c, err)
		}
		logging.FromContext(ctx).Info("inside")
		return string(payload), nil
	})
	got, err := h(ctx, []byte(`{"a":1}`))
	if err != nil || got != `{"a":1}` {
		t.Fatalf("got %v, %v", got, err)
	}
	if strings.Count(buf.String(), `"request_id":"req-42"`) < 3 {
		t.Fatalf("log lines lack the request id:\n%s", buf.String())
	}
	if strings.Contains(buf.String(), "s3cret") || strings.Contains(buf.String(), `"tok"`) {
		t.Fatalf("credentials leaked into logs:\n%s", buf.String())
	}
}

func TestWrap_PanicBecomesError(t *testing.T) {
	var buf bytes.Buffer
	h := fcruntime.Wrap(testLogger(t, &buf), "fn", func(context.Context, []byte) (any, error) { panic("boom") })
	_, err := h(context.Background(), nil) // a plain context: no FC values, must not panic either
	if err == nil || domain.KindOf(err) != domain.KindInternal || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
}

func TestCredentials_EnvFallbackAndMissing(t *testing.T) {
	env := map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIx", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "y"}
	c, err := fcruntime.Credentials(context.Background(), func(k string) string { return env[k] })
	if err != nil || c.AccessKeyID != "LTAIx" {
		t.Fatalf("%v %v", c, err)
	}
	_, err = fcruntime.Credentials(context.Background(), func(string) string { return "" })
	if !errors.Is(err, domain.ErrPermanent) {
		t.Fatalf("err = %v", err)
	}
}
