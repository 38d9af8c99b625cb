package localcloud

import (
	"encoding/json"
	"net/http"
)

func writeInfo(w http.ResponseWriter, info Info) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(info)
}
