package inventory_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/inventory"
)

func TestQty(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want inventory.Qty
		out  string
		ok   bool
	}{
		{"12", 12000, "12", true},
		{"12.5", 12500, "12.5", true},
		{"-0.125", -125, "-0.125", true},
		{"1,000.250", 1000250, "1000.25", true},
		{"0.0001", 0, "", false},
		{"abc", 0, "", false},
		{"", 0, "", false},
		{"1.", 0, "", false},
		{"9999999999999999", 0, "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := inventory.ParseQty(tc.in)
			if !tc.ok {
				requireCode(t, err, store.Invalid, "")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.out, got.String())
		})
	}
}

func TestItemCreateValidation(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	ok := inventory.ItemFields{SKU: "X-1", Name: "X", Unit: "ea"}
	for _, tc := range []struct {
		name  string
		edit  func(f *inventory.ItemFields)
		field string
	}{
		{"no sku", func(f *inventory.ItemFields) { f.SKU = " " }, "sku"},
		{"sku with space", func(f *inventory.ItemFields) { f.SKU = "A B" }, "sku"},
		{"long sku", func(f *inventory.ItemFields) { f.SKU = string(make([]byte, 65)) }, "sku"},
		{"no name", func(f *inventory.ItemFields) { f.Name = "" }, "name"},
		{"bad unit", func(f *inventory.ItemFields) { f.Unit = "furlong" }, "unit"},
		{"negative reorder point", func(f *inventory.ItemFields) { f.ReorderPoint = -1000 }, "reorder_point"},
		{"fractional reorder qty of whole unit", func(f *inventory.ItemFields) { f.ReorderQty = q("1.5") }, "reorder_qty"},
		{"bad tracking", func(f *inventory.ItemFields) { f.Tracking = "rfid" }, "tracking"},
		{"bad status", func(f *inventory.ItemFields) { f.Status = "gone" }, "status"},
		{"serial in kg", func(f *inventory.ItemFields) { f.Tracking, f.Unit = inventory.TrackSerial, "kg" }, "unit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := ok
			tc.edit(&f)
			_, err := inventory.ItemCreate(ctx, tb.db, tb.sys, f)
			requireCode(t, err, store.Invalid, "")
			var se *store.Error
			require.ErrorAs(t, err, &se)
			require.Contains(t, se.Fields, tc.field)
		})
	}
}

func TestItemLifecycle(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	admin := tb.as["admin"]

	it := tb.itemCreate(ctx, t, admin, inventory.ItemFields{SKU: "Cable-3", Name: "Cable 3 m", Unit: "m", Category: "Electrical",
		ReorderPoint: q("10"), ReorderQty: q("50.5")})
	require.Equal(t, "EUR", it.Currency)
	require.Equal(t, 1, it.Version)
	require.Equal(t, inventory.TrackNone, it.Tracking)
	require.Equal(t, inventory.ItemActive, it.Status)
	require.True(t, it.Low(), "nothing on hand is at or below 10")

	// SKUs are unique among live items, whatever their case.
	_, err := inventory.ItemCreate(ctx, tb.db, admin, inventory.ItemFields{SKU: "CABLE-3", Name: "Other", Unit: "m"})
	requireCode(t, err, store.Conflict, "CABLE-3 is in use")

	upd := inventory.ItemUpdateParams{ID: it.ID, Version: it.Version, ItemFields: inventory.ItemFields{SKU: "CABLE-3", Name: "Cable, 3 m",
		Unit: "m", Category: "Electrical", ReorderPoint: q("12")}}
	it2, err := inventory.ItemUpdate(ctx, tb.db, admin, upd)
	require.NoError(t, err)
	require.Equal(t, 2, it2.Version)
	require.Equal(t, "Cable, 3 m", it2.Name)
	_, err = inventory.ItemUpdate(ctx, tb.db, admin, upd) // stale version
	requireCode(t, err, store.Conflict, "changed by someone else")

	// Unit and tracking are fixed while stock exists; an item with stock cannot be deleted.
	tb.receive(ctx, t, it.ID, tb.bin1.ID, 5, 100)
	it2, err = inventory.ItemGet(ctx, tb.db, admin, it.ID)
	require.NoError(t, err)
	upd.Version, upd.Unit = it2.Version, "cm"
	_, err = inventory.ItemUpdate(ctx, tb.db, admin, upd)
	requireCode(t, err, store.Invalid, "unit can change only")
	_, err = inventory.ItemDelete(ctx, tb.db, admin, it.ID, it2.Version)
	requireCode(t, err, store.Invalid, "still has stock")
	_, err = inventory.Adjust(ctx, tb.db, admin, inventory.AdjustParams{ItemID: it.ID, LocationID: tb.bin1.ID, Quantity: q("-5"), Reason: "Scrapped"})
	require.NoError(t, err)
	it2, err = inventory.ItemGet(ctx, tb.db, admin, it.ID)
	require.NoError(t, err)

	// Deleting frees the SKU; restoring needs it free again.
	del, err := inventory.ItemDelete(ctx, tb.db, admin, it.ID, it2.Version)
	require.NoError(t, err)
	require.NotNil(t, del.DeletedAt)
	_, err = inventory.ItemDelete(ctx, tb.db, admin, it.ID, del.Version)
	requireCode(t, err, store.Invalid, "already deleted")
	_, err = inventory.Receive(ctx, tb.db, admin, inventory.ReceiveParams{ItemID: it.ID, LocationID: tb.bin1.ID, Quantity: q("1"), Currency: "EUR"})
	requireCode(t, err, store.Invalid, "deleted")
	reuse := tb.itemCreate(ctx, t, admin, inventory.ItemFields{SKU: "cable-3", Name: "New cable", Unit: "m"})
	_, err = inventory.ItemRestore(ctx, tb.db, admin, it.ID, del.Version)
	requireCode(t, err, store.Conflict, "Another item has the SKU")
	reuseDel, err := inventory.ItemDelete(ctx, tb.db, admin, reuse.ID, reuse.Version)
	require.NoError(t, err)
	restored, err := inventory.ItemRestore(ctx, tb.db, admin, it.ID, del.Version)
	require.NoError(t, err)
	require.Nil(t, restored.DeletedAt)
	_, err = inventory.ItemRestore(ctx, tb.db, admin, it.ID, restored.Version)
	requireCode(t, err, store.Invalid, "not deleted")
	_, err = inventory.ItemRestore(ctx, tb.db, admin, reuse.ID, reuseDel.Version)
	requireCode(t, err, store.Conflict, "")

	// Every change left an audit event.
	var actions []string
	require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &actions, `SELECT action FROM audit_events WHERE entity_id = $1 ORDER BY occurred_at, id`, it.ID.String())
	}))
	require.Equal(t, []string{"inventory.item_create", "inventory.item_update", "inventory.item_delete", "inventory.item_restore"}, actions)
}

func TestItemList(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	// 30 items with distinct names, stock and reorder points.
	for i := range 30 {
		it := tb.itemCreate(ctx, t, tb.sys, inventory.ItemFields{SKU: "SKU-" + string(rune('A'+i%26)) + string(rune('0'+i/26)),
			Name: "Widget " + string(rune('z'-i%26)), Unit: "ea", Category: []string{"Tools", "Parts"}[i%2], ReorderPoint: inventory.Units(5)})
		if i%3 == 0 {
			tb.receive(ctx, t, it.ID, tb.bin2.ID, int64(i+1), int64(100+i))
		}
	}
	walk := func(p inventory.ItemListParams) []inventory.Item {
		var all []inventory.Item
		for {
			res, err := inventory.ItemList(ctx, tb.db, tb.sys, p)
			require.NoError(t, err)
			all = append(all, res.Items...)
			if res.Next == "" {
				return all
			}
			p.After = res.Next
		}
	}
	for _, sort := range []inventory.ItemSort{inventory.SortSKU, inventory.SortName, inventory.SortOnHand, inventory.SortValue} {
		for _, desc := range []bool{false, true} {
			all := walk(inventory.ItemListParams{Sort: sort, Desc: desc, Limit: 7})
			require.Len(t, all, 31, "%s desc=%v", sort, desc) // and tb.item
			seen := map[store.ID]bool{}
			for i, it := range all {
				require.False(t, seen[it.ID], "item twice on the pages")
				seen[it.ID] = true
				if i == 0 {
					continue
				}
				prev := all[i-1]
				var c int
				switch sort {
				case inventory.SortOnHand:
					c = cmpInt(int64(prev.OnHand), int64(it.OnHand))
				case inventory.SortValue:
					c = cmpInt(prev.StockValue, it.StockValue)
				default:
					continue
				}
				if desc {
					c = -c
				}
				require.LessOrEqual(t, c, 0, "%s order", sort)
			}
		}
	}

	low := walk(inventory.ItemListParams{LowStock: true})
	for _, it := range low {
		require.True(t, it.Low())
	}
	require.NotEmpty(t, low)
	res, err := inventory.LowStockList(ctx, tb.db, tb.sys, inventory.LowStockListParams{})
	require.NoError(t, err)
	require.Len(t, res.Items, len(low))

	tools := walk(inventory.ItemListParams{Category: "tools"})
	require.Len(t, tools, 15)
	atBin2 := walk(inventory.ItemListParams{LocationID: &tb.bin2.ID})
	require.Len(t, atBin2, 10)
	atWH := walk(inventory.ItemListParams{LocationID: &tb.wh.ID})
	require.Len(t, atWH, 10, "a warehouse includes its bins")
	found := walk(inventory.ItemListParams{Search: "widget y"})
	require.Len(t, found, 2)
	found = walk(inventory.ItemListParams{Search: "sku-c"})
	require.Len(t, found, 2)
	found = walk(inventory.ItemListParams{Search: "%"})
	require.Empty(t, found, "wildcards are searched for literally")
	require.Empty(t, walk(inventory.ItemListParams{Deleted: true}))

	_, err = inventory.ItemList(ctx, tb.db, tb.sys, inventory.ItemListParams{Sort: "price; DROP TABLE x"})
	requireCode(t, err, store.Invalid, "")
	_, err = inventory.ItemList(ctx, tb.db, tb.sys, inventory.ItemListParams{After: "garbage"})
	requireCode(t, err, store.Invalid, "page link")
	first, err := inventory.ItemList(ctx, tb.db, tb.sys, inventory.ItemListParams{Limit: 2})
	require.NoError(t, err)
	_, err = inventory.ItemList(ctx, tb.db, tb.sys, inventory.ItemListParams{Limit: 2, After: first.Next, Sort: inventory.SortValue})
	requireCode(t, err, store.Invalid, "page link")
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestLocations(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	admin := tb.as["admin"]

	_, err := inventory.LocationCreate(ctx, tb.db, admin, inventory.LocationCreateParams{WarehouseID: &tb.bin1.ID, Code: "X", Name: "Bin in bin"})
	requireCode(t, err, store.Invalid, "")
	_, err = inventory.LocationCreate(ctx, tb.db, admin, inventory.LocationCreateParams{Code: "wh1-a1", Name: "Dup"})
	requireCode(t, err, store.Conflict, "in use")
	_, err = inventory.LocationCreate(ctx, tb.db, admin, inventory.LocationCreateParams{Code: "", Name: ""})
	requireCode(t, err, store.Invalid, "")

	list, err := inventory.LocationList(ctx, tb.db, admin, false)
	require.NoError(t, err)
	var codes []string
	for _, l := range list {
		codes = append(codes, l.Code)
	}
	require.Equal(t, []string{"WH1", "WH1-A1", "WH1-A2"}, codes)

	// Not empty: refused. The warehouse has bins: refused.
	tb.receive(ctx, t, tb.item.ID, tb.bin1.ID, 3, 100)
	_, err = inventory.LocationDelete(ctx, tb.db, admin, tb.bin1.ID, tb.bin1.Version)
	requireCode(t, err, store.Invalid, "still holds stock (BOLT-10)")
	_, err = inventory.LocationDelete(ctx, tb.db, admin, tb.wh.ID, tb.wh.Version)
	requireCode(t, err, store.Invalid, "still has bins")
	res, err := inventory.Reserve(ctx, tb.db, admin, inventory.ReserveParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("3"), Reference: "SO-1"})
	require.NoError(t, err)
	_, err = inventory.Transfer(ctx, tb.db, admin, inventory.TransferParams{ItemID: tb.item.ID, FromLocationID: tb.bin1.ID, ToLocationID: tb.bin2.ID, Quantity: q("3")})
	requireCode(t, err, store.Invalid, "Insufficient stock: 3 ea on hand, 3 reserved at WH1-A1")
	_, err = inventory.ReservationRelease(ctx, tb.db, admin, res.ID)
	require.NoError(t, err)
	_, err = inventory.Transfer(ctx, tb.db, admin, inventory.TransferParams{ItemID: tb.item.ID, FromLocationID: tb.bin1.ID, ToLocationID: tb.bin2.ID, Quantity: q("3")})
	require.NoError(t, err)

	// Empty now: deleted; moving stock there is refused; the code is free; restoring needs it free.
	del, err := inventory.LocationDelete(ctx, tb.db, admin, tb.bin1.ID, tb.bin1.Version)
	require.NoError(t, err)
	_, err = inventory.Receive(ctx, tb.db, admin, inventory.ReceiveParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("1"), Currency: "EUR"})
	requireCode(t, err, store.Invalid, "WH1-A1 is deleted")
	dup := tb.location(ctx, t, admin, &tb.wh.ID, "WH1-A1")
	_, err = inventory.LocationRestore(ctx, tb.db, admin, tb.bin1.ID, del.Version)
	requireCode(t, err, store.Conflict, "")
	_, err = inventory.LocationDelete(ctx, tb.db, admin, dup.ID, dup.Version)
	require.NoError(t, err)
	restored, err := inventory.LocationRestore(ctx, tb.db, admin, tb.bin1.ID, del.Version)
	require.NoError(t, err)
	require.Nil(t, restored.DeletedAt)

	// Negative stock, where allowed; refusing it again needs the negative levels gone.
	upd, err := inventory.LocationUpdate(ctx, tb.db, admin, inventory.LocationUpdateParams{ID: tb.bin1.ID, Version: restored.Version,
		Code: "WH1-A1", Name: "Pick face", AllowNegative: true})
	require.NoError(t, err)
	_, err = inventory.LocationUpdate(ctx, tb.db, admin, inventory.LocationUpdateParams{ID: tb.bin1.ID, Version: restored.Version, Code: "X", Name: "Y"})
	requireCode(t, err, store.Conflict, "changed by someone else")
	_, err = inventory.Issue(ctx, tb.db, admin, inventory.IssueParams{ItemID: tb.item.ID, LocationID: tb.bin1.ID, Quantity: q("2")})
	require.NoError(t, err)
	require.Equal(t, q("-2"), tb.onHand(ctx, t, admin, tb.item.ID, tb.bin1.ID))
	_, err = inventory.LocationUpdate(ctx, tb.db, admin, inventory.LocationUpdateParams{ID: tb.bin1.ID, Version: upd.Version,
		Code: "WH1-A1", Name: "Pick face", AllowNegative: false})
	requireCode(t, err, store.Invalid, "below zero")
	require.Empty(t, ledgerInvariants(ctx, t, tb.db, tb.a))
}
