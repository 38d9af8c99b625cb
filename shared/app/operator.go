package app

import (
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/events"
)

// operatorPayload decodes what a timer or `s invoke` passes to the worker and
// cleanup functions. A timer event carries it as its payload string.
func operatorPayload(raw []byte, v any) error {
	format, err := events.Detect(raw)
	if err != nil {
		return err
	}
	if format == events.FormatTimer {
		t, err := events.DecodeTimerEvent(raw)
		if err != nil {
			return err
		}
		if t.Payload == "" {
			return nil // keep the defaults in v
		}
		raw = []byte(t.Payload)
	} else if format != events.FormatPayload {
		return domain.Errorf(domain.KindInvalid, "decode payload", "", "expected an operator payload or a timer event, got %s", format)
	}
	return events.DecodePayload(raw, v)
}
