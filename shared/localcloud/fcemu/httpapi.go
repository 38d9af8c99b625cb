package fcemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

// Headers of the invocation endpoint (FC's InvokeFunction uses the same).
const (
	HeaderInvocationType = "x-fc-invocation-type" // "Sync" (default) or "Async"
	HeaderRequestID      = "x-fc-request-id"
	HeaderErrorType      = "x-fc-error-type" // set on a function error: "UnhandledInvocationError"
)

// InvokeHandler serves manual invocations over HTTP, unsigned:
//
//	POST /invoke/{function}                           body = event
//	POST /2023-03-30/functions/{function}/invocations (FC 3.0 InvokeFunction path)
//	GET  /stats                                       JSON []FunctionStats
//	GET  /discarded                                   JSON {"discarded": n, "functions": {name: n}}
//	GET  /logs/{function}                             recent log lines, text
//
// With x-fc-invocation-type: Async the answer is 202 with x-fc-request-id.
// A synchronous answer is 200 with the function's result body, or, for a
// function error, 200 with x-fc-error-type: UnhandledInvocationError and the
// {errorMessage, errorType} body. Platform errors are JSON {Code, Message,
// RequestId} with 404 (unknown function), 413, 429, 503; an injected dropped
// connection closes the connection.
func (e *Emulator) InvokeHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /invoke/{function}", e.serveInvoke)
	mux.HandleFunc("POST /2023-03-30/functions/{function}/invocations", e.serveInvoke)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(e.Snapshot())
	})
	mux.HandleFunc("GET /discarded", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(e.discardReport())
	})
	mux.HandleFunc("GET /logs/{function}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("function")
		if _, err := e.function(name); err != nil {
			writePlatformError(w, http.StatusNotFound, "FunctionNotFound", err.Error(), "")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		for _, l := range e.Logs(name) {
			_, _ = io.WriteString(w, l+"\n")
		}
	})
	return mux
}

func (e *Emulator) serveInvoke(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("function")
	payload, err := io.ReadAll(io.LimitReader(r.Body, MaxSyncPayload+1))
	if err != nil {
		writePlatformError(w, http.StatusBadRequest, "InvalidArgument", "read body: "+err.Error(), "")
		return
	}
	async := false
	switch t := r.Header.Get(HeaderInvocationType); strings.ToLower(t) {
	case "", "sync":
	case "async":
		async = true
	default:
		writePlatformError(w, http.StatusBadRequest, "InvalidArgument", fmt.Sprintf("%s %q is neither Sync nor Async", HeaderInvocationType, t), "")
		return
	}
	res, err := e.Invoke(r.Context(), name, payload, InvokeOptions{Async: async, RequestID: r.Header.Get(HeaderRequestID)})
	if err != nil {
		var se *SystemError
		switch {
		case errors.As(err, &se) && se.Dropped:
			core.HangUp(w)
		case errors.As(err, &se):
			writePlatformError(w, se.Status, se.Code, se.Message, res.RequestID)
		case errors.Is(err, ErrFunctionNotFound):
			writePlatformError(w, http.StatusNotFound, "FunctionNotFound", err.Error(), res.RequestID)
		case errors.Is(err, ErrClosed):
			writePlatformError(w, http.StatusServiceUnavailable, "ServiceUnavailable", err.Error(), res.RequestID)
		default:
			writePlatformError(w, http.StatusInternalServerError, "InternalServerError", err.Error(), res.RequestID)
		}
		return
	}
	w.Header().Set(HeaderRequestID, res.RequestID)
	if res.Async {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if res.Error != nil {
		w.Header().Set(HeaderErrorType, "UnhandledInvocationError")
		b, _ := json.Marshal(res.Error)
		_, _ = w.Write(b)
		return
	}
	_, _ = w.Write(res.Payload)
}

func writePlatformError(w http.ResponseWriter, status int, code, msg, requestID string) {
	w.Header().Set("Content-Type", "application/json")
	if requestID != "" {
		w.Header().Set(HeaderRequestID, requestID)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Code": code, "Message": msg, "RequestId": requestID})
}

// InvokeOverHTTP calls an InvokeHandler at baseURL (e.g.
// "http://127.0.0.1:9000/fc") and returns the function's result or
// function error in Result; err reports transport and platform errors.
func InvokeOverHTTP(baseURL, function string, payload []byte, async bool) (Result, error) {
	url := strings.TrimRight(baseURL, "/") + "/invoke/" + function
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return Result{}, fmt.Errorf("invoke %s: %w", function, err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if async {
		req.Header.Set(HeaderInvocationType, "Async")
	} else {
		req.Header.Set(HeaderInvocationType, "Sync")
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Result{}, fmt.Errorf("invoke %s at %s: %w", function, baseURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Result{}, fmt.Errorf("invoke %s: read answer: %w", function, err)
	}
	res := Result{RequestID: resp.Header.Get(HeaderRequestID), Async: async, Duration: time.Since(start)}
	switch {
	case async && resp.StatusCode == http.StatusAccepted:
		return res, nil
	case !async && resp.StatusCode == http.StatusOK:
		if resp.Header.Get(HeaderErrorType) != "" {
			fe := &FunctionError{}
			if json.Unmarshal(body, fe) != nil {
				fe = &FunctionError{ErrorMessage: string(body)}
			}
			res.Error = fe
			return res, nil
		}
		res.Payload = body
		return res, nil
	}
	var pe struct{ Code, Message string }
	if json.Unmarshal(body, &pe) != nil || pe.Code == "" {
		return res, fmt.Errorf("invoke %s: HTTP %d: %s", function, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return res, &SystemError{Status: resp.StatusCode, Code: pe.Code, Message: pe.Message}
}

// DiscardReport is the answer of GET /discarded: events lost for good, in
// total and per function (see FunctionStats.DiscardedEvents).
type DiscardReport struct {
	Discarded int64            `json:"discarded"`
	Functions map[string]int64 `json:"functions"`
}

func (e *Emulator) discardReport() DiscardReport {
	rep := DiscardReport{Functions: map[string]int64{}}
	for _, s := range e.Snapshot() {
		rep.Discarded += s.DiscardedEvents
		rep.Functions[s.Function] = s.DiscardedEvents
	}
	return rep
}
