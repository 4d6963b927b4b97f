package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/exports"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
	invview "ledgerline/views/inventory"
	"ledgerline/views/layout"
	"ledgerline/views/ui"
)

// Inventory pages: the item list, an item's page (stock, history, edit, delete), the movement forms,
// locations, stocktake, the ledger and low stock. Every page calls the store's inventory operations,
// which check the actor's permission again inside their transaction.

// money writes minor units with the currency: "EUR 1,234.50".
func money(v int64, currency string) string {
	return currency + " " + store.FormatMinorUnits(v, store.CurrencyDigits(currency))
}

// whenIn formats t in the tenant's zone: a short form and the exact time for the hover.
func whenIn(t time.Time, loc *time.Location) (string, string) {
	t = t.In(loc)
	return t.Format("2 Jan 2006 15:04"), t.Format("2006-01-02 15:04:05 MST")
}

// itemSortLabels are the sortable columns of the item list, in table order.
var itemSortLabels = []struct {
	sort    inventory.ItemSort
	label   string
	numeric bool
}{
	{inventory.SortSKU, "SKU", false}, {inventory.SortName, "Name", false},
	{inventory.SortOnHand, "On hand", true}, {inventory.SortValue, "Value", true},
}

func itemRowOf(it inventory.Item) invview.ItemRow {
	return invview.ItemRow{
		Href: "/inventory/items/" + it.ID.String(), SKU: it.SKU, Name: it.Name, Category: it.Category,
		Unit: string(it.Unit), OnHand: it.OnHand.String(), ReorderPoint: it.ReorderPoint.String(),
		Value: money(it.StockValue, it.Currency), Low: it.Low(), Inactive: it.Status == inventory.ItemInactive,
	}
}

// locationOptions lists the live locations (bins indented under their warehouse) for a select.
func locationOptions(locs []inventory.Location, none, selected string) []invview.Option {
	var out []invview.Option
	if none != "" {
		out = append(out, invview.Option{Value: "", Label: none, Selected: selected == ""})
	}
	for _, l := range locs {
		if l.DeletedAt != nil {
			continue
		}
		label := l.Code + " — " + l.Name
		if l.Kind == inventory.KindBin {
			label = "\u00a0\u00a0" + label
		}
		out = append(out, invview.Option{Value: l.ID.String(), Label: label, Selected: l.ID.String() == selected})
	}
	return out
}

// itemListParams reads the item list's filter and sort from its query string: the list page and its
// export use it both, so an export has exactly the list's rows.
func itemListParams(q url.Values) (inventory.ItemListParams, error) {
	p := inventory.ItemListParams{Search: strings.TrimSpace(q.Get("q")), Category: strings.TrimSpace(q.Get("category")),
		LowStock: q.Get("low") == "1", Deleted: q.Get("deleted") == "1", Sort: inventory.ItemSort(q.Get("sort")),
		Desc: q.Get("dir") == "desc", After: q.Get("after")}
	if p.Sort == "" {
		p.Sort = inventory.SortSKU
	}
	if l := q.Get("location"); l != "" {
		id, err := store.ParseID(l)
		if err != nil {
			return p, store.Errorf(store.Invalid, "Choose a location from the list.")
		}
		p.LocationID = &id
	}
	return p, nil
}

func (h *Handler) inventoryList(c echo.Context) error {
	ctx := c.Request().Context()
	c.Response().Header().Add("Vary", "HX-Request, HX-Target")
	q := c.QueryParams()
	v := invview.ListView{
		Search: strings.TrimSpace(q.Get("q")), Category: strings.TrimSpace(q.Get("category")), LocationID: q.Get("location"),
		LowStock: q.Get("low") == "1", Deleted: q.Get("deleted") == "1", Sort: q.Get("sort"), Dir: q.Get("dir"),
		CanCreate: actorFrom(ctx).Can(identity.InventoryAdjust),
	}
	if v.CanCreate {
		v.ImportHref = importPath
	}
	if v.Sort == "" {
		v.Sort = string(inventory.SortSKU)
	}
	if v.Dir != "desc" {
		v.Dir = ""
	}
	params, err := itemListParams(q)
	if err != nil {
		return err
	}
	var res *inventory.ItemListResult
	var locs []inventory.Location
	var frame layout.Shell
	if err := h.readShared(c, func(ctx context.Context) error {
		var err error
		if res, err = inventory.ItemList(ctx, h.db, scope(c), params); err != nil {
			return err
		}
		if !hxTargets(c, invview.ItemResultsID) {
			frame = h.shell(c, "Inventory") // its counts join the page's transaction
		}
		locs, err = inventory.LocationList(ctx, h.db, scope(c), false)
		return err
	}); err != nil {
		return err
	}
	v.Locations = locationOptions(locs, "All locations", v.LocationID)
	v.Filtered = v.Search != "" || v.Category != "" || v.LocationID != "" || v.LowStock || v.Deleted
	filters := url.Values{}
	for k, val := range map[string]string{"q": v.Search, "category": v.Category, "location": v.LocationID} {
		if val != "" {
			filters.Set(k, val)
		}
	}
	if v.LowStock {
		filters.Set("low", "1")
	}
	if v.Deleted {
		filters.Set("deleted", "1")
	}
	listURL := func(vals url.Values) string {
		if len(vals) == 0 {
			return "/inventory"
		}
		return "/inventory?" + vals.Encode()
	}
	withSort := func(sort, dir string) url.Values {
		vals := url.Values{}
		for k, x := range filters {
			vals[k] = x
		}
		if sort != string(inventory.SortSKU) {
			vals.Set("sort", sort)
		}
		if dir != "" {
			vals.Set("dir", dir)
		}
		return vals
	}
	for _, s := range itemSortLabels {
		hd := invview.SortHeader{Label: s.label, AriaSort: "none", Numeric: s.numeric}
		next := ""
		if string(s.sort) == v.Sort {
			hd.AriaSort = "ascending"
			next = "desc"
			if v.Dir == "desc" {
				hd.AriaSort, next = "descending", ""
			}
		}
		hd.Href = listURL(withSort(string(s.sort), next))
		v.Headers = append(v.Headers, hd)
	}
	for _, it := range res.Items {
		v.Rows = append(v.Rows, itemRowOf(it))
	}
	v.Showing = itemsShowing(len(res.Items), res.Next != "", params.After != "", res.Estimate)
	if res.Next != "" {
		next := withSort(v.Sort, v.Dir)
		next.Set("after", res.Next)
		v.NextURL = listURL(next)
	}
	if params.After != "" {
		v.FirstURL = listURL(withSort(v.Sort, v.Dir))
	}
	v.Export = h.exportButton(c, exports.KindInventoryItems, withSort(v.Sort, v.Dir))
	if hxTargets(c, invview.ItemResultsID) {
		return render(c, http.StatusOK, invview.Results(v))
	}
	return render(c, http.StatusOK, invview.List(frame, v))
}

func (h *Handler) inventoryLowStock(c echo.Context) error {
	ctx := c.Request().Context()
	after := c.QueryParam("after")
	res, err := inventory.LowStockList(ctx, h.db, scope(c), inventory.LowStockListParams{After: after})
	if err != nil {
		return err
	}
	v := invview.LowStockView{}
	for _, it := range res.Items {
		v.Rows = append(v.Rows, itemRowOf(it))
	}
	if res.Next != "" {
		v.NextURL = "/inventory/low-stock?" + url.Values{"after": {res.Next}}.Encode()
	}
	if after != "" {
		v.FirstURL = "/inventory/low-stock"
	}
	return render(c, http.StatusOK, invview.LowStock(h.shell(c, "Low stock — Inventory"), v))
}

// Items.

// itemFormFields are the item form's fields in the order the error summary lists them.
var itemFormFields = []string{"sku", "name", "description", "category", "unit", "barcode", "reorder_point", "reorder_qty", "tracking", "status"}

func itemFormOf(it *inventory.Item) invview.ItemForm {
	return invview.ItemForm{
		SKU: it.SKU, Name: it.Name, Description: it.Description, Category: it.Category, Unit: string(it.Unit),
		Barcode: it.Barcode, ReorderPoint: it.ReorderPoint.String(), ReorderQty: it.ReorderQty.String(),
		Tracking: string(it.Tracking), Status: string(it.Status), Version: it.Version,
	}
}

// itemFormFill completes a form with its choices, action and token.
func itemFormFill(c echo.Context, f *invview.ItemForm, action, submit string) {
	f.Action, f.Submit, f.CSRFToken = action, submit, csrfToken(c)
	if f.Unit == "" {
		f.Unit = "ea"
	}
	f.Units = nil
	for _, u := range inventory.UnitList() {
		f.Units = append(f.Units, invview.Option{Value: string(u), Label: u.Label() + " (" + string(u) + ")", Selected: string(u) == f.Unit})
	}
	f.Trackings = []invview.Option{
		{Value: "none", Label: "None", Selected: f.Tracking == "" || f.Tracking == "none"},
		{Value: "batch", Label: "By batch", Selected: f.Tracking == "batch"},
		{Value: "serial", Label: "By serial number", Selected: f.Tracking == "serial"},
	}
	f.Statuses = []invview.Option{
		{Value: "active", Label: "Active", Selected: f.Status == "" || f.Status == "active"},
		{Value: "inactive", Label: "Inactive", Selected: f.Status == "inactive"},
	}
}

// itemFormRead reads the item form as typed and the store's fields from it.
func itemFormRead(c echo.Context) (invview.ItemForm, inventory.ItemFields, store.FieldErrors) {
	f := invview.ItemForm{
		SKU: c.FormValue("sku"), Name: c.FormValue("name"), Description: c.FormValue("description"),
		Category: c.FormValue("category"), Unit: c.FormValue("unit"), Barcode: c.FormValue("barcode"),
		ReorderPoint: strings.TrimSpace(c.FormValue("reorder_point")), ReorderQty: strings.TrimSpace(c.FormValue("reorder_qty")),
		Tracking: c.FormValue("tracking"), Status: c.FormValue("status"),
	}
	p := inventory.ItemFields{SKU: f.SKU, Name: f.Name, Description: f.Description, Category: f.Category,
		Unit: inventory.Unit(f.Unit), Barcode: f.Barcode, Tracking: inventory.Tracking(f.Tracking), Status: inventory.ItemStatus(f.Status)}
	var fields store.FieldErrors
	for _, q := range []struct {
		field, text string
		into        *inventory.Qty
	}{{"reorder_point", f.ReorderPoint, &p.ReorderPoint}, {"reorder_qty", f.ReorderQty, &p.ReorderQty}} {
		if q.text == "" {
			continue
		}
		v, err := inventory.ParseQty(q.text)
		if err != nil {
			fields.Add(q.field, store.ErrorMessage(err))
		}
		*q.into = v
	}
	return f, p, fields
}

// mergeFieldErrors adds the handler's own parse errors to the store's validation errors.
func mergeFieldErrors(parse store.FieldErrors, err error) error {
	if len(parse) == 0 {
		return err
	}
	var se *store.Error
	if errors.As(err, &se) {
		for k, v := range se.Fields {
			parse.Add(k, v)
		}
	}
	return parse.Err()
}

func (h *Handler) inventoryItemNew(c echo.Context) error {
	f := invview.ItemForm{}
	itemFormFill(c, &f, "/inventory/items", "Create item")
	return render(c, http.StatusOK, invview.ItemNew(h.shell(c, "New item — Inventory"), f))
}

func (h *Handler) inventoryItemCreate(c echo.Context) error {
	ctx := c.Request().Context()
	f, p, parse := itemFormRead(c)
	var it *inventory.Item
	err := parse.Err()
	if err == nil {
		it, err = inventory.ItemCreate(ctx, h.db, scope(c), p)
	} else {
		// Let the store name every other problem too, so the summary lists them all at once.
		_, serr := inventory.ItemCreate(ctx, h.db, scope(c), inventory.ItemFields{SKU: p.SKU, Name: p.Name,
			Description: p.Description, Category: p.Category, Unit: p.Unit, Barcode: p.Barcode, Tracking: p.Tracking, Status: p.Status,
			ReorderPoint: -1})
		err = mergeFieldErrors(parse, serr)
	}
	var se *store.Error
	if errors.As(err, &se) && len(se.Fields) > 0 {
		f.Errors = fieldErrors(err, itemFormFields...)
		itemFormFill(c, &f, "/inventory/items", "Create item")
		if hxTargets(c, invview.ItemFormID) {
			return render(c, http.StatusUnprocessableEntity, invview.ItemFormView(f))
		}
		return render(c, http.StatusUnprocessableEntity, invview.ItemNew(h.shell(c, "New item — Inventory"), f))
	}
	if err != nil {
		return err
	}
	h.flash(ctx, "Created "+it.SKU+". Receive stock to put it on the shelves.")
	return redirect(c, "/inventory/items/"+it.ID.String())
}

// itemView builds an item's page around the edit form as typed (a zero form takes the item's values).
func (h *Handler) itemView(c echo.Context, page *itemPageData, form *invview.ItemForm) invview.ItemView {
	ctx := c.Request().Context()
	a := actorFrom(ctx)
	it, levels, locs := &page.Item, page.Levels, page.Locations
	path := "/inventory/items/" + it.ID.String()
	after, hist := c.QueryParam("after"), page.History
	v := invview.ItemView{
		ID: it.ID.String(), SKU: it.SKU, Name: it.Name, Description: it.Description, Category: it.Category,
		Unit: string(it.Unit), Barcode: it.Barcode, Tracking: string(it.Tracking), Status: string(it.Status),
		OnHand: it.OnHand.String(), ReorderPoint: it.ReorderPoint.String(), ReorderQty: it.ReorderQty.String(),
		AvgCost: money(it.AvgCost, it.Currency), Value: money(it.StockValue, it.Currency),
		Low: it.Low(), Deleted: it.DeletedAt != nil, Inactive: it.Status == inventory.ItemInactive,
		CanWrite: a.Can(identity.InventoryWrite), CanAdjust: a.Can(identity.InventoryAdjust),
		CSRFToken: csrfToken(c), DeletePath: path + "/delete", RestorePath: path + "/restore", Version: it.Version,
	}
	for _, k := range movementKinds {
		if k.kind == inventory.KindAdjustment && !v.CanAdjust {
			continue
		}
		v.MovementLinks = append(v.MovementLinks, invview.Link{Label: k.label,
			Href:   "/inventory/movements/new?" + url.Values{"kind": {string(k.kind)}, "item": {it.ID.String()}}.Encode(),
			TestID: "item-" + string(k.kind)})
	}
	for _, l := range levels {
		v.Levels = append(v.Levels, invview.LevelRow{Location: l.LocationCode + " — " + l.LocationName, Batch: l.Batch,
			OnHand: l.OnHand.String(), Reserved: l.Reserved.String(), Available: l.Available.String()})
	}
	codes := map[store.ID]string{}
	for _, l := range locs {
		codes[l.ID] = l.Code
	}
	for _, r := range page.Reservations {
		since, exact := whenIn(r.CreatedAt, a.Tenant.Location())
		v.Reservations = append(v.Reservations, invview.ReservationRow{ID: r.ID.String(), Reference: r.Reference, Location: codes[r.LocationID],
			Batch: r.Batch, Remaining: r.Remaining().String(), Since: since, SinceExact: exact,
			ReleasePath: "/inventory/reservations/" + r.ID.String() + "/release"})
	}
	reserveFormFill(c, &v.Reserve, it, locs)
	v.History = historyView(hist, locs, false, a.Tenant.Location(), invview.HistoryID)
	v.History.CanReverse, v.History.CSRFToken = v.CanAdjust, csrfToken(c)
	// The item's whole history and its levels, as the ledger's and the levels' exports of this item (the
	// ledger finds live items by SKU).
	if it.DeletedAt == nil {
		v.History.Export = h.exportButton(c, exports.KindInventoryMovements, url.Values{"sku": {it.SKU}})
		v.LevelsExport = h.exportButton(c, exports.KindInventoryLevels, url.Values{"item": {it.ID.String()}})
	}
	if hist.Next != "" {
		v.History.NextURL = path + "?" + url.Values{"after": {hist.Next}}.Encode()
	}
	if after != "" {
		v.History.FirstURL = path
	}
	if form == nil {
		f := itemFormOf(it)
		form = &f
	}
	itemFormFill(c, form, path, "Save changes")
	v.Form = *form
	return v
}

// itemPageData is an item's page and the page of its history from the request's "after" cursor (the
// first page without one).
type itemPageData struct {
	*inventory.ItemPage
	History *inventory.MovementListResult
}

// itemPage reads an item's page: its data in one statement, its history in another.
func (h *Handler) itemPage(c echo.Context, id store.ID) (*itemPageData, error) {
	ctx := c.Request().Context()
	page, err := inventory.ItemPageGet(ctx, h.db, scope(c), id)
	if err != nil {
		return nil, err
	}
	hist, err := inventory.ItemHistory(ctx, h.db, scope(c), &page.Item, c.QueryParam("after"), itemHistoryPage)
	if err != nil {
		return nil, err
	}
	return &itemPageData{ItemPage: page, History: hist}, nil
}

// itemHistoryPage is how many lines of its history an item's page shows at a time.
const itemHistoryPage = 20

// kindBadges colours the kinds of movement: stock in green, out amber, moves blue, corrections grey.
var kindBadges = map[inventory.MovementKind]string{
	inventory.KindReceipt: ui.BadgeApproved, inventory.KindIssue: ui.BadgePending, inventory.KindTransfer: ui.BadgeIssued,
	inventory.KindAdjustment: ui.BadgeDraft, inventory.KindStocktake: ui.BadgeDraft, inventory.KindReversal: ui.BadgeRejected,
}

// historyView turns ledger lines into rows; showItem names each line's item (the ledger page, which reads
// the lines WithSKU; not an item's page).
func historyView(res *inventory.MovementListResult, locs []inventory.Location, showItem bool,
	loc *time.Location, target string) invview.HistoryView {
	names := map[store.ID]string{}
	for _, l := range locs {
		names[l.ID] = l.Code
	}
	v := invview.HistoryView{Target: target, ShowItem: showItem}
	seen := map[store.ID]bool{}
	for _, m := range res.Lines {
		when, exact := whenIn(m.OccurredAt, loc)
		r := invview.MovementRow{When: when, WhenExact: exact, Kind: string(m.Kind), KindBadge: kindBadges[m.Kind],
			Location: names[m.LocationID], Batch: m.Batch, Quantity: m.Quantity.String(), Negative: m.Quantity < 0,
			Reason: m.Reason, Reference: m.Reference, Note: m.Note, ItemHref: "/inventory/items/" + m.ItemID.String()}
		if m.Quantity > 0 {
			r.Quantity = "+" + r.Quantity
		}
		if m.UnitCost != nil && m.Currency != nil {
			r.UnitCost = money(*m.UnitCost, *m.Currency)
		}
		// One reversal per movement (a transfer has two lines); reversals themselves are not reversed.
		if !seen[m.MovementID] && m.Kind != inventory.KindReversal {
			r.MovementID, r.ReversePath = m.MovementID.String(), "/inventory/movements/"+m.MovementID.String()+"/reverse"
		}
		seen[m.MovementID] = true
		if showItem {
			r.Item = m.ItemSKU
			if r.Item == "" {
				r.Item = "Item"
			}
		}
		v.Rows = append(v.Rows, r)
	}
	return v
}

func (h *Handler) inventoryItemShow(c echo.Context) error {
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	var v invview.ItemView
	var frame layout.Shell
	// Generic plans: the page's statements look rows up by the item's id, and planning the history's afresh
	// (37 monthly partitions) cost more than running it.
	if err := h.readSharedGeneric(c, func(ctx context.Context) error {
		page, err := h.itemPage(c, id)
		if err != nil {
			return err
		}
		if !hxTargets(c, invview.HistoryID) {
			frame = h.shell(c, page.Item.SKU+" — Inventory") // its counts join the page's transaction
		}
		v = h.itemView(c, page, nil)
		return nil
	}); err != nil {
		return err
	}
	if hxTargets(c, invview.HistoryID) {
		return render(c, http.StatusOK, invview.History(v.History))
	}
	return render(c, http.StatusOK, invview.ItemDetail(frame, v))
}

func (h *Handler) inventoryItemUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	f, p, parse := itemFormRead(c)
	f.Version = version
	err = parse.Err()
	if err == nil {
		_, err = inventory.ItemUpdate(ctx, h.db, scope(c), inventory.ItemUpdateParams{ID: id, Version: version, ItemFields: p})
	}
	code := store.ErrorCode(err)
	var se *store.Error
	hasFields := errors.As(err, &se) && len(se.Fields) > 0
	if hasFields || code == store.Conflict || code == store.Invalid {
		page, gerr := h.itemPage(c, id)
		if gerr != nil {
			return gerr
		}
		it := &page.Item
		f.Errors = fieldErrors(err, itemFormFields...)
		if !hasFields {
			f.Conflict = store.ErrorMessage(err)
		}
		v := h.itemView(c, page, &f)
		status := http.StatusUnprocessableEntity
		if code == store.Conflict && !hasFields {
			status = http.StatusConflict
		}
		if hxTargets(c, invview.ItemFormID) {
			if status == http.StatusConflict {
				// htmx swaps 422s only (layout's responseHandling): the form stays as typed and the
				// message comes as an error toast, which stays until dismissed.
				c.Response().Header().Set("HX-Trigger", toastTrigger("error", f.Conflict))
			}
			return render(c, status, invview.ItemFormView(v.Form))
		}
		return render(c, status, invview.ItemDetail(h.shell(c, it.SKU+" — Inventory"), v))
	}
	if err != nil {
		return err
	}
	h.flash(ctx, "Saved the changes to "+p.SKU+".")
	return redirect(c, "/inventory/items/"+id.String())
}

func (h *Handler) inventoryItemDelete(c echo.Context) error  { return h.itemDeleteOrRestore(c, true) }
func (h *Handler) inventoryItemRestore(c echo.Context) error { return h.itemDeleteOrRestore(c, false) }

func (h *Handler) itemDeleteOrRestore(c echo.Context, del bool) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	var it *inventory.Item
	if del {
		it, err = inventory.ItemDelete(ctx, h.db, scope(c), id, version)
	} else {
		it, err = inventory.ItemRestore(ctx, h.db, scope(c), id, version)
	}
	if code := store.ErrorCode(err); code == store.Conflict || code == store.Invalid {
		page, gerr := h.itemPage(c, id)
		if gerr != nil {
			return gerr
		}
		cur := &page.Item
		v := h.itemView(c, page, nil)
		v.Problems = []ui.FieldError{{Message: store.ErrorMessage(err)}}
		return render(c, statusOf(err), invview.ItemDetail(h.shell(c, cur.SKU+" — Inventory"), v))
	}
	if err != nil {
		return err
	}
	if del {
		h.flash(ctx, it.SKU+" is deleted. You can restore it from the deleted items.")
	} else {
		h.flash(ctx, it.SKU+" is restored.")
	}
	return redirect(c, "/inventory/items/"+id.String())
}

func (h *Handler) inventoryMovementReverse(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	m, err := inventory.MovementReverse(ctx, h.db, scope(c), inventory.MovementReverseParams{MovementID: id, Note: c.FormValue("note")})
	if err != nil {
		// Already reversed, or the stock to take back is gone: the error page says which.
		return err
	}
	h.flash(ctx, "The movement is reversed.")
	return redirect(c, "/inventory/items/"+m.Lines[0].ItemID.String())
}

// itemsShowing is the list's "Showing 1–50 of about 1.2 million": exact when the whole result fits on the
// first page, the planner's estimate (rounded, "about") when there are more pages, and no total on later
// pages, where keyset pagination knows no position.
func itemsShowing(n int, more, later bool, estimate int64) string {
	switch {
	case n == 0:
		return ""
	case later:
		return fmt.Sprintf("Showing %d items on this page", n)
	case !more:
		if n == 1 {
			return "Showing 1 item"
		}
		return fmt.Sprintf("Showing 1–%d of %d", n, n)
	}
	return fmt.Sprintf("Showing 1–%d of about %s", n, aboutCount(estimate))
}

// aboutCount rounds an estimate to what it is worth: two significant figures, in words from a million.
func aboutCount(n int64) string {
	if n < 100 {
		return strconv.FormatInt(n, 10)
	}
	digits := len(strconv.FormatInt(n, 10))
	unit := int64(1)
	for range digits - 2 {
		unit *= 10
	}
	r := (n + unit/2) / unit * unit
	if r >= 1_000_000 {
		m := float64(r) / 1e6
		if m == float64(int64(m)) {
			return fmt.Sprintf("%d million", int64(m))
		}
		return strconv.FormatFloat(m, 'f', -1, 64) + " million"
	}
	s := strconv.FormatInt(r, 10)
	if len(s) > 3 {
		s = s[:len(s)-3] + "," + s[len(s)-3:]
	}
	return s
}
