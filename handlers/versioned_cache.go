package handlers

import (
	"sync"
	"time"
)

// versionedCache keeps, in this process, dashboard values whose Redis key names the version of the data
// they were computed from (the newest audit event of their domain; see dashboardCache). Such a key always
// means the same value, so any instance may keep a copy without coordination: it saves the Redis round
// trip that every page of an approver made for the sidebar count. Entries live 30 s by default, well
// inside the Redis copy's life, so a value that also depends on the clock (a day, an SLA) is not kept
// much longer than Redis would keep it; the cache is emptied when it reaches versionedCacheMax entries.
type versionedCache struct {
	mu      sync.Mutex
	entries map[string]versionedEntry
	ttl     time.Duration // <= 0: keep nothing
	now     func() time.Time
}

type versionedEntry struct {
	value   []byte
	expires time.Time
}

const versionedCacheMax = 10000

// newVersionedCache keeps entries for ttl: 0 takes 30 s, a negative ttl keeps nothing.
func newVersionedCache(ttl time.Duration) *versionedCache {
	if ttl == 0 {
		ttl = 30 * time.Second
	}
	return &versionedCache{entries: map[string]versionedEntry{}, ttl: ttl, now: time.Now}
}

// get returns the value kept under key, if it is there and fresh.
func (c *versionedCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	if c.now().After(e.expires) {
		delete(c.entries, key)
		return nil, false
	}
	return e.value, true
}

// put keeps value under key for the cache's time to live.
func (c *versionedCache) put(key string, value []byte) {
	if c.ttl < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= versionedCacheMax {
		clear(c.entries)
	}
	c.entries[key] = versionedEntry{value: value, expires: c.now().Add(c.ttl)}
}
