package mnsemu

import (
	"sync"
	"sync/atomic"
)

// outages are queues that are down: every send to them fails with
// InternalError (HTTP 500), through the REST API and through Send alike,
// until they are brought back. For chaos tests of dead-letter paths (a
// dead-letter queue that is down for a while).
type outages struct {
	mu      sync.Mutex
	down    map[string]bool
	refused atomic.Int64
}

// SetQueueDown takes queue down (every send fails with a 5xx) or brings it
// back. Receives and deletes are unaffected: the outage is on the way in.
func (s *Service) SetQueueDown(queue string, down bool) {
	s.outage.mu.Lock()
	defer s.outage.mu.Unlock()
	if s.outage.down == nil {
		s.outage.down = map[string]bool{}
	}
	if down {
		s.outage.down[queue] = true
	} else {
		delete(s.outage.down, queue)
	}
}

// RefusedSends counts sends refused because their queue was down.
func (s *Service) RefusedSends() int64 { return s.outage.refused.Load() }

// refuseSend reports (and counts) a send to a queue that is down.
func (s *Service) refuseSend(queue string) bool {
	s.outage.mu.Lock()
	down := s.outage.down[queue]
	s.outage.mu.Unlock()
	if down {
		s.outage.refused.Add(1)
	}
	return down
}
