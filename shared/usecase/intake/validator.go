package intake

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/events"
)

// DefaultMaxInstancesPerEvent bounds the instances one event or one manual
// payload may name. RunInstances creates at most 1000 instances per call.
const DefaultMaxInstancesPerEvent = 1000

// Validator checks an instance event before anything is enqueued (and long
// before any API call): source, type, account, region and instance ID
// format.
//
// The zero value checks formats only: an empty ExpectedAccountID accepts any
// account and an empty AllowedRegions any region. Deployments should set
// both (config does), so that an event routed from another account or
// region is refused rather than acted on.
type Validator struct {
	// ExpectedAccountID is the only account whose events are accepted.
	ExpectedAccountID string
	// AllowedRegions are the regions sgpilot manages.
	AllowedRegions []string
	// MaxInstancesPerEvent bounds the instances of one event or payload
	// (0 = DefaultMaxInstancesPerEvent).
	MaxInstancesPerEvent int
	// RoleTagKey is the role tag (domain.DefaultRoleTagKey when empty): a
	// tag change that touched other keys only is ignored.
	RoleTagKey string
}

// Validate checks an event parsed by events.ParseInstanceEvent. Malformed
// values (wrong source or type, bad IDs, no account) are KindInvalid and a
// region sgpilot does not manage is KindPermanent: the event is rejected as
// a whole. A well-formed event of another account is none of this
// deployment's business: Validate returns an *events.UnrelatedError, which
// the Enqueuer logs and ignores (failing would only make FC retry it).
func (v Validator) Validate(ev events.InstanceEvent) error {
	op := "validate event " + ev.EventID
	if ev.Source != events.SourceECS {
		return domain.Errorf(domain.KindInvalid, op, "", "source %q is not %s", ev.Source, events.SourceECS)
	}
	switch ev.Type {
	case events.TypeStateChange, events.TypeAPICall, events.TypeServiceEvent:
	default:
		return domain.Errorf(domain.KindInvalid, op, "", "type %q is not an ECS instance event", ev.Type)
	}
	if err := v.checkAccount(op, ev.EventID, ev.AccountID); err != nil {
		return err
	}
	if err := v.checkRegion(op, ev.RegionID); err != nil {
		return err
	}
	if err := v.checkInstanceIDs(op, ev.InstanceIDs); err != nil {
		return err
	}
	key := v.RoleTagKey
	if key == "" {
		key = domain.DefaultRoleTagKey
	}
	if !ev.TouchesTag(key) {
		return &events.UnrelatedError{EventID: ev.EventID,
			Reason: fmt.Sprintf("%s changed tags %s, not the role tag %s", ev.APIName, strings.Join(ev.TagKeys, ","), key)}
	}
	return nil
}

// CheckRegion checks a region named by an operator payload.
func (v Validator) CheckRegion(regionID string) error {
	return v.checkRegion("check region", regionID)
}

// CheckInstanceIDs checks the instance IDs of an operator payload: at
// least one, at most MaxInstancesPerEvent, each well-formed.
func (v Validator) CheckInstanceIDs(ids []string) error {
	return v.checkInstanceIDs("check instance IDs", ids)
}

func (v Validator) checkAccount(op, eventID, account string) error {
	if account != "" && !domain.ValidAccountID(account) {
		return domain.Errorf(domain.KindInvalid, op, "", "account %q is not an account ID", account)
	}
	if v.ExpectedAccountID == "" {
		return nil
	}
	if account == "" {
		return domain.Errorf(domain.KindInvalid, op, "", "event names no account; only %s is accepted", v.ExpectedAccountID)
	}
	if account != v.ExpectedAccountID {
		return &events.UnrelatedError{EventID: eventID,
			Reason: fmt.Sprintf("account %s is not the expected account %s", account, v.ExpectedAccountID)}
	}
	return nil
}

func (v Validator) checkRegion(op, region string) error {
	if !domain.ValidRegionID(region) {
		return domain.Errorf(domain.KindInvalid, op, "", "region %q is not a region ID (like cn-hangzhou)", region)
	}
	if len(v.AllowedRegions) > 0 && !slices.Contains(v.AllowedRegions, region) {
		return domain.Errorf(domain.KindPermanent, op, "", "region %s is not managed here (allowed: %s)", region, strings.Join(v.AllowedRegions, ", "))
	}
	return nil
}

func (v Validator) checkInstanceIDs(op string, ids []string) error {
	if len(ids) == 0 {
		return domain.Errorf(domain.KindInvalid, op, "", "no instance IDs")
	}
	limit := v.MaxInstancesPerEvent
	if limit <= 0 {
		limit = DefaultMaxInstancesPerEvent
	}
	if len(ids) > limit {
		return domain.Errorf(domain.KindInvalid, op, "", "%d instance IDs, at most %d allowed", len(ids), limit)
	}
	var bad []string
	for _, id := range ids {
		if !domain.ValidInstanceID(id) {
			bad = append(bad, fmt.Sprintf("%q", id))
		}
	}
	if len(bad) > 0 {
		shown := bad
		if len(shown) > 5 {
			shown = append(shown[:5:5], fmt.Sprintf("and %d more", len(bad)-5))
		}
		return domain.Errorf(domain.KindInvalid, op, "", "malformed instance ID %s (want i- and 8-30 lower-case letters or digits)", strings.Join(shown, ", "))
	}
	return nil
}
