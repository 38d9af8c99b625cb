package events

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// ActionTrail API names that change an instance's tags. TagResources and
// UntagResources are today's calls; AddTags and RemoveTags the older ones,
// still served and still recorded.
const (
	APITagResources   = "TagResources"
	APIUntagResources = "UntagResources"
	APIAddTags        = "AddTags"
	APIRemoveTags     = "RemoveTags"
	// TriggerTagChange marks an event that changed instance tags.
	TriggerTagChange = "tag-change"
	// resourceTypeInstance is ECS's ResourceType of an instance in the tag
	// calls (lower case in TagResources; compared without case).
	resourceTypeInstance = "instance"
)

// TagAPIs are the API calls whose records announce a tag change.
var TagAPIs = []string{APITagResources, APIUntagResources, APIAddTags, APIRemoveTags}

func isTagAPI(name string) bool {
	for _, a := range TagAPIs {
		if name == a {
			return true
		}
	}
	return false
}

// TouchesTag reports whether a tag-change event may have changed key: the
// call named key, removed every tag (UntagResources All=true), or its
// record does not say which keys it touched (then sgpilot assumes it did).
// Other events (creation, state changes) always may.
func (ev InstanceEvent) TouchesTag(key string) bool {
	if ev.Trigger != TriggerTagChange || ev.AllTags || len(ev.TagKeys) == 0 {
		return true
	}
	for _, k := range ev.TagKeys {
		if k == key {
			return true
		}
	}
	return false
}

// parseTagCall reads the ActionTrail record of a tag call on instances:
// requestParameters ResourceType, ResourceId (ResourceId.N, or a string or
// list) and the tag keys (Tag.N.Key for TagResources/AddTags/RemoveTags,
// TagKey.N for UntagResources, or All=true). A call on other resource types
// is unrelated; a record naming no resource is malformed.
//
// The flattened "ResourceId.1" form is what ActionTrail records for RPC
// calls as far as the public samples show; the list form is accepted too
// because the exact shape of requestParameters for tag calls is
// unconfirmed.
func parseTagCall(env Envelope, ev *InstanceEvent, d actionTrailData) error {
	op := "parse event " + env.ID
	ev.Trigger = TriggerTagChange
	if d.ErrorCode != "" {
		return unrelated(env, d.EventName+" failed with "+d.ErrorCode+": no tag changed")
	}
	if len(d.RequestParameters) == 0 {
		return invalid(op, "%s record has no requestParameters", d.EventName)
	}
	var params map[string]json.RawMessage
	if err := decodeObjectOrString(d.RequestParameters, &params); err != nil {
		return invalid(op, "requestParameters: %v", err)
	}
	typ := scalarString(lookupFold(params, "ResourceType"))
	if !strings.EqualFold(typ, resourceTypeInstance) {
		if typ == "" {
			return invalid(op, "%s record names no ResourceType", d.EventName)
		}
		return unrelated(env, d.EventName+" on "+strconv.Quote(clip(typ, 40))+", not on instances")
	}
	if isTrue(lookupFold(params, "DryRun")) {
		return unrelated(env, d.EventName+" was a DryRun: no tag changed")
	}
	var ids []string
	var keys []string
	for name, raw := range params {
		switch base, _, _ := strings.Cut(name, "."); {
		case strings.EqualFold(base, "ResourceId"):
			list, err := stringOrList(raw)
			if err != nil {
				return invalid(op, "requestParameters.%s: %v", name, err)
			}
			ids = append(ids, list...)
		case strings.EqualFold(base, "TagKey"), isTagKeyParam(name):
			list, err := stringOrList(raw)
			if err != nil {
				return invalid(op, "requestParameters.%s: %v", name, err)
			}
			keys = append(keys, list...)
		case strings.EqualFold(name, "All"):
			ev.AllTags = isTrue(raw)
		}
	}
	sort.Strings(ids) // map order is random; ResourceId.N order carries no meaning
	sort.Strings(keys)
	ev.InstanceIDs = ids
	ev.TagKeys = uniqueInOrder(keys)
	if len(uniqueInOrder(ids)) == 0 {
		return invalid(op, "no instance IDs: the %s record names no ResourceId", d.EventName)
	}
	if ev.AccountID == "" && len(d.UserIdentity) > 0 {
		var u userIdentity
		if decodeObject(d.UserIdentity, &u) == nil {
			ev.AccountID = scalarString(u.AccountID)
		}
	}
	if ev.Time.IsZero() {
		if t, ok := parseTime(d.EventTime); ok {
			ev.Time = t
		}
	}
	return reconcileRegion(op, ev, d.AcsRegion, scalarString(lookupFold(params, "RegionId")))
}

// isTagKeyParam matches Tag.N.Key.
func isTagKeyParam(name string) bool {
	parts := strings.Split(name, ".")
	return len(parts) == 3 && strings.EqualFold(parts[0], "Tag") && strings.EqualFold(parts[2], "Key")
}

// lookupFold finds a parameter by name, ignoring case.
func lookupFold(params map[string]json.RawMessage, name string) json.RawMessage {
	if v, ok := params[name]; ok {
		return v
	}
	for k, v := range params {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}
