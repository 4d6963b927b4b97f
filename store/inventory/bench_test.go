package inventory_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
	"ledgerline/store/storetest"
)

// benchBundle is a tenant with a manager (every operation runs through the member's permission check,
// row-level security and the audit trail, as in production), a warehouse with two bins and one item.
type benchBundle struct {
	db         *store.DB
	ownerURL   string
	tenant     store.ID
	actor      store.Scope
	bin1, bin2 *inventory.Location
	item       *inventory.Item
}

func benchSetup(b *testing.B) (*benchBundle, context.Context) {
	b.Helper()
	ctx := context.Background()
	sb := storetest.New(b)
	bb := &benchBundle{db: sb.DB, ownerURL: sb.OwnerURL}
	ten, err := identity.TenantCreate(ctx, bb.db, store.Scope{}, identity.TenantCreateParams{
		Name: "Bench", Slug: "bench", TimeZone: "UTC", Currency: "EUR"})
	require.NoError(b, err)
	bb.tenant = ten.ID
	sys := store.Scope{TenantID: ten.ID}
	userID := store.NewID()
	_, err = bb.db.X.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, 'm@bench.example', 'M', 'x')`, userID)
	require.NoError(b, err)
	require.NoError(b, identity.MemberAdd(ctx, bb.db, sys, identity.MemberAddParams{UserID: userID, Role: identity.RoleManager}))
	bb.actor = store.Scope{TenantID: ten.ID, ActorID: userID}
	wh, err := inventory.LocationCreate(ctx, bb.db, sys, inventory.LocationCreateParams{Code: "WH", Name: "Warehouse"})
	require.NoError(b, err)
	bb.bin1, err = inventory.LocationCreate(ctx, bb.db, sys, inventory.LocationCreateParams{WarehouseID: &wh.ID, Code: "B1", Name: "Bin 1"})
	require.NoError(b, err)
	bb.bin2, err = inventory.LocationCreate(ctx, bb.db, sys, inventory.LocationCreateParams{WarehouseID: &wh.ID, Code: "B2", Name: "Bin 2"})
	require.NoError(b, err)
	bb.item, err = inventory.ItemCreate(ctx, bb.db, sys, inventory.ItemFields{SKU: "HOT-1", Name: "Hot item", Unit: "ea"})
	require.NoError(b, err)
	_, err = inventory.Receive(ctx, bb.db, sys, inventory.ReceiveParams{ItemID: bb.item.ID, LocationID: bb.bin1.ID,
		Quantity: inventory.Units(100_000_000), UnitCost: 150, Currency: "EUR"})
	require.NoError(b, err)
	return bb, ctx
}

// BenchmarkIssueHotItem issues one unit at a time of the same item from many goroutines: the worst case,
// every movement contends for the same stock level row.
func BenchmarkIssueHotItem(b *testing.B) {
	bb, ctx := benchSetup(b)
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := inventory.Issue(ctx, bb.db, bb.actor, inventory.IssueParams{
				ItemID: bb.item.ID, LocationID: bb.bin1.ID, Quantity: inventory.Units(1)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "movements/s")
}

// BenchmarkReceiveSpreadItems receives into many different items at once: the common case.
func BenchmarkReceiveSpreadItems(b *testing.B) {
	bb, ctx := benchSetup(b)
	items := make([]store.ID, 64)
	for i := range items {
		it, err := inventory.ItemCreate(ctx, bb.db, store.Scope{TenantID: bb.tenant}, inventory.ItemFields{
			SKU: fmt.Sprintf("SPREAD-%d", i), Name: "Spread item", Unit: "ea"})
		require.NoError(b, err)
		items[i] = it.ID
	}
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			item := items[n.Add(1)%int64(len(items))]
			if _, err := inventory.Receive(ctx, bb.db, bb.actor, inventory.ReceiveParams{
				ItemID: item, LocationID: bb.bin2.ID, Quantity: inventory.Units(3), UnitCost: 99, Currency: "EUR"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "movements/s")
}

// benchItems is how many items BenchmarkItemList loads (through SQL as the owner, for speed of set-up).
const benchItems = 200_000

// BenchmarkItemList reads the first page, a page 100,000 rows deep, and a search, from 200,000 items.
func BenchmarkItemList(b *testing.B) {
	bb, ctx := benchSetup(b)
	owner, err := pgx.Connect(ctx, bb.ownerURL)
	require.NoError(b, err)
	_, err = owner.Exec(ctx, `
		INSERT INTO inventory_items (tenant_id, id, sku, name, category, unit, currency, reorder_point, on_hand)
		SELECT $1, gen_random_uuid(), 'SKU-' || lpad(g::text, 7, '0'), 'Item number ' || g,
		       'Category ' || (g % 40), 'ea', 'EUR', g % 20, g % 50
		FROM generate_series(1, $2::int) AS g`, bb.tenant, benchItems)
	require.NoError(b, err)
	_, err = owner.Exec(ctx, `ANALYZE inventory_items`)
	require.NoError(b, err)
	require.NoError(b, owner.Close(ctx))

	// Walk to a page 100,000 rows deep once, outside the timing.
	deep := ""
	for i := 0; i < benchItems/2/200; i++ {
		res, err := inventory.ItemList(ctx, bb.db, bb.actor, inventory.ItemListParams{Sort: inventory.SortSKU, After: deep, Limit: 200})
		require.NoError(b, err)
		deep = res.Next
	}
	cases := []struct {
		name string
		p    inventory.ItemListParams
	}{
		{"first-page-by-sku", inventory.ItemListParams{Sort: inventory.SortSKU}},
		{"deep-page-by-sku", inventory.ItemListParams{Sort: inventory.SortSKU, After: deep}},
		{"category-by-name", inventory.ItemListParams{Category: "Category 7", Sort: inventory.SortName}},
		{"search-rare", inventory.ItemListParams{Search: "SKU-0123456", Sort: inventory.SortSKU}},
		{"search-common", inventory.ItemListParams{Search: "number 9", Sort: inventory.SortSKU}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := inventory.ItemList(ctx, bb.db, bb.actor, c.p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
