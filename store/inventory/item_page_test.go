package inventory_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
)

// ItemPageGet reads in one statement what StockLevels, ReservationList and LocationList return for the
// item: the same rows in the same order, and nothing of another tenant.
func TestItemPageGetMatchesTheSeparateReads(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	emp := tb.as[identity.RoleEmployee]
	batched := tb.itemCreate(ctx, t, tb.sys, inventory.ItemFields{SKU: "LOT-1", Name: "Paint", Unit: "l",
		Tracking: inventory.TrackBatch})
	for _, b := range []string{"B-2", "B-1"} {
		for _, loc := range []store.ID{tb.bin2.ID, tb.bin1.ID} {
			_, err := inventory.Receive(ctx, tb.db, tb.sys, inventory.ReceiveParams{ItemID: batched.ID, LocationID: loc,
				Batch: b, Quantity: q("3.5"), UnitCost: 250, Currency: "EUR"})
			require.NoError(t, err)
		}
	}
	// An emptied level is not shown; reservations oldest first; a released one is gone.
	_, err := inventory.Issue(ctx, tb.db, tb.sys, inventory.IssueParams{ItemID: batched.ID, LocationID: tb.bin2.ID,
		Batch: "B-2", Quantity: q("3.5")})
	require.NoError(t, err)
	for _, ref := range []string{"SO-1", "SO-2", "SO-3"} {
		_, err := inventory.Reserve(ctx, tb.db, emp, inventory.ReserveParams{ItemID: batched.ID, LocationID: tb.bin1.ID,
			Batch: "B-1", Quantity: q("1"), Reference: ref})
		require.NoError(t, err)
	}
	open, err := inventory.ReservationList(ctx, tb.db, emp, batched.ID)
	require.NoError(t, err)
	_, err = inventory.ReservationRelease(ctx, tb.db, emp, open[1].ID)
	require.NoError(t, err)
	// Locations come in LocationList's order: each warehouse (by code, any case) followed by its bins,
	// whatever their own codes. A deleted location still names old lines; B's rows never show.
	second := tb.location(ctx, t, tb.sys, nil, "aa")
	tb.location(ctx, t, tb.sys, &second.ID, "Z9")
	tb.location(ctx, t, tb.sys, &second.ID, "b1")
	tb.location(ctx, t, tb.sys, &tb.wh.ID, "A0")
	gone := tb.location(ctx, t, tb.sys, nil, "OLD")
	_, err = inventory.LocationDelete(ctx, tb.db, tb.sys, gone.ID, gone.Version)
	require.NoError(t, err)
	tb.receive(ctx, t, tb.item.ID, tb.bin1.ID, 4, 100)

	page, err := inventory.ItemPageGet(ctx, tb.db, emp, batched.ID)
	require.NoError(t, err)
	item, err := inventory.ItemGet(ctx, tb.db, emp, batched.ID)
	require.NoError(t, err)
	require.Equal(t, *item, page.Item)

	levels, err := inventory.StockLevels(ctx, tb.db, emp, inventory.StockLevelParams{ItemID: &batched.ID})
	require.NoError(t, err)
	require.Len(t, levels, 3)
	require.Equal(t, levels, page.Levels)
	require.Equal(t, q("1.5"), page.Levels[0].Available, "B-1 at WH1-A1: 3.5 on hand, two reservations of 1 open")

	open, err = inventory.ReservationList(ctx, tb.db, emp, batched.ID)
	require.NoError(t, err)
	require.Len(t, open, 2)
	require.Len(t, page.Reservations, 2)
	for i := range open {
		require.Equal(t, open[i].ID, page.Reservations[i].ID)
		require.Equal(t, open[i].Reference, page.Reservations[i].Reference)
		require.Equal(t, open[i].Quantity, page.Reservations[i].Quantity)
		require.Equal(t, open[i].Status, page.Reservations[i].Status)
		require.Equal(t, open[i].Version, page.Reservations[i].Version)
		require.True(t, open[i].CreatedAt.Equal(page.Reservations[i].CreatedAt))
	}

	locs, err := inventory.LocationList(ctx, tb.db, emp, true)
	require.NoError(t, err)
	require.Len(t, page.Locations, len(locs))
	for i := range locs {
		require.Equal(t, locs[i].ID, page.Locations[i].ID)
		require.Equal(t, locs[i].Code, page.Locations[i].Code)
		require.Equal(t, locs[i].WarehouseID, page.Locations[i].WarehouseID)
		require.Equal(t, locs[i].Kind, page.Locations[i].Kind)
		require.Equal(t, locs[i].Name, page.Locations[i].Name)
		require.Equal(t, locs[i].DeletedAt != nil, page.Locations[i].DeletedAt != nil)
	}

	// An item without stock has empty lists.
	bare := tb.itemCreate(ctx, t, tb.sys, inventory.ItemFields{SKU: "BARE", Name: "Nothing yet", Unit: "ea"})
	page, err = inventory.ItemPageGet(ctx, tb.db, emp, bare.ID)
	require.NoError(t, err)
	require.Empty(t, page.Levels)
	require.Empty(t, page.Reservations)

	// Another tenant's item is NotFound, and the auditor-less stranger is Forbidden.
	_, err = inventory.ItemPageGet(ctx, tb.db, tb.sysB, batched.ID)
	requireCode(t, err, store.NotFound, "")
	pageB, err := inventory.ItemPageGet(ctx, tb.db, tb.sysB, tb.itemB.ID)
	require.NoError(t, err)
	require.Len(t, pageB.Locations, 1, "B sees only its own location")
	_, err = inventory.ItemPageGet(ctx, tb.db, store.Scope{TenantID: tb.a, ActorID: store.NewID()}, batched.ID)
	requireCode(t, err, store.Forbidden, "")
}

// The page's locations are kept per tenant in the process: every change of the tenant's locations shows on
// the next page, a page's copy can be changed without touching the kept list, and another tenant never sees
// them.
func TestItemPageLocationsFollowEveryChange(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	emp := tb.as[identity.RoleEmployee]
	names := func() map[string]string {
		t.Helper()
		page, err := inventory.ItemPageGet(ctx, tb.db, emp, tb.item.ID)
		require.NoError(t, err)
		got := map[string]string{}
		for _, l := range page.Locations {
			got[l.Code] = l.Name
			if l.DeletedAt != nil {
				got[l.Code] += " (deleted)"
			}
		}
		// Changing the page's copy changes nothing for the next page.
		for i := range page.Locations {
			page.Locations[i].Name = "scribbled"
		}
		return got
	}
	before := names()
	require.Equal(t, before, names(), "the same list twice")

	added := tb.location(ctx, t, tb.sys, &tb.wh.ID, "NEW")
	require.Equal(t, "Location NEW", names()["NEW"], "a new location")

	renamed, err := inventory.LocationUpdate(ctx, tb.db, tb.sys, inventory.LocationUpdateParams{ID: added.ID, Version: added.Version,
		Code: "NEW", Name: "Renamed"})
	require.NoError(t, err)
	require.Equal(t, "Renamed", names()["NEW"], "a rename")

	deleted, err := inventory.LocationDelete(ctx, tb.db, tb.sys, renamed.ID, renamed.Version)
	require.NoError(t, err)
	require.Equal(t, "Renamed (deleted)", names()["NEW"], "a deletion")

	_, err = inventory.LocationRestore(ctx, tb.db, tb.sys, deleted.ID, deleted.Version)
	require.NoError(t, err)
	require.Equal(t, "Renamed", names()["NEW"], "a restore")

	// Tenant B's item page lists B's locations only.
	page, err := inventory.ItemPageGet(ctx, tb.db, tb.sysB, tb.itemB.ID)
	require.NoError(t, err)
	require.Len(t, page.Locations, 1)
	require.Equal(t, tb.whB.ID, page.Locations[0].ID)
}
