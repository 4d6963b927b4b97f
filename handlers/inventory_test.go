package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
)

// inventoryFixture is a warehouse with a bin and a few items in tenant A.
type inventoryFixture struct {
	warehouse, bin *inventory.Location
	items          map[string]*inventory.Item // by SKU
}

// inventoryA creates the fixture in tenant A as the system (the store checks no role then).
func (b *testBundle) inventoryA(t *testing.T) *inventoryFixture {
	t.Helper()
	ctx := context.Background()
	sc := store.Scope{TenantID: b.tenantA.ID}
	wh, err := inventory.LocationCreate(ctx, b.db, sc, inventory.LocationCreateParams{Code: "MAIN", Name: "Main warehouse"})
	require.NoError(t, err)
	bin, err := inventory.LocationCreate(ctx, b.db, sc, inventory.LocationCreateParams{WarehouseID: &wh.ID, Code: "MAIN-A1", Name: "Aisle 1"})
	require.NoError(t, err)
	f := &inventoryFixture{warehouse: wh, bin: bin, items: map[string]*inventory.Item{}}
	for _, it := range []inventory.ItemFields{
		{SKU: "BOLT-10", Name: "Hex bolt M10", Category: "Fasteners", Unit: "pcs", ReorderPoint: inventory.Units(50)},
		{SKU: "NUT-10", Name: "Hex nut M10", Category: "Fasteners", Unit: "pcs"},
		{SKU: "OIL-5", Name: "Machine oil", Category: "Consumables", Unit: "l"},
	} {
		item, err := inventory.ItemCreate(ctx, b.db, sc, it)
		require.NoError(t, err)
		f.items[it.SKU] = item
	}
	_, err = inventory.Receive(ctx, b.db, sc, inventory.ReceiveParams{ItemID: f.items["NUT-10"].ID, LocationID: wh.ID,
		Quantity: inventory.Units(500), UnitCost: 5, Currency: "EUR"})
	require.NoError(t, err)
	_, err = inventory.Receive(ctx, b.db, sc, inventory.ReceiveParams{ItemID: f.items["BOLT-10"].ID, LocationID: wh.ID,
		Quantity: inventory.Units(20), UnitCost: 12, Currency: "EUR"})
	require.NoError(t, err)
	return f
}

// inventoryB creates an item and a location in tenant B, for the cross-tenant cases.
func (b *testBundle) inventoryB(t *testing.T) (item, location store.ID) {
	t.Helper()
	ctx := context.Background()
	sc := store.Scope{TenantID: b.tenantB.ID}
	loc, err := inventory.LocationCreate(ctx, b.db, sc, inventory.LocationCreateParams{Code: "B-WH", Name: "Globex store"})
	require.NoError(t, err)
	it, err := inventory.ItemCreate(ctx, b.db, sc, inventory.ItemFields{SKU: "B-ITEM", Name: "Globex thing", Unit: "ea"})
	require.NoError(t, err)
	return it.ID, loc.ID
}

// skus returns the SKUs of the item list's rows in order.
func skus(r *response) []string {
	var out []string
	for _, n := range findAll(r.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "inventory-row-sku" }) {
		out = append(out, textOf(n))
	}
	return out
}

func TestInventoryListSearchFilterSort(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.inventoryA(t)
	c := b.signedIn(t, b.usersA[identity.RoleEmployee])

	res := c.get("/inventory")
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, []string{"BOLT-10", "NUT-10", "OIL-5"}, skus(res))
	require.Contains(t, res.body, `aria-current="page"`, "the sidebar marks Inventory")
	require.NotContains(t, res.body, "/inventory/items/new", "employees do not create items")

	// Search as you type: HTMX asks for the results only.
	res = c.do(http.MethodGet, "/inventory?q=hex", nil, http.Header{"HX-Request": {"true"}, "HX-Target": {"inventory-results"}})
	require.Equal(t, http.StatusOK, res.status)
	require.NotContains(t, res.body, "<html", "a fragment")
	require.Equal(t, []string{"BOLT-10", "NUT-10"}, skus(res))

	res = c.get("/inventory?category=consumables")
	require.Equal(t, []string{"OIL-5"}, skus(res))
	res = c.get("/inventory?low=1")
	require.Equal(t, []string{"BOLT-10"}, skus(res), "20 on hand, reorder point 50")
	res = c.get("/inventory?location=" + f.warehouse.ID.String())
	require.Equal(t, []string{"BOLT-10", "NUT-10"}, skus(res))

	// Sorting: on hand descending, and the header says so; its button asks for the other direction.
	res = c.get("/inventory?sort=on_hand&dir=desc")
	require.Equal(t, []string{"NUT-10", "BOLT-10", "OIL-5"}, skus(res))
	ths := findAll(res.doc, func(n *html.Node) bool { return n.Data == "th" && attr(n, "aria-sort") == "descending" })
	require.Len(t, ths, 1)
	require.Equal(t, "On hand", textOf(ths[0]))
	require.Contains(t, res.body, `hx-get="/inventory?sort=on_hand"`)
	res = c.get("/inventory?sort=value")
	require.Equal(t, []string{"OIL-5", "BOLT-10", "NUT-10"}, skus(res), "0 < 240 < 2,500 cents")
	require.Contains(t, res.body, "EUR 25.00")

	// Filtering to nothing offers to clear the filters.
	res = c.get("/inventory?q=zzz")
	testID(t, res, "inventory-empty")
	require.Contains(t, res.body, "Clear filters")

	// The ledger names an unknown SKU in its filter, also in the fragment that live filtering swaps.
	res = c.do(http.MethodGet, "/inventory/ledger?sku=NOPE", nil, http.Header{"HX-Request": {"true"}, "HX-Target": {"inventory-ledger-results"}})
	require.Equal(t, http.StatusOK, res.status)
	require.Contains(t, testID(t, res, "error-summary"), "No item has the SKU NOPE")

	// A sort outside the whitelist is refused, not run.
	res = c.get("/inventory?sort=bogus")
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
}

func TestInventoryListPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	sc := store.Scope{TenantID: b.tenantA.ID}
	for i := range 55 {
		_, err := inventory.ItemCreate(ctx, b.db, sc, inventory.ItemFields{SKU: "P-" + string(rune('A'+i/26)) + string(rune('A'+i%26)), Name: "Part", Unit: "ea"})
		require.NoError(t, err)
	}
	c := b.signedIn(t, b.usersA[identity.RoleAuditor])
	res := c.get("/inventory?q=P-")
	require.Len(t, skus(res), 50)
	var next string
	for _, n := range findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "inventory-next" }) {
		next = attr(n, "href")
	}
	require.NotEmpty(t, next)
	require.Contains(t, next, "q=P-")
	res = c.get(next)
	require.Len(t, skus(res), 5)
	testID(t, res, "inventory-first")
}

func TestInventoryItemCreateKeepsInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.inventoryA(t)
	c := b.signedIn(t, b.usersA[identity.RoleManager])

	res := c.get("/inventory/items/new")
	require.Equal(t, http.StatusOK, res.status)
	res = c.post("/inventory/items", url.Values{"sku": {"has space"}, "name": {"Widget"}, "unit": {"ea"},
		"reorder_point": {"1.5"}, "category": {"Parts"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	testID(t, res, "error-summary")
	require.Equal(t, "has space", inputValue(res.doc, "sku"))
	require.Equal(t, "Widget", inputValue(res.doc, "name"))
	require.Equal(t, "Parts", inputValue(res.doc, "category"))
	require.Contains(t, res.body, "A SKU has no spaces.")
	require.Contains(t, res.body, "whole number")

	// A SKU in use (any case) is an error on the field too.
	res = c.post("/inventory/items", url.Values{"sku": {"bolt-10"}, "name": {"Another bolt"}, "unit": {"ea"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "is in use")

	res = c.post("/inventory/items", url.Values{"sku": {"WIDGET-1"}, "name": {"Widget"}, "unit": {"ea"}, "reorder_point": {"5"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.True(t, strings.HasPrefix(res.location(), "/inventory/items/"))
	res = c.get(res.location())
	require.Equal(t, http.StatusOK, res.status)
	require.Contains(t, res.body, "Created WIDGET-1")
}

func TestInventoryItemStaleEdit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.inventoryA(t)
	it := f.items["OIL-5"]
	c := b.signedIn(t, b.usersA[identity.RoleAdmin])
	path := "/inventory/items/" + it.ID.String()
	page := c.get(path)
	require.Equal(t, http.StatusOK, page.status)
	version := inputValue(page.doc, "version")
	require.Equal(t, "1", version)

	form := url.Values{"version": {version}, "sku": {"OIL-5"}, "name": {"Machine oil 5W"}, "unit": {"l"},
		"tracking": {"none"}, "status": {"active"}, "category": {"Consumables"}}
	res := c.post(path, form)
	require.Equal(t, http.StatusSeeOther, res.status)

	// The same (now stale) version again: 409 with the typed values kept.
	form.Set("name", "Machine oil 10W")
	res = c.post(path, form)
	require.Equal(t, http.StatusConflict, res.status)
	testID(t, res, "item-conflict")
	require.Equal(t, "Machine oil 10W", inputValue(res.doc, "name"))
	// From the page's htmx form: the typed form stays, the conflict comes as an error toast.
	res = c.do(http.MethodPost, path, form, http.Header{"HX-Request": {"true"}, "HX-Target": {"inventory-item-form"}})
	require.Equal(t, http.StatusConflict, res.status)
	require.Contains(t, res.header.Get("HX-Trigger"), "changed by someone else")
	require.NotContains(t, res.body, "<html")
	got, err := inventory.ItemGet(context.Background(), b.db, store.Scope{TenantID: b.tenantA.ID}, it.ID)
	require.NoError(t, err)
	require.Equal(t, "Machine oil 5W", got.Name)

	// Delete (no stock) and restore, each with the current version.
	res = c.post(path+"/delete", url.Values{"version": {"2"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	res = c.get("/inventory?deleted=1")
	require.Equal(t, []string{"OIL-5"}, skus(res))
	res = c.post(path+"/restore", url.Values{"version": {"3"}})
	require.Equal(t, http.StatusSeeOther, res.status)

	// An item with stock is not deleted; the page says why.
	res = c.post("/inventory/items/"+f.items["NUT-10"].ID.String()+"/delete", url.Values{"version": {"1"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "still has stock")
}

func TestInventoryMovements(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.inventoryA(t)
	it := f.items["OIL-5"]
	ctx := context.Background()
	c := b.signedIn(t, b.usersA[identity.RoleEmployee])
	e := c

	res := c.get("/inventory/movements/new?kind=receipt&item=" + it.ID.String())
	require.Equal(t, http.StatusOK, res.status)
	require.Contains(t, res.body, "Unit cost (EUR)")

	res = c.post("/inventory/movements", url.Values{"kind": {"receipt"}, "item_id": {it.ID.String()},
		"location_id": {f.warehouse.ID.String()}, "quantity": {"10.5"}, "unit_cost": {"3.20"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	page := c.get(res.location())
	require.Contains(t, page.body, "Received 10.5 l of OIL-5.")
	require.Equal(t, "10.5 l", testID(t, page, "item-onhand"))
	require.Equal(t, "EUR 33.60", testID(t, page, "item-value"))
	require.Contains(t, testID(t, page, "history"), "+10.5")

	// Issuing more than on hand: 422, the message on the quantity, the input kept, nothing written.
	res = c.post("/inventory/movements", url.Values{"kind": {"issue"}, "item_id": {it.ID.String()},
		"location_id": {f.warehouse.ID.String()}, "quantity": {"11"}, "reference": {"WO-7"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "Insufficient stock")
	errs := findAll(res.doc, func(n *html.Node) bool { return attr(n, "id") == "field-quantity-error" })
	require.Len(t, errs, 1)
	require.Contains(t, textOf(errs[0]), "Insufficient stock")
	require.Equal(t, "11", inputValue(res.doc, "quantity"))
	require.Equal(t, "WO-7", inputValue(res.doc, "reference"))
	lines, err := inventory.MovementList(ctx, b.db, store.Scope{TenantID: b.tenantA.ID}, inventory.MovementListParams{ItemID: &it.ID})
	require.NoError(t, err)
	require.Len(t, lines.Lines, 1, "only the receipt")

	// Transfer by SKU to the bin, then the levels show both places.
	res = c.post("/inventory/movements", url.Values{"kind": {"transfer"}, "sku": {"oil-5"},
		"from_location_id": {f.warehouse.ID.String()}, "to_location_id": {f.bin.ID.String()}, "quantity": {"4"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	page = c.get("/inventory/items/" + it.ID.String())
	levels := testID(t, page, "item-levels")
	require.Contains(t, levels, "MAIN — Main warehouse 6.5")
	require.Contains(t, levels, "MAIN-A1 — Aisle 1 4")

	// An unknown SKU is an error on the SKU field.
	res = c.post("/inventory/movements", url.Values{"kind": {"issue"}, "sku": {"NOPE-1"},
		"location_id": {f.warehouse.ID.String()}, "quantity": {"1"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Equal(t, "NOPE-1", inputValue(res.doc, "sku"))
	require.Len(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "id") == "field-sku-error" }), 1)

	// A bad cost keeps the form with the message next to the field.
	res = c.post("/inventory/movements", url.Values{"kind": {"receipt"}, "item_id": {it.ID.String()},
		"location_id": {f.warehouse.ID.String()}, "quantity": {"1"}, "unit_cost": {"1.234"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "Enter at most 2 decimal places.")

	// Employees may not adjust: the store refuses, nothing changes.
	res = c.post("/inventory/movements", url.Values{"kind": {"adjustment"}, "item_id": {it.ID.String()},
		"location_id": {f.warehouse.ID.String()}, "quantity": {"-1"}, "reason": {"Spilled"}})
	require.Equal(t, http.StatusForbidden, res.status)
	res = c.get("/inventory/stocktake")
	require.Equal(t, http.StatusForbidden, res.status)

	// Managers adjust; the ledger lists it with a filter by kind.
	m := b.signedIn(t, b.usersA[identity.RoleManager])
	res = m.post("/inventory/movements", url.Values{"kind": {"adjustment"}, "item_id": {it.ID.String()},
		"location_id": {f.warehouse.ID.String()}, "quantity": {"-1"}, "reason": {"Spilled"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	res = m.get("/inventory/ledger?kind=adjustment&sku=OIL-5")
	require.Equal(t, http.StatusOK, res.status)
	require.Contains(t, testID(t, res, "history-table"), "Spilled")
	require.Len(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "history-row" }), 1)

	// The adjustment is reversed once from the ledger page; a second time is refused.
	var reversePath string
	for _, n := range findAll(res.doc, func(n *html.Node) bool {
		return n.Data == "form" && strings.HasSuffix(attr(n, "action"), "/reverse")
	}) {
		reversePath = attr(n, "action")
	}
	require.NotEmpty(t, reversePath)
	res = e.post(reversePath, url.Values{"note": {"typo"}})
	require.Equal(t, http.StatusForbidden, res.status, "employees do not reverse")
	res = m.post(reversePath, url.Values{"note": {"typo"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	res = m.post(reversePath, url.Values{"note": {"again"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "already been reversed")
	page = m.get("/inventory/items/" + it.ID.String())
	require.Equal(t, "10.5 l", testID(t, page, "item-onhand"), "the -1 came back")

	// Stocktake of the bin: counted 3 instead of 4 posts -1.
	res = m.get("/inventory/stocktake?location=" + f.bin.ID.String())
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, it.ID.String(), inputValue(res.doc, "item_id.0"))
	res = m.post("/inventory/stocktake", url.Values{"location_id": {f.bin.ID.String()}, "item_id.0": {it.ID.String()},
		"batch.0": {""}, "counted.0": {"3"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	lv, err := inventory.StockLevels(ctx, b.db, store.Scope{TenantID: b.tenantA.ID}, inventory.StockLevelParams{ItemID: &it.ID, LocationID: &f.bin.ID})
	require.NoError(t, err)
	require.Len(t, lv, 1)
	require.Equal(t, inventory.Units(3), lv[0].OnHand)
}

func TestInventoryRolesAndTenants(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.inventoryA(t)
	itemB, locB := b.inventoryB(t)
	it := f.items["NUT-10"]

	// Auditors read everything but post nothing.
	a := b.signedIn(t, b.usersA[identity.RoleAuditor])
	for _, path := range []string{"/inventory", "/inventory/items/" + it.ID.String(), "/inventory/locations", "/inventory/ledger", "/inventory/low-stock"} {
		res := a.get(path)
		require.Equal(t, http.StatusOK, res.status, path)
	}
	res := a.post("/inventory/movements", url.Values{"kind": {"issue"}, "item_id": {it.ID.String()},
		"location_id": {f.warehouse.ID.String()}, "quantity": {"1"}})
	require.Equal(t, http.StatusForbidden, res.status)
	page := a.get("/inventory/items/" + it.ID.String())
	require.NotContains(t, page.body, "/inventory/movements/new", "no movement actions for auditors")
	require.NotContains(t, page.body, `data-testid="item-form"`)

	// Employees issue.
	e := b.signedIn(t, b.usersA[identity.RoleEmployee])
	res = e.post("/inventory/movements", url.Values{"kind": {"issue"}, "item_id": {it.ID.String()},
		"location_id": {f.warehouse.ID.String()}, "quantity": {"2"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	res = e.post("/inventory/items", url.Values{"sku": {"X"}, "name": {"X"}, "unit": {"ea"}})
	require.Equal(t, http.StatusForbidden, res.status)

	// An open reservation shows on the item's page, and in the levels.
	_, err := inventory.Reserve(context.Background(), b.db, store.Scope{TenantID: b.tenantA.ID}, inventory.ReserveParams{
		ItemID: it.ID, LocationID: f.warehouse.ID, Quantity: inventory.Units(5), Reference: "SO-42"})
	require.NoError(t, err)
	page = e.get("/inventory/items/" + it.ID.String())
	require.Contains(t, testID(t, page, "item-reservations"), "SO-42")
	require.Contains(t, testID(t, page, "item-levels"), "498 5 493")

	// Tenant B's rows do not exist for tenant A's admin.
	ad := b.signedIn(t, b.usersA[identity.RoleAdmin])
	res = ad.get("/inventory/items/" + itemB.String())
	require.Equal(t, http.StatusNotFound, res.status)
	res = ad.get("/inventory/movements/new?kind=receipt&item=" + itemB.String())
	require.Equal(t, http.StatusNotFound, res.status)
	res = ad.post("/inventory/movements", url.Values{"kind": {"receipt"}, "item_id": {itemB.String()},
		"location_id": {locB.String()}, "quantity": {"1"}, "unit_cost": {"1"}})
	require.Equal(t, http.StatusNotFound, res.status)
	res = ad.post("/inventory/movements", url.Values{"kind": {"receipt"}, "item_id": {it.ID.String()},
		"location_id": {locB.String()}, "quantity": {"1"}, "unit_cost": {"1"}})
	require.Contains(t, []int{http.StatusNotFound, http.StatusUnprocessableEntity}, res.status, "another tenant's location is no location")
	res = ad.get("/inventory/stocktake?location=" + locB.String())
	require.Equal(t, http.StatusNotFound, res.status)
	res = ad.get("/inventory?q=B-ITEM")
	require.Empty(t, skus(res))
}

func TestInventoryLocations(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.inventoryA(t)
	c := b.signedIn(t, b.usersA[identity.RoleManager])

	res := c.get("/inventory/locations")
	require.Equal(t, http.StatusOK, res.status)
	require.Contains(t, testID(t, res, "locations-total"), "EUR 27.40")

	res = c.post("/inventory/locations", url.Values{"code": {""}, "name": {"Overflow"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Equal(t, "Overflow", inputValue(res.doc, "name"))

	res = c.post("/inventory/locations", url.Values{"code": {"MAIN-B2"}, "name": {"Aisle 2"}, "warehouse_id": {f.warehouse.ID.String()}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)

	// A warehouse with stock and bins stays; an empty bin goes and comes back.
	res = c.post("/inventory/locations/"+f.warehouse.ID.String()+"/delete", url.Values{"version": {"1"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "still has bins")
	res = c.post("/inventory/locations/"+f.bin.ID.String()+"/delete", url.Values{"version": {"1"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	res = c.post("/inventory/locations/"+f.bin.ID.String()+"/restore", url.Values{"version": {"2"}})
	require.Equal(t, http.StatusSeeOther, res.status)
}
