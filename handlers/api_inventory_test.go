package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/apiauth"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
)

// invBundle is an API inventory test's world: tenant A with a warehouse, a bin and an item, a manager's
// token that may do everything in inventory and an employee's that may move stock.
type invBundle struct {
	*testBundle
	manager, employee    string // personal access tokens
	warehouse, bin, item string // ids
}

func setupInventory(t *testing.T) *invBundle {
	t.Helper()
	b := &invBundle{testBundle: setup(t)}
	b.manager = b.pat(t, b.tenantA.ID, b.usersA[identity.RoleManager],
		identity.InventoryRead, identity.InventoryWrite, identity.InventoryAdjust)
	b.employee = b.pat(t, b.tenantA.ID, b.usersA[identity.RoleEmployee], identity.InventoryRead, identity.InventoryWrite)

	res := b.api(t, http.MethodPost, "/locations", b.manager, map[string]any{"code": "WH1", "name": "Main warehouse"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	require.Equal(t, "warehouse", res.json["kind"])
	require.Nil(t, res.json["warehouse_id"])
	b.warehouse = res.json["id"].(string)
	res = b.api(t, http.MethodPost, "/locations", b.manager, map[string]any{"code": "WH1-A1", "name": "Aisle 1", "warehouse_id": b.warehouse})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	require.Equal(t, "bin", res.json["kind"])
	require.Equal(t, b.warehouse, res.json["warehouse_id"])
	b.bin = res.json["id"].(string)
	res = b.api(t, http.MethodPost, "/items", b.manager, map[string]any{
		"sku": "BOLT-M8", "name": "Hex bolt M8", "category": "Fasteners", "unit": "ea", "reorder_point": "4",
	})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	b.item = res.json["id"].(string)
	require.Equal(t, "4.000", res.json["reorder_point"])
	require.Equal(t, "0.000", res.json["on_hand"])
	require.Equal(t, map[string]any{"amount": float64(0), "currency": "EUR"}, res.json["avg_cost"])
	return b
}

func (b *invBundle) receive(t *testing.T, token, qty string, header http.Header) *apiResponse {
	t.Helper()
	return apiDo(t, b.server.URL, http.MethodPost, "/api/v1/movements/receipts", token, map[string]any{
		"item_id": b.item, "location_id": b.warehouse, "quantity": qty,
		"unit_cost": map[string]any{"amount": 250, "currency": "EUR"}, "reference": "PO-1",
	}, header)
}

func (b *invBundle) onHand(t *testing.T) string {
	t.Helper()
	res := b.api(t, http.MethodGet, "/items/"+b.item, b.manager, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	return res.json["on_hand"].(string)
}

func dataOf(res *apiResponse) []map[string]any {
	var out []map[string]any
	for _, d := range res.json["data"].([]any) {
		out = append(out, d.(map[string]any))
	}
	return out
}

func TestAPIInventoryFlow(t *testing.T) {
	t.Parallel()
	b := setupInventory(t)

	// Receive 10 at 2.50, issue 3, transfer 2 to the bin: all with the employee's personal token.
	res := b.receive(t, b.employee, "10", nil)
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	require.Equal(t, "receipt", res.json["kind"])
	require.Equal(t, "PO-1", res.json["reference"])
	receipt := res.json["id"].(string)
	lines := res.json["lines"].([]any)
	require.Len(t, lines, 1)
	line := lines[0].(map[string]any)
	require.Equal(t, "10.000", line["quantity"], "quantities are decimal strings")
	require.Equal(t, map[string]any{"amount": float64(250), "currency": "EUR"}, line["unit_cost"])
	require.Equal(t, b.usersA[identity.RoleEmployee].ID.String(), line["actor_id"])

	res = b.api(t, http.MethodPost, "/movements/issues", b.employee, map[string]any{
		"item_id": b.item, "location_id": b.warehouse, "quantity": "3", "note": "workshop"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	issue := res.json["id"].(string)
	require.Equal(t, "-3.000", res.json["lines"].([]any)[0].(map[string]any)["quantity"])

	res = b.api(t, http.MethodPost, "/movements/transfers", b.employee, map[string]any{
		"item_id": b.item, "from_location_id": b.warehouse, "to_location_id": b.bin, "quantity": "2.000"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	require.Len(t, res.json["lines"], 2)
	transfer := res.json["id"].(string)

	res = b.api(t, http.MethodGet, "/items/"+b.item, b.employee, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Equal(t, "7.000", res.json["on_hand"])
	require.Equal(t, map[string]any{"amount": float64(250), "currency": "EUR"}, res.json["avg_cost"])
	require.Equal(t, map[string]any{"amount": float64(1750), "currency": "EUR"}, res.json["stock_value"])
	require.Equal(t, false, res.json["low_stock"])

	// Levels per location, by item and by warehouse (which includes its bins).
	res = b.api(t, http.MethodGet, "/stock-levels?item_id="+b.item, b.employee, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	levels := map[string]string{}
	for _, l := range dataOf(res) {
		levels[l["location_code"].(string)] = l["on_hand"].(string)
		require.Equal(t, l["on_hand"], l["available"])
	}
	require.Equal(t, map[string]string{"WH1": "5.000", "WH1-A1": "2.000"}, levels)
	require.Nil(t, res.json["next_cursor"])
	res = b.api(t, http.MethodGet, "/stock-levels?location_id="+b.warehouse, b.employee, nil)
	require.Len(t, res.json["data"], 2)
	res = b.api(t, http.MethodGet, "/stock-levels", b.employee, nil)
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	require.Equal(t, []string{"query.item_id"}, problemLocations(res))

	res = b.api(t, http.MethodGet, "/stock-value", b.employee, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Equal(t, map[string]any{"amount": float64(1750), "currency": "EUR"}, res.json["total"])
	require.Len(t, res.json["locations"], 2)

	// The ledger: filters, cursor pages, one movement.
	res = b.api(t, http.MethodGet, "/movements?item_id="+b.item, b.employee, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Len(t, res.json["data"], 4)
	res = b.api(t, http.MethodGet, "/movements?kind=transfer&location_id="+b.bin, b.employee, nil)
	require.Len(t, res.json["data"], 1)
	require.Equal(t, "2.000", dataOf(res)[0]["quantity"])
	res = b.api(t, http.MethodGet, "/movements?from=2000-01-01&to=2000-12-31", b.employee, nil)
	require.Empty(t, res.json["data"])
	res = b.api(t, http.MethodGet, "/movements?from=yesterday", b.employee, nil)
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	require.Equal(t, []string{"query.from"}, problemLocations(res))
	seen := map[string]bool{}
	cursor := ""
	for range 4 {
		res = b.api(t, http.MethodGet, "/movements?limit=1&item_id="+b.item+"&cursor="+url.QueryEscape(cursor), b.employee, nil)
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.Len(t, res.json["data"], 1)
		seen[dataOf(res)[0]["id"].(string)] = true
		cursor, _ = res.json["next_cursor"].(string)
	}
	require.Len(t, seen, 4)
	require.Empty(t, cursor, "the last page has no next cursor")
	res = b.api(t, http.MethodGet, "/movements/"+transfer, b.employee, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Equal(t, "transfer", res.json["kind"])
	require.Len(t, res.json["lines"], 2)

	// Too much, a float, a fraction of a whole unit: 422 naming body.quantity.
	res = b.api(t, http.MethodPost, "/movements/issues", b.employee, map[string]any{
		"item_id": b.item, "location_id": b.bin, "quantity": "3"})
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	require.Equal(t, []string{"body.quantity"}, problemLocations(res))
	require.Contains(t, res.json["detail"], "Insufficient stock")
	res = b.api(t, http.MethodPost, "/movements/issues", b.employee, `{"item_id": "`+b.item+`", "location_id": "`+b.bin+`", "quantity": 1.5}`)
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	require.Contains(t, problemLocations(res), "body.quantity")
	res = b.api(t, http.MethodPost, "/movements/issues", b.employee, map[string]any{
		"item_id": b.item, "location_id": b.bin, "quantity": "0.5"})
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	require.Equal(t, []string{"body.quantity"}, problemLocations(res))
	res = b.receive(t, b.employee, "1.2345", nil)
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	require.Contains(t, problemLocations(res), "body.quantity")

	// Reservations: reserve, list, the reserved stock is not available, release.
	res = b.api(t, http.MethodPost, "/reservations", b.employee, map[string]any{
		"item_id": b.item, "location_id": b.warehouse, "quantity": "4", "reference": "SO-7"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	reservation := res.json["id"].(string)
	require.Equal(t, "open", res.json["status"])
	require.Equal(t, "4.000", res.json["remaining"])
	res = b.api(t, http.MethodPost, "/reservations", b.employee, map[string]any{
		"item_id": b.item, "location_id": b.warehouse, "quantity": "2", "reference": "SO-8"})
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	require.Equal(t, []string{"body.quantity"}, problemLocations(res))
	res = b.api(t, http.MethodGet, "/reservations?item_id="+b.item, b.employee, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Len(t, res.json["data"], 1)
	res = b.api(t, http.MethodGet, "/stock-levels?item_id="+b.item+"&location_id="+b.warehouse, b.employee, nil)
	require.Equal(t, "1.000", dataOf(res)[0]["available"])
	res = b.api(t, http.MethodPost, "/reservations/"+reservation+"/release", b.employee, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Equal(t, "released", res.json["status"])
	require.Equal(t, "0.000", res.json["remaining"])

	// Adjust, count and reverse need inventory.adjust: the employee's token lacks it.
	res = b.api(t, http.MethodPost, "/movements/"+issue+"/reverse", b.employee, map[string]any{"note": "wrong item"})
	requireProblem(t, res, http.StatusForbidden, "forbidden")
	res = b.api(t, http.MethodPost, "/movements/"+issue+"/reverse", b.manager, map[string]any{"note": "wrong item"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	require.Equal(t, "reversal", res.json["kind"])
	require.Equal(t, issue, res.json["reverses_id"])
	require.Equal(t, "10.000", b.onHand(t))
	res = b.api(t, http.MethodPost, "/movements/"+issue+"/reverse", b.manager, nil)
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	res = b.api(t, http.MethodPost, "/movements/adjustments", b.manager, map[string]any{
		"item_id": b.item, "location_id": b.warehouse, "quantity": "-1", "reason": "damaged"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	require.Equal(t, "damaged", res.json["reason"])
	res = b.api(t, http.MethodPost, "/stocktakes", b.manager, map[string]any{
		"location_id": b.bin, "lines": []any{map[string]any{"item_id": b.item, "counted": "1"}}})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	require.Equal(t, "stocktake", res.json["kind"])
	require.Equal(t, "-1.000", res.json["lines"].([]any)[0].(map[string]any)["quantity"])
	require.Equal(t, "8.000", b.onHand(t))
	_ = receipt

	// Items: list with filters and sort, optimistic locking, delete and restore.
	res = b.api(t, http.MethodPost, "/items", b.manager, map[string]any{"sku": "NUT-M8", "name": "Hex nut M8", "unit": "ea", "category": "fasteners"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	nut := res.json["id"].(string)
	res = b.api(t, http.MethodPost, "/items", b.manager, map[string]any{"sku": "nut-m8", "name": "Again", "unit": "ea"})
	requireProblem(t, res, http.StatusConflict, "conflict")
	require.Equal(t, []string{"body.sku"}, problemLocations(res))
	res = b.api(t, http.MethodGet, "/items?category=FASTENERS&sort=-sku", b.employee, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	var skus []string
	for _, d := range dataOf(res) {
		skus = append(skus, d["sku"].(string))
	}
	require.Equal(t, []string{"NUT-M8", "BOLT-M8"}, skus)
	res = b.api(t, http.MethodGet, "/items?search=bolt", b.employee, nil)
	require.Len(t, res.json["data"], 1)
	res = b.api(t, http.MethodGet, "/items?location_id="+b.warehouse, b.employee, nil)
	require.Len(t, res.json["data"], 1)
	res = b.api(t, http.MethodGet, "/items?limit=1&sort=sku", b.employee, nil)
	require.Len(t, res.json["data"], 1)
	next := res.json["next_cursor"].(string)
	res = b.api(t, http.MethodGet, "/items?limit=1&sort=sku&cursor="+url.QueryEscape(next), b.employee, nil)
	require.Equal(t, "NUT-M8", dataOf(res)[0]["sku"])
	require.Nil(t, res.json["next_cursor"])
	res = b.api(t, http.MethodGet, "/items?sort=price", b.employee, nil)
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")

	res = b.api(t, http.MethodGet, "/items/"+b.item, b.manager, nil)
	version := res.json["version"]
	res = b.api(t, http.MethodPatch, "/items/"+b.item, b.manager, map[string]any{"reorder_point": "9", "version": version})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Equal(t, "9.000", res.json["reorder_point"])
	require.Equal(t, "Hex bolt M8", res.json["name"], "absent fields keep their values")
	require.Equal(t, true, res.json["low_stock"])
	res = b.api(t, http.MethodPatch, "/items/"+b.item, b.manager, map[string]any{"name": "Stale", "version": version})
	requireProblem(t, res, http.StatusConflict, "conflict")
	res = b.api(t, http.MethodPatch, "/items/"+b.item, b.manager, map[string]any{"name": "No version"})
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	require.Contains(t, problemLocations(res), "body.version")
	res = b.api(t, http.MethodGet, "/items?low_stock=true", b.employee, nil)
	require.Len(t, res.json["data"], 1)

	res = b.api(t, http.MethodDelete, "/items/"+b.item+"?version=2", b.manager, nil)
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation") // it holds stock
	res = b.api(t, http.MethodDelete, "/items/"+nut+"?version=1", b.manager, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.NotNil(t, res.json["deleted_at"])
	res = b.api(t, http.MethodGet, "/items?deleted=true", b.employee, nil)
	require.Len(t, res.json["data"], 1)
	res = b.api(t, http.MethodPost, "/items/"+nut+"/restore", b.manager, map[string]any{"version": 1})
	requireProblem(t, res, http.StatusConflict, "conflict")
	res = b.api(t, http.MethodPost, "/items/"+nut+"/restore", b.manager, map[string]any{"version": 2})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Nil(t, res.json["deleted_at"])

	// Locations: list, rename, delete refused while holding stock, delete and restore an empty one.
	res = b.api(t, http.MethodGet, "/locations", b.employee, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Len(t, res.json["data"], 2)
	res = b.api(t, http.MethodPatch, "/locations/"+b.bin, b.manager, map[string]any{"name": "Aisle one", "version": 1})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Equal(t, "WH1-A1", res.json["code"])
	require.Equal(t, "Aisle one", res.json["name"])
	res = b.api(t, http.MethodPatch, "/locations/"+b.bin, b.manager, map[string]any{"name": "Stale", "version": 1})
	requireProblem(t, res, http.StatusConflict, "conflict")
	res = b.api(t, http.MethodDelete, "/locations/"+b.warehouse+"?version=1", b.manager, nil)
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	res = b.api(t, http.MethodPost, "/locations", b.manager, map[string]any{"code": "WH2", "name": "Overflow"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	wh2 := res.json["id"].(string)
	res = b.api(t, http.MethodDelete, "/locations/"+wh2+"?version=1", b.manager, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.NotNil(t, res.json["deleted_at"])
	res = b.api(t, http.MethodGet, "/locations", b.employee, nil)
	require.Len(t, res.json["data"], 2)
	res = b.api(t, http.MethodGet, "/locations?include_deleted=true", b.employee, nil)
	require.Len(t, res.json["data"], 3)
	res = b.api(t, http.MethodPost, "/locations/"+wh2+"/restore", b.manager, map[string]any{"version": 2})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	res = b.api(t, http.MethodGet, "/locations/"+wh2, b.employee, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Nil(t, res.json["deleted_at"])
	require.EqualValues(t, 3, res.json["version"])
}

// TestAPIInventoryConcurrentIssues: 50 parallel issues of 1 against 10 on hand through the API: exactly
// 10 are posted, 40 get the insufficient-stock problem, and nothing goes negative.
func TestAPIInventoryConcurrentIssues(t *testing.T) {
	t.Parallel()
	b := setupInventory(t)
	require.Equal(t, http.StatusCreated, b.receive(t, b.employee, "10", nil).status)

	results := make([]*apiResponse, 50)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			results[i] = b.api(t, http.MethodPost, "/movements/issues", b.employee, map[string]any{
				"item_id": b.item, "location_id": b.warehouse, "quantity": "1"})
		})
	}
	wg.Wait()
	posted, refused := 0, 0
	for _, res := range results {
		switch res.status {
		case http.StatusCreated:
			posted++
		case http.StatusUnprocessableEntity:
			refused++
			requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
			require.Equal(t, []string{"body.quantity"}, problemLocations(res))
			require.Contains(t, res.json["detail"], "Insufficient stock")
		default:
			t.Fatalf("unexpected status %d: %s", res.status, res.body)
		}
	}
	require.Equal(t, 10, posted)
	require.Equal(t, 40, refused)
	require.Equal(t, "0.000", b.onHand(t))
	res := b.api(t, http.MethodGet, "/movements?kind=issue&item_id="+b.item+"&limit=200", b.employee, nil)
	require.Len(t, res.json["data"], 10)
	res = b.api(t, http.MethodGet, "/stock-levels?include_empty=true&item_id="+b.item, b.employee, nil)
	require.Len(t, res.json["data"], 1)
	require.Equal(t, "0.000", dataOf(res)[0]["on_hand"])
}

func TestAPIInventoryIdempotentReceipt(t *testing.T) {
	t.Parallel()
	b := setupInventory(t)
	key := http.Header{"Idempotency-Key": {"receipt-" + randomHex(8)}}

	first := b.receive(t, b.employee, "5", key)
	require.Equal(t, http.StatusCreated, first.status, "%s", first.body)
	require.Empty(t, first.header.Get("Idempotent-Replayed"))
	again := b.receive(t, b.employee, "5", key)
	require.Equal(t, http.StatusCreated, again.status, "%s", again.body)
	require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	require.Equal(t, string(first.body), string(again.body))

	res := b.api(t, http.MethodGet, "/movements?item_id="+b.item, b.employee, nil)
	require.Len(t, res.json["data"], 1, "one movement for one key")
	require.Equal(t, "5.000", b.onHand(t))

	// The same key with another quantity is refused; a new key posts anew.
	res = b.receive(t, b.employee, "6", key)
	requireProblem(t, res, http.StatusUnprocessableEntity, "idempotency-mismatch")
	res = b.receive(t, b.employee, "5", http.Header{"Idempotency-Key": {"receipt-" + randomHex(8)}})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	require.Equal(t, "10.000", b.onHand(t))
}

func TestAPIInventoryScopeAndTenant(t *testing.T) {
	t.Parallel()
	b := setupInventory(t)
	ctx := context.Background()
	require.Equal(t, http.StatusCreated, b.receive(t, b.employee, "3", nil).status)

	// A token without inventory.write may look but not move stock.
	reader := b.pat(t, b.tenantA.ID, b.usersA[identity.RoleEmployee], identity.InventoryRead)
	require.Equal(t, http.StatusOK, b.api(t, http.MethodGet, "/items/"+b.item, reader, nil).status)
	res := b.receive(t, reader, "1", nil)
	requireProblem(t, res, http.StatusForbidden, "forbidden")
	require.Contains(t, res.header.Get("WWW-Authenticate"), `scope="inventory.write"`)
	res = b.api(t, http.MethodPost, "/movements/issues", reader, map[string]any{"item_id": b.item, "location_id": b.warehouse, "quantity": "1"})
	requireProblem(t, res, http.StatusForbidden, "forbidden")
	require.Equal(t, "3.000", b.onHand(t))

	// An OAuth client with inventory.read only: the same.
	cl, err := apiauth.ClientCreate(ctx, b.db, store.Scope{TenantID: b.tenantA.ID, ActorID: b.usersA[identity.RoleAdmin].ID},
		apiauth.ClientCreateParams{Name: "WMS", Scopes: []identity.Permission{identity.InventoryRead}})
	require.NoError(t, err)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {cl.Client.ID.String()}, "client_secret": {cl.Secret}}
	tok := apiDo(t, b.server.URL, http.MethodPost, "/api/v1/oauth/token", "", form.Encode(),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	require.Equal(t, http.StatusOK, tok.status, "%s", tok.body)
	access := tok.json["access_token"].(string)
	require.Equal(t, http.StatusOK, b.api(t, http.MethodGet, "/stock-levels?item_id="+b.item, access, nil).status)
	requireProblem(t, b.receive(t, access, "1", nil), http.StatusForbidden, "forbidden")
	// One with inventory.write posts, and the ledger names the client as the actor.
	writer, err := apiauth.ClientCreate(ctx, b.db, store.Scope{TenantID: b.tenantA.ID, ActorID: b.usersA[identity.RoleAdmin].ID},
		apiauth.ClientCreateParams{Name: "Scanner", Scopes: []identity.Permission{identity.InventoryRead, identity.InventoryWrite}})
	require.NoError(t, err)
	form = url.Values{"grant_type": {"client_credentials"}, "client_id": {writer.Client.ID.String()}, "client_secret": {writer.Secret}}
	tok = apiDo(t, b.server.URL, http.MethodPost, "/api/v1/oauth/token", "", form.Encode(),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	require.Equal(t, http.StatusOK, tok.status, "%s", tok.body)
	res = b.receive(t, tok.json["access_token"].(string), "1", nil)
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	require.Equal(t, writer.Client.ID.String(), res.json["actor_id"])
	res = b.api(t, http.MethodPost, "/movements/issues", b.employee, map[string]any{"item_id": b.item, "location_id": b.warehouse, "quantity": "1"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)

	// Tenant B's stock, made through B's own API token.
	tokenB := b.pat(t, b.tenantB.ID, b.usersB[identity.RoleManager], identity.InventoryRead, identity.InventoryWrite, identity.InventoryAdjust)
	res = b.api(t, http.MethodPost, "/locations", tokenB, map[string]any{"code": "B-WH", "name": "Globex store"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	locB := res.json["id"].(string)
	res = b.api(t, http.MethodPost, "/items", tokenB, map[string]any{"sku": "B-1", "name": "Globex widget", "unit": "ea"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	itemB := res.json["id"].(string)
	res = b.api(t, http.MethodPost, "/movements/receipts", tokenB, map[string]any{"item_id": itemB, "location_id": locB,
		"quantity": "5", "unit_cost": map[string]any{"amount": 100, "currency": "USD"}})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	moveB := res.json["id"].(string)
	res = b.api(t, http.MethodPost, "/reservations", tokenB, map[string]any{"item_id": itemB, "location_id": locB,
		"quantity": "1", "reference": "B"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	reservB := res.json["id"].(string)

	// Tenant A's tokens see none of it: every id of B is 404, like an id that does not exist.
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/items/" + itemB, nil},
		{http.MethodGet, "/items/" + store.NewID().String(), nil},
		{http.MethodPatch, "/items/" + itemB, map[string]any{"name": "Mine", "version": 1}},
		{http.MethodDelete, "/items/" + itemB + "?version=1", nil},
		{http.MethodPost, "/items/" + itemB + "/restore", map[string]any{"version": 1}},
		{http.MethodGet, "/locations/" + locB, nil},
		{http.MethodPatch, "/locations/" + locB, map[string]any{"name": "Mine", "version": 1}},
		{http.MethodDelete, "/locations/" + locB + "?version=1", nil},
		{http.MethodPost, "/locations/" + locB + "/restore", map[string]any{"version": 1}},
		{http.MethodGet, "/movements/" + moveB, nil},
		{http.MethodPost, "/movements/" + moveB + "/reverse", nil},
		{http.MethodPost, "/movements/receipts", map[string]any{"item_id": itemB, "location_id": b.warehouse,
			"quantity": "1", "unit_cost": map[string]any{"amount": 1, "currency": "EUR"}}},
		{http.MethodPost, "/movements/issues", map[string]any{"item_id": itemB, "location_id": locB, "quantity": "1"}},
		{http.MethodPost, "/movements/transfers", map[string]any{"item_id": b.item, "from_location_id": b.warehouse,
			"to_location_id": locB, "quantity": "1"}},
		{http.MethodPost, "/movements/adjustments", map[string]any{"item_id": itemB, "location_id": locB, "quantity": "1", "reason": "x"}},
		{http.MethodPost, "/stocktakes", map[string]any{"location_id": locB, "full": true, "lines": []any{}}},
		{http.MethodPost, "/reservations", map[string]any{"item_id": itemB, "location_id": locB, "quantity": "1", "reference": "A"}},
		{http.MethodPost, "/reservations/" + reservB + "/release", nil},
	} {
		res := b.api(t, c.method, c.path, b.manager, c.body)
		requireProblem(t, res, http.StatusNotFound, "not-found")
	}
	require.Equal(t, "3.000", b.onHand(t), "nothing moved in A")

	// Lists show only A's records; filters by B's ids find nothing.
	for _, path := range []string{"/items?limit=200", "/movements?limit=200", "/locations"} {
		res := b.api(t, http.MethodGet, path, b.manager, nil)
		require.Equal(t, http.StatusOK, res.status, "%s: %s", path, res.body)
		require.NotEmpty(t, res.json["data"], path)
		for _, d := range dataOf(res) {
			for _, k := range []string{"id", "item_id", "location_id", "movement_id"} {
				require.NotContains(t, []any{itemB, locB, moveB}, d[k], "%s", path)
			}
		}
	}
	for _, path := range []string{"/movements?item_id=" + itemB, "/movements?location_id=" + locB,
		"/stock-levels?item_id=" + itemB, "/stock-levels?location_id=" + locB, "/reservations?item_id=" + itemB,
		"/items?location_id=" + locB} {
		res := b.api(t, http.MethodGet, path, b.manager, nil)
		require.Equal(t, http.StatusOK, res.status, "%s: %s", path, res.body)
		require.Empty(t, res.json["data"], path)
	}
	res = b.api(t, http.MethodGet, "/stock-value", b.manager, nil)
	require.Equal(t, "EUR", res.json["total"].(map[string]any)["currency"])
	require.Len(t, res.json["locations"], 1)

	// B's stock is untouched.
	res = b.api(t, http.MethodGet, "/items/"+itemB, tokenB, nil)
	require.Equal(t, "5.000", res.json["on_hand"])
}

// TestAPIInventoryDocument: every inventory operation is documented with a summary, a description and
// its scope, quantities are strings in the schema, and the unit enum is the store's list of units.
func TestAPIInventoryDocument(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := apiDo(t, b.server.URL, http.MethodGet, "/api/v1/openapi.json", "", nil, nil)
	require.Equal(t, http.StatusOK, res.status)
	doc, err := openapi3.NewLoader().LoadFromData(res.body)
	require.NoError(t, err)

	scopes := map[string]string{}
	for _, row := range apiScopes() {
		scopes[row.method+" "+strings.TrimPrefix(row.path, "/api/v1")] = row.scope
	}
	n := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + strings.NewReplacer("{id}", ":id").Replace(path)
			scope := scopes[key]
			if !strings.HasPrefix(scope, "inventory.") {
				continue
			}
			n++
			require.NotEmpty(t, op.Summary, key)
			require.NotEmpty(t, op.Description, key)
			require.NotNil(t, op.Security, key)
			for _, req := range *op.Security {
				for _, s := range req {
					require.Equal(t, []string{scope}, s, key)
				}
			}
		}
	}
	require.Equal(t, 25, n)

	qty := doc.Components.Schemas["Item"].Value.Properties["on_hand"].Value
	require.True(t, qty.Type.Is("string"), "quantities are decimal strings")
	var units []string
	body := doc.Paths.Find("/items").Post.RequestBody.Value.Content.Get("application/json").Schema.Value
	for _, u := range body.Properties["unit"].Value.Enum {
		units = append(units, u.(string))
	}
	var want []string
	for _, u := range inventory.UnitList() {
		want = append(want, string(u))
	}
	slices.Sort(units)
	require.Equal(t, want, units)
}
