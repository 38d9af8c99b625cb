package deadletters

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/deadletter"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/workqueue"
)

// Queue is a dead-letter queue as the tooling reads it (satisfied by
// mnsqueue.Queue and fake.Queue; see worker.Queue for the semantics).
type Queue interface {
	Receive(ctx context.Context, max int, wait time.Duration) ([]workqueue.Delivery, error)
	Delete(ctx context.Context, receiptHandles []string) error
	ChangeVisibility(ctx context.Context, receiptHandle string, d time.Duration) (string, error)
}

// Sender is the work queue replays go to.
type Sender interface {
	SendBodies(ctx context.Context, bodies []string, delay time.Duration) error
}

// Source is one dead-letter queue and its name.
type Source struct {
	Name  string
	Queue Queue
}

// Actions.
const (
	ActionList   = "list"
	ActionShow   = "show"
	ActionReplay = "replay"
	ActionPurge  = "purge"
)

// Defaults.
const (
	// DefaultLimit is how many messages one call reads per queue.
	DefaultLimit = 1000
	// MaxLimit bounds Request.Limit.
	MaxLimit = 10000
	// ReceiveWait is the long-poll wait of each receive: an empty answer
	// after it ends the read of a queue.
	ReceiveWait = time.Second
	// ReleaseVisibility is what a message read but not acted on gets back:
	// MNS's shortest visibility.
	ReleaseVisibility = time.Second
	receiveBatch      = 16
)

// Request is one tooling call. Criteria combine with AND; the values of
// one criterion with OR.
type Request struct {
	Action string `json:"action"`
	// IDs are letter IDs (dl-…, ev-…, fc-…, msg-…) or DLQ message IDs.
	IDs         []string `json:"ids,omitempty"`
	Reasons     []string `json:"reasons,omitempty"`
	InstanceIDs []string `json:"instanceIds,omitempty"`
	TaskIDs     []string `json:"taskIds,omitempty"`
	// Queue restricts the call to one of the dead-letter queues.
	Queue string `json:"queue,omitempty"`
	// All selects every letter (of Queue, when given); replay and purge
	// need it, or a criterion.
	All bool `json:"all,omitempty"`
	// Limit is how many messages to read per queue (DefaultLimit).
	Limit int `json:"limit,omitempty"`
}

func (r Request) criteria() bool {
	return len(r.IDs) > 0 || len(r.Reasons) > 0 || len(r.InstanceIDs) > 0 || len(r.TaskIDs) > 0
}

// Validate checks the request against the known queues; errors are
// KindInvalid.
func (r Request) Validate(queues []string) error {
	bad := func(format string, args ...any) error {
		return domain.Errorf(domain.KindInvalid, "dead-letters "+r.Action, "", format, args...)
	}
	switch r.Action {
	case ActionList:
	case ActionShow:
		if len(r.IDs) == 0 {
			return bad(`give "ids": the letter or message IDs to show`)
		}
	case ActionReplay, ActionPurge:
		if !r.criteria() && !r.All {
			return bad(`%s needs a selection ("ids", "reasons", "instanceIds" or "taskIds"), or "all":true for every letter`, r.Action)
		}
		if r.criteria() && r.All {
			return bad(`"all":true and a selection exclude each other`)
		}
	default:
		return bad(`action %q: want "list", "show", "replay" or "purge"`, r.Action)
	}
	if r.Queue != "" && !slices.Contains(queues, r.Queue) {
		return bad("queue %q is not a dead-letter queue (%v)", r.Queue, queues)
	}
	if r.Limit < 0 || r.Limit > MaxLimit {
		return bad("limit %d: want 0 (default %d) to %d", r.Limit, DefaultLimit, MaxLimit)
	}
	return nil
}

// Entry is one letter in a Result.
type Entry struct {
	deadletter.Letter
	Queue string `json:"queue"`
	// MessageID, EnqueuedAt and DequeueCount are those of the DLQ message
	// (of its first copy).
	MessageID    string    `json:"messageId"`
	EnqueuedAt   time.Time `json:"enqueuedAt,omitzero"`
	DequeueCount int       `json:"dequeueCount"`
	// Copies counts the messages holding this letter when more than one.
	Copies int `json:"copies,omitempty"`
	// Raw is the message body (show only).
	Raw string `json:"raw,omitempty"`
}

// Skip is a selected letter a replay left alone.
type Skip struct {
	ID  string `json:"id"`
	Why string `json:"why"`
}

// Result is the answer to a Request.
type Result struct {
	Action string `json:"action"`
	// Read counts messages read; Letters the distinct letters selected.
	Read    int  `json:"read"`
	Letters int  `json:"letters"`
	Copies  int  `json:"duplicates,omitempty"`
	Limited bool `json:"limited,omitempty"` // a queue held more than Limit messages
	// Counts of the selected letters.
	ByQueue  map[string]int `json:"byQueue"`
	ByKind   map[string]int `json:"byKind"`
	ByReason map[string]int `json:"byReason"`
	// ByAge buckets letters by how long ago they failed: "<1h", "1h-1d",
	// "1d-7d", ">7d".
	ByAge    map[string]int `json:"byAge"`
	Entries  []Entry        `json:"entries"`
	Replayed int            `json:"replayed,omitempty"`
	Purged   int            `json:"purged,omitempty"`
	Skipped  []Skip         `json:"skipped,omitempty"`
	// Errors are the calls that failed; what they concern is left on the
	// dead-letter queue.
	Errors []string `json:"errors,omitempty"`
}

// Tool runs Requests.
type Tool struct {
	Sources []Source
	// Work receives replayed tasks (replay only).
	Work Sender
	// Now reads the clock (time.Now).
	Now func() time.Time
}

// held is one message read and still hidden.
type held struct {
	queue  string
	d      workqueue.Delivery
	letter deadletter.Letter
	done   bool // deleted
}

// Run carries out r. It returns an error for an invalid request or when
// no queue could be read; failures after that are listed in Result.Errors.
func (t *Tool) Run(ctx context.Context, r Request) (Result, error) {
	names := make([]string, len(t.Sources))
	for i, s := range t.Sources {
		names[i] = s.Name
	}
	if err := r.Validate(names); err != nil {
		return Result{}, err
	}
	if r.Action == ActionReplay && t.Work == nil {
		return Result{}, errors.New("dead-letters: replay needs the work queue")
	}
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	limit := r.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	res := Result{Action: r.Action, ByQueue: map[string]int{}, ByKind: map[string]int{}, ByReason: map[string]int{},
		ByAge: map[string]int{}, Entries: []Entry{}}

	var msgs []*held
	read := 0
	for _, s := range t.Sources {
		if r.Queue != "" && s.Name != r.Queue {
			continue
		}
		got, limited, err := readAll(ctx, s, limit)
		msgs = append(msgs, got...)
		res.Limited = res.Limited || limited
		if err != nil {
			res.Errors = append(res.Errors, err.Error())
			continue
		}
		read++
	}
	// Whatever happens below, what was read and not deleted is given back.
	defer t.release(ctx, msgs, &res)
	if read == 0 && len(msgs) == 0 {
		return res, fmt.Errorf("dead-letters: no queue could be read: %v", res.Errors)
	}
	res.Read = len(msgs)

	// Group copies by letter ID, in the order first seen.
	groups := map[string][]*held{}
	var order []string
	for _, m := range msgs {
		if !selected(r, m) {
			continue
		}
		id := m.letter.ID
		if _, ok := groups[id]; !ok {
			order = append(order, id)
		}
		groups[id] = append(groups[id], m)
	}
	n := now()
	for _, id := range order {
		g := groups[id]
		first := g[0]
		e := Entry{Letter: first.letter, Queue: first.queue, MessageID: first.d.MessageID, EnqueuedAt: first.d.EnqueueTime,
			DequeueCount: first.d.DequeueCount}
		if len(g) > 1 {
			e.Copies = len(g)
			res.Copies += len(g) - 1
		}
		if r.Action == ActionShow {
			e.Raw = first.d.Body
		} else {
			e.Record = nil
		}
		at := e.At
		if at.IsZero() {
			at = e.EnqueuedAt
		}
		res.ByQueue[e.Queue]++
		res.ByKind[string(e.Kind)]++
		res.ByReason[e.Reason]++
		res.ByAge[ageBucket(n.Sub(at))]++
		res.Entries = append(res.Entries, e)
	}
	res.Letters = len(res.Entries)

	switch r.Action {
	case ActionReplay:
		t.replay(ctx, order, groups, n, &res)
	case ActionPurge:
		for _, id := range order {
			if t.remove(ctx, groups[id], &res) {
				res.Purged++
			}
		}
	}
	logging.FromContext(ctx).Info("dead-letter tooling", zap.String("action", r.Action), zap.Int("read", res.Read),
		zap.Int("letters", res.Letters), zap.Int("replayed", res.Replayed), zap.Int("purged", res.Purged),
		zap.Int("errors", len(res.Errors)))
	return res, nil
}

// readAll receives a queue's messages until it comes back empty or limit
// messages were read; limited says the queue may hold more.
func readAll(ctx context.Context, s Source, limit int) (out []*held, limited bool, err error) {
	seen := map[string]bool{}
	for len(out) < limit {
		ds, err := s.Queue.Receive(ctx, min(receiveBatch, limit-len(out)), ReceiveWait)
		if err != nil {
			return out, false, fmt.Errorf("read %s: %w", s.Name, err)
		}
		if len(ds) == 0 {
			return out, false, nil
		}
		for _, d := range ds {
			if seen[d.MessageID] {
				continue // cannot happen while it is hidden; never count it twice
			}
			seen[d.MessageID] = true
			out = append(out, &held{queue: s.Name, d: d, letter: deadletter.Read(d.MessageID, d.Body)})
		}
	}
	return out, true, nil
}

func selected(r Request, m *held) bool {
	l := m.letter
	if r.All || !r.criteria() {
		return true
	}
	if len(r.IDs) > 0 && !slices.Contains(r.IDs, l.ID) && !slices.Contains(r.IDs, m.d.MessageID) {
		return false
	}
	if len(r.Reasons) > 0 && !slices.Contains(r.Reasons, l.Reason) {
		return false
	}
	if len(r.TaskIDs) > 0 && !slices.Contains(r.TaskIDs, l.TaskID) {
		return false
	}
	if len(r.InstanceIDs) > 0 {
		match := l.TaskKind == string(domain.TaskOnboard) && slices.Contains(r.InstanceIDs, l.Subject)
		for _, id := range l.InstanceIDs {
			match = match || slices.Contains(r.InstanceIDs, id)
		}
		if !match {
			return false
		}
	}
	return true
}

// replay sends the task of each selected letter to the work queue with
// Attempt 1, 16 per call, and deletes the letters whose task was sent. A
// letter deleted after its task was sent may, if the delete fails, be
// replayed again later: harmless, tasks are idempotent.
func (t *Tool) replay(ctx context.Context, order []string, groups map[string][]*held, now time.Time, res *Result) {
	type ready struct {
		id   string
		body string
	}
	var todo []ready
	for _, id := range order {
		l := groups[id][0].letter
		if l.Task == nil {
			res.Skipped = append(res.Skipped, Skip{ID: id, Why: l.NotReplayable})
			continue
		}
		tk := *l.Task
		tk.Attempt, tk.EnqueuedAt = 1, now.UTC()
		body, err := domain.EncodeTask(tk)
		if err != nil {
			res.Skipped = append(res.Skipped, Skip{ID: id, Why: err.Error()})
			continue
		}
		todo = append(todo, ready{id, body})
	}
	for start := 0; start < len(todo); start += receiveBatch {
		batch := todo[start:min(start+receiveBatch, len(todo))]
		bodies := make([]string, len(batch))
		for i, b := range batch {
			bodies[i] = b.body
		}
		if err := t.Work.SendBodies(ctx, bodies, 0); err != nil {
			// Some may have gone: they stay dead-lettered too, and a later
			// replay sends them again (harmless).
			res.Errors = append(res.Errors, fmt.Sprintf("replay %d tasks: %v", len(batch), err))
			continue
		}
		for _, b := range batch {
			res.Replayed++
			t.remove(ctx, groups[b.id], res)
		}
	}
}

// remove deletes every copy of a letter; it reports whether all went.
func (t *Tool) remove(ctx context.Context, g []*held, res *Result) bool {
	byQueue := map[string][]*held{}
	for _, m := range g {
		byQueue[m.queue] = append(byQueue[m.queue], m)
	}
	ok := true
	for _, s := range t.Sources {
		ms := byQueue[s.Name]
		if len(ms) == 0 {
			continue
		}
		handles := make([]string, len(ms))
		for i, m := range ms {
			handles[i] = m.d.ReceiptHandle
		}
		if err := s.Queue.Delete(ctx, handles); err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("delete %s from %s: %v", ms[0].letter.ID, s.Name, err))
			ok = false
			continue
		}
		for _, m := range ms {
			m.done = true
		}
	}
	return ok
}

// release gives back every message read and not deleted, so the next
// listing sees it at once instead of after the visibility timeout. A
// failure only delays that.
func (t *Tool) release(ctx context.Context, msgs []*held, res *Result) {
	failed := 0
	for _, s := range t.Sources {
		for _, m := range msgs {
			if m.done || m.queue != s.Name {
				continue
			}
			if _, err := s.Queue.ChangeVisibility(ctx, m.d.ReceiptHandle, ReleaseVisibility); err != nil {
				failed++
			}
		}
	}
	if failed > 0 {
		logging.FromContext(ctx).Warn("some dead letters read were not given back; they reappear when their visibility ends",
			zap.Int("messages", failed))
	}
}

func ageBucket(d time.Duration) string {
	switch {
	case d < time.Hour:
		return "<1h"
	case d < 24*time.Hour:
		return "1h-1d"
	case d < 7*24*time.Hour:
		return "1d-7d"
	default:
		return ">7d"
	}
}

// sortedKeys returns m's keys, largest count first.
func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}
