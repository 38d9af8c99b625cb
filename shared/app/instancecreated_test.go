package app_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/sgpilot/sgpilot/shared/app"
	"github.com/sgpilot/sgpilot/shared/usecase/intake"
)

// An event of another account is none of this deployment's business: the
// invocation succeeds (an error would make FC retry it three times) and the
// summary says why it was ignored. Nothing reaches the cloud, so the missing
// credentials never matter.
func TestInstanceCreated_AnotherAccountIsIgnored(t *testing.T) {
	created, err := app.InstanceCreated(deps(t))
	if err != nil {
		t.Fatal(err)
	}
	ev := `{"id":"e1","source":"acs.ecs","specversion":"1.0","type":"ecs:Instance:StateChange","aliyunaccountid":"9999999999999999",` +
		`"aliyunregionid":"cn-hangzhou","data":{"resourceId":"i-bp1aaaaaaaaaaaaaaaa1","state":"Created"}}`
	out, err := created(context.Background(), []byte(ev))
	if err != nil {
		t.Fatalf("err = %v, want the event ignored without an error", err)
	}
	b, _ := json.Marshal(out)
	var s intake.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	want := "account 9999999999999999 is not the expected account 1234567890123456"
	if len(s.Ignored) != 1 || s.Ignored[0].Reason != want || s.Enqueued != 0 || len(s.Rejected) != 0 {
		t.Fatalf("summary = %s, want one event ignored: %s", b, want)
	}
}
