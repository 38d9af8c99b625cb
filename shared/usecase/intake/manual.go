package intake

import (
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/events"
)

// ManualPayload is what an operator sends with `s invoke` (or what a timer
// trigger's payload holds):
//
//	{"instanceIds": ["i-bp1aaaaaaaaaaaaaaaa1"], "region": "cn-hangzhou"}
//	{"mode": "reconcile", "region": "cn-hangzhou"}
//	{"mode": "reconcile", "dryRun": true}
//	{"instanceIds": ["i-bp1aaaaaaaaaaaaaaaa1"], "dryRun": true}
//
// Mode is "enqueue" (the default when instanceIds are given) or
// "reconcile". Region defaults to the function's own region
// (Enqueuer.DefaultRegion). DryRun lists the tasks without sending them.
// Decoding is strict: an unknown member is an error.
type ManualPayload struct {
	Mode        string   `json:"mode,omitempty"`
	InstanceIDs []string `json:"instanceIds,omitempty"`
	Region      string   `json:"region,omitempty"`
	DryRun      bool     `json:"dryRun,omitempty"`
}

// DecodeManualPayload decodes and checks the shape of a payload (IDs and
// region are checked against the Validator when it is handled). Errors are
// KindInvalid and say what is allowed.
func DecodeManualPayload(raw []byte) (ManualPayload, error) {
	var p ManualPayload
	if err := events.DecodePayload(raw, &p); err != nil {
		return ManualPayload{}, err
	}
	if err := p.normalize(); err != nil {
		return ManualPayload{}, err
	}
	return p, nil
}

// normalize fills the default mode and checks that the members fit it.
func (p *ManualPayload) normalize() error {
	const op = "manual payload"
	switch p.Mode {
	case "":
		if len(p.InstanceIDs) == 0 {
			return domain.Errorf(domain.KindInvalid, op, "", `nothing to do: give "instanceIds" or "mode": "reconcile"`)
		}
		p.Mode = ModeEnqueue
	case ModeEnqueue:
		if len(p.InstanceIDs) == 0 {
			return domain.Errorf(domain.KindInvalid, op, "", `mode "enqueue" needs "instanceIds"`)
		}
	case ModeReconcile:
		if len(p.InstanceIDs) > 0 {
			return domain.Errorf(domain.KindInvalid, op, "", `mode "reconcile" covers the whole region; drop "instanceIds" or use mode "enqueue"`)
		}
	default:
		return domain.Errorf(domain.KindInvalid, op, "", `mode %q: want "enqueue" or "reconcile"`, p.Mode)
	}
	return nil
}
