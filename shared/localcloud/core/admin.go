package core

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// AdminHandler serves the controls shared by every emulator as JSON over
// HTTP, for tests in other processes, benchmarks and people:
//
//	GET  counters                 per service/action call counts and non-normal outcomes
//	POST counters/reset           zero the counters
//	POST latency   {"service":"ecs","action":"*","latency":"50ms"}
//	POST ratelimit {"service":"ecs","action":"JoinSecurityGroup","perSecond":20,"burst":1}
//	POST faults    {"service":"mns","action":"*","serverErrorRate":0.1,"dropRate":0.05,"seed":7}
//	POST reset                    clear latency, limits, faults and counters
//	GET  clock                    {"now": RFC 3339}
//	POST clock/advance {"by":"169h"}
//	POST clock/set     {"to":"2026-12-01T00:00:00Z"}
//
// Paths are relative to where the handler is mounted.
func AdminHandler(env *Env) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /counters", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, env.Controls.Counts())
	})
	mux.HandleFunc("POST /counters/reset", func(w http.ResponseWriter, r *http.Request) {
		env.Controls.ResetCounters()
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, r *http.Request) {
		env.Controls.Reset()
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("POST /latency", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Service, Action, Latency string
		}
		if !readJSON(w, r, &req) {
			return
		}
		d, err := time.ParseDuration(req.Latency)
		if err != nil || req.Service == "" {
			writeError(w, "want service, action and a latency like \"50ms\"")
			return
		}
		env.Controls.SetLatency(req.Service, orAny(req.Action), d)
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("POST /ratelimit", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Service, Action string
			RateLimit
		}
		if !readJSON(w, r, &req) {
			return
		}
		if req.Service == "" || req.PerSecond < 0 {
			writeError(w, "want service, action and perSecond ≥ 0 (0 removes the limit)")
			return
		}
		env.Controls.SetRateLimit(req.Service, orAny(req.Action), req.RateLimit)
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Service, Action string
			FaultSpec
			Seed *int64 `json:"seed"`
		}
		if !readJSON(w, r, &req) {
			return
		}
		if req.Service == "" || req.ServerErrorRate < 0 || req.DropRate < 0 || req.ServerErrorRate+req.DropRate > 1 {
			writeError(w, "want service, action and rates in [0,1] adding up to at most 1")
			return
		}
		if req.Seed != nil {
			env.Controls.Reseed(*req.Seed)
		}
		env.Controls.SetFaults(req.Service, orAny(req.Action), req.FaultSpec)
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /clock", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"now": env.Clock.Now().Format(time.RFC3339Nano)})
	})
	mux.HandleFunc("POST /clock/advance", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ By string }
		if !readJSON(w, r, &req) {
			return
		}
		d, err := time.ParseDuration(req.By)
		if err != nil || d < 0 {
			writeError(w, "want {\"by\": a positive duration like \"169h\"}")
			return
		}
		env.Clock.Advance(d)
		writeJSON(w, http.StatusOK, map[string]string{"now": env.Clock.Now().Format(time.RFC3339Nano)})
	})
	mux.HandleFunc("POST /clock/set", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ To time.Time }
		if !readJSON(w, r, &req) {
			return
		}
		env.Clock.Set(req.To)
		writeJSON(w, http.StatusOK, map[string]string{"now": env.Clock.Now().Format(time.RFC3339Nano)})
	})
	return mux
}

func orAny(action string) string {
	if strings.TrimSpace(action) == "" {
		return AnyAction
	}
	return action
}

const maxAdminBody = 1 << 20

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, fmt.Sprintf("bad JSON body: %v", err))
		return false
	}
	return true
}

func writeError(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
