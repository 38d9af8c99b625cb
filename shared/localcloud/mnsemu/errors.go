package mnsemu

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes the emulator answers with. They are the strings the real
// service puts in <Error><Code>, which the SDK maps to its ERR_MNS_* values.
const (
	CodeAccessDenied               = "AccessDenied"
	CodeInternalError              = "InternalError"
	CodeInvalidAccessKeyID         = "InvalidAccessKeyId"
	CodeInvalidArgument            = "InvalidArgument"
	CodeInvalidAuthorizationHeader = "InvalidAuthorizationHeader"
	CodeInvalidDateHeader          = "InvalidDateHeader"
	CodeInvalidDigest              = "InvalidDegist" // sic: the service's spelling
	CodeInvalidQueueName           = "InvalidQueueName"
	CodeInvalidRequestURL          = "InvalidRequestURL"
	CodeInvalidVersionHeader       = "InvalidVersionHeader"
	CodeMalformedXML               = "MalformedXML"
	CodeMessageNotExist            = "MessageNotExist"
	CodeMissingAuthorizationHeader = "MissingAuthorizationHeader"
	CodeMissingDateHeader          = "MissingDateHeader"
	CodeMissingReceiptHandle       = "MissingReceiptHandle"
	CodeMissingVersionHeader       = "MissingVersionHeader"
	CodeMissingVisibilityTimeout   = "MissingVisibilityTimeout"
	CodeQPSLimitExceeded           = "QpsLimitExceeded"
	CodeQueueAlreadyExist          = "QueueAlreadyExist"
	CodeQueueNameLengthError       = "QueueNameLengthError"
	CodeQueueNotExist              = "QueueNotExist"
	CodeReceiptHandleError         = "ReceiptHandleError"
	CodeSignatureDoesNotMatch      = "SignatureDoesNotMatch"
	CodeTimeExpired                = "TimeExpired"
)

// Error is an MNS service error: the HTTP status, the code and the message
// the wire <Error> body carries. The Go API returns *Error too, so callers
// can branch on Code exactly as SDK users branch on ERR_MNS_*.
type Error struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("mns %s (%d): %s", e.Code, e.Status, e.Message)
}

// IsCode reports whether err is (or wraps) an *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

func newError(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func errQueueNotExist() *Error {
	return newError(http.StatusNotFound, CodeQueueNotExist, "The queue name you provided is not exist.")
}

func errMessageNotExist() *Error {
	return newError(http.StatusNotFound, CodeMessageNotExist, "Message not exist.")
}

func errReceiptHandle() *Error {
	return newError(http.StatusBadRequest, CodeReceiptHandleError, "The receipt handle you provide is not valid.")
}

func errQueueAlreadyExist() *Error {
	return newError(http.StatusConflict, CodeQueueAlreadyExist,
		"The queue you want to create already exists with different attributes.")
}

func errInvalidArgument(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, CodeInvalidArgument, format, args...)
}

// errRange is the InvalidArgument message the service uses for an
// out-of-range value.
func errRange(name string, lo, hi int64) *Error {
	return errInvalidArgument("The value of %s should between %d and %d.", name, lo, hi)
}

func errMalformedXML(err error) *Error {
	return newError(http.StatusBadRequest, CodeMalformedXML, "The XML you provided was not well-formed: %v.", err)
}

func errInternal() *Error {
	return newError(http.StatusInternalServerError, CodeInternalError, "The service encountered an internal error.")
}
