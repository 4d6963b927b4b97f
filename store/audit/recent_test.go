package audit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/audit"
)

func TestRecentAndLatestChange(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant, other := tb.tenantCreate(ctx, t), tb.tenantCreate(ctx, t)
	sc := store.Scope{TenantID: tenant}
	alice, bob := store.NewID(), store.NewID()
	ago := func(d time.Duration) string { return time.Now().Add(-d).UTC().Format(time.RFC3339) }

	// Nothing yet; then an event older than the four weeks: the latest change, but not recent activity.
	latest, err := audit.LatestChange(ctx, tb.db, sc, "inventory.")
	require.NoError(t, err)
	require.Empty(t, latest)
	old := tb.eventInsert(ctx, t, tenant, ago(audit.RecentWindow+time.Hour), &alice, "inventory.issue", "inventory_item", "i1")
	latest, err = audit.LatestChange(ctx, tb.db, sc, "inventory.")
	require.NoError(t, err)
	require.Equal(t, old.String(), latest)
	recent, err := audit.Recent(ctx, tb.db, sc, nil, 8)
	require.NoError(t, err)
	require.Empty(t, recent, "nothing inside the four weeks")

	// A newer change is the version; another domain's change and another tenant's are not.
	e1 := tb.eventInsert(ctx, t, tenant, ago(2*time.Hour), &alice, "inventory.receipt", "inventory_item", "i1")
	tb.eventInsert(ctx, t, tenant, ago(time.Hour), &bob, "billing.invoice_issue", "invoice", "v1")
	tb.eventInsert(ctx, t, other, ago(time.Minute), &bob, "inventory.receipt", "inventory_item", "i9")
	latest, err = audit.LatestChange(ctx, tb.db, sc, "inventory.")
	require.NoError(t, err)
	require.Equal(t, e1.String(), latest)
	e2 := tb.eventInsert(ctx, t, tenant, ago(time.Minute), &bob, "inventory.issue", "inventory_item", "i1")
	latest, err = audit.LatestChange(ctx, tb.db, sc, "inventory")
	require.NoError(t, err)
	require.Equal(t, e2.String(), latest, "every change moves the version")

	recent, err = audit.Recent(ctx, tb.db, sc, nil, 2)
	require.NoError(t, err)
	require.Len(t, recent, 2)
	require.Equal(t, e2, recent[0].ID, "newest first")
	mine, err := audit.Recent(ctx, tb.db, sc, &alice, 8)
	require.NoError(t, err)
	require.Len(t, mine, 1, "alice's one event inside four weeks")
	for _, e := range mine {
		require.Equal(t, alice, *e.ActorID)
		require.Equal(t, tenant, e.TenantID)
	}
}
