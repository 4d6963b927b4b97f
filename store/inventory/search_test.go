package inventory_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/inventory"
)

// A search of three or more characters takes the owner's page function (inventory_item_search_page); it
// must give exactly the pages the plain list gives for the same filters, in every sort and direction, and
// never an item of another tenant.
func TestItemListSearchPagesMatchTheList(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	for i := range 40 {
		it := tb.itemCreate(ctx, t, tb.sys, inventory.ItemFields{SKU: fmt.Sprintf("GAL-%02d", i),
			Name: []string{"Galvanised bolt", "Brass hinge", "galvanised nut", "Oak shelf"}[i%4] + fmt.Sprintf(" %d", i%7),
			Unit: "ea", Category: []string{"Tools", "Parts"}[i%2], ReorderPoint: inventory.Units(4)})
		if i%3 == 0 {
			tb.receive(ctx, t, it.ID, tb.bin2.ID, int64(i%5+1), int64(100+i))
		}
	}
	// Tenant B has items that match too; none may show in A's search.
	for i := range 5 {
		tb.itemCreate(ctx, t, tb.sysB, inventory.ItemFields{SKU: fmt.Sprintf("GAL-B%d", i), Name: "Galvanised bolt (B)", Unit: "ea"})
	}
	walk := func(p inventory.ItemListParams) []store.ID {
		var ids []store.ID
		for {
			res, err := inventory.ItemList(ctx, tb.db, tb.sys, p)
			require.NoError(t, err)
			for _, it := range res.Items {
				ids = append(ids, it.ID)
			}
			if res.Next == "" {
				return ids
			}
			p.After = res.Next
		}
	}
	matches := func(it inventory.Item, s string) bool {
		s = strings.ToLower(s)
		return strings.Contains(strings.ToLower(it.SKU), s) || strings.Contains(strings.ToLower(it.Name), s)
	}
	all := map[store.ID]inventory.Item{}
	res, err := inventory.ItemList(ctx, tb.db, tb.sys, inventory.ItemListParams{Limit: 200})
	require.NoError(t, err)
	for _, it := range res.Items {
		all[it.ID] = it
	}
	for _, search := range []string{"galvanised", "GAL-1", "brass hinge 3", "nothing-like-this"} {
		for _, sort := range []inventory.ItemSort{inventory.SortSKU, inventory.SortName, inventory.SortOnHand, inventory.SortValue} {
			for _, desc := range []bool{false, true} {
				for _, f := range []inventory.ItemListParams{{}, {Category: "Tools"}, {LowStock: true}, {LocationID: &tb.wh.ID}} {
					p := f
					p.Sort, p.Desc, p.Limit = sort, desc, 3
					want := []store.ID{}
					for _, id := range walk(p) {
						if matches(all[id], search) {
							want = append(want, id)
						}
					}
					p.Search = search
					got := walk(p)
					if got == nil {
						got = []store.ID{}
					}
					require.Equal(t, want, got, "search %q sort %s desc %v filters %+v", search, sort, desc, f)
				}
			}
		}
	}
	// The first page of a longer result carries the planner's estimate of the total, later pages none.
	first, err := inventory.ItemList(ctx, tb.db, tb.sys, inventory.ItemListParams{Search: "galvanised", Limit: 5})
	require.NoError(t, err)
	require.NotEmpty(t, first.Next)
	require.GreaterOrEqual(t, first.Estimate, int64(6))
	second, err := inventory.ItemList(ctx, tb.db, tb.sys, inventory.ItemListParams{Search: "galvanised", Limit: 5, After: first.Next})
	require.NoError(t, err)
	require.Zero(t, second.Estimate)
	whole, err := inventory.ItemList(ctx, tb.db, tb.sys, inventory.ItemListParams{Search: "brass hinge 3"})
	require.NoError(t, err)
	require.Empty(t, whole.Next)
	require.Zero(t, whole.Estimate, "a result on one page is counted exactly by the page itself")
	var est int64
	require.NoError(t, tb.db.X.GetContext(ctx, &est,
		`SELECT inventory_item_count_estimate('%gal%', NULL, NULL, false, false)`))
	require.Zero(t, est, "no tenant in scope: no estimate")

	// Without a tenant in scope the function returns nothing (the store refuses such a scope anyway).
	var n int
	require.NoError(t, tb.db.X.GetContext(ctx, &n,
		`SELECT count(*) FROM inventory_item_search_page('%gal%', 'sku', false, NULL, NULL, NULL, NULL, false, false, 100)`))
	require.Zero(t, n)
}
