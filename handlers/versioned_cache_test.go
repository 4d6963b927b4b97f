package handlers

import (
	"fmt"
	"testing"
	"time"
)

func TestVersionedCache(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	c := newVersionedCache(0)
	c.now = func() time.Time { return now }
	if _, ok := c.get("k"); ok {
		t.Fatal("an empty cache had k")
	}
	c.put("k", []byte("7"))
	if v, ok := c.get("k"); !ok || string(v) != "7" {
		t.Fatalf("get(k) = %q, %v; want 7, true", v, ok)
	}
	now = now.Add(31 * time.Second)
	if _, ok := c.get("k"); ok {
		t.Error("k outlived the 30 s default")
	}

	// At the cap the cache starts afresh rather than growing.
	for i := range versionedCacheMax + 1 {
		c.put(fmt.Sprint(i), []byte("x"))
	}
	if n := len(c.entries); n != 1 {
		t.Errorf("%d entries after passing the cap; want 1", n)
	}

	off := newVersionedCache(-1)
	off.put("k", []byte("7"))
	if _, ok := off.get("k"); ok {
		t.Error("a cache with a negative time to live kept k")
	}
}
