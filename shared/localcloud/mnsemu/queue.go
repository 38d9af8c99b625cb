package mnsemu

import (
	"container/heap"
	"container/list"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

// Documented attribute ranges and defaults (alibaba-reference.md §6.5).
const (
	DefaultDelaySeconds           = 0
	DefaultMaximumMessageSize     = 65536
	DefaultMessageRetentionPeriod = 345600
	DefaultVisibilityTimeout      = 30
	DefaultPollingWaitSeconds     = 0

	minMessageSize       = 1024
	maxMessageSize       = 65536
	minRetentionSeconds  = 60
	maxDelaySeconds      = 604800
	minVisibilityTimeout = 1
	maxVisibilityTimeout = 43200
	maxPollingWait       = 30
	minPriority          = 1
	maxPriority          = 16
	maxBatch             = 16
)

// QueueAttributes are a queue's settable attributes, in the units of the
// wire (seconds, bytes).
type QueueAttributes struct {
	DelaySeconds           int  `json:"delaySeconds"`
	MaximumMessageSize     int  `json:"maximumMessageSize"`
	MessageRetentionPeriod int  `json:"messageRetentionPeriod"`
	VisibilityTimeout      int  `json:"visibilityTimeout"`
	PollingWaitSeconds     int  `json:"pollingWaitSeconds"`
	LoggingEnabled         bool `json:"loggingEnabled"`
}

// DefaultQueueAttributes returns the attributes of a queue created with an
// empty <Queue/> body.
func DefaultQueueAttributes() QueueAttributes {
	return QueueAttributes{
		DelaySeconds:           DefaultDelaySeconds,
		MaximumMessageSize:     DefaultMaximumMessageSize,
		MessageRetentionPeriod: DefaultMessageRetentionPeriod,
		VisibilityTimeout:      DefaultVisibilityTimeout,
		PollingWaitSeconds:     DefaultPollingWaitSeconds,
	}
}

func (a QueueAttributes) validate() *Error {
	switch {
	case a.DelaySeconds < 0 || a.DelaySeconds > maxDelaySeconds:
		return errRange("DelaySeconds", 0, maxDelaySeconds)
	case a.MaximumMessageSize < minMessageSize || a.MaximumMessageSize > maxMessageSize:
		return errRange("MaximumMessageSize", minMessageSize, maxMessageSize)
	case a.MessageRetentionPeriod < minRetentionSeconds || a.MessageRetentionPeriod > maxRetentionSeconds:
		return errRange("MessageRetentionPeriod", minRetentionSeconds, maxRetentionSeconds)
	case a.VisibilityTimeout < minVisibilityTimeout || a.VisibilityTimeout > maxVisibilityTimeout:
		return errRange("VisibilityTimeout", minVisibilityTimeout, maxVisibilityTimeout)
	case a.PollingWaitSeconds < 0 || a.PollingWaitSeconds > maxPollingWait:
		return errRange("PollingWaitSeconds", 0, maxPollingWait)
	}
	return nil
}

func validateQueueName(name string) *Error {
	if len(name) == 0 || len(name) > maxQueueNameLength {
		return newError(400, CodeQueueNameLengthError,
			"The length of queue name should between 1 and %d.", maxQueueNameLength)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		digit := c >= '0' && c <= '9'
		if !letter && !digit && (c != '-' || i == 0) {
			return newError(400, CodeInvalidQueueName,
				"The queue name you provided is not valid: it must start with a letter or digit and contain only letters, digits and '-'.")
		}
	}
	return nil
}

// MessageState is where a message is in its life cycle.
type MessageState string

// Message states, as the service names them in its attribute counts.
const (
	StateDelayed  MessageState = "Delayed"
	StateActive   MessageState = "Active"
	StateInactive MessageState = "Inactive"
)

// message is one stored message. Times are epoch milliseconds of the
// emulated clock, the precision of the wire.
type message struct {
	id           string
	body         string
	bodyMD5      string
	priority     int
	seq          uint64
	enqueueAt    int64
	firstDeqAt   int64
	visibleAt    int64 // NextVisibleTime; also the end of a delay
	dequeueCount int
	handle       string // newest receipt handle; "" until first receive
	handleGen    uint64

	ready   bool // in the ready heap (else in the waiting heap)
	heapIdx int
	elem    *list.Element // in queue.byEnqueue
}

// readyHeap orders visible messages: smaller Priority value first (1 is the
// highest priority), then oldest first.
type readyHeap []*message

func (h readyHeap) Len() int { return len(h) }
func (h readyHeap) Less(i, j int) bool {
	if h[i].priority != h[j].priority {
		return h[i].priority < h[j].priority
	}
	return h[i].seq < h[j].seq
}
func (h readyHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}
func (h *readyHeap) Push(x any) {
	m := x.(*message)
	m.heapIdx = len(*h)
	*h = append(*h, m)
}
func (h *readyHeap) Pop() any {
	old := *h
	m := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	m.heapIdx = -1
	return m
}

// waitHeap orders delayed and inactive messages by the time they become
// visible.
type waitHeap []*message

func (h waitHeap) Len() int { return len(h) }
func (h waitHeap) Less(i, j int) bool {
	if h[i].visibleAt != h[j].visibleAt {
		return h[i].visibleAt < h[j].visibleAt
	}
	return h[i].seq < h[j].seq
}
func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}
func (h *waitHeap) Push(x any) {
	m := x.(*message)
	m.heapIdx = len(*h)
	*h = append(*h, m)
}
func (h *waitHeap) Pop() any {
	old := *h
	m := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	m.heapIdx = -1
	return m
}

// queueStats are lifetime counters, reported in snapshots.
type queueStats struct {
	Sent     int64 `json:"sent"`
	Received int64 `json:"received"`
	Deleted  int64 `json:"deleted"`
	Expired  int64 `json:"expired"`
}

// queue is one MNS queue. Every field below mu is guarded by it; operations
// cost O(log n) in the number of stored messages, plus the messages they
// touch (promotion of due messages, expiry of old ones).
type queue struct {
	name string

	mu         sync.Mutex
	attrs      QueueAttributes
	createdAt  int64 // epoch ms
	modifiedAt int64
	deleted    bool
	byID       map[string]*message
	byEnqueue  *list.List // live messages, oldest first: retention order
	ready      readyHeap
	waiting    waitHeap
	nDelayed   int // messages in waiting never received yet
	seq        uint64
	stats      queueStats
	// avail is closed (and replaced) whenever a message is added or its
	// visibility moves, to wake long polls.
	avail chan struct{}
}

func newQueue(name string, attrs QueueAttributes, now int64) *queue {
	return &queue{
		name:       name,
		attrs:      attrs,
		createdAt:  now,
		modifiedAt: now,
		byID:       map[string]*message{},
		byEnqueue:  list.New(),
		avail:      make(chan struct{}),
	}
}

func (q *queue) signalLocked() {
	close(q.avail)
	q.avail = make(chan struct{})
}

// maintainLocked applies the passage of time: expires messages past the
// retention period and makes due messages visible.
func (q *queue) maintainLocked(now int64) {
	retention := int64(q.attrs.MessageRetentionPeriod) * 1000
	for e := q.byEnqueue.Front(); e != nil; e = q.byEnqueue.Front() {
		m := e.Value.(*message)
		if m.enqueueAt+retention > now {
			break
		}
		q.removeLocked(m)
		q.stats.Expired++
	}
	for len(q.waiting) > 0 && q.waiting[0].visibleAt <= now {
		m := heap.Pop(&q.waiting).(*message)
		if m.dequeueCount == 0 {
			q.nDelayed--
		}
		m.ready = true
		heap.Push(&q.ready, m)
	}
}

func (q *queue) removeLocked(m *message) {
	if m.ready {
		heap.Remove(&q.ready, m.heapIdx)
	} else {
		heap.Remove(&q.waiting, m.heapIdx)
		if m.dequeueCount == 0 {
			q.nDelayed--
		}
	}
	q.byEnqueue.Remove(m.elem)
	delete(q.byID, m.id)
}

// sendSpec is one validated message to enqueue.
type sendSpec struct {
	body     string
	delay    int64 // seconds
	priority int
}

// checkSendLocked validates a message against the queue's attributes and
// fills in defaults. delay nil means "use the queue's DelaySeconds".
func (q *queue) checkSendLocked(body string, delay *int64, priority int64) (sendSpec, *Error) {
	if len(body) == 0 || len(body) > q.attrs.MaximumMessageSize {
		return sendSpec{}, errOversizeBody(len(body), q.attrs.MaximumMessageSize)
	}
	d := effectiveDelay(delay, q.attrs.DelaySeconds)
	if d < 0 || d > maxDelaySeconds {
		return sendSpec{}, errRange("DelaySeconds", 0, maxDelaySeconds)
	}
	if priority == 0 {
		priority = defaultPriority
	}
	if priority < minPriority || priority > maxPriority {
		return sendSpec{}, errRange("Priority", minPriority, maxPriority)
	}
	return sendSpec{body: body, delay: d, priority: int(priority)}, nil
}

func (q *queue) enqueueLocked(s sendSpec, now int64) *message {
	q.seq++
	m := &message{
		id:        core.NewHexID(16),
		body:      s.body,
		bodyMD5:   bodyMD5(s.body),
		priority:  s.priority,
		seq:       q.seq,
		enqueueAt: now,
		visibleAt: now + s.delay*1000,
	}
	m.elem = q.byEnqueue.PushBack(m)
	q.byID[m.id] = m
	if s.delay > 0 {
		heap.Push(&q.waiting, m)
		q.nDelayed++
	} else {
		m.ready = true
		heap.Push(&q.ready, m)
	}
	q.stats.Sent++
	q.signalLocked()
	return m
}

// receiveLocked makes up to n visible messages inactive for the queue's
// visibility timeout, giving each a new receipt handle.
func (q *queue) receiveLocked(n int, now int64) []Message {
	out := make([]Message, 0, min(n, len(q.ready)))
	vt := int64(q.attrs.VisibilityTimeout) * 1000
	for len(out) < n && len(q.ready) > 0 {
		m := heap.Pop(&q.ready).(*message)
		m.ready = false
		m.dequeueCount++
		if m.firstDeqAt == 0 {
			m.firstDeqAt = now
		}
		m.visibleAt = now + vt
		q.newHandleLocked(m)
		heap.Push(&q.waiting, m)
		out = append(out, m.export())
	}
	q.stats.Received += int64(len(out))
	return out
}

// peekLocked returns up to n visible messages without changing them.
func (q *queue) peekLocked(n int) []Message {
	taken := make([]*message, 0, min(n, len(q.ready)))
	for len(taken) < n && len(q.ready) > 0 {
		taken = append(taken, heap.Pop(&q.ready).(*message))
	}
	out := make([]Message, len(taken))
	for i, m := range taken {
		heap.Push(&q.ready, m)
		out[i] = m.export()
		out[i].ReceiptHandle = ""
	}
	return out
}

// byHandleLocked finds the inactive message whose newest handle is h.
func (q *queue) byHandleLocked(h string, now int64) (*message, *Error) {
	id, ok := handleMessageID(h)
	if !ok {
		return nil, errReceiptHandle()
	}
	m := q.byID[id]
	if m == nil || m.ready || m.handle != h || m.visibleAt <= now {
		return nil, errReceiptHandle()
	}
	return m, nil
}

func (q *queue) deleteLocked(h string, now int64) *Error {
	m, err := q.byHandleLocked(h, now)
	if err != nil {
		return err
	}
	q.removeLocked(m)
	q.stats.Deleted++
	return nil
}

func (q *queue) changeVisibilityLocked(h string, seconds int64, now int64) (Message, *Error) {
	m, err := q.byHandleLocked(h, now)
	if err != nil {
		return Message{}, err
	}
	m.visibleAt = now + seconds*1000
	q.newHandleLocked(m)
	heap.Fix(&q.waiting, m.heapIdx)
	q.signalLocked()
	return m.export(), nil
}

// newHandleLocked issues a receipt handle that names the message and a
// generation, so every receive and visibility change yields a new one and
// any older handle becomes stale. Standard base64 puts '+', '/' and '=' in
// handles, which keeps the SDK's query escaping honest.
func (q *queue) newHandleLocked(m *message) {
	q.seq++
	m.handleGen = q.seq
	m.handle = "1-" + base64.StdEncoding.EncodeToString(
		[]byte(m.id+"-"+strconv.FormatInt(m.visibleAt, 10)+"-"+strconv.FormatUint(m.handleGen, 10)))
}

func handleMessageID(h string) (string, bool) {
	rest, ok := strings.CutPrefix(h, "1-")
	if !ok {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return "", false
	}
	id, _, ok := strings.Cut(string(raw), "-")
	return id, ok
}

// counts returns the Active, Inactive and Delayed message counts, exact here
// (the real service's are approximate).
func (q *queue) countsLocked() (active, inactive, delayed int) {
	return len(q.ready), len(q.waiting) - q.nDelayed, q.nDelayed
}

// nextVisibleLocked returns when the next waiting message becomes visible
// (epoch ms), or 0 when none is waiting.
func (q *queue) nextVisibleLocked() int64 {
	if len(q.waiting) == 0 {
		return 0
	}
	return q.waiting[0].visibleAt
}

func (m *message) state(now int64) MessageState {
	switch {
	case m.ready || m.visibleAt <= now:
		return StateActive
	case m.dequeueCount == 0:
		return StateDelayed
	default:
		return StateInactive
	}
}

func (m *message) export() Message {
	return Message{
		ID:               m.id,
		Body:             m.body,
		BodyMD5:          m.bodyMD5,
		ReceiptHandle:    m.handle,
		DequeueCount:     m.dequeueCount,
		EnqueueTime:      msTime(m.enqueueAt),
		FirstDequeueTime: msTime(m.firstDeqAt),
		NextVisibleTime:  msTime(m.visibleAt),
		Priority:         m.priority,
	}
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func timeMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// bodyMD5 is the upper-case hex MD5 the service reports as MessageBodyMD5.
func bodyMD5(body string) string {
	sum := md5.Sum([]byte(body))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
