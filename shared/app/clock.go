package app

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/logging"
)

// Now is the time cleanup decisions are made at: the wall clock, or, under
// localcloud (SGPILOT_CLOCK_URL, loopback only), the emulator's clock, which
// tests move days ahead to cross grace periods. If that clock cannot be read
// the wall clock is used: it is never ahead of the emulated one, so the
// fallback can only delay a deletion, never bring one forward.
func (d *Deps) Now(ctx context.Context) time.Time {
	if d.Config.ClockURL == "" {
		return time.Now()
	}
	t, err := readClock(ctx, d.Config.ClockURL)
	if err != nil {
		logging.FromContext(ctx).Warn("cannot read the localcloud clock; using the wall clock", zap.Error(err))
		return time.Now()
	}
	return t
}

func readClock(ctx context.Context, url string) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return time.Time{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return time.Time{}, err
	}
	defer resp.Body.Close()
	var body struct {
		Now time.Time `json:"now"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return time.Time{}, err
	}
	return body.Now, nil
}
