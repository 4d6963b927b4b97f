package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/exports"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
	invview "ledgerline/views/inventory"
	"ledgerline/views/ui"
)

// movementKinds are the movements people post by hand, with their form's title.
var movementKinds = []struct {
	kind  inventory.MovementKind
	label string
}{
	{inventory.KindReceipt, "Receive"}, {inventory.KindIssue, "Issue"},
	{inventory.KindTransfer, "Transfer"}, {inventory.KindAdjustment, "Adjust"},
}

// movementFields are the movement form's fields in the order the error summary lists them.
var movementFields = []string{"item_id", "location_id", "from_location_id", "to_location_id", "quantity", "unit_cost",
	"currency", "batch", "reason", "reference", "note", "occurred_at", "reservation_id"}

// movementFormFill completes a movement form with its choices, labels and token.
func (h *Handler) movementFormFill(c echo.Context, f *invview.MovementForm, it *inventory.Item) error {
	ctx := c.Request().Context()
	locs, err := inventory.LocationList(ctx, h.db, scope(c), false)
	if err != nil {
		return err
	}
	f.CSRFToken = csrfToken(c)
	f.Currency = actorFrom(ctx).Tenant.Currency
	for _, k := range movementKinds {
		if k.kind == inventory.KindAdjustment && !actorFrom(ctx).Can(identity.InventoryAdjust) {
			continue
		}
		vals := url.Values{"kind": {string(k.kind)}}
		if f.ItemID != "" {
			vals.Set("item", f.ItemID)
		}
		f.Kinds = append(f.Kinds, invview.Link{Label: k.label, Href: "/inventory/movements/new?" + vals.Encode(), TestID: string(k.kind)})
		if string(k.kind) == f.Kind {
			f.KindLabel = k.label
		}
	}
	if it != nil {
		f.ItemID, f.ItemLabel = it.ID.String(), it.SKU+" · "+it.Name
		f.Currency = it.Currency
		f.UnitHint = "In " + it.Unit.Label()
		if it.Unit.Whole() {
			f.UnitHint += ", whole numbers"
		}
		if f.Kind == string(inventory.KindAdjustment) {
			f.UnitHint += "; a negative quantity removes stock"
		}
	}
	f.Locations = locationOptions(locs, "Choose a location", f.LocationID)
	f.FromLocations = locationOptions(locs, "Choose where it comes from", f.FromLocationID)
	f.ToLocations = locationOptions(locs, "Choose where it goes", f.ToLocationID)
	return nil
}

func movementKindValid(k string) bool {
	for _, m := range movementKinds {
		if string(m.kind) == k {
			return true
		}
	}
	return false
}

// movementCrumbs leads back to the item when the form is for one.
func movementCrumbs(it *inventory.Item) []invview.Link {
	out := []invview.Link{{Label: "Inventory", Href: "/inventory"}}
	if it != nil {
		out = append(out, invview.Link{Label: it.SKU, Href: "/inventory/items/" + it.ID.String()})
	}
	return out
}

func (h *Handler) inventoryMovementNew(c echo.Context) error {
	ctx := c.Request().Context()
	f := invview.MovementForm{Kind: c.QueryParam("kind")}
	if !movementKindValid(f.Kind) {
		f.Kind = string(inventory.KindReceipt)
	}
	var it *inventory.Item
	if raw := c.QueryParam("item"); raw != "" {
		id, err := store.ParseID(raw)
		if err != nil {
			return echo.NewHTTPError(http.StatusNotFound)
		}
		if it, err = inventory.ItemGet(ctx, h.db, scope(c), id); err != nil {
			return err
		}
	}
	if err := h.movementFormFill(c, &f, it); err != nil {
		return err
	}
	return render(c, http.StatusOK, invview.MovementNew(h.shell(c, f.KindLabel+" — Inventory"), movementCrumbs(it), f))
}

// itemBySKU finds the live item with exactly this SKU (any letter case).
func (h *Handler) itemBySKU(c echo.Context, sku string) (*inventory.Item, error) {
	return h.itemBySKUIn(c.Request().Context(), scope(c), sku)
}

// itemBySKUIn is itemBySKU for a scope.
func (h *Handler) itemBySKUIn(ctx context.Context, sc store.Scope, sku string) (*inventory.Item, error) {
	sku = strings.TrimSpace(sku)
	if sku == "" {
		return nil, nil
	}
	res, err := inventory.ItemList(ctx, h.db, sc, inventory.ItemListParams{Search: sku, Limit: 200})
	if err != nil {
		return nil, err
	}
	for _, it := range res.Items {
		if strings.EqualFold(it.SKU, sku) {
			return &it, nil
		}
	}
	return nil, nil
}

// parseOptionalID reads a select's id; "" is the zero ID (the store says what is missing).
func parseOptionalID(fields *store.FieldErrors, field, raw, msg string) store.ID {
	if raw == "" {
		return store.ID{}
	}
	id, err := store.ParseID(raw)
	if err != nil {
		fields.Add(field, msg)
	}
	return id
}

func (h *Handler) inventoryMovementCreate(c echo.Context) error {
	ctx := c.Request().Context()
	f := invview.MovementForm{
		Kind: c.FormValue("kind"), ItemID: c.FormValue("item_id"), ItemLabel: c.FormValue("sku"),
		LocationID: c.FormValue("location_id"), FromLocationID: c.FormValue("from_location_id"), ToLocationID: c.FormValue("to_location_id"),
		Batch: c.FormValue("batch"), Quantity: strings.TrimSpace(c.FormValue("quantity")), UnitCost: strings.TrimSpace(c.FormValue("unit_cost")),
		Reason: c.FormValue("reason"), Reference: c.FormValue("reference"), Note: c.FormValue("note"),
	}
	if !movementKindValid(f.Kind) {
		return store.Errorf(store.Invalid, "Choose a kind of movement from the list.")
	}
	var fields store.FieldErrors
	var it *inventory.Item
	var err error
	if f.ItemID != "" {
		id, perr := store.ParseID(f.ItemID)
		if perr != nil {
			return echo.NewHTTPError(http.StatusNotFound)
		}
		if it, err = inventory.ItemGet(ctx, h.db, scope(c), id); err != nil {
			return err
		}
	} else {
		if it, err = h.itemBySKU(c, f.ItemLabel); err != nil {
			return err
		}
		if it == nil {
			fields.Add("item_id", "Enter the SKU of an item, like the ones in the item list.")
		}
	}
	var qty inventory.Qty
	if f.Quantity == "" {
		fields.Add("quantity", "Enter a quantity above zero.")
	} else if qty, err = inventory.ParseQty(f.Quantity); err != nil {
		fields.Add("quantity", store.ErrorMessage(err))
	}
	loc := parseOptionalID(&fields, "location_id", f.LocationID, "Choose a location from the list.")
	from := parseOptionalID(&fields, "from_location_id", f.FromLocationID, "Choose a location from the list.")
	to := parseOptionalID(&fields, "to_location_id", f.ToLocationID, "Choose a location from the list.")
	info := inventory.MovementInfo{Reference: f.Reference, Note: f.Note}
	var itemID store.ID
	currency := actorFrom(ctx).Tenant.Currency
	if it != nil {
		itemID, currency = it.ID, it.Currency
	}
	var cost int64
	if f.Kind == string(inventory.KindReceipt) {
		if f.UnitCost == "" {
			fields.Add("unit_cost", "Enter the unit cost, like 12.50 (0 for free stock).")
		} else if cost, err = store.ParseMinorUnits(f.UnitCost, store.CurrencyDigits(currency)); err != nil {
			fields.Add("unit_cost", store.ErrorMessage(err))
		}
	}
	err = fields.Err()
	if err == nil {
		sc := scope(c)
		switch inventory.MovementKind(f.Kind) {
		case inventory.KindReceipt:
			_, err = inventory.Receive(ctx, h.db, sc, inventory.ReceiveParams{ItemID: itemID, LocationID: loc, Batch: f.Batch,
				Quantity: qty, UnitCost: cost, Currency: currency, MovementInfo: info})
		case inventory.KindIssue:
			_, err = inventory.Issue(ctx, h.db, sc, inventory.IssueParams{ItemID: itemID, LocationID: loc, Batch: f.Batch,
				Quantity: qty, MovementInfo: info})
		case inventory.KindTransfer:
			_, err = inventory.Transfer(ctx, h.db, sc, inventory.TransferParams{ItemID: itemID, FromLocationID: from,
				ToLocationID: to, Batch: f.Batch, Quantity: qty, MovementInfo: info})
		case inventory.KindAdjustment:
			_, err = inventory.Adjust(ctx, h.db, sc, inventory.AdjustParams{ItemID: itemID, LocationID: loc, Batch: f.Batch,
				Quantity: qty, Reason: f.Reason, MovementInfo: info})
		}
	}
	if store.ErrorCode(err) == store.Invalid {
		f.Errors = fieldErrors(err, movementFields...)
		if len(f.Errors) == 0 {
			// "Insufficient stock…" and other refusals of the amount belong next to the quantity.
			field := "quantity"
			if !inventory.IsInsufficientStock(err) && !strings.Contains(store.ErrorMessage(err), "quantity") {
				field = ""
			}
			f.Errors = []ui.FieldError{{Field: field, Message: store.ErrorMessage(err)}}
		}
		if it == nil {
			// The item was typed as a SKU: its problem belongs to that field.
			f.ItemID = ""
			for i := range f.Errors {
				if f.Errors[i].Field == "item_id" {
					f.Errors[i].Field = "sku"
				}
			}
		}
		if ferr := h.movementFormFill(c, &f, it); ferr != nil {
			return ferr
		}
		if hxTargets(c, invview.MovementFormID) {
			return render(c, http.StatusUnprocessableEntity, invview.MovementFormView(f))
		}
		return render(c, http.StatusUnprocessableEntity, invview.MovementNew(h.shell(c, f.KindLabel+" — Inventory"), movementCrumbs(it), f))
	}
	if err != nil {
		return err
	}
	verb := map[string]string{"receipt": "Received", "issue": "Issued", "transfer": "Transferred", "adjustment": "Adjusted"}[f.Kind]
	h.flash(ctx, verb+" "+qty.String()+" "+string(it.Unit)+" of "+it.SKU+".")
	return redirect(c, "/inventory/items/"+it.ID.String())
}

// Locations.

func (h *Handler) locationsView(c echo.Context, form invview.LocationForm) (invview.LocationsView, error) {
	ctx := c.Request().Context()
	showDeleted := c.QueryParam("deleted") == "1"
	locs, err := inventory.LocationList(ctx, h.db, scope(c), showDeleted)
	if err != nil {
		return invview.LocationsView{}, err
	}
	val, err := inventory.StockValue(ctx, h.db, scope(c))
	if err != nil {
		return invview.LocationsView{}, err
	}
	values := map[store.ID]int64{}
	for _, l := range val.Locations {
		values[l.LocationID] = l.Value
	}
	v := invview.LocationsView{CanAdjust: actorFrom(ctx).Can(identity.InventoryAdjust), ShowDeleted: showDeleted,
		CSRFToken: csrfToken(c), ValueTotal: money(val.Total, val.Currency)}
	form.Warehouses = []invview.Option{{Value: "", Label: "None: a new warehouse", Selected: form.WarehouseID == ""}}
	for _, l := range locs {
		path := "/inventory/locations/" + l.ID.String()
		kind := "Warehouse"
		if l.Kind == inventory.KindBin {
			kind = "Bin"
		} else if l.DeletedAt == nil {
			form.Warehouses = append(form.Warehouses, invview.Option{Value: l.ID.String(), Label: l.Code + " — " + l.Name, Selected: l.ID.String() == form.WarehouseID})
		}
		v.Rows = append(v.Rows, invview.LocationRow{
			ID: l.ID.String(), Code: l.Code, Name: l.Name, Kind: kind, Value: money(values[l.ID], val.Currency),
			Bin: l.Kind == inventory.KindBin, Deleted: l.DeletedAt != nil, Version: l.Version, AllowNegative: l.AllowNegative,
			DeletePath: path + "/delete", RestorePath: path + "/restore", EditHref: path,
			StocktakeHref: "/inventory/stocktake?location=" + l.ID.String(), LedgerHref: "/inventory/ledger?location=" + l.ID.String(),
		})
	}
	v.Form = form
	return v, nil
}

func (h *Handler) inventoryLocations(c echo.Context) error {
	v, err := h.locationsView(c, invview.LocationForm{})
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, invview.Locations(h.shell(c, "Locations — Inventory"), v))
}

func (h *Handler) inventoryLocationCreate(c echo.Context) error {
	ctx := c.Request().Context()
	form := invview.LocationForm{Code: c.FormValue("code"), Name: c.FormValue("name"), WarehouseID: c.FormValue("warehouse_id"),
		AllowNegative: c.FormValue("allow_negative") == "1"}
	var fields store.FieldErrors
	p := inventory.LocationCreateParams{Code: form.Code, Name: form.Name, AllowNegative: form.AllowNegative}
	if form.WarehouseID != "" {
		id := parseOptionalID(&fields, "warehouse_id", form.WarehouseID, "Choose a warehouse from the list.")
		p.WarehouseID = &id
	}
	err := fields.Err()
	var loc *inventory.Location
	if err == nil {
		loc, err = inventory.LocationCreate(ctx, h.db, scope(c), p)
	}
	var se *store.Error
	if errors.As(err, &se) && len(se.Fields) > 0 {
		form.Errors = fieldErrors(err, "warehouse_id", "code", "name", "allow_negative")
		v, verr := h.locationsView(c, form)
		if verr != nil {
			return verr
		}
		return render(c, http.StatusUnprocessableEntity, invview.Locations(h.shell(c, "Locations — Inventory"), v))
	}
	if err != nil {
		return err
	}
	h.flash(ctx, "Added "+loc.Code+".")
	return redirect(c, "/inventory/locations")
}

func (h *Handler) inventoryLocationDelete(c echo.Context) error {
	return h.locationDeleteOrRestore(c, true)
}
func (h *Handler) inventoryLocationRestore(c echo.Context) error {
	return h.locationDeleteOrRestore(c, false)
}

func (h *Handler) locationDeleteOrRestore(c echo.Context, del bool) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	var loc *inventory.Location
	if del {
		loc, err = inventory.LocationDelete(ctx, h.db, scope(c), id, version)
	} else {
		loc, err = inventory.LocationRestore(ctx, h.db, scope(c), id, version)
	}
	if code := store.ErrorCode(err); code == store.Conflict || code == store.Invalid {
		v, verr := h.locationsView(c, invview.LocationForm{})
		if verr != nil {
			return verr
		}
		v.Problems = []ui.FieldError{{Message: store.ErrorMessage(err)}}
		return render(c, statusOf(err), invview.Locations(h.shell(c, "Locations — Inventory"), v))
	}
	if err != nil {
		return err
	}
	if del {
		h.flash(ctx, loc.Code+" is deleted.")
		return redirect(c, "/inventory/locations?deleted=1")
	}
	h.flash(ctx, loc.Code+" is restored.")
	return redirect(c, "/inventory/locations")
}

// Stocktake.

func (h *Handler) stocktakeView(c echo.Context, locationID string) (invview.StocktakeView, error) {
	ctx := c.Request().Context()
	locs, err := inventory.LocationList(ctx, h.db, scope(c), false)
	if err != nil {
		return invview.StocktakeView{}, err
	}
	v := invview.StocktakeView{CSRFToken: csrfToken(c), Locations: locationOptions(locs, "Choose a location", locationID)}
	if locationID == "" {
		return v, nil
	}
	id, err := store.ParseID(locationID)
	if err != nil {
		return v, echo.NewHTTPError(http.StatusNotFound)
	}
	loc, err := inventory.LocationGet(ctx, h.db, scope(c), id)
	if err != nil {
		return v, err
	}
	// Only the location itself: a warehouse's bins are counted on their own.
	levels, err := inventory.StockLevels(ctx, h.db, scope(c), inventory.StockLevelParams{LocationID: &id})
	if err != nil {
		return v, err
	}
	v.LocationID, v.LocationLabel = loc.ID.String(), loc.Code+" — "+loc.Name
	for _, l := range levels {
		if l.LocationID != id {
			continue
		}
		v.Lines = append(v.Lines, invview.StocktakeLine{Index: len(v.Lines), ItemID: l.ItemID.String(), SKU: l.SKU, Name: l.ItemName,
			Batch: l.Batch, Recorded: l.OnHand.String(), Unit: string(l.Unit)})
	}
	return v, nil
}

func (h *Handler) inventoryStocktake(c echo.Context) error {
	v, err := h.stocktakeView(c, c.QueryParam("location"))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, invview.Stocktake(h.shell(c, "Stocktake — Inventory"), v))
}

func (h *Handler) inventoryStocktakePost(c echo.Context) error {
	ctx := c.Request().Context()
	locationID := c.FormValue("location_id")
	v, err := h.stocktakeView(c, locationID)
	if err != nil {
		return err
	}
	v.Reason = c.FormValue("reason")
	var fields store.FieldErrors
	p := inventory.StocktakeParams{Reason: v.Reason}
	p.LocationID, _ = store.ParseID(locationID)
	// The lines posted are those the page showed; a blank count leaves a line out.
	for i := range v.Lines {
		l := &v.Lines[i]
		idx := strconv.Itoa(l.Index)
		l.Counted = strings.TrimSpace(c.FormValue("counted." + idx))
		if l.Counted == "" || c.FormValue("item_id."+idx) != l.ItemID {
			continue
		}
		q, perr := inventory.ParseQty(l.Counted)
		if perr != nil {
			l.Error = store.ErrorMessage(perr)
			fields.Add("lines."+idx+".counted", l.Error)
			continue
		}
		itemID, _ := store.ParseID(l.ItemID)
		p.Lines = append(p.Lines, inventory.StocktakeLine{ItemID: itemID, Batch: l.Batch, Counted: q})
	}
	err = fields.Err()
	var m *inventory.Movement
	if err == nil {
		m, err = inventory.Stocktake(ctx, h.db, scope(c), p)
	}
	if store.ErrorCode(err) == store.Invalid {
		order := []string{"lines", "reason"}
		for i := range v.Lines {
			order = append(order, "lines."+strconv.Itoa(i)+".counted")
		}
		v.Errors = fieldErrors(err, order...)
		if len(v.Errors) == 0 {
			v.Errors = []ui.FieldError{{Message: store.ErrorMessage(err)}}
		}
		if v.Errors[0].Field == "lines" {
			v.Errors[0].Field = ""
		}
		return render(c, http.StatusUnprocessableEntity, invview.Stocktake(h.shell(c, "Stocktake — Inventory"), v))
	}
	if err != nil {
		return err
	}
	n := 0
	if m != nil {
		n = len(m.Lines)
	}
	h.flash(ctx, "Stocktake posted: "+strconv.Itoa(n)+" differences adjusted at "+v.LocationLabel+".")
	return redirect(c, "/inventory/ledger?"+url.Values{"location": {locationID}, "kind": {"stocktake"}}.Encode())
}

// Ledger.

// ledgerParams reads the ledger's filter from its query string, read in the tenant's zone tz: the ledger
// page and its export use it both. Problems the person can fix come back as field errors.
func (h *Handler) ledgerParams(ctx context.Context, sc store.Scope, q url.Values, tz *time.Location) (inventory.MovementListParams, []ui.FieldError, error) {
	v := struct{ ItemID, LocationID, Kind, From, To string }{strings.TrimSpace(q.Get("sku")), q.Get("location"), q.Get("kind"), q.Get("from"), q.Get("to")}
	params := inventory.MovementListParams{After: q.Get("after")}
	var problems []ui.FieldError
	if v.ItemID != "" {
		it, err := h.itemBySKUIn(ctx, sc, v.ItemID)
		if err != nil {
			return params, nil, err
		}
		if it == nil {
			problems = append(problems, ui.FieldError{Field: "", Message: "No item has the SKU " + v.ItemID + ". Enter the SKU exactly."})
		} else {
			params.ItemID = &it.ID
		}
	}
	if v.LocationID != "" {
		id, err := store.ParseID(v.LocationID)
		if err != nil {
			return params, nil, store.Errorf(store.Invalid, "Choose a location from the list.")
		}
		params.LocationID = &id
	}
	if v.Kind != "" {
		params.Kind = inventory.MovementKind(v.Kind)
	}
	for _, d := range []struct {
		text  string
		into  *time.Time
		label string
		next  bool
	}{{v.From, &params.From, "from", false}, {v.To, &params.To, "to", true}} {
		if d.text == "" {
			continue
		}
		t, err := time.ParseInLocation("2006-01-02", d.text, tz)
		if err != nil {
			problems = append(problems, ui.FieldError{Message: "Enter the " + d.label + " date as a date, like 2026-01-31."})
			continue
		}
		if d.next {
			t = t.AddDate(0, 0, 1) // the whole "to" day is included
		}
		*d.into = t
	}
	return params, problems, nil
}

func (h *Handler) inventoryLedger(c echo.Context) error {
	var page templ.Component
	// Custom plans: see inventory.MovementList.
	if err := h.readSharedCustom(c, func(context.Context) error {
		var err error
		page, err = h.inventoryLedgerPage(c)
		return err
	}); err != nil {
		return err
	}
	return render(c, http.StatusOK, page)
}

// inventoryLedgerPage reads the ledger page's data (in readShared's transaction) and returns what to render.
func (h *Handler) inventoryLedgerPage(c echo.Context) (templ.Component, error) {
	ctx := c.Request().Context()
	c.Response().Header().Add("Vary", "HX-Request, HX-Target")
	q := c.QueryParams()
	a := actorFrom(ctx)
	tz := a.Tenant.Location()
	v := invview.LedgerView{ItemID: strings.TrimSpace(q.Get("sku")), LocationID: q.Get("location"), Kind: q.Get("kind"),
		From: q.Get("from"), To: q.Get("to")}
	v.Filtered = v.ItemID != "" || v.LocationID != "" || v.Kind != "" || v.From != "" || v.To != ""
	params, problems, err := h.ledgerParams(ctx, scope(c), q, tz)
	if err != nil {
		return nil, err
	}
	locs, err := inventory.LocationList(ctx, h.db, scope(c), true)
	if err != nil {
		return nil, err
	}
	res := &inventory.MovementListResult{}
	if len(problems) == 0 {
		params.WithSKU = true // the lines name their items
		if res, err = inventory.MovementList(ctx, h.db, scope(c), params); err != nil {
			return nil, err
		}
	}
	v.Locations = locationOptions(locs, "All locations", v.LocationID)
	v.Kinds = []invview.Option{{Value: "", Label: "All kinds", Selected: v.Kind == ""}}
	for _, k := range []inventory.MovementKind{inventory.KindReceipt, inventory.KindIssue, inventory.KindTransfer,
		inventory.KindAdjustment, inventory.KindStocktake, inventory.KindReversal} {
		v.Kinds = append(v.Kinds, invview.Option{Value: string(k), Label: string(k), Selected: string(k) == v.Kind})
	}
	v.History = historyView(res, locs, true, tz, invview.LedgerResultsID)
	v.History.Problems = problems
	v.History.CanReverse, v.History.CSRFToken = a.Can(identity.InventoryAdjust), csrfToken(c)
	filters := url.Values{}
	for k, val := range map[string]string{"sku": v.ItemID, "location": v.LocationID, "kind": v.Kind, "from": v.From, "to": v.To} {
		if val != "" {
			filters.Set(k, val)
		}
	}
	if res.Next != "" {
		next := url.Values{}
		for k, x := range filters {
			next[k] = x
		}
		next.Set("after", res.Next)
		v.History.NextURL = "/inventory/ledger?" + next.Encode()
	}
	if params.After != "" {
		v.History.FirstURL = "/inventory/ledger"
		if len(filters) > 0 {
			v.History.FirstURL += "?" + filters.Encode()
		}
	}
	v.History.Export = h.exportButton(c, exports.KindInventoryMovements, filters)
	if hxTargets(c, invview.LedgerResultsID) {
		return invview.History(v.History), nil
	}
	return invview.Ledger(h.shell(c, "Stock ledger — Inventory"), v), nil
}
