package jobs_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/jobs"
	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
	"ledgerline/store/notify"
	"ledgerline/store/storetest"
)

func TestLowStockNotify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t).DB
	ten, err := identity.TenantCreate(ctx, db, store.Scope{}, identity.TenantCreateParams{
		Name: "Low", Slug: "low", TimeZone: "UTC", Currency: "EUR"})
	require.NoError(t, err)
	sys := store.Scope{TenantID: ten.ID}
	members := map[identity.Role]store.ID{}
	for _, role := range identity.Roles {
		id := store.NewID()
		_, err := db.X.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, 'x')`,
			id, string(role)+"@low.example", string(role))
		require.NoError(t, err)
		require.NoError(t, identity.MemberAdd(ctx, db, sys, identity.MemberAddParams{UserID: id, Role: role}))
		members[role] = id
	}
	loc, err := inventory.LocationCreate(ctx, db, sys, inventory.LocationCreateParams{Code: "WH", Name: "Warehouse"})
	require.NoError(t, err)
	item, err := inventory.ItemCreate(ctx, db, sys, inventory.ItemFields{SKU: "LOW-1", Name: "Widget", Unit: "ea",
		ReorderPoint: inventory.Units(10), ReorderQty: inventory.Units(40)})
	require.NoError(t, err)
	_, err = inventory.Receive(ctx, db, sys, inventory.ReceiveParams{ItemID: item.ID, LocationID: loc.ID,
		Quantity: inventory.Units(5), Currency: "EUR"})
	require.NoError(t, err)

	emails := func() []string {
		var to []string
		require.NoError(t, db.X.SelectContext(ctx, &to, `SELECT args->>'to' FROM river_job WHERE kind = 'email_send' ORDER BY args->>'to'`))
		return to
	}

	crossings, written, err := jobs.LowStockNotifyTenant(ctx, db, ten.ID)
	require.NoError(t, err)
	require.Equal(t, 1, crossings)
	require.Equal(t, 2, written, "the admin and the manager")
	require.Equal(t, []string{"admin@low.example", "manager@low.example"}, emails())
	for _, role := range []identity.Role{identity.RoleAdmin, identity.RoleManager} {
		list, err := notify.ListUnread(ctx, db, store.Scope{TenantID: ten.ID, ActorID: members[role]}, 0)
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, "Low stock: LOW-1 Widget", list[0].Title)
		require.Equal(t, "/inventory/items/"+item.ID.String(), list[0].Link)
		require.Contains(t, list[0].Body, "5 ea on hand, reorder point 10")
	}
	list, err := notify.ListUnread(ctx, db, store.Scope{TenantID: ten.ID, ActorID: members[identity.RoleEmployee]}, 0)
	require.NoError(t, err)
	require.Empty(t, list)

	// The second run finds nothing new.
	crossings, written, err = jobs.LowStockNotifyTenant(ctx, db, ten.ID)
	require.NoError(t, err)
	require.Zero(t, crossings)
	require.Zero(t, written)
	require.Len(t, emails(), 2)

	// Marked read, it leaves the unread list; someone else cannot mark it.
	manager := store.Scope{TenantID: ten.ID, ActorID: members[identity.RoleManager]}
	list, err = notify.ListUnread(ctx, db, manager, 0)
	require.NoError(t, err)
	require.Equal(t, store.NotFound, store.ErrorCode(notify.MarkRead(ctx, db, store.Scope{TenantID: ten.ID, ActorID: members[identity.RoleAdmin]}, list[0].ID)))
	require.NoError(t, notify.MarkRead(ctx, db, manager, list[0].ID))
	list, err = notify.ListUnread(ctx, db, manager, 0)
	require.NoError(t, err)
	require.Empty(t, list)

	// Stock rises above the reorder point and falls again: a new crossing, told again.
	_, err = inventory.Receive(ctx, db, sys, inventory.ReceiveParams{ItemID: item.ID, LocationID: loc.ID,
		Quantity: inventory.Units(20), Currency: "EUR"})
	require.NoError(t, err)
	_, err = inventory.Issue(ctx, db, sys, inventory.IssueParams{ItemID: item.ID, LocationID: loc.ID, Quantity: inventory.Units(20)})
	require.NoError(t, err)
	crossings, written, err = jobs.LowStockNotifyTenant(ctx, db, ten.ID)
	require.NoError(t, err)
	require.Equal(t, 1, crossings)
	require.Equal(t, 2, written)
	require.Len(t, emails(), 4)
}
