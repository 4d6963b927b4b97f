package identity_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// ActorLoad sends its statements as one batch; the batch's scope must end with it, like a transaction's:
// the connection it used, taken straight back from the pool, sees no tenant and no actor.
func TestActorLoadLeavesNoScopeOnTheConnection(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t, "Acme", "acme")
	user := tb.userCreate(ctx, t, tenant, "pat@example.com")
	tb.memberAdd(ctx, t, tenant, user, identity.RoleAdmin, nil)

	// A pool of one connection: whatever ActorLoad used is what the next query gets.
	db, err := store.Open(ctx, tb.db.Pool.Config().ConnString(), store.OpenOpts{MaxConns: 1, CountStatements: true})
	require.NoError(t, err)
	t.Cleanup(db.Close)

	counted, count := store.CountStatements(ctx)
	a, err := identity.ActorLoad(counted, db, user, tenant)
	require.NoError(t, err)
	require.Equal(t, identity.RoleAdmin, a.Role)
	require.Len(t, a.Memberships, 1)
	require.Equal(t, int64(4), count.Load(), "ActorLoad is one batch of four statements")

	var tenantSetting, actorSetting *string
	require.NoError(t, db.Pool.QueryRow(ctx,
		`SELECT NULLIF(current_setting('app.tenant_id', true), ''), NULLIF(current_setting('app.actor_id', true), '')`).
		Scan(&tenantSetting, &actorSetting))
	require.Nil(t, tenantSetting, "the tenant setting outlived ActorLoad's batch")
	require.Nil(t, actorSetting, "the actor setting outlived ActorLoad's batch")
	var visible int
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT count(*) FROM memberships`).Scan(&visible))
	require.Zero(t, visible, "rows visible without a scope after ActorLoad")

	// A user who is not a member gets NotFound, and still leaves nothing behind.
	other := tb.tenantCreate(ctx, t, "Other", "other")
	_, err = identity.ActorLoad(ctx, db, user, other)
	require.Equal(t, store.NotFound, store.ErrorCode(err))
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT count(*) FROM memberships`).Scan(&visible))
	require.Zero(t, visible)
}
