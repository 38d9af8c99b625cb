package mnsqueue

import (
	"context"
	"errors"
	"strings"

	ali_mns "github.com/aliyun/aliyun-mns-go-sdk"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// codeKinds is the one table that turns an MNS error code into a domain
// Kind. Codes absent from it are KindInternal: an unknown refusal is not
// retried blindly (habit 5).
var codeKinds = map[string]domain.Kind{
	// Throttling: back off and retry.
	"QpsLimitExceeded": domain.KindThrottled,
	// Server side: transient.
	"InternalError":       domain.KindRetryable,
	"InternalServerError": domain.KindRetryable,
	"ServiceUnavailable":  domain.KindRetryable,
	// Missing things.
	"QueueNotExist": domain.KindNotFound,
	// Topics (topic.go).
	"TopicNotExist":            domain.KindNotFound,
	"SubscriptionNotExist":     domain.KindNotFound,
	"TopicAlreadyExist":        domain.KindConflict,
	"SubscriptionAlreadyExist": domain.KindConflict,
	"MessageNotExist":          domain.KindNotFound, // Receive turns it into "nothing to do"
	// A stale or expired receipt handle: someone else (or a later receive)
	// owns the message now, and it will come back if nobody deletes it.
	"ReceiptHandleError": domain.KindConflict,
	// Queue life cycle.
	"QueueAlreadyExist":    domain.KindConflict, // exists with other attributes
	"QueueDeletedRecently": domain.KindConflict,
	// Requests MNS could not accept: a bug here or a bad input.
	"InvalidArgument":          domain.KindInvalid,
	"MalformedXML":             domain.KindInvalid,
	"InvalidQueryString":       domain.KindInvalid,
	"InvalidRequestURL":        domain.KindInvalid,
	"InvalidQueueName":         domain.KindInvalid,
	"QueueNameLengthError":     domain.KindInvalid,
	"MissingReceiptHandle":     domain.KindInvalid,
	"MissingVisibilityTimeout": domain.KindInvalid,
	"InvalidDegist":            domain.KindInvalid, // sic: bad Content-MD5
	"MissingDateHeader":        domain.KindInvalid,
	"InvalidDateHeader":        domain.KindInvalid,
	"MissingVersionHeader":     domain.KindInvalid,
	"InvalidVersionHeader":     domain.KindInvalid,
	"InvalidContentType":       domain.KindInvalid,
	// Authentication and authorisation: retrying with the same keys cannot
	// help. TimeExpired means the function's clock is off, which does not
	// heal by itself either.
	"AccessDenied":               domain.KindPermanent,
	"InvalidAccessKeyId":         domain.KindPermanent,
	"SignatureDoesNotMatch":      domain.KindPermanent,
	"InvalidAuthorizationHeader": domain.KindPermanent,
	"MissingAuthorizationHeader": domain.KindPermanent,
	"TimeExpired":                domain.KindPermanent,
}

// sdkCodes maps the SDK's error templates back to the wire code, because the
// SDK keeps its own code→template map private and its errors carry no code
// field. It mirrors initMNSErrors in aliyun-mns-go-sdk v1.0.11 (queue codes).
var sdkCodes = []struct {
	code    string
	isEqual func(error) bool
}{
	{"AccessDenied", ali_mns.ERR_MNS_ACCESS_DENIED.IsEqual},
	{"InvalidAccessKeyId", ali_mns.ERR_MNS_INVALID_ACCESS_KEY_ID.IsEqual},
	{"InternalError", ali_mns.ERR_MNS_INTERNAL_ERROR.IsEqual},
	{"InvalidAuthorizationHeader", ali_mns.ERR_MNS_INVALID_AUTHORIZATION_HEADER.IsEqual},
	{"InvalidDateHeader", ali_mns.ERR_MNS_INVALID_DATE_HEADER.IsEqual},
	{"InvalidArgument", ali_mns.ERR_MNS_INVALID_ARGUMENT.IsEqual},
	{"InvalidDegist", ali_mns.ERR_MNS_INVALID_DEGIST.IsEqual},
	{"InvalidRequestURL", ali_mns.ERR_MNS_INVALID_REQUEST_URL.IsEqual},
	{"InvalidQueryString", ali_mns.ERR_MNS_INVALID_QUERY_STRING.IsEqual},
	{"MalformedXML", ali_mns.ERR_MNS_MALFORMED_XML.IsEqual},
	{"MissingAuthorizationHeader", ali_mns.ERR_MNS_MISSING_AUTHORIZATION_HEADER.IsEqual},
	{"MissingDateHeader", ali_mns.ERR_MNS_MISSING_DATE_HEADER.IsEqual},
	{"MissingVersionHeader", ali_mns.ERR_MNS_MISSING_VERSION_HEADER.IsEqual},
	{"MissingReceiptHandle", ali_mns.ERR_MNS_MISSING_RECEIPT_HANDLE.IsEqual},
	{"MissingVisibilityTimeout", ali_mns.ERR_MNS_MISSING_VISIBILITY_TIMEOUT.IsEqual},
	{"MessageNotExist", ali_mns.ERR_MNS_MESSAGE_NOT_EXIST.IsEqual},
	{"QueueAlreadyExist", ali_mns.ERR_MNS_QUEUE_ALREADY_EXIST.IsEqual},
	{"QueueDeletedRecently", ali_mns.ERR_MNS_QUEUE_DELETED_RECENTLY.IsEqual},
	{"InvalidQueueName", ali_mns.ERR_MNS_INVALID_QUEUE_NAME.IsEqual},
	{"QueueNameLengthError", ali_mns.ERR_MNS_QUEUE_NAME_LENGTH_ERROR.IsEqual},
	{"QueueNotExist", ali_mns.ERR_MNS_QUEUE_NOT_EXIST.IsEqual},
	{"TopicNotExist", ali_mns.ERR_MNS_TOPIC_NOT_EXIST.IsEqual},
	{"TopicAlreadyExist", ali_mns.ERR_MNS_TOPIC_ALREADY_EXIST.IsEqual},
	{"SubscriptionAlreadyExist", ali_mns.ERR_MNS_SUBSCRIPTION_ALREADY_EXIST.IsEqual},
	{"ReceiptHandleError", ali_mns.ERR_MNS_RECEIPT_HANDLE_ERROR.IsEqual},
	{"SignatureDoesNotMatch", ali_mns.ERR_MNS_SIGNATURE_DOES_NOT_MATCH.IsEqual},
	{"TimeExpired", ali_mns.ERR_MNS_TIME_EXPIRED.IsEqual},
	{"QpsLimitExceeded", ali_mns.ERR_MNS_QPS_LIMIT_EXCEEDED.IsEqual},
}

// Pseudo-codes for failures that never reached an MNS answer. They go into
// Error.Code so that logs say which side failed.
const (
	codeTransport       = "Transport"        // connection refused, reset, timeout
	codeBadErrorBody    = "BadErrorBody"     // a non-2xx answer that is not an MNS <Error> (a gateway page)
	codeBadResponse     = "BadResponse"      // a 2xx answer the SDK could not decode
	codeClientCheck     = "ClientCheck"      // the SDK refused the request before sending it
	codeCredential      = "Credential"       // signing failed
	codeBatchPartial    = "BatchPartialFail" // per-item failures, see the joined item errors
	codeAlreadySameAttr = "QueueAlreadyExistSameAttr"
)

// sdkSideKinds classifies the SDK's own failures (no MNS code).
var sdkSideKinds = []struct {
	code    string
	kind    domain.Kind
	isEqual func(error) bool
}{
	// The request did not complete: the network or the front end failed.
	{codeTransport, domain.KindRetryable, ali_mns.ERR_SEND_REQUEST_FAILED.IsEqual},
	// A non-2xx answer whose body is not MNS XML comes from a proxy or load
	// balancer in front of MNS, in practice a 502/503/504 page: transient.
	{codeBadErrorBody, domain.KindRetryable, ali_mns.ERR_UNMARSHAL_ERROR_RESPONSE_FAILED.IsEqual},
	{codeBadResponse, domain.KindInternal, ali_mns.ERR_UNMARSHAL_RESPONSE_FAILED.IsEqual},
	{codeBadResponse, domain.KindInternal, ali_mns.ERR_READ_RESPONSE_BODY_FAILED.IsEqual},
	{codeClientCheck, domain.KindInternal, ali_mns.ERR_MARSHAL_MESSAGE_FAILED.IsEqual},
	{codeCredential, domain.KindPermanent, ali_mns.ERR_GENERAL_AUTH_HEADER_FAILED.IsEqual},
	{codeCredential, domain.KindPermanent, ali_mns.ERR_SIGN_MESSAGE_FAILED.IsEqual},
	{codeClientCheck, domain.KindInvalid, ali_mns.ERR_MNS_QUEUE_NAME_IS_TOO_LONG.IsEqual},
	{codeClientCheck, domain.KindInvalid, ali_mns.ERR_MNS_DELAY_SECONDS_RANGE_ERROR.IsEqual},
	{codeClientCheck, domain.KindInvalid, ali_mns.ERR_MNS_MAX_MESSAGE_SIZE_RANGE_ERROR.IsEqual},
	{codeClientCheck, domain.KindInvalid, ali_mns.ERR_MNS_MSG_RETENTION_PERIOD_RANGE_ERROR.IsEqual},
	{codeClientCheck, domain.KindInvalid, ali_mns.ERR_MNS_MSG_VISIBILITY_TIMEOUT_RANGE_ERROR.IsEqual},
	{codeClientCheck, domain.KindInvalid, ali_mns.ERR_MNS_MSG_POOLLING_WAIT_SECONDS_RANGE_ERROR.IsEqual},
}

// unknownCode pulls the wire code out of ERR_MNS_UNKNOWN_CODE's text
// ("ali_mns response status error,code: X, message: ..."), the only place
// the SDK keeps it for codes outside its map.
func unknownCode(text string) (string, bool) {
	_, rest, ok := strings.Cut(text, "code: ")
	if !ok {
		return "", false
	}
	code, _, ok := strings.Cut(rest, ",")
	if !ok || strings.IndexFunc(code, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.')
	}) >= 0 {
		return "", false
	}
	return code, true
}

// codeOf returns the MNS code (or one of the pseudo-codes) of an SDK error
// and its kind.
func codeOf(err error) (string, domain.Kind) {
	for _, c := range sdkCodes {
		if c.isEqual(err) {
			return c.code, kindOfCode(c.code)
		}
	}
	if ali_mns.ERR_MNS_UNKNOWN_CODE.IsEqual(err) {
		if code, ok := unknownCode(err.Error()); ok {
			return code, kindOfCode(code)
		}
		return "", domain.KindInternal
	}
	for _, c := range sdkSideKinds {
		if c.isEqual(err) {
			return c.code, c.kind
		}
	}
	return "", domain.KindInternal
}

// kindOfCode classifies a wire code, as found in <Error><Code> or in the
// <ErrorCode> of one batch entry.
func kindOfCode(code string) domain.Kind {
	if k, ok := codeKinds[code]; ok {
		return k
	}
	return domain.KindInternal
}

// classify wraps an SDK error as a *domain.Error under op. The end of ctx
// (the SDK call abandoned, or retry.Do stopping before an attempt) keeps
// its own kind, KindCanceled or KindDeadline, and has no code: MNS never
// answered.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err // already classified (batch results)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &domain.Error{Kind: domain.KindOf(err), Op: op, Err: err}
	}
	code, kind := codeOf(err)
	return &domain.Error{Kind: kind, Op: op, Code: code, Err: err}
}
