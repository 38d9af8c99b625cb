package onboard

import (
	"maps"
	"sync"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// GroupCache keeps each network's group listing for TTL across the Handle
// calls of one process. In a burst the work queue delivers many batches a
// minute, and without it each batch lists the same networks again; role
// groups are tagged once and change rarely.
//
// A listing from the cache is only trusted where being out of date cannot
// do harm: a plan it refuses (no role group, over the limit, mixed types),
// or an instance in a group it does not know, is planned again from a
// fresh listing; a join ECS answers with NotFound drops the network's
// entry (the task is retried soon and lists again). What a stale entry can
// still do within TTL: join a group whose role tag was just removed, the
// same as a plan made just before the tag change.
//
// The zero value is not usable; nil means no cache. It is safe for
// concurrent use.
type GroupCache struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[domain.NetworkKey]cachedListing
}

type cachedListing struct {
	groups []domain.SecurityGroup
	at     time.Time
}

// NewGroupCache keeps listings for ttl (0 = no cache: it returns nil);
// now reads the clock (time.Now when nil).
func NewGroupCache(ttl time.Duration, now func() time.Time) *GroupCache {
	if ttl <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &GroupCache{ttl: ttl, now: now, m: map[domain.NetworkKey]cachedListing{}}
}

// get returns a listing younger than the TTL.
func (c *GroupCache) get(net domain.NetworkKey) ([]domain.SecurityGroup, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[net]
	if !ok || c.now().Sub(e.at) >= c.ttl {
		delete(c.m, net)
		return nil, false
	}
	return e.groups, true
}

// put stores a listing read at the given time (taken before the call, so
// the entry never outlives what it saw).
func (c *GroupCache) put(net domain.NetworkKey, groups []domain.SecurityGroup, at time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[net] = cachedListing{groups: groups, at: at}
}

// forget drops a network's listing.
func (c *GroupCache) forget(net domain.NetworkKey) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, net)
}

// untagged records that a tag was removed from a cached group, so that a
// cleared stale mark is not cleared again by every later batch.
func (c *GroupCache) untagged(net domain.NetworkKey, groupID, key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[net]
	if !ok {
		return
	}
	groups := make([]domain.SecurityGroup, len(e.groups))
	copy(groups, e.groups)
	for i, g := range groups {
		if g.ID == groupID {
			g.Tags = maps.Clone(g.Tags)
			delete(g.Tags, key)
			groups[i] = g
		}
	}
	c.m[net] = cachedListing{groups: groups, at: e.at}
}

func (c *GroupCache) time() time.Time {
	if c == nil {
		return time.Time{}
	}
	return c.now()
}
