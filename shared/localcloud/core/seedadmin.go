package core

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// SeedSnapshotHandler serves one emulator's account, relative to wherever
// it is mounted (it matches the last path element):
//
//	POST seed      body: the seed S as JSON, at most maxBytes, unknown fields
//	               refused; replaces the state (204, or 400 with the reasons)
//	GET  snapshot  the snapshot as JSON
//
// name starts the error messages ("ecsemu").
func SeedSnapshotHandler[S any](name string, maxBytes int64, seed func(S) error, snapshot func() any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last := strings.TrimSuffix(r.URL.Path, "/")
		if i := strings.LastIndexByte(last, '/'); i >= 0 {
			last = last[i+1:]
		}
		switch {
		case last == "seed" && r.Method == http.MethodPost:
			var sd S
			dec := json.NewDecoder(io.LimitReader(r.Body, maxBytes))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&sd); err != nil {
				http.Error(w, name+" seed: "+err.Error(), http.StatusBadRequest)
				return
			}
			if err := seed(sd); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		case last == "snapshot" && r.Method == http.MethodGet:
			w.Header().Set("Content-Type", "application/json")
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			_ = enc.Encode(snapshot())
		default:
			http.Error(w, name+" admin: use POST seed or GET snapshot", http.StatusNotFound)
		}
	})
}
