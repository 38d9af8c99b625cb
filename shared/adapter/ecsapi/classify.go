package ecsapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// APIError is an error answer of the ECS API, as the underlying cause inside
// a *domain.Error. It keeps what an operator needs to look the call up with
// Alibaba support (the request ID) and nothing of the request itself.
type APIError struct {
	Code       string
	Message    string
	HTTPStatus int
	RequestID  string
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "(no message)"
	}
	if e.RequestID != "" {
		return fmt.Sprintf("%s (HTTP %d, request %s)", msg, e.HTTPStatus, e.RequestID)
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, e.HTTPStatus)
}

// class is one row of the classification table.
type class struct {
	kind     domain.Kind
	sentinel error // domain outcome sentinel, nil for none
}

// codeTable maps ECS error codes (exact match) to kinds. It is the one place
// where provider codes get their meaning; prefixRules and statusKind cover
// codes not listed here. Sources: the error codes listed on the ECS API
// reference pages of the actions sgpilot calls, and ECS's common error codes.
var codeTable = map[string]class{
	// Flow control: retried after a back-off.
	"Throttling":      {domain.KindThrottled, nil},
	"Throttling.User": {domain.KindThrottled, nil},
	"Throttling.Api":  {domain.KindThrottled, nil},

	// Transient server-side failures.
	"ServiceUnavailable": {domain.KindRetryable, nil},
	"InternalError":      {domain.KindRetryable, nil},
	"RequestTimeout":     {domain.KindRetryable, nil},
	"SDK.TimeoutError":   {domain.KindRetryable, nil},
	// "Request was denied due to conflict with a previous request, please
	// try again later": the provider itself says a retry will do.
	"InvalidOperation.Conflict": {domain.KindRetryable, nil},
	// A create with the same ClientToken is still being processed.
	"IdempotentProcessing": {domain.KindRetryable, nil},
	// A fresh nonce (every attempt gets one) fixes a collision.
	"SignatureNonceUsed": {domain.KindRetryable, nil},

	// The instance is being created or is not Running/Stopped: retry later,
	// from the queue (see the package doc: not retried inside the adapter).
	"IncorrectInstanceStatus":                   {domain.KindRetryable, domain.ErrInstanceNotReady},
	"Forbidden.InstanceIsBeingCreated":          {domain.KindRetryable, domain.ErrInstanceNotReady},
	"InvalidStatus.EniOrInstanceIsBeingCreated": {domain.KindRetryable, domain.ErrInstanceNotReady},

	// State conflicts.
	"InvalidInstanceId.AlreadyExists":          {domain.KindConflict, domain.ErrAlreadyMember},
	"DependencyViolation":                      {domain.KindConflict, domain.ErrInUse},
	"InstanceNotInSecurityGroup":               {domain.KindConflict, domain.ErrNotMember},
	"InvalidSecurityGroupAssociation.NotFound": {domain.KindConflict, domain.ErrNotMember},
	"InstanceLastSecurityGroup":                {domain.KindConflict, domain.ErrLastGroup},
	"InvalidOperation.AtLeastInOneGroup":       {domain.KindConflict, domain.ErrLastGroup},
	"InvalidOperation.InvalidEniState":         {domain.KindConflict, nil},

	// Well-understood refusals.
	"InstanceSecurityGroupLimitExceeded":             {domain.KindPermanent, domain.ErrGroupLimit},
	"InvalidInstanceId.Mismatch":                     {domain.KindPermanent, domain.ErrNetworkMismatch},
	"InvalidOperation.VpcMismatch":                   {domain.KindPermanent, domain.ErrNetworkMismatch},
	"InvalidOperation.DeletionProtection":            {domain.KindPermanent, domain.ErrDeletionProtected},
	"InvalidOperation.ResourceManagedByCloudProduct": {domain.KindPermanent, domain.ErrDeletionProtected},
	"SecurityGroupInstanceLimitExceeded":             {domain.KindPermanent, nil},
	"InvalidOperation.MultiGroupType":                {domain.KindPermanent, nil},
	"InvalidOperation.NotSupportEnterpriseGroup":     {domain.KindPermanent, nil},
	"InvalidOperation.SecurityGroupNotAuthorized":    {domain.KindPermanent, nil},
	"InstanceLockedForSecurity":                      {domain.KindPermanent, nil},
	"AclLimitExceed":                                 {domain.KindPermanent, nil},
	"InvalidResourceId.NotSupported":                 {domain.KindPermanent, nil},
	"OperationDenied":                                {domain.KindPermanent, nil},
	// Authentication and authorisation: a retry with the same keys fails too.
	"SignatureDoesNotMatch":       {domain.KindPermanent, nil},
	"IncompleteSignature":         {domain.KindPermanent, nil},
	"InvalidAccessKeyId.NotFound": {domain.KindPermanent, nil},
	"InvalidAccessKeyId.Inactive": {domain.KindPermanent, nil},
	"InvalidTimeStamp.Expired":    {domain.KindPermanent, nil},
	"NoPermission.Tag":            {domain.KindPermanent, nil},

	// Gone. DeleteSecurityGroup documents InvalidSecurityGroup.NotFound, every
	// other action InvalidSecurityGroupId.NotFound: both mean the same.
	"InvalidSecurityGroupId.NotFound":       {domain.KindNotFound, nil},
	"InvalidSecurityGroup.NotFound":         {domain.KindNotFound, nil},
	"InvalidInstanceId.NotFound":            {domain.KindNotFound, nil},
	"InvalidEniId.NotFound":                 {domain.KindNotFound, nil},
	"InvalidVpcId.NotFound":                 {domain.KindNotFound, nil},
	"InvalidVSwitchId.NotFound":             {domain.KindNotFound, nil},
	"InvalidResourceId.NotFound":            {domain.KindNotFound, nil},
	"InvalidSourceGroupId.NotFound":         {domain.KindNotFound, nil},
	"InvalidSourceGroup.NotFound":           {domain.KindNotFound, nil},
	"InvalidLaunchTemplate.NotFound":        {domain.KindNotFound, nil},
	"InvalidLaunchTemplateVersion.NotFound": {domain.KindNotFound, nil},
	"InvalidSecurityGroupRuleId.NotFound":   {domain.KindNotFound, nil},

	// ".NotFound" codes that name a bad parameter or configuration, not a
	// missing resource: treating them as "already gone" would be wrong.
	"InvalidRegionId.NotFound":           {domain.KindInvalid, nil},
	"InvalidAction.NotFound":             {domain.KindInvalid, nil},
	"InvalidResourceType.NotFound":       {domain.KindInvalid, nil},
	"InvalidFilterKey.NotFound":          {domain.KindInvalid, nil},
	"InvalidStatus.NotFound":             {domain.KindInvalid, nil},
	"InvalidNetworkType.NotFound":        {domain.KindInvalid, nil},
	"InvalidInstanceChargeType.NotFound": {domain.KindInvalid, nil},
	"InvalidResourceGroup.NotFound":      {domain.KindInvalid, nil},
	"DryRunOperation":                    {domain.KindInvalid, nil},
	"Duplicate.TagKey":                   {domain.KindInvalid, nil},
	"InvalidTagCount":                    {domain.KindInvalid, nil},
	"SDK.InvalidParam":                   {domain.KindInvalid, nil},
	"SDK.MissingParam":                   {domain.KindInvalid, nil},
	"SDK.CanNotResolveEndpoint":          {domain.KindInvalid, nil},
	"SDK.UnsupportedCredential":          {domain.KindInvalid, nil},
	"SDK.JsonUnmarshalError":             {domain.KindInternal, nil},
}

// prefixRules classify families of codes not in codeTable, in order.
var prefixRules = []struct {
	prefix string
	class  class
}{
	{"Throttling", class{domain.KindThrottled, nil}},
	{"QuotaExceed", class{domain.KindPermanent, nil}},
	{"OperationDenied.", class{domain.KindPermanent, nil}},
	{"Forbidden", class{domain.KindPermanent, nil}},
	{"InvalidAccessKeyId", class{domain.KindPermanent, nil}},
	{"InvalidSecurityToken", class{domain.KindPermanent, nil}},
	{"MissingParameter", class{domain.KindInvalid, nil}},
	{"InvalidParameter", class{domain.KindInvalid, nil}},
	{"InValidParameter", class{domain.KindInvalid, nil}},
	{"InvalidParamter", class{domain.KindInvalid, nil}},
	{"InvalidParam.", class{domain.KindInvalid, nil}},
	{"NumberExceed", class{domain.KindInvalid, nil}},
	{"InvalidTag", class{domain.KindInvalid, nil}},
}

// suffixRules classify what is left by the code's last component.
var suffixRules = []struct {
	suffix string
	class  class
}{
	{".NotFound", class{domain.KindNotFound, nil}},
	{".Malformed", class{domain.KindInvalid, nil}},
	{".ValueNotSupported", class{domain.KindInvalid, nil}},
}

// lookupCode classifies a provider code; ok is false for unknown codes.
func lookupCode(code string) (class, bool) {
	if code == "" {
		return class{}, false
	}
	if c, ok := codeTable[code]; ok {
		return c, true
	}
	for _, r := range prefixRules {
		if strings.HasPrefix(code, r.prefix) {
			return r.class, true
		}
	}
	for _, r := range suffixRules {
		if strings.HasSuffix(code, r.suffix) {
			return r.class, true
		}
	}
	return class{}, false
}

// statusKind is the fallback for codes the tables do not know: 5xx are
// transient, 429 is flow control, any other status is not understood.
func statusKind(status int) domain.Kind {
	switch {
	case status >= 500:
		return domain.KindRetryable
	case status == http.StatusTooManyRequests:
		return domain.KindThrottled
	default:
		return domain.KindInternal
	}
}

// classify turns whatever the SDK returned into a *domain.Error under op.
// ctx is the call's context: when it has ended and no answer came, that is
// the reason, whatever the transport made of it.
func classify(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		// A real answer counts even if the context ended just after it.
		return fromAPIError(op, &APIError{Code: se.ErrorCode(), Message: serverMessage(se), HTTPStatus: se.HttpStatus(), RequestID: se.RequestId()})
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		// KindCanceled or KindDeadline: the caller's time is up.
		return domain.Wrap(domain.KindOf(ctxErr), op, "", ctxErr)
	}
	var ce *sdkerrors.ClientError
	if errors.As(err, &ce) {
		code := ce.ErrorCode()
		c, ok := lookupCode(code)
		if !ok {
			c = class{kind: domain.KindInternal}
		}
		// ClientError texts may embed the original transport error, which
		// may embed the URL; keep the code and the SDK's own message only.
		msg := ce.Message()
		if orig := ce.OriginError(); orig != nil {
			msg += ": " + transportText(orig)
		}
		return domain.Wrap(c.kind, op, code, errors.New(msg))
	}
	if kind, text, ok := transportKind(err); ok {
		return domain.Wrap(kind, op, "", errors.New(text))
	}
	return domain.Wrap(domain.KindInternal, op, "", errors.New(transportText(err)))
}

// serverMessage is the provider's message minus the server's string to sign
// that signature errors append (it holds the AccessKeyId and SecurityToken),
// plus the SDK's hint when that string showed the secret is wrong.
func serverMessage(se *sdkerrors.ServerError) string {
	msg := se.Message()
	if i := strings.Index(msg, sdkerrors.MessageContain); i >= 0 {
		msg = strings.TrimSpace(msg[:i])
		if strings.HasPrefix(se.Recommend(), "InvalidAccessKeySecret") {
			msg += " (the string to sign matched: the AccessKeySecret is wrong)"
		}
	}
	return msg
}

// fromAPIError classifies a provider error answer.
func fromAPIError(op string, ae *APIError) error {
	c, ok := lookupCode(ae.Code)
	if !ok {
		c = class{kind: statusKind(ae.HTTPStatus)}
	}
	var cause error = ae
	if c.sentinel != nil {
		cause = fmt.Errorf("%w: %w", c.sentinel, ae)
	}
	return &domain.Error{Kind: c.kind, Op: op, Code: ae.Code, Err: cause}
}

// transportKind recognises network failures: refused or reset connections,
// a connection closed before the answer, timeouts. TLS certificate errors
// are permanent (a retry meets the same certificate).
func transportKind(err error) (domain.Kind, string, bool) {
	text := transportText(err)
	var verifyErr *tls.CertificateVerificationError
	var authErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invErr x509.CertificateInvalidError
	if errors.As(err, &verifyErr) || errors.As(err, &authErr) || errors.As(err, &hostErr) || errors.As(err, &invErr) {
		return domain.KindPermanent, text, true
	}
	var ue *url.Error
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &ue), errors.As(err, &ne), errors.As(err, &oe),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return domain.KindRetryable, text, true
	}
	return 0, "", false
}

// transportText describes a transport error without the request URL: a
// *url.Error's URL carries the signed query, AccessKeyId and SecurityToken
// included.
func transportText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + " request: " + transportText(ue.Err)
	}
	return err.Error()
}

// retryable decides which classified errors are retried inside one call;
// it is the only retry decision for ECS in sgpilot (the use cases do not
// retry). Throttled and transient failures are retried with back-off.
// Canceled and deadline errors are not (domain.IsRetryable refuses them).
// An instance that is still starting (ErrInstanceNotReady, KindRetryable)
// is not retried here either: it takes tens of seconds, longer than any
// back-off should hold a worker, so the caller turns it into a later
// delivery of the task instead.
func retryable(err error) bool {
	return domain.IsRetryable(err) && !errors.Is(err, domain.ErrInstanceNotReady)
}
