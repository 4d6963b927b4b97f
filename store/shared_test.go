package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
)

func TestInTenantShared(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	a, b := store.NewID(), store.NewID()
	for _, id := range []store.ID{a, b} {
		require.NoError(t, tb.db.InTenant(ctx, store.Scope{TenantID: id}, func(tx *store.Tx) error { return tenantInsert(ctx, tx, id) }))
	}
	backend := func(ctx context.Context, scope store.Scope) (pid int, tenant string) {
		require.NoError(t, tb.db.InTenant(ctx, scope, func(tx *store.Tx) error {
			return tx.QueryRowxContext(ctx, `SELECT pg_backend_pid(), txid_current()::text`).Scan(&pid, &tenant)
		}))
		return pid, tenant
	}

	t.Run("ReadsOfTheSameScopeJoinOneTransaction", func(t *testing.T) {
		require.NoError(t, tb.db.InTenantShared(ctx, store.Scope{TenantID: a}, func(ctx context.Context) error {
			pid1, tx1 := backend(ctx, store.Scope{TenantID: a, RequestID: "r1"})
			pid2, tx2 := backend(ctx, store.Scope{TenantID: a, RequestID: "r1"})
			require.Equal(t, pid1, pid2)
			require.Equal(t, tx1, tx2, "one transaction")
			// Another tenant never joins: it gets its own transaction and sees only its own rows.
			var seen []store.ID
			require.NoError(t, tb.db.InTenant(ctx, store.Scope{TenantID: b}, func(tx *store.Tx) error {
				return tx.SelectContext(ctx, &seen, `SELECT id FROM tenants`)
			}))
			require.Equal(t, []store.ID{b}, seen)
			return nil
		}))
	})

	t.Run("AnErrorFailsTheWhole", func(t *testing.T) {
		boom := errors.New("boom")
		err := tb.db.InTenantShared(ctx, store.Scope{TenantID: a}, func(ctx context.Context) error {
			return tb.db.InTenant(ctx, store.Scope{TenantID: a}, func(tx *store.Tx) error { return boom })
		})
		require.ErrorIs(t, err, boom)
	})

	t.Run("RoleIsRememberedOnlyInSharedTransactions", func(t *testing.T) {
		require.NoError(t, tb.db.InTenant(ctx, store.Scope{TenantID: a}, func(tx *store.Tx) error {
			tx.ActorRoleRemember("admin")
			require.Empty(t, tx.ActorRole(), "a write transaction always checks afresh")
			return nil
		}))
		require.NoError(t, tb.db.InTenantShared(ctx, store.Scope{TenantID: a}, func(ctx context.Context) error {
			require.NoError(t, tb.db.InTenant(ctx, store.Scope{TenantID: a}, func(tx *store.Tx) error {
				tx.ActorRoleRemember("auditor")
				return nil
			}))
			return tb.db.InTenant(ctx, store.Scope{TenantID: a}, func(tx *store.Tx) error {
				require.Equal(t, "auditor", tx.ActorRole())
				return nil
			})
		}))
	})

	t.Run("AsSeedsTheRequestsRole", func(t *testing.T) {
		sc := store.Scope{TenantID: a, ActorID: store.NewID()}
		require.NoError(t, tb.db.InTenantSharedAs(ctx, sc, "manager", func(ctx context.Context) error {
			pid1, tx1 := backend(ctx, sc)
			pid2, tx2 := backend(ctx, sc)
			require.Equal(t, []any{pid1, tx1}, []any{pid2, tx2}, "one transaction, as InTenantShared")
			return tb.db.InTenant(ctx, sc, func(tx *store.Tx) error {
				require.Equal(t, "manager", tx.ActorRole(), "the role the request was loaded with")
				return nil
			})
		}))
		require.NoError(t, tb.db.InTenant(ctx, sc, func(tx *store.Tx) error {
			require.Empty(t, tx.ActorRole(), "outside, transactions read the role themselves")
			return nil
		}))
	})
}
