package onboard

import (
	"sync"
)

// Locks serialises the membership writes of one instance within a process
// and counts them, so that a job can tell whether the instance it read may
// have changed since (another job of this process wrote to it). Jobs of
// every Onboarder of the process share processLocks unless Options.Locks
// names another set (tests use that to stand for a second process).
//
// ECS has no conditional join, so nothing can serialise writers in
// different processes. queue-worker's reservedConcurrency 1 makes a second
// one rare, not impossible (a redeployment, a drain invocation beside the
// trigger, an operator's `s invoke`): the check after a batch's writes
// (verify.go) catches it, at one DescribeInstances per 100 written
// instances rather than a read-back per write.
type Locks struct {
	mu sync.Mutex
	m  map[string]*instanceLock
}

type instanceLock struct {
	mu    sync.Mutex
	gen   uint64 // writes so far
	users int    // holders and waiters, to drop idle entries
}

// NewLocks returns an empty set of instance locks.
func NewLocks() *Locks { return &Locks{m: map[string]*instanceLock{}} }

// processLocks is the set shared by every Onboarder of this process.
var processLocks = NewLocks()

// generation returns the write count of key (0 for an idle instance).
func (l *Locks) generation(key string) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.m[key]; ok {
		return e.gen
	}
	return 0
}

// lock takes key's lock. The returned held reports the generation and
// bumps it on each write; release gives the lock back.
func (l *Locks) lock(key string) *held {
	l.mu.Lock()
	e, ok := l.m[key]
	if !ok {
		e = &instanceLock{}
		l.m[key] = e
	}
	e.users++
	l.mu.Unlock()
	e.mu.Lock()
	return &held{l: l, key: key, e: e}
}

type held struct {
	l   *Locks
	key string
	e   *instanceLock
}

func (h *held) gen() uint64 {
	h.l.mu.Lock()
	defer h.l.mu.Unlock()
	return h.e.gen
}

func (h *held) wrote() {
	h.l.mu.Lock()
	h.e.gen++
	h.l.mu.Unlock()
}

func (h *held) release() {
	h.e.mu.Unlock()
	h.l.mu.Lock()
	h.e.users--
	// An entry with writes is kept (a few bytes per instance written by
	// this process) so that generations never go back to 0 under a reader.
	if h.e.users == 0 && h.e.gen == 0 {
		delete(h.l.m, h.key)
	}
	h.l.mu.Unlock()
}
