package inventory_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/inventory"
)

func TestExpectGoods(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	p := inventory.ExpectGoodsParams{Reference: "AR-000042", Lines: []inventory.ExpectedLine{
		{LineNo: 1, ItemID: tb.item.ID, Quantity: inventory.Units(10)},
		{LineNo: 3, ItemID: tb.item.ID, LocationID: &tb.bin1.ID, Quantity: inventory.Units(5)},
	}}
	got, err := inventory.ExpectGoods(ctx, tb.db, tb.sys, p)
	require.NoError(t, err)
	require.Len(t, got, 2)
	// A retried hand-off expects nothing twice.
	got, err = inventory.ExpectGoods(ctx, tb.db, tb.sys, p)
	require.NoError(t, err)
	require.Len(t, got, 2)
	open, err := inventory.ExpectedList(ctx, tb.db, tb.as["employee"], inventory.ExpectedListParams{OpenOnly: true})
	require.NoError(t, err)
	require.Len(t, open, 2)

	// Invalid input and permissions.
	_, err = inventory.ExpectGoods(ctx, tb.db, tb.sys, inventory.ExpectGoodsParams{Reference: " "})
	requireCode(t, err, store.Invalid, "")
	_, err = inventory.ExpectGoods(ctx, tb.db, tb.as["auditor"], p)
	requireCode(t, err, store.Forbidden, "")
	// Another tenant's item is not found, and B sees none of A's expected goods.
	_, err = inventory.ExpectGoods(ctx, tb.db, tb.sysB, inventory.ExpectGoodsParams{Reference: "AR-000042",
		Lines: []inventory.ExpectedLine{{LineNo: 1, ItemID: tb.item.ID, Quantity: inventory.Units(1)}}})
	requireCode(t, err, store.NotFound, "")
	none, err := inventory.ExpectedList(ctx, tb.db, tb.sysB, inventory.ExpectedListParams{})
	require.NoError(t, err)
	require.Empty(t, none)

	// A receipt without the reference fulfils nothing; with it, the lowest line first, then the next.
	tb.receive(ctx, t, tb.item.ID, tb.wh.ID, 7, 100)
	_, err = inventory.Receive(ctx, tb.db, tb.sys, inventory.ReceiveParams{ItemID: tb.item.ID, LocationID: tb.wh.ID,
		Quantity: inventory.Units(12), UnitCost: 100, Currency: "EUR", MovementInfo: inventory.MovementInfo{Reference: "AR-000042"}})
	require.NoError(t, err)
	all, err := inventory.ExpectedList(ctx, tb.db, tb.sys, inventory.ExpectedListParams{Reference: "AR-000042"})
	require.NoError(t, err)
	byLine := map[int]inventory.ExpectedReceipt{}
	for _, e := range all {
		byLine[e.LineNo] = e
	}
	require.Equal(t, "fulfilled", byLine[1].Status)
	require.Equal(t, inventory.Units(10), byLine[1].Received)
	require.Equal(t, "open", byLine[3].Status)
	require.Equal(t, inventory.Units(2), byLine[3].Received)
	_, err = inventory.Receive(ctx, tb.db, tb.sys, inventory.ReceiveParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID,
		Quantity: inventory.Units(3), UnitCost: 100, Currency: "EUR", MovementInfo: inventory.MovementInfo{Reference: "AR-000042"}})
	require.NoError(t, err)
	open, err = inventory.ExpectedList(ctx, tb.db, tb.sys, inventory.ExpectedListParams{OpenOnly: true})
	require.NoError(t, err)
	require.Empty(t, open)
	require.Empty(t, ledgerInvariants(ctx, t, tb.db, tb.a))
}
