package mnsemu

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Snapshot is the whole state of the service at one emulated instant, for
// test invariants ("every task ends done or dead-lettered"). It is plain
// data and serialises to JSON.
type Snapshot struct {
	Time   time.Time       `json:"time"`
	Queues []QueueSnapshot `json:"queues"`
}

// QueueSnapshot is one queue: attributes, exact counts, lifetime counters
// and every stored message, oldest first.
type QueueSnapshot struct {
	Name             string            `json:"name"`
	Attributes       QueueAttributes   `json:"attributes"`
	CreateTime       time.Time         `json:"createTime"`
	LastModifyTime   time.Time         `json:"lastModifyTime"`
	ActiveMessages   int               `json:"activeMessages"`
	InactiveMessages int               `json:"inactiveMessages"`
	DelayMessages    int               `json:"delayMessages"`
	Sent             int64             `json:"sent"`
	Received         int64             `json:"received"`
	Deleted          int64             `json:"deleted"`
	Expired          int64             `json:"expired"`
	Messages         []MessageSnapshot `json:"messages"`
}

// MessageSnapshot is a stored message with its state.
type MessageSnapshot struct {
	Message
	State MessageState `json:"state"`
}

// Snapshot returns the state of every queue, sorted by name. Expiry and
// visibility are brought up to the emulated now first.
func (s *Service) Snapshot() Snapshot {
	nowT := s.env.Clock.Now()
	now := nowT.UnixMilli()
	snap := Snapshot{Time: nowT, Queues: []QueueSnapshot{}}
	for _, q := range s.sortedQueues("") {
		q.mu.Lock()
		q.maintainLocked(now)
		a, i, d := q.countsLocked()
		qs := QueueSnapshot{
			Name:             q.name,
			Attributes:       q.attrs,
			CreateTime:       msTime(q.createdAt),
			LastModifyTime:   msTime(q.modifiedAt),
			ActiveMessages:   a,
			InactiveMessages: i,
			DelayMessages:    d,
			Sent:             q.stats.Sent,
			Received:         q.stats.Received,
			Deleted:          q.stats.Deleted,
			Expired:          q.stats.Expired,
			Messages:         make([]MessageSnapshot, 0, q.byEnqueue.Len()),
		}
		for e := q.byEnqueue.Front(); e != nil; e = e.Next() {
			m := e.Value.(*message)
			qs.Messages = append(qs.Messages, MessageSnapshot{Message: m.export(), State: m.state(now)})
		}
		q.mu.Unlock()
		snap.Queues = append(snap.Queues, qs)
	}
	return snap
}

// AdminHandler serves emulator introspection, outside the MNS protocol and
// without authentication: GET .../snapshot answers Snapshot as JSON. Mount
// it under any prefix; only the last path segment is looked at.
func (s *Service) AdminHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		if last != "snapshot" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(s.Snapshot())
	})
}
