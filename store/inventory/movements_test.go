package inventory_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
)

func TestMovementValidation(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tb.receive(ctx, t, tb.item.ID, tb.bin1.ID, 5, 100)
	it, loc := tb.item.ID, tb.bin1.ID
	future := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name  string
		run   func() error
		field string
	}{
		{"receive no item", func() error {
			_, err := inventory.Receive(ctx, tb.db, tb.sys, inventory.ReceiveParams{LocationID: loc, Quantity: q("1"), Currency: "EUR"})
			return err
		}, "item_id"},
		{"receive zero", func() error {
			_, err := inventory.Receive(ctx, tb.db, tb.sys, inventory.ReceiveParams{ItemID: it, LocationID: loc, Currency: "EUR"})
			return err
		}, "quantity"},
		{"receive negative cost", func() error {
			_, err := inventory.Receive(ctx, tb.db, tb.sys, inventory.ReceiveParams{ItemID: it, LocationID: loc, Quantity: q("1"), UnitCost: -1, Currency: "EUR"})
			return err
		}, "unit_cost"},
		{"receive bad currency", func() error {
			_, err := inventory.Receive(ctx, tb.db, tb.sys, inventory.ReceiveParams{ItemID: it, LocationID: loc, Quantity: q("1"), Currency: "XYZ"})
			return err
		}, "currency"},
		{"receive other currency", func() error {
			_, err := inventory.Receive(ctx, tb.db, tb.sys, inventory.ReceiveParams{ItemID: it, LocationID: loc, Quantity: q("1"), Currency: "USD"})
			return err
		}, "currency"},
		{"receive fraction of each", func() error {
			_, err := inventory.Receive(ctx, tb.db, tb.sys, inventory.ReceiveParams{ItemID: it, LocationID: loc, Quantity: q("1.5"), Currency: "EUR"})
			return err
		}, "quantity"},
		{"receive in the future", func() error {
			_, err := inventory.Receive(ctx, tb.db, tb.sys, inventory.ReceiveParams{ItemID: it, LocationID: loc, Quantity: q("1"), Currency: "EUR",
				MovementInfo: inventory.MovementInfo{OccurredAt: future}})
			return err
		}, "occurred_at"},
		{"receive batch of untracked", func() error {
			_, err := inventory.Receive(ctx, tb.db, tb.sys, inventory.ReceiveParams{ItemID: it, LocationID: loc, Quantity: q("1"), Currency: "EUR", Batch: "L1"})
			return err
		}, "batch"},
		{"issue no location", func() error {
			_, err := inventory.Issue(ctx, tb.db, tb.sys, inventory.IssueParams{ItemID: it, Quantity: q("1")})
			return err
		}, "location_id"},
		{"issue negative", func() error {
			_, err := inventory.Issue(ctx, tb.db, tb.sys, inventory.IssueParams{ItemID: it, LocationID: loc, Quantity: q("-1")})
			return err
		}, "quantity"},
		{"transfer to itself", func() error {
			_, err := inventory.Transfer(ctx, tb.db, tb.sys, inventory.TransferParams{ItemID: it, FromLocationID: loc, ToLocationID: loc, Quantity: q("1")})
			return err
		}, "to_location_id"},
		{"adjust without reason", func() error {
			_, err := inventory.Adjust(ctx, tb.db, tb.sys, inventory.AdjustParams{ItemID: it, LocationID: loc, Quantity: q("1")})
			return err
		}, "reason"},
		{"adjust by zero", func() error {
			_, err := inventory.Adjust(ctx, tb.db, tb.sys, inventory.AdjustParams{ItemID: it, LocationID: loc, Reason: "x"})
			return err
		}, "quantity"},
		{"stocktake nothing", func() error {
			_, err := inventory.Stocktake(ctx, tb.db, tb.sys, inventory.StocktakeParams{LocationID: loc})
			return err
		}, "lines"},
		{"stocktake negative count", func() error {
			_, err := inventory.Stocktake(ctx, tb.db, tb.sys, inventory.StocktakeParams{LocationID: loc,
				Lines: []inventory.StocktakeLine{{ItemID: it, Counted: q("-1")}}})
			return err
		}, "lines.0.counted"},
		{"stocktake twice the same", func() error {
			_, err := inventory.Stocktake(ctx, tb.db, tb.sys, inventory.StocktakeParams{LocationID: loc,
				Lines: []inventory.StocktakeLine{{ItemID: it, Counted: q("1")}, {ItemID: it, Counted: q("2")}}})
			return err
		}, "lines.1.item_id"},
		{"reserve without reference", func() error {
			_, err := inventory.Reserve(ctx, tb.db, tb.sys, inventory.ReserveParams{ItemID: it, LocationID: loc, Quantity: q("1")})
			return err
		}, "reference"},
		{"reserve nothing", func() error {
			_, err := inventory.Reserve(ctx, tb.db, tb.sys, inventory.ReserveParams{ItemID: it, LocationID: loc, Reference: "x"})
			return err
		}, "quantity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.run()
			requireCode(t, err, store.Invalid, "")
			var se *store.Error
			require.ErrorAs(t, err, &se)
			require.Contains(t, se.Fields, tc.field, "%v", err)
		})
	}
	require.Equal(t, q("5"), tb.onHand(ctx, t, tb.sys, it, loc), "nothing refused changed stock")
	require.Empty(t, ledgerInvariants(ctx, t, tb.db, tb.a))
}

func TestTracking(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	lot := tb.itemCreate(ctx, t, tb.sys, inventory.ItemFields{SKU: "PAINT", Name: "Paint", Unit: "l", Tracking: inventory.TrackBatch})
	ser := tb.itemCreate(ctx, t, tb.sys, inventory.ItemFields{SKU: "DRILL", Name: "Drill", Unit: "ea", Tracking: inventory.TrackSerial})
	recv := func(item store.ID, batch string, qty inventory.Qty, loc store.ID) error {
		_, err := inventory.Receive(ctx, tb.db, tb.sys, inventory.ReceiveParams{ItemID: item, LocationID: loc, Batch: batch, Quantity: qty, Currency: "EUR", UnitCost: 1000})
		return err
	}
	requireCode(t, recv(lot.ID, "", q("1"), tb.bin1.ID), store.Invalid, "enter the batch")
	require.NoError(t, recv(lot.ID, "B-7", q("2.5"), tb.bin1.ID))
	require.NoError(t, recv(lot.ID, "B-8", q("1.25"), tb.bin1.ID))
	requireCode(t, recv(ser.ID, "", q("1"), tb.bin1.ID), store.Invalid, "serial number")
	requireCode(t, recv(ser.ID, "SN1", q("2"), tb.bin1.ID), store.Invalid, "one at a time")
	require.NoError(t, recv(ser.ID, "SN1", q("1"), tb.bin1.ID))
	err := recv(ser.ID, "SN1", q("1"), tb.bin2.ID)
	requireCode(t, err, store.Invalid, "already in stock")
	require.False(t, inventory.IsInsufficientStock(err), "other invalid input is not a shortage")
	require.NoError(t, recv(ser.ID, "SN2", q("1"), tb.bin2.ID))

	_, err = inventory.Issue(ctx, tb.db, tb.sys, inventory.IssueParams{ItemID: lot.ID, LocationID: tb.bin1.ID, Batch: "B-8", Quantity: q("2")})
	requireCode(t, err, store.Invalid, "Insufficient stock: 1.25 l on hand")
	require.True(t, inventory.IsInsufficientStock(err))
	_, err = inventory.Transfer(ctx, tb.db, tb.sys, inventory.TransferParams{ItemID: ser.ID, FromLocationID: tb.bin1.ID, ToLocationID: tb.bin2.ID, Batch: "SN1", Quantity: q("1")})
	require.NoError(t, err)
	_, err = inventory.Stocktake(ctx, tb.db, tb.sys, inventory.StocktakeParams{LocationID: tb.bin2.ID,
		Lines: []inventory.StocktakeLine{{ItemID: ser.ID, Batch: "SN1", Counted: q("2")}}})
	requireCode(t, err, store.Invalid, "0 or 1")

	levels, err := inventory.StockLevels(ctx, tb.db, tb.sys, inventory.StockLevelParams{LocationID: &tb.wh.ID})
	require.NoError(t, err)
	got := map[string]inventory.Qty{}
	for _, l := range levels {
		got[l.SKU+"/"+l.LocationCode+"/"+l.Batch] = l.OnHand
	}
	require.Equal(t, map[string]inventory.Qty{"PAINT/WH1-A1/B-7": q("2.5"), "PAINT/WH1-A1/B-8": q("1.25"),
		"DRILL/WH1-A2/SN1": q("1"), "DRILL/WH1-A2/SN2": q("1")}, got)
	require.Empty(t, ledgerInvariants(ctx, t, tb.db, tb.a))
}

func TestReservations(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tb.receive(ctx, t, tb.item.ID, tb.bin1.ID, 10, 100)
	emp := tb.as["employee"]
	r1, err := inventory.Reserve(ctx, tb.db, emp, inventory.ReserveParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("6"), Reference: "SO-1"})
	require.NoError(t, err)
	_, err = inventory.Reserve(ctx, tb.db, emp, inventory.ReserveParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("5"), Reference: "SO-2"})
	requireCode(t, err, store.Invalid, "Insufficient stock: 10 ea on hand, 6 reserved at WH1-A1")

	// Unreserved stock only for issues without the reservation.
	_, err = inventory.Issue(ctx, tb.db, emp, inventory.IssueParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("5")})
	requireCode(t, err, store.Invalid, "Insufficient stock")
	_, err = inventory.Issue(ctx, tb.db, emp, inventory.IssueParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("4")})
	require.NoError(t, err)

	// Consume the reservation in two issues.
	m, err := inventory.Issue(ctx, tb.db, emp, inventory.IssueParams{ItemID: tb.item.ID, ReservationID: &r1.ID, Quantity: q("4"),
		MovementInfo: inventory.MovementInfo{Reference: "SO-1"}})
	require.NoError(t, err)
	require.Equal(t, tb.bin1.ID, m.Lines[0].LocationID, "the location comes from the reservation")
	_, err = inventory.Issue(ctx, tb.db, emp, inventory.IssueParams{ItemID: tb.item.ID, ReservationID: &r1.ID, Quantity: q("3")})
	requireCode(t, err, store.Invalid, "holds only 2")
	_, err = inventory.Issue(ctx, tb.db, emp, inventory.IssueParams{ItemID: tb.itemB.ID, ReservationID: &r1.ID, Quantity: q("1")})
	requireCode(t, err, store.Invalid, "another item")
	_, err = inventory.Issue(ctx, tb.db, emp, inventory.IssueParams{ItemID: tb.item.ID, ReservationID: &r1.ID, Quantity: q("2")})
	require.NoError(t, err)
	r1, err = inventory.ReservationGet(ctx, tb.db, emp, r1.ID)
	require.NoError(t, err)
	require.Equal(t, inventory.ReservationConsumed, r1.Status)
	_, err = inventory.ReservationRelease(ctx, tb.db, emp, r1.ID)
	requireCode(t, err, store.Invalid, "consumed already")

	tb.receive(ctx, t, tb.item.ID, tb.bin1.ID, 3, 100)
	r2, err := inventory.Reserve(ctx, tb.db, emp, inventory.ReserveParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("3"), Reference: "SO-3"})
	require.NoError(t, err)
	open, err := inventory.ReservationList(ctx, tb.db, emp, tb.item.ID)
	require.NoError(t, err)
	require.Len(t, open, 1)
	rel, err := inventory.ReservationRelease(ctx, tb.db, emp, r2.ID)
	require.NoError(t, err)
	require.Equal(t, inventory.ReservationReleased, rel.Status)
	require.Equal(t, inventory.Qty(0), rel.Remaining())
	_, err = inventory.Issue(ctx, tb.db, emp, inventory.IssueParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("3")})
	require.NoError(t, err)
	require.Empty(t, ledgerInvariants(ctx, t, tb.db, tb.a))
}

func TestStocktakePostsDifferences(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	nut := tb.itemCreate(ctx, t, tb.sys, inventory.ItemFields{SKU: "NUT", Name: "Nut", Unit: "ea"})
	wire := tb.itemCreate(ctx, t, tb.sys, inventory.ItemFields{SKU: "WIRE", Name: "Wire", Unit: "m"})
	tb.receive(ctx, t, tb.item.ID, tb.bin1.ID, 10, 100)
	tb.receive(ctx, t, nut.ID, tb.bin1.ID, 7, 100)
	tb.receive(ctx, t, wire.ID, tb.bin1.ID, 3, 100)
	mgr := tb.as["manager"]

	m, err := inventory.Stocktake(ctx, tb.db, mgr, inventory.StocktakeParams{LocationID: tb.bin1.ID, Lines: []inventory.StocktakeLine{
		{ItemID: tb.item.ID, Counted: q("8")}, {ItemID: nut.ID, Counted: q("7")}, {ItemID: wire.ID, Counted: q("3.75")}}})
	require.NoError(t, err)
	require.Equal(t, inventory.KindStocktake, m.Kind)
	diffs := map[store.ID]inventory.Qty{}
	for _, l := range m.Lines {
		diffs[l.ItemID] = l.Quantity
	}
	require.Equal(t, map[store.ID]inventory.Qty{tb.item.ID: q("-2"), wire.ID: q("0.75")}, diffs, "a matching count leaves no line")

	// A full count zeroes what was not counted.
	m, err = inventory.Stocktake(ctx, tb.db, mgr, inventory.StocktakeParams{LocationID: tb.bin1.ID, Full: true,
		Lines: []inventory.StocktakeLine{{ItemID: nut.ID, Counted: q("9")}}})
	require.NoError(t, err)
	diffs = map[store.ID]inventory.Qty{}
	for _, l := range m.Lines {
		diffs[l.ItemID] = l.Quantity
	}
	require.Equal(t, map[store.ID]inventory.Qty{tb.item.ID: q("-8"), nut.ID: q("2"), wire.ID: q("-3.75")}, diffs)
	require.Equal(t, inventory.Qty(0), tb.onHand(ctx, t, mgr, tb.item.ID, tb.bin1.ID))
	require.Equal(t, q("9"), tb.onHand(ctx, t, mgr, nut.ID, tb.bin1.ID))

	_, err = inventory.Stocktake(ctx, tb.db, tb.as["employee"], inventory.StocktakeParams{LocationID: tb.bin1.ID,
		Lines: []inventory.StocktakeLine{{ItemID: nut.ID, Counted: q("1")}}})
	requireCode(t, err, store.Forbidden, "")
	require.Empty(t, ledgerInvariants(ctx, t, tb.db, tb.a))
}

func TestMovementReverse(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	mgr := tb.as["manager"]
	rec := tb.receive(ctx, t, tb.item.ID, tb.bin1.ID, 10, 100)
	tr, err := inventory.Transfer(ctx, tb.db, mgr, inventory.TransferParams{ItemID: tb.item.ID, FromLocationID: tb.bin1.ID,
		ToLocationID: tb.bin2.ID, Quantity: q("4"), MovementInfo: inventory.MovementInfo{Reference: "T-1"}})
	require.NoError(t, err)
	require.Len(t, tr.Lines, 2)

	rev, err := inventory.MovementReverse(ctx, tb.db, mgr, inventory.MovementReverseParams{MovementID: tr.ID, Note: "wrong bin"})
	require.NoError(t, err)
	require.Equal(t, inventory.KindReversal, rev.Kind)
	require.Equal(t, tr.ID, *rev.ReversesID)
	require.Equal(t, "T-1", rev.Reference)
	require.Equal(t, q("10"), tb.onHand(ctx, t, mgr, tb.item.ID, tb.bin1.ID))
	require.Equal(t, inventory.Qty(0), tb.onHand(ctx, t, mgr, tb.item.ID, tb.bin2.ID))

	_, err = inventory.MovementReverse(ctx, tb.db, mgr, inventory.MovementReverseParams{MovementID: tr.ID})
	requireCode(t, err, store.Invalid, "already been reversed")
	_, err = inventory.MovementReverse(ctx, tb.db, mgr, inventory.MovementReverseParams{MovementID: rev.ID})
	requireCode(t, err, store.Invalid, "cannot be reversed")
	_, err = inventory.MovementReverse(ctx, tb.db, tb.as["employee"], inventory.MovementReverseParams{MovementID: rec.ID})
	requireCode(t, err, store.Forbidden, "")
	_, err = inventory.MovementReverse(ctx, tb.db, mgr, inventory.MovementReverseParams{MovementID: store.NewID()})
	requireCode(t, err, store.NotFound, "")

	// Two managers reverse the receipt at once: one wins.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = inventory.MovementReverse(ctx, tb.db, mgr, inventory.MovementReverseParams{MovementID: rec.ID})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			requireCode(t, err, store.Invalid, "already been reversed")
		}
	}
	require.Equal(t, 1, ok)
	require.Equal(t, inventory.Qty(0), tb.onHand(ctx, t, mgr, tb.item.ID, tb.bin1.ID))

	got, err := inventory.MovementGet(ctx, tb.db, tb.as["auditor"], tr.ID)
	require.NoError(t, err)
	require.Equal(t, tr.ID, got.ID)
	require.Len(t, got.Lines, 2)
	page, err := inventory.MovementList(ctx, tb.db, tb.as["auditor"], inventory.MovementListParams{ItemID: &tb.item.ID, Limit: 2})
	require.NoError(t, err)
	require.Len(t, page.Lines, 2)
	var all []inventory.MovementLine
	p := inventory.MovementListParams{ItemID: &tb.item.ID, Limit: 2}
	for {
		res, err := inventory.MovementList(ctx, tb.db, tb.sys, p)
		require.NoError(t, err)
		all = append(all, res.Lines...)
		if res.Next == "" {
			break
		}
		p.After = res.Next
	}
	require.Len(t, all, 1+2+2+1, "receipt, transfer, its reversal, the receipt's reversal")
	kinds, err := inventory.MovementList(ctx, tb.db, tb.sys, inventory.MovementListParams{Kind: inventory.KindReversal})
	require.NoError(t, err)
	require.Len(t, kinds.Lines, 3)
	_, err = inventory.MovementList(ctx, tb.db, tb.sys, inventory.MovementListParams{Kind: "theft"})
	requireCode(t, err, store.Invalid, "")
	require.Empty(t, ledgerInvariants(ctx, t, tb.db, tb.a))
}

func TestPermissions(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tb.receive(ctx, t, tb.item.ID, tb.bin1.ID, 100, 100)
	type op struct {
		name string
		need identity.Permission
		run  func(sc store.Scope) error
	}
	ops := []op{
		{"ItemGet", identity.InventoryRead, func(sc store.Scope) error { _, err := inventory.ItemGet(ctx, tb.db, sc, tb.item.ID); return err }},
		{"ItemList", identity.InventoryRead, func(sc store.Scope) error {
			_, err := inventory.ItemList(ctx, tb.db, sc, inventory.ItemListParams{})
			return err
		}},
		{"StockValue", identity.InventoryRead, func(sc store.Scope) error { _, err := inventory.StockValue(ctx, tb.db, sc); return err }},
		{"Receive", identity.InventoryWrite, func(sc store.Scope) error {
			_, err := inventory.Receive(ctx, tb.db, sc, inventory.ReceiveParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("1"), Currency: "EUR"})
			return err
		}},
		{"Issue", identity.InventoryWrite, func(sc store.Scope) error {
			_, err := inventory.Issue(ctx, tb.db, sc, inventory.IssueParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("1")})
			return err
		}},
		{"Transfer", identity.InventoryWrite, func(sc store.Scope) error {
			_, err := inventory.Transfer(ctx, tb.db, sc, inventory.TransferParams{ItemID: tb.item.ID, FromLocationID: tb.bin1.ID, ToLocationID: tb.bin2.ID, Quantity: q("1")})
			return err
		}},
		{"Reserve", identity.InventoryWrite, func(sc store.Scope) error {
			_, err := inventory.Reserve(ctx, tb.db, sc, inventory.ReserveParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("1"), Reference: "x"})
			return err
		}},
		{"Adjust", identity.InventoryAdjust, func(sc store.Scope) error {
			_, err := inventory.Adjust(ctx, tb.db, sc, inventory.AdjustParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("1"), Reason: "found"})
			return err
		}},
		{"ItemCreate", identity.InventoryAdjust, func(sc store.Scope) error {
			_, err := inventory.ItemCreate(ctx, tb.db, sc, inventory.ItemFields{SKU: "P-" + store.NewID().String()[28:], Name: "P", Unit: "ea"})
			return err
		}},
		{"LocationCreate", identity.InventoryAdjust, func(sc store.Scope) error {
			_, err := inventory.LocationCreate(ctx, tb.db, sc, inventory.LocationCreateParams{Code: "L-" + store.NewID().String()[28:], Name: "L"})
			return err
		}},
	}
	for _, role := range identity.Roles {
		for _, o := range ops {
			err := o.run(tb.as[role])
			if role.Can(o.need) {
				require.NoError(t, err, "%s %s", role, o.name)
			} else {
				requireCode(t, err, store.Forbidden, "")
			}
		}
	}
	// An OAuth client needs the scope; a stranger (no membership) nothing.
	client := store.Scope{TenantID: tb.a, ClientID: store.NewID(), ClientScopes: []string{string(identity.InventoryRead)}}
	_, err := inventory.ItemGet(ctx, tb.db, client, tb.item.ID)
	require.NoError(t, err)
	_, err = inventory.Issue(ctx, tb.db, client, inventory.IssueParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("1")})
	requireCode(t, err, store.Forbidden, "")
	_, err = inventory.ItemGet(ctx, tb.db, store.Scope{TenantID: tb.a, ActorID: store.NewID()}, tb.item.ID)
	requireCode(t, err, store.Forbidden, "")
	require.Empty(t, ledgerInvariants(ctx, t, tb.db, tb.a))
}

// TestCrossTenant: tenant B cannot see, move, reserve, count, reverse or change anything of tenant A.
func TestCrossTenant(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	rec := tb.receive(ctx, t, tb.item.ID, tb.bin1.ID, 10, 100)
	res, err := inventory.Reserve(ctx, tb.db, tb.sys, inventory.ReserveParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("2"), Reference: "SO"})
	require.NoError(t, err)
	b := tb.sysB
	// B's own item and location, mixed with A's ids, must not reach A's rows either.
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"ItemGet", func() error { _, err := inventory.ItemGet(ctx, tb.db, b, tb.item.ID); return err }},
		{"ItemUpdate", func() error {
			_, err := inventory.ItemUpdate(ctx, tb.db, b, inventory.ItemUpdateParams{ID: tb.item.ID, Version: 1,
				ItemFields: inventory.ItemFields{SKU: "X", Name: "X", Unit: "ea"}})
			return err
		}},
		{"ItemDelete", func() error { _, err := inventory.ItemDelete(ctx, tb.db, b, tb.item.ID, 1); return err }},
		{"ItemRestore", func() error { _, err := inventory.ItemRestore(ctx, tb.db, b, tb.item.ID, 1); return err }},
		{"LocationGet", func() error { _, err := inventory.LocationGet(ctx, tb.db, b, tb.bin1.ID); return err }},
		{"LocationUpdate", func() error {
			_, err := inventory.LocationUpdate(ctx, tb.db, b, inventory.LocationUpdateParams{ID: tb.bin1.ID, Version: 1, Code: "X", Name: "X"})
			return err
		}},
		{"LocationDelete", func() error { _, err := inventory.LocationDelete(ctx, tb.db, b, tb.bin2.ID, 1); return err }},
		{"LocationRestore", func() error { _, err := inventory.LocationRestore(ctx, tb.db, b, tb.bin2.ID, 1); return err }},
		{"BinInOtherTenantsWarehouse", func() error {
			_, err := inventory.LocationCreate(ctx, tb.db, b, inventory.LocationCreateParams{WarehouseID: &tb.wh.ID, Code: "X", Name: "X"})
			return notFoundOrField(err, "warehouse_id")
		}},
		{"ReceiveItemOfA", func() error {
			_, err := inventory.Receive(ctx, tb.db, b, inventory.ReceiveParams{ItemID: tb.item.ID, LocationID: tb.whB.ID, Quantity: q("1"), Currency: "EUR"})
			return err
		}},
		{"ReceiveIntoLocationOfA", func() error {
			_, err := inventory.Receive(ctx, tb.db, b, inventory.ReceiveParams{ItemID: tb.itemB.ID, LocationID: tb.bin1.ID, Quantity: q("1"), Currency: "EUR"})
			return err
		}},
		{"Issue", func() error {
			_, err := inventory.Issue(ctx, tb.db, b, inventory.IssueParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("1")})
			return err
		}},
		{"IssueReservationOfA", func() error {
			_, err := inventory.Issue(ctx, tb.db, b, inventory.IssueParams{ItemID: tb.itemB.ID, ReservationID: &res.ID, Quantity: q("1")})
			return err
		}},
		{"Transfer", func() error {
			_, err := inventory.Transfer(ctx, tb.db, b, inventory.TransferParams{ItemID: tb.item.ID, FromLocationID: tb.bin1.ID, ToLocationID: tb.whB.ID, Quantity: q("1")})
			return err
		}},
		{"Adjust", func() error {
			_, err := inventory.Adjust(ctx, tb.db, b, inventory.AdjustParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("1"), Reason: "x"})
			return err
		}},
		{"Stocktake", func() error {
			_, err := inventory.Stocktake(ctx, tb.db, b, inventory.StocktakeParams{LocationID: tb.bin1.ID, Full: true})
			return err
		}},
		{"Reserve", func() error {
			_, err := inventory.Reserve(ctx, tb.db, b, inventory.ReserveParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("1"), Reference: "x"})
			return err
		}},
		{"ReservationGet", func() error { _, err := inventory.ReservationGet(ctx, tb.db, b, res.ID); return err }},
		{"ReservationRelease", func() error { _, err := inventory.ReservationRelease(ctx, tb.db, b, res.ID); return err }},
		{"MovementGet", func() error { _, err := inventory.MovementGet(ctx, tb.db, b, rec.ID); return err }},
		{"MovementReverse", func() error {
			_, err := inventory.MovementReverse(ctx, tb.db, b, inventory.MovementReverseParams{MovementID: rec.ID})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireCode(t, tc.run(), store.NotFound, "")
		})
	}

	// Lists of B hold none of A's rows.
	items, err := inventory.ItemList(ctx, tb.db, b, inventory.ItemListParams{})
	require.NoError(t, err)
	require.Len(t, items.Items, 1)
	require.Equal(t, tb.itemB.ID, items.Items[0].ID)
	locs, err := inventory.LocationList(ctx, tb.db, b, true)
	require.NoError(t, err)
	require.Len(t, locs, 1)
	levels, err := inventory.StockLevels(ctx, tb.db, b, inventory.StockLevelParams{ItemID: &tb.item.ID, IncludeEmpty: true})
	require.NoError(t, err)
	require.Empty(t, levels)
	moves, err := inventory.MovementList(ctx, tb.db, b, inventory.MovementListParams{})
	require.NoError(t, err)
	require.Empty(t, moves.Lines)
	resv, err := inventory.ReservationList(ctx, tb.db, b, tb.item.ID)
	require.NoError(t, err)
	require.Empty(t, resv)
	val, err := inventory.StockValue(ctx, tb.db, b)
	require.NoError(t, err)
	require.Zero(t, val.Total)
	low, err := inventory.LowStockCrossings(ctx, tb.db, tb.b)
	require.NoError(t, err)
	require.Empty(t, low)

	// A is untouched.
	require.Equal(t, q("10"), tb.onHand(ctx, t, tb.sys, tb.item.ID, tb.bin1.ID))
	require.Empty(t, ledgerInvariants(ctx, t, tb.db, tb.a))
}

// notFoundOrField turns the form error a foreign id gets where a form offers a choice ("choose a warehouse
// from the list") into NotFound: either way the other tenant's row was not found.
func notFoundOrField(err error, field string) error {
	var se *store.Error
	if errors.As(err, &se) && se.Code == store.Invalid && se.Fields[field] != "" {
		return store.Errorf(store.NotFound, "%s", se.Fields[field])
	}
	return err
}

func TestMovingAverageCost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		onHand         inventory.Qty
		avg            int64
		qty            inventory.Qty
		cost, want     int64
		value, wantVal int64 // value of onHand+qty at want
	}{
		{"first receipt", 0, 0, q("10"), 250, 250, 0, 2500},
		{"same cost", q("10"), 250, q("10"), 250, 250, 0, 5000},
		{"weighted", q("10"), 100, q("30"), 200, 175, 0, 7000},
		{"rounds half to even (down)", q("1"), 100, q("1"), 101, 100, 0, 200},    // 100.5 → 100
		{"rounds half to even (up)", q("1"), 101, q("1"), 102, 102, 0, 204},      // 101.5 → 102
		{"rounds to nearest", q("3"), 100, q("1"), 101, 100, 0, 400},             // 100.25 → 100
		{"fractional quantities", q("0.5"), 1000, q("0.25"), 1003, 1001, 0, 751}, // 1001 × 0.75 = 750.75 → 751
		{"negative stock before", q("-2"), 300, q("5"), 120, 120, 0, 360},
		{"zero cost receipt", q("4"), 100, q("4"), 0, 50, 0, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := inventory.MovingAverageCost(tc.onHand, tc.avg, tc.qty, tc.cost)
			require.Equal(t, tc.want, got)
			v, err := inventory.StockValueOf(tc.onHand+tc.qty, got)
			require.NoError(t, err)
			require.Equal(t, tc.wantVal, v)
		})
	}
	// Half-even on values: 0.5 → 0, 1.5 → 2, -0.5 → 0.
	for _, tc := range []struct {
		qty  inventory.Qty
		avg  int64
		want int64
	}{{q("0.5"), 1, 0}, {q("1.5"), 1, 2}, {q("2.5"), 1, 2}, {q("-0.5"), 1, 0}, {q("-1.5"), 1, -2}} {
		v, err := inventory.StockValueOf(tc.qty, tc.avg)
		require.NoError(t, err)
		require.Equal(t, tc.want, v, "%s × %d", tc.qty, tc.avg)
	}
}

func TestValuationAndLowStock(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	admin := tb.as["admin"]
	it := tb.itemCreate(ctx, t, admin, inventory.ItemFields{SKU: "GLUE", Name: "Glue", Unit: "ea", ReorderPoint: q("5"), ReorderQty: q("20")})
	tb.receive(ctx, t, it.ID, tb.bin1.ID, 10, 100)
	tb.receive(ctx, t, it.ID, tb.bin2.ID, 30, 200)
	got, err := inventory.ItemGet(ctx, tb.db, admin, it.ID)
	require.NoError(t, err)
	require.Equal(t, int64(175), got.AvgCost)
	require.Equal(t, int64(7000), got.StockValue)
	require.Equal(t, q("40"), got.OnHand)

	val, err := inventory.StockValue(ctx, tb.db, admin)
	require.NoError(t, err)
	require.Equal(t, "EUR", val.Currency)
	require.Equal(t, int64(7000), val.Total)
	require.Len(t, val.Locations, 2)
	require.Equal(t, "WH1-A1", val.Locations[0].Code)
	require.Equal(t, int64(1750), val.Locations[0].Value)
	require.Equal(t, int64(5250), val.Locations[1].Value)

	// An issue keeps the average; the value follows the quantity.
	_, err = inventory.Issue(ctx, tb.db, admin, inventory.IssueParams{ItemID: it.ID, LocationID: tb.bin2.ID, Quantity: q("30")})
	require.NoError(t, err)
	_, err = inventory.Issue(ctx, tb.db, admin, inventory.IssueParams{ItemID: it.ID, LocationID: tb.bin1.ID, Quantity: q("5")})
	require.NoError(t, err)
	got, err = inventory.ItemGet(ctx, tb.db, admin, it.ID)
	require.NoError(t, err)
	require.Equal(t, int64(175), got.AvgCost)
	require.Equal(t, int64(875), got.StockValue)
	require.True(t, got.Low())

	// A caller whose follow-up fails (its notifications, say) rolls the marks back with it: the crossing
	// is reported again by the next run, not lost.
	errNotify := errors.New("notifications failed")
	err = tb.db.InTenant(ctx, store.Scope{TenantID: tb.a}, func(tx *store.Tx) error {
		cross, err := inventory.LowStockCrossingsTx(ctx, tx)
		require.NoError(t, err)
		require.Len(t, cross, 1)
		return errNotify
	})
	require.ErrorIs(t, err, errNotify)

	// Crossing reported once; again only after rising above and falling again.
	cross, err := inventory.LowStockCrossings(ctx, tb.db, tb.a)
	require.NoError(t, err)
	require.Len(t, cross, 1)
	require.Equal(t, "GLUE", cross[0].SKU)
	cross, err = inventory.LowStockCrossings(ctx, tb.db, tb.a)
	require.NoError(t, err)
	require.Empty(t, cross, "once per crossing")
	_, err = inventory.Issue(ctx, tb.db, admin, inventory.IssueParams{ItemID: it.ID, LocationID: tb.bin1.ID, Quantity: q("1")})
	require.NoError(t, err)
	cross, err = inventory.LowStockCrossings(ctx, tb.db, tb.a)
	require.NoError(t, err)
	require.Empty(t, cross, "still below: no new crossing")
	tb.receive(ctx, t, it.ID, tb.bin1.ID, 10, 175)
	cross, err = inventory.LowStockCrossings(ctx, tb.db, tb.a)
	require.NoError(t, err)
	require.Empty(t, cross, "above the reorder point")
	_, err = inventory.Issue(ctx, tb.db, admin, inventory.IssueParams{ItemID: it.ID, LocationID: tb.bin1.ID, Quantity: q("10")})
	require.NoError(t, err)
	cross, err = inventory.LowStockCrossings(ctx, tb.db, tb.a)
	require.NoError(t, err)
	require.Len(t, cross, 1, "crossed again")
}

// TestLedgerAppendOnly: the app role cannot change or delete ledger rows, neither through the parent table
// nor through a partition, and a partition queried directly shows only the tenant's rows.
func TestLedgerAppendOnly(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tb.receive(ctx, t, tb.item.ID, tb.bin1.ID, 10, 100)
	_, err := inventory.Receive(ctx, tb.db, tb.sysB, inventory.ReceiveParams{ItemID: tb.itemB.ID, LocationID: tb.whB.ID, Quantity: q("1"), Currency: "EUR"})
	require.NoError(t, err)
	part := "stock_movements_" + time.Now().UTC().Format("2006_01")
	for _, query := range []string{
		`UPDATE stock_movements SET quantity = 1000`,
		`DELETE FROM stock_movements`,
		`TRUNCATE stock_movements`,
		`UPDATE ` + part + ` SET quantity = 1000`,
		`DELETE FROM ` + part,
		`DELETE FROM stock_movements_default`,
		`DELETE FROM stock_movement_reversals`,
	} {
		err := tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, query)
			return err
		})
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr, query)
		require.Equal(t, "42501", pgErr.Code, query)
	}
	var tenants []store.ID
	require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &tenants, `SELECT tenant_id FROM `+part)
	}))
	require.Equal(t, []store.ID{tb.a}, tenants)

	// Every partition has forced row-level security and its tenant policy (the catalog test checks all
	// tables; this names the ledger's partitions explicitly).
	conn, err := pgx.Connect(ctx, tb.ownerURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var parts, protected int
	require.NoError(t, conn.QueryRow(ctx, `
		SELECT count(*), count(*) FILTER (WHERE c.relrowsecurity AND c.relforcerowsecurity
			AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'stock_movements'::regclass`).Scan(&parts, &protected))
	require.Equal(t, 36+1, parts, "2025-01 … 2027-12 and the default")
	require.Equal(t, parts, protected)
}

// TestHistoryInEarlierMonths: movements dated in the past land in their month's partition and list in
// time order.
func TestHistoryInEarlierMonths(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	jan := time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	for i, at := range []time.Time{jan, jan.AddDate(0, 3, 0), jan.AddDate(0, 6, 0)} {
		_, err := inventory.Receive(ctx, tb.db, tb.sys, inventory.ReceiveParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID,
			Quantity: inventory.Units(int64(i + 1)), Currency: "EUR", UnitCost: 100, MovementInfo: inventory.MovementInfo{OccurredAt: at}})
		require.NoError(t, err)
	}
	old := time.Date(2019, 5, 1, 0, 0, 0, 0, time.UTC) // before the first monthly partition: the default one
	_, err := inventory.Receive(ctx, tb.db, tb.sys, inventory.ReceiveParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID,
		Quantity: q("1"), Currency: "EUR", MovementInfo: inventory.MovementInfo{OccurredAt: old}})
	require.NoError(t, err)
	res, err := inventory.MovementList(ctx, tb.db, tb.sys, inventory.MovementListParams{From: jan, To: jan.AddDate(0, 4, 0)})
	require.NoError(t, err)
	require.Len(t, res.Lines, 2)
	require.True(t, res.Lines[0].OccurredAt.After(res.Lines[1].OccurredAt))
	var n int
	require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &n, `SELECT count(*) FROM stock_movements_2025_04`)
	}))
	require.Equal(t, 1, n)
	require.Empty(t, ledgerInvariants(ctx, t, tb.db, tb.a))
}

// TestItemHistoryBounds: an item's first_movement_at starts at its first movement and moves back with every
// older one, transfers included (they leave the item's totals alone), so ItemHistory, which reads only from
// it on, misses no line.
func TestItemHistoryBounds(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	history := func() []inventory.MovementLine {
		t.Helper()
		it, err := inventory.ItemGet(ctx, tb.db, tb.sys, tb.item.ID)
		require.NoError(t, err)
		res, err := inventory.ItemHistory(ctx, tb.db, tb.sys, it, "", 50)
		require.NoError(t, err)
		return res.Lines
	}
	first := func() *time.Time {
		t.Helper()
		it, err := inventory.ItemGet(ctx, tb.db, tb.sys, tb.item.ID)
		require.NoError(t, err)
		return it.FirstMovementAt
	}
	require.Nil(t, first(), "an item without movements")
	require.Empty(t, history())

	now := time.Now().UTC().Truncate(time.Microsecond)
	_, err := inventory.Receive(ctx, tb.db, tb.sys, inventory.ReceiveParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID,
		Quantity: q("10"), Currency: "EUR", UnitCost: 100, MovementInfo: inventory.MovementInfo{OccurredAt: now}})
	require.NoError(t, err)
	require.True(t, first().Equal(now), "first movement: %v", first())

	// A later issue leaves it; a transfer dated a year back moves it back although the totals stay.
	_, err = inventory.Issue(ctx, tb.db, tb.sys, inventory.IssueParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("1")})
	require.NoError(t, err)
	require.True(t, first().Equal(now))
	yearAgo := now.AddDate(-1, 0, 0)
	_, err = inventory.Transfer(ctx, tb.db, tb.sys, inventory.TransferParams{ItemID: tb.item.ID, FromLocationID: tb.bin1.ID,
		ToLocationID: tb.bin2.ID, Quantity: q("2"), MovementInfo: inventory.MovementInfo{OccurredAt: yearAgo}})
	require.NoError(t, err)
	require.True(t, first().Equal(yearAgo), "backdated transfer: %v", first())
	// One before every monthly partition (the default partition) too.
	old := time.Date(2019, 5, 1, 0, 0, 0, 0, time.UTC)
	_, err = inventory.Receive(ctx, tb.db, tb.sys, inventory.ReceiveParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID,
		Quantity: q("1"), Currency: "EUR", MovementInfo: inventory.MovementInfo{OccurredAt: old}})
	require.NoError(t, err)
	require.True(t, first().Equal(old))

	all, err := inventory.MovementList(ctx, tb.db, tb.sys, inventory.MovementListParams{ItemID: &tb.item.ID, Limit: 50})
	require.NoError(t, err)
	require.Len(t, all.Lines, 5, "receipt, issue, two transfer legs, old receipt")
	require.Equal(t, all.Lines, history())
}

// TestLedgerPagesAcrossMonths: the ledger reads its recent months first and older ones only when those
// run short; paging through lines spread over many months, with and without a filter, returns every line
// once, newest first, whatever the page size.
func TestLedgerPagesAcrossMonths(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	now := time.Now().UTC()
	var ats []time.Time
	for _, back := range []int{0, 0, 1, 2, 2, 5, 13, 40} { // months back; 40 is before the monthly partitions
		ats = append(ats, now.AddDate(0, -back, -1).Truncate(time.Second))
	}
	for i, at := range ats {
		_, err := inventory.Receive(ctx, tb.db, tb.sys, inventory.ReceiveParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID,
			Quantity: inventory.Units(int64(i + 1)), Currency: "EUR", UnitCost: 100, MovementInfo: inventory.MovementInfo{OccurredAt: at}})
		require.NoError(t, err)
	}
	_, err := inventory.Issue(ctx, tb.db, tb.sys, inventory.IssueParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("1"),
		MovementInfo: inventory.MovementInfo{OccurredAt: now.AddDate(0, -3, 0)}})
	require.NoError(t, err)

	all := func(p inventory.MovementListParams) []time.Time {
		t.Helper()
		var got []time.Time
		for range 20 {
			res, err := inventory.MovementList(ctx, tb.db, tb.sys, p)
			require.NoError(t, err)
			require.LessOrEqual(t, len(res.Lines), p.Limit)
			for _, l := range res.Lines {
				got = append(got, l.OccurredAt)
			}
			if res.Next == "" {
				return got
			}
			require.Len(t, res.Lines, p.Limit, "a page short of its limit has a next page")
			p.After = res.Next
		}
		t.Fatal("paging did not end")
		return nil
	}
	want := append([]time.Time{now.AddDate(0, -3, 0).Truncate(time.Microsecond)}, ats...)
	slices.SortFunc(want, func(a, b time.Time) int { return b.Compare(a) })
	for _, limit := range []int{1, 2, 3, 4, 9, 10, 50} {
		got := all(inventory.MovementListParams{Limit: limit})
		require.Len(t, got, len(want), "limit %d", limit)
		for i := range want {
			require.True(t, want[i].Equal(got[i]), "limit %d, line %d: %v, want %v", limit, i, got[i], want[i])
		}
		receipts := all(inventory.MovementListParams{Limit: limit, Kind: inventory.KindReceipt})
		require.Len(t, receipts, len(ats), "limit %d", limit)
		// A date range that ends months ago: its own recent months come first.
		to := now.AddDate(0, -2, 0)
		ranged := all(inventory.MovementListParams{Limit: limit, To: to})
		var n int
		for _, w := range want {
			if w.Before(to) {
				require.True(t, w.Equal(ranged[n]), "limit %d: %v, want %v", limit, ranged[n], w)
				n++
			}
		}
		require.Len(t, ranged, n)
	}
}
