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

// releasePaths returns the release forms' actions of an item's page, in table order.
func releasePaths(r *response) []string {
	var out []string
	for _, n := range findAll(r.doc, func(n *html.Node) bool {
		return n.Data == "form" && strings.HasSuffix(attr(n, "action"), "/release")
	}) {
		out = append(out, attr(n, "action"))
	}
	return out
}

func TestInventoryReserveAndRelease(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.inventoryA(t)
	it := f.items["NUT-10"] // 500 on hand at MAIN
	ctx := context.Background()
	sc := store.Scope{TenantID: b.tenantA.ID}
	c := b.signedIn(t, b.usersA[identity.RoleEmployee])
	path := "/inventory/items/" + it.ID.String()

	page := c.get(path)
	require.Equal(t, http.StatusOK, page.status)
	testID(t, page, "reserve-form")

	res := c.post(path+"/reserve", url.Values{"location_id": {f.warehouse.ID.String()}, "quantity": {"120"}, "reference": {"SO-1042"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, path, res.location())
	page = c.get(path)
	require.Contains(t, page.body, "Reserved 120 pcs of NUT-10 for SO-1042.")
	require.Contains(t, testID(t, page, "item-reservations"), "SO-1042")
	require.Contains(t, testID(t, page, "item-levels"), "500 120 380")

	// More than is available: 422, the message on the quantity, every typed value kept, nothing reserved.
	res = c.post(path+"/reserve", url.Values{"location_id": {f.warehouse.ID.String()}, "quantity": {"381"}, "reference": {"SO-1043"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	errs := findAll(res.doc, func(n *html.Node) bool { return attr(n, "id") == "field-quantity-error" })
	require.Len(t, errs, 1)
	require.Contains(t, textOf(errs[0]), "Insufficient stock")
	testID(t, res, "error-summary")
	require.Equal(t, "381", inputValue(res.doc, "quantity"))
	require.Equal(t, "SO-1043", inputValue(res.doc, "reference"))
	selected := findAll(res.doc, func(n *html.Node) bool {
		return n.Data == "option" && attr(n, "value") == f.warehouse.ID.String() && hasAttr(n, "selected")
	})
	require.Len(t, selected, 1, "the chosen location stays chosen")
	// The same refusal from the page's htmx form is the form alone.
	res = c.do(http.MethodPost, path+"/reserve", url.Values{"location_id": {f.warehouse.ID.String()}, "quantity": {"381"},
		"reference": {"SO-1043"}, "_csrf": {c.token}}, http.Header{"HX-Request": {"true"}, "HX-Target": {"inventory-reserve-form"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.NotContains(t, res.body, "<html")
	require.Contains(t, res.body, "Insufficient stock")

	// Missing fields are named next to their fields, with how to fix them.
	res = c.post(path+"/reserve", url.Values{"location_id": {""}, "quantity": {"0"}, "reference": {""}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	for _, field := range []string{"location_id", "quantity", "reference"} {
		require.Len(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "id") == "field-"+field+"-error" }), 1, field)
	}
	open, err := inventory.ReservationList(ctx, b.db, sc, it.ID)
	require.NoError(t, err)
	require.Len(t, open, 1, "only SO-1042")

	// Release through the confirmation dialog's form.
	page = c.get(path)
	testID(t, page, "reservation-release")
	require.Len(t, findAll(page.doc, func(n *html.Node) bool {
		return n.Data == "dialog" && strings.HasPrefix(attr(n, "id"), "reservation-release-")
	}), 1)
	paths := releasePaths(page)
	require.Equal(t, []string{"/inventory/reservations/" + open[0].ID.String() + "/release"}, paths)
	res = c.post(paths[0], url.Values{})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, path, res.location())
	page = c.get(path)
	require.Contains(t, page.body, "Released the reservation for SO-1042.")
	_, found := byTestID(page.doc, "item-reservations")
	require.False(t, found, "no open reservations left")
	require.Contains(t, testID(t, page, "item-levels"), "500 0 500")

	// A second release is refused and changes nothing.
	res = c.post(paths[0], url.Values{})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "released already")
}

func TestInventoryReservationRolesAndTenants(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.inventoryA(t)
	itemB, locB := b.inventoryB(t)
	it := f.items["NUT-10"]
	ctx := context.Background()
	sc := store.Scope{TenantID: b.tenantA.ID}
	path := "/inventory/items/" + it.ID.String()
	r, err := inventory.Reserve(ctx, b.db, sc, inventory.ReserveParams{ItemID: it.ID, LocationID: f.warehouse.ID,
		Quantity: inventory.Units(5), Reference: "SO-7"})
	require.NoError(t, err)
	releasePath := "/inventory/reservations/" + r.ID.String() + "/release"

	// Auditors see the reservations but neither the form nor the release, and cannot post either.
	a := b.signedIn(t, b.usersA[identity.RoleAuditor])
	page := a.get(path)
	require.Equal(t, http.StatusOK, page.status)
	require.Contains(t, testID(t, page, "item-reservations"), "SO-7")
	_, found := byTestID(page.doc, "reserve-form")
	require.False(t, found, "no reserve form for auditors")
	require.Empty(t, releasePaths(page), "no release for auditors")
	res := a.post(path+"/reserve", url.Values{"location_id": {f.warehouse.ID.String()}, "quantity": {"1"}, "reference": {"X"}})
	require.Equal(t, http.StatusForbidden, res.status)
	res = a.post(releasePath, url.Values{})
	require.Equal(t, http.StatusForbidden, res.status)
	open, err := inventory.ReservationList(ctx, b.db, sc, it.ID)
	require.NoError(t, err)
	require.Len(t, open, 1)

	// Employees see and use both.
	e := b.signedIn(t, b.usersA[identity.RoleEmployee])
	page = e.get(path)
	testID(t, page, "reserve-form")
	require.Equal(t, []string{releasePath}, releasePaths(page))

	// Tenant B's rows do not exist for tenant A, and tenant A's reservation does not exist for tenant B.
	res = e.post("/inventory/items/"+itemB.String()+"/reserve", url.Values{"location_id": {locB.String()}, "quantity": {"1"}, "reference": {"X"}})
	require.Equal(t, http.StatusNotFound, res.status)
	res = e.post(path+"/reserve", url.Values{"location_id": {locB.String()}, "quantity": {"1"}, "reference": {"X"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status, "another tenant's location is no location")
	require.Len(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "id") == "field-location_id-error" }), 1)
	eb := b.signedIn(t, b.usersB[identity.RoleEmployee])
	res = eb.post(releasePath, url.Values{})
	require.Equal(t, http.StatusNotFound, res.status)
	open, err = inventory.ReservationList(ctx, b.db, sc, it.ID)
	require.NoError(t, err)
	require.Len(t, open, 1, "still open after the refusals")

	res = e.post(releasePath, url.Values{})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
}

func TestInventoryLocationEdit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.inventoryA(t)
	_, locB := b.inventoryB(t)
	ctx := context.Background()
	sc := store.Scope{TenantID: b.tenantA.ID}
	path := "/inventory/locations/" + f.bin.ID.String()
	m := b.signedIn(t, b.usersA[identity.RoleManager])

	list := m.get("/inventory/locations")
	require.Contains(t, list.body, `href="`+path+`"`, "the locations page links to the edit page")
	page := m.get(path)
	require.Equal(t, http.StatusOK, page.status)
	require.Equal(t, "MAIN-A1", inputValue(page.doc, "code"))
	require.Equal(t, "Aisle 1", inputValue(page.doc, "name"))
	version := inputValue(page.doc, "version")
	require.Equal(t, "1", version)

	// An empty name: 422 with the message next to the field and the input kept.
	res := m.post(path, url.Values{"version": {version}, "code": {"MAIN-A1"}, "name": {""}, "allow_negative": {"1"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Len(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "id") == "field-name-error" }), 1)
	require.Equal(t, "MAIN-A1", inputValue(res.doc, "code"))
	require.Len(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "name") == "allow_negative" && hasAttr(n, "checked") }), 1)
	// A code in use is an error on the code.
	res = m.post(path, url.Values{"version": {version}, "code": {"main"}, "name": {"Aisle 1"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Len(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "id") == "field-code-error" }), 1)

	// Rename and allow negative stock.
	res = m.post(path, url.Values{"version": {version}, "code": {"MAIN-A1"}, "name": {"Aisle one"}, "allow_negative": {"1"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, "/inventory/locations", res.location())
	require.Contains(t, m.get(res.location()).body, "Saved the changes to MAIN-A1.")
	loc, err := inventory.LocationGet(ctx, b.db, sc, f.bin.ID)
	require.NoError(t, err)
	require.Equal(t, "Aisle one", loc.Name)
	require.True(t, loc.AllowNegative)
	require.Equal(t, 2, loc.Version)

	// The same (now stale) version again: 409 with the typed values kept, nothing written.
	res = m.post(path, url.Values{"version": {version}, "code": {"MAIN-A1"}, "name": {"Aisle uno"}})
	require.Equal(t, http.StatusConflict, res.status)
	require.Contains(t, testID(t, res, "location-conflict"), "changed by someone else")
	require.Equal(t, "Aisle uno", inputValue(res.doc, "name"))
	res = m.do(http.MethodPost, path, url.Values{"version": {version}, "code": {"MAIN-A1"}, "name": {"Aisle uno"}, "_csrf": {m.token}},
		http.Header{"HX-Request": {"true"}, "HX-Target": {"inventory-location-edit-form"}})
	require.Equal(t, http.StatusConflict, res.status)
	require.Contains(t, res.header.Get("HX-Trigger"), "changed by someone else")
	require.NotContains(t, res.body, "<html")
	loc, err = inventory.LocationGet(ctx, b.db, sc, f.bin.ID)
	require.NoError(t, err)
	require.Equal(t, "Aisle one", loc.Name)
	require.Equal(t, 2, loc.Version)

	// Employees and auditors do not edit locations; another tenant's location does not exist.
	for _, role := range []identity.Role{identity.RoleEmployee, identity.RoleAuditor} {
		c := b.signedIn(t, b.usersA[role])
		require.Equal(t, http.StatusForbidden, c.get(path).status, role)
		res = c.post(path, url.Values{"version": {"2"}, "code": {"MAIN-A1"}, "name": {"Mine"}})
		require.Equal(t, http.StatusForbidden, res.status, role)
		require.NotContains(t, c.get("/inventory/locations").body, `data-testid="location-edit"`, role)
	}
	require.Equal(t, http.StatusNotFound, m.get("/inventory/locations/"+locB.String()).status)
	res = m.post("/inventory/locations/"+locB.String(), url.Values{"version": {"1"}, "code": {"B-WH"}, "name": {"Taken over"}})
	require.Equal(t, http.StatusNotFound, res.status)
	locb, err := inventory.LocationGet(ctx, b.db, store.Scope{TenantID: b.tenantB.ID}, locB)
	require.NoError(t, err)
	require.Equal(t, "Globex store", locb.Name)
}

// hasAttr says whether n carries the attribute key (a boolean attribute such as selected or checked).
func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}
