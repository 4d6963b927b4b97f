package store

import (
	"context"
	"sync"
)

// The read gate
//
// PostgreSQL does the most work with about two busy backends per core. A page is a chain of short round
// trips, and when more requests than that run their statements at once, each waits behind the others in
// the database server's run queue at every round trip, and the switching costs CPU besides: on the 2-core
// bench machine, sixteen clients of the item page got p99 47–53 ms with sixteen requests on the database
// at once and 26–28 ms with five, at the same throughput (bench/README.md, round 5).
//
// Writes are different: a commit waits for its WAL to reach the disk, and commits that wait together are
// flushed together, so limiting them to a few at a time makes them slower and dearer (decisions through
// the pages: 273/s with twenty connections, 217/s with five).
//
// So the limit is on reads: a request marked with ForReads (the handlers mark GET and HEAD) holds one of
// the gate's slots while it has a transaction or a batch open, and waits for one when all are taken.
// Everything else (form posts, API writes, jobs) goes straight to the pool.

type readGateKey struct{}

// readHold is one request's place in the gate: nested or concurrent transactions of the same request
// share the slot its first one took, so a request never waits for a second slot while holding one.
type readHold struct {
	mu    sync.Mutex
	depth int
}

// ForReads marks ctx as a request that only reads: its transactions and batches go through the read gate.
func ForReads(ctx context.Context) context.Context {
	return context.WithValue(ctx, readGateKey{}, &readHold{})
}

// Gate waits for a slot of the read gate when ctx is marked ForReads and the gate is on, and returns the
// function that gives the slot back. Transactions take it themselves; a caller that sends statements on a
// pool connection of its own (a pgx batch) calls it around them.
func (db *DB) Gate(ctx context.Context) (release func(), err error) {
	h, _ := ctx.Value(readGateKey{}).(*readHold)
	if h == nil || db.reads == nil {
		return func() {}, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.depth == 0 {
		select {
		case db.reads <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	h.depth++
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.depth--; h.depth == 0 {
			<-db.reads
		}
	}, nil
}
