// Package fcruntime is the only sgpilot package that imports
// fc-runtime-go-sdk. It turns an FC invocation into plain Go: a context with
// the FC deadline, a zap logger carrying the request ID, the invocation's
// credentials, and panics turned into errors so one bad event never takes the
// process down.
package fcruntime

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/cloudauth"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
)

// Handler handles one invocation's raw payload (an EventBridge event, an MNS
// trigger batch, a timer event or an `s invoke` body). Its result is
// JSON-encoded as the invocation result.
type Handler func(ctx context.Context, payload []byte) (any, error)

// Invocation is what FC tells a function about the current call.
type Invocation struct {
	RequestID    string
	FunctionName string
	Region       string
	AccountID    string
	RetryCount   int
	Credentials  cloudauth.Credentials
}

type invocationKey struct{}

// InvocationFromContext returns the invocation stored by Wrap.
func InvocationFromContext(ctx context.Context) (Invocation, bool) {
	inv, ok := ctx.Value(invocationKey{}).(Invocation)
	return inv, ok
}

// Credentials returns the credentials to call ECS and MNS with: the role's
// STS credentials FC passed with this invocation, else the standard
// ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / ALIBABA_CLOUD_SECURITY_TOKEN
// variables. Never logged.
func Credentials(ctx context.Context, getenv func(string) string) (cloudauth.Credentials, error) {
	if inv, ok := InvocationFromContext(ctx); ok && inv.Credentials.AccessKeyID != "" {
		return inv.Credentials, nil
	}
	c := cloudauth.Credentials{
		AccessKeyID:     getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"),
		AccessKeySecret: getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
		SecurityToken:   getenv("ALIBABA_CLOUD_SECURITY_TOKEN"),
	}
	if c.AccessKeyID == "" || c.AccessKeySecret == "" {
		return cloudauth.Credentials{}, domain.Errorf(domain.KindPermanent, "load credentials", "",
			"no credentials: give the function a RAM role (FC passes its STS credentials) or set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET")
	}
	return c, nil
}

// fromFC reads the FC context defensively: fccontext.FromContext assumes
// its value is set and well-typed, which is only true under the runtime.
func fromFC(ctx context.Context) (inv Invocation, ok bool) {
	defer func() {
		if recover() != nil {
			inv, ok = Invocation{}, false
		}
	}()
	fcCtx, found := fccontext.FromContext(ctx)
	if !found || fcCtx == nil {
		return Invocation{}, false
	}
	return Invocation{
		RequestID:    fcCtx.RequestID,
		FunctionName: fcCtx.Function.Name,
		Region:       fcCtx.Region,
		AccountID:    fcCtx.AccountId,
		RetryCount:   fcCtx.RetryCount,
		Credentials: cloudauth.Credentials{
			AccessKeyID:     fcCtx.Credentials.AccessKeyId,
			AccessKeySecret: fcCtx.Credentials.AccessKeySecret,
			SecurityToken:   fcCtx.Credentials.SecurityToken,
		},
	}, true
}

// Wrap adapts h to the FC SDK: it stores the invocation and a request-scoped
// logger in ctx, logs start and end with the duration, and turns a panic into
// an error result (the SDK would report it too, but without our logs).
func Wrap(logger *zap.Logger, function string, h Handler) func(context.Context, []byte) (any, error) {
	return func(ctx context.Context, payload []byte) (result any, err error) {
		inv, ok := fromFC(ctx)
		if !ok {
			inv = Invocation{FunctionName: function}
		}
		if inv.FunctionName == "" {
			inv.FunctionName = function
		}
		ctx = context.WithValue(ctx, invocationKey{}, inv)
		l := logger.With(zap.String(logging.FieldRequestID, inv.RequestID), zap.String(logging.FieldFunction, inv.FunctionName))
		ctx = logging.WithContext(ctx, l)
		start := time.Now()
		fields := []zap.Field{zap.Int("payload_bytes", len(payload)), zap.Int("retry_count", inv.RetryCount)}
		if dl, ok := ctx.Deadline(); ok {
			fields = append(fields, zap.Duration("time_left", time.Until(dl)))
		}
		l.Info("invocation start", fields...)
		defer func() {
			if r := recover(); r != nil {
				l.Error("handler panicked", zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
				result, err = nil, domain.Errorf(domain.KindInternal, "handle invocation", "", "internal error (panic: %v); see the function log for the stack", r)
			}
			if err != nil {
				l.Error("invocation failed", zap.Duration("duration", time.Since(start)), zap.String("kind", domain.KindOf(err).String()), zap.Error(err))
				return
			}
			l.Info("invocation end", zap.Duration("duration", time.Since(start)))
		}()
		return h(ctx, payload)
	}
}

// Start runs h under the FC runtime. It does not return. Outside FC (no
// FC_RUNTIME_API), it exits with a clear message instead of the SDK's.
func Start(logger *zap.Logger, function string, h Handler) {
	if os.Getenv("FC_RUNTIME_API") == "" {
		fmt.Fprintf(os.Stderr, "%s: not running under Function Compute (FC_RUNTIME_API is not set); run it with `localcloud` or deploy it with `s deploy`\n", function)
		os.Exit(2)
	}
	fc.Start(Wrap(logger, function, h))
}
