package localcloud_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sgpilot/sgpilot/shared/localcloud"
)

// Running an s.yaml creates the queues its functions write to, so that a
// dead-lettered push or a failure record has somewhere to go.
func TestStart_CreatesDestinationQueues(t *testing.T) {
	dir := t.TempDir()
	doc := `edition: 3.0.0
name: q
resources:
  worker:
    component: fc3
    props:
      functionName: worker
      runtime: go1
      handler: main
      code: ./code
      asyncInvokeConfig:
        destinationConfig:
          onFailure:
            destination: acs:mns:cn-hangzhou:1234567890123456:/queues/async-failures/messages
      triggers:
        - triggerName: work
          triggerType: eventbridge
          triggerConfig:
            eventRuleFilterPattern: '{"source":["MNS-worker-work"]}'
            eventSourceConfig:
              eventSourceType: MNS
              eventSourceParameters:
                sourceMNSParameters: {QueueName: work}
            runOptions:
              mode: event-streaming
              errorsTolerance: ALL
              deadLetterQueue:
                Arn: acs:mns:cn-hangzhou:1234567890123456:/queues/failed-events
`
	path := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := localcloud.Start(context.Background(), localcloud.Options{FunctionsFile: path, Queues: []string{"work", "failed-events"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range []string{"async-failures", "failed-events"} {
		if _, err := s.MNS.Send(q, "probe", 0, 0); err != nil {
			t.Errorf("send to %s: %v", q, err)
		}
	}
	if n := s.FC.Discarded(); n != 0 {
		t.Errorf("discarded = %d", n)
	}
}
