package ecsemu_test

import (
	"encoding/json"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
)

// Tag calls on instances publish their ActionTrail record (sgpilot's
// instance-tags trigger listens to it); tag calls on groups do not.
func TestTagResources_InstanceTrailEvents(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	sg := f.createGroup(t, f.svc.DefaultVPCID(), "web")
	id := f.runRunning(t, f.svc.DefaultVSwitchID(), 1, sg)[0]
	before := len(f.eventsOf("ecs:ActionTrail:ApiCall"))

	tag := ecs.CreateTagResourcesRequest()
	tag.ResourceType, tag.ResourceId = "instance", &[]string{id}
	tag.Tag = &[]ecs.TagResourcesTag{{Key: "sgpilot:role", Value: "db"}}
	_, err := f.client.TagResources(tag)
	mustOK(t, err)
	untag := ecs.CreateUntagResourcesRequest()
	untag.ResourceType, untag.ResourceId, untag.TagKey = "instance", &[]string{id}, &[]string{"sgpilot:role"}
	_, err = f.client.UntagResources(untag)
	mustOK(t, err)
	group := ecs.CreateTagResourcesRequest()
	group.ResourceType, group.ResourceId = "securitygroup", &[]string{sg}
	group.Tag = &[]ecs.TagResourcesTag{{Key: "k", Value: "v"}}
	_, err = f.client.TagResources(group)
	mustOK(t, err)

	trail := f.eventsOf("ecs:ActionTrail:ApiCall")[before:]
	if len(trail) != 2 {
		t.Fatalf("%d new ApiCall events, want 2 (tag and untag of the instance)", len(trail))
	}
	for i, want := range []struct{ name, key, keyParam string }{
		{"TagResources", "sgpilot:role", "Tag.1.Key"}, {"UntagResources", "sgpilot:role", "TagKey.1"},
	} {
		var d struct {
			EventName         string            `json:"eventName"`
			RequestParameters map[string]string `json:"requestParameters"`
		}
		mustOK(t, json.Unmarshal(trail[i].Data, &d))
		p := d.RequestParameters
		if d.EventName != want.name || p["ResourceType"] != "instance" || p["ResourceId.1"] != id || p[want.keyParam] != want.key {
			t.Errorf("event %d: %s %v", i, d.EventName, p)
		}
	}
}
