package mnsemu_test

import (
	"testing"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/mnsemu"
)

func TestSetQueueDown(t *testing.T) {
	s := mnsemu.New(core.NewEnv("1234567890123456", 1), mnsemu.Options{})
	defer s.Close()
	for _, q := range []string{"dlq", "work"} {
		if err := s.CreateQueue(q, mnsemu.DefaultQueueAttributes()); err != nil {
			t.Fatal(err)
		}
	}
	s.SetQueueDown("dlq", true)
	if _, err := s.Send("dlq", "x", 0, 0); !mnsemu.IsCode(err, mnsemu.CodeInternalError) {
		t.Errorf("send to a queue that is down: %v, want InternalError", err)
	}
	if _, err := s.Send("work", "x", 0, 0); err != nil {
		t.Errorf("another queue is affected: %v", err)
	}
	s.SetQueueDown("dlq", false)
	if _, err := s.Send("dlq", "x", 0, 0); err != nil {
		t.Errorf("send after the outage: %v", err)
	}
	if got := s.RefusedSends(); got != 1 {
		t.Errorf("refused sends = %d, want 1", got)
	}
}
