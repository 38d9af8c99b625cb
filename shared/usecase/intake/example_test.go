package intake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/usecase/intake"
)

// printSender stands in for the MNS queue adapter.
type printSender struct{}

func (printSender) SendTasks(_ context.Context, tasks []domain.Task) error {
	for _, t := range tasks {
		fmt.Println("send", t.ID)
	}
	return nil
}

func ExampleEnqueuer_HandleEvent() {
	e := &intake.Enqueuer{
		Sender:    printSender{},
		Validator: intake.Validator{ExpectedAccountID: "1234567890123456", AllowedRegions: []string{"cn-hangzhou"}},
		Now:       func() time.Time { return time.Date(2024, 5, 1, 8, 0, 5, 0, time.UTC) },
	}
	// A batch: one new instance, and a stop that is none of sgpilot's business.
	raw := `[
	  {"id": "ev-created", "source": "acs.ecs", "type": "ecs:Instance:StateChange",
	   "aliyunaccountid": "1234567890123456", "aliyunregionid": "cn-hangzhou",
	   "data": {"resourceId": "i-bp1aaaaaaaaaaaaaaaa1", "state": "Created"}},
	  {"id": "ev-stopped", "source": "acs.ecs", "type": "ecs:Instance:StateChange",
	   "aliyunaccountid": "1234567890123456", "aliyunregionid": "cn-hangzhou",
	   "data": {"resourceId": "i-bp1aaaaaaaaaaaaaaaa2", "state": "Stopped"}}
	]`
	summary, err := e.HandleEvent(context.Background(), []byte(raw))
	if err != nil {
		fmt.Println("error:", err)
	}
	out, _ := json.MarshalIndent(summary, "", "  ")
	fmt.Println(string(out))
	// Output:
	// send onboard:i-bp1aaaaaaaaaaaaaaaa1:ev-created
	// {
	//   "mode": "event",
	//   "received": 2,
	//   "accepted": 1,
	//   "ignored": [
	//     {
	//       "eventId": "ev-stopped",
	//       "reason": "state \"Stopped\" does not announce a new instance"
	//     }
	//   ],
	//   "enqueued": 1,
	//   "duplicates": 0,
	//   "taskIds": [
	//     "onboard:i-bp1aaaaaaaaaaaaaaaa1:ev-created"
	//   ]
	// }
}
