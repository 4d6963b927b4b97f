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

// A search text with characters other than letters and digits (a code's dashes, spaces, LIKE's own % and
// _, a backslash) still matches exactly the SKUs and names that contain it (start with it, when shorter
// than three characters), in any letter case: the
// SKU's trigram lookup takes only the text's words (migration 00025) and the exact text is checked after.
func TestItemListSearchCodesAndSpecialCharacters(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	skus := []string{"LG-00042", "LG-000421", "XLG-00042B", "LG00042", "LG-0004", "lg-00042-z", "PCT-50%", "PCT-500",
		"UND_ER-1", "UNDXER-1", `BS\LASH-2`, "BSLASH-2", "ÖL-ÄRA-7", "öl-ära-8", "A--B", "A-B"}
	names := []string{"Hinge, heavy duty", "Heavy  duty hinge", "heavy-duty hook", "Hinge lg-00042 spare", "Plain item"}
	all := map[store.ID]inventory.Item{}
	for i, sku := range skus {
		it := tb.itemCreate(ctx, t, tb.sys, inventory.ItemFields{SKU: sku, Name: names[i%len(names)], Unit: "ea"})
		all[it.ID] = *it
	}
	tb.itemCreate(ctx, t, tb.sysB, inventory.ItemFields{SKU: "LG-00042", Name: "Hinge, heavy duty (B)", Unit: "ea"})
	for _, search := range []string{"LG-00042", "lg-0004", "G-000", "PCT-50%", "50%", "UND_ER", "_ER-", `BS\LASH`, `\`,
		"öl-ära", "ÄRA-", "A--B", "--", "heavy duty", "y, h", "lg-00042 s"} {
		want := map[store.ID]bool{}
		for id, it := range all {
			s, match := strings.ToLower(search), strings.Contains
			if len([]rune(search)) < inventory.ItemSearchContainsFrom {
				match = strings.HasPrefix
			}
			if match(strings.ToLower(it.SKU), s) || match(strings.ToLower(it.Name), s) {
				want[id] = true
			}
		}
		for _, sort := range []inventory.ItemSort{inventory.SortSKU, inventory.SortName} {
			res, err := inventory.ItemList(ctx, tb.db, tb.sys, inventory.ItemListParams{Search: search, Sort: sort, Limit: 100})
			require.NoError(t, err)
			got := map[store.ID]bool{}
			for _, it := range res.Items {
				got[it.ID] = true
			}
			require.Equal(t, want, got, "search %q sort %s", search, sort)
		}
	}
}

// A search of one or two characters matches the start of a SKU or of a name (any letter case), on every
// sort and page, and the export's count agrees with the list; a pair of letters no item starts with finds
// nothing (it used to walk the whole list to find out).
func TestItemListShortSearchMatchesTheStart(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	skus := []string{"AB-1", "ab-2", "XAB-3", "B-4", "ÉT-5", "%X-6", "_Y-7", "Z-8", `\Q-9`}
	names := []string{"Abrasive disc", "Cable tie", "Tab washer", "about nothing", "Étagère", "Zq"}
	all := map[store.ID]inventory.Item{}
	for i, sku := range skus {
		it := tb.itemCreate(ctx, t, tb.sys, inventory.ItemFields{SKU: sku, Name: names[i%len(names)], Unit: "ea"})
		all[it.ID] = *it
	}
	all[tb.item.ID] = *tb.item
	tb.itemCreate(ctx, t, tb.sysB, inventory.ItemFields{SKU: "AB-B", Name: "Abrasive (B)", Unit: "ea"})
	for _, search := range []string{"a", "AB", "b", "é", "Ét", "%", "_", `\`, "zq", "qq", "t"} {
		want := map[store.ID]bool{}
		for id, it := range all {
			s := strings.ToLower(search)
			if strings.HasPrefix(strings.ToLower(it.SKU), s) || strings.HasPrefix(strings.ToLower(it.Name), s) {
				want[id] = true
			}
		}
		for _, sort := range []inventory.ItemSort{inventory.SortSKU, inventory.SortName, inventory.SortValue} {
			for _, desc := range []bool{false, true} {
				got := map[store.ID]bool{}
				p := inventory.ItemListParams{Search: search, Sort: sort, Desc: desc, Limit: 2}
				for {
					res, err := inventory.ItemList(ctx, tb.db, tb.sys, p)
					require.NoError(t, err)
					for _, it := range res.Items {
						require.False(t, got[it.ID], "search %q: an item on two pages", search)
						got[it.ID] = true
					}
					if res.Next == "" {
						break
					}
					p.After = res.Next
				}
				require.Equal(t, want, got, "search %q sort %s desc %v", search, sort, desc)
			}
		}
		var n int64
		require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
			var err error
			n, err = inventory.ItemsCount(ctx, tx, inventory.ItemListParams{Search: search})
			return err
		}))
		require.Equal(t, int64(len(want)), n, "export count of %q", search)
	}
}
