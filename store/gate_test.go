package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
)

// TestReadGate: requests marked ForReads have at most ReadConcurrency transactions open at once; a request's
// nested transactions share its slot; unmarked work (writes, jobs) is never held back; a request that gives
// up while waiting gets its context's error.
func TestReadGate(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	db, err := store.Open(ctx, tb.appURL, store.OpenOpts{MaxConns: 10, ReadConcurrency: 2})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	tenant := store.NewID()
	require.NoError(t, db.InTenant(ctx, store.Scope{TenantID: tenant}, func(tx *store.Tx) error { return tenantInsert(ctx, tx, tenant) }))
	scope := store.Scope{TenantID: tenant}

	// Two reads hold both slots until released.
	hold := make(chan struct{})
	var holding sync.WaitGroup
	var readers sync.WaitGroup
	for range 2 {
		holding.Add(1)
		readers.Add(1)
		go func() {
			defer readers.Done()
			_ = db.InTenant(store.ForReads(ctx), scope, func(tx *store.Tx) error {
				holding.Done()
				<-hold
				return nil
			})
		}()
	}
	holding.Wait()

	// A write goes through meanwhile.
	require.NoError(t, db.InTenant(ctx, scope, func(tx *store.Tx) error { return nil }))

	// A third read waits, and gives up with its context.
	short, cancel := context.WithTimeout(store.ForReads(ctx), 100*time.Millisecond)
	err = db.InTenant(short, scope, func(tx *store.Tx) error { return nil })
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// Another waits and runs once a slot is free.
	var ran atomic.Bool
	done := make(chan error, 1)
	go func() {
		done <- db.InTenant(store.ForReads(ctx), scope, func(tx *store.Tx) error { ran.Store(true); return nil })
	}()
	time.Sleep(50 * time.Millisecond)
	require.False(t, ran.Load(), "a third read ran while two held the gate")
	close(hold)
	require.NoError(t, <-done)
	require.True(t, ran.Load())
	readers.Wait()

	// Nested transactions of one request share its slot: with both slots taken by other requests, a
	// request holding one opens a second transaction without waiting.
	block := make(chan struct{})
	var other sync.WaitGroup
	other.Add(1)
	otherDone := make(chan error, 1)
	go func() {
		otherDone <- db.InTenant(store.ForReads(ctx), scope, func(tx *store.Tx) error {
			other.Done()
			<-block
			return nil
		})
	}()
	other.Wait()
	req := store.ForReads(ctx)
	nested, cancel := context.WithTimeout(req, 2*time.Second)
	defer cancel()
	require.NoError(t, db.InTenant(nested, scope, func(tx *store.Tx) error {
		return db.InTenant(nested, store.Scope{TenantID: tenant, RequestID: "inner"}, func(tx *store.Tx) error { return nil })
	}))
	close(block)
	select {
	case err := <-otherDone:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the other request never gave its slot back: a slot was released twice")
	}
	// Every slot is free again: two reads at once do not wait.
	both, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var pair sync.WaitGroup
	pair.Add(2)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			errs <- db.InTenant(store.ForReads(both), scope, func(tx *store.Tx) error {
				pair.Done()
				pair.Wait()
				return nil
			})
		}()
	}
	for range 2 {
		require.NoError(t, <-errs)
	}
}
