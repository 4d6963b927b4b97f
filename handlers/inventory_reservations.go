package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/inventory"
	invview "ledgerline/views/inventory"
	"ledgerline/views/ui"
)

// Reservations on an item's page (reserve, release) and a location's edit page. Like the other inventory
// pages, each calls one store operation, which checks the actor's permission again.

// reserveFields are the reserve form's fields in the order the error summary lists them.
var reserveFields = []string{"location_id", "quantity", "reference", "batch"}

// reserveFormFill completes the reserve form of an item with its choices, action and token.
func reserveFormFill(c echo.Context, f *invview.ReserveForm, it *inventory.Item, locs []inventory.Location) {
	f.Action, f.CSRFToken = "/inventory/items/"+it.ID.String()+"/reserve", csrfToken(c)
	f.Locations = locationOptions(locs, "Choose a location", f.LocationID)
	f.UnitHint = "In " + it.Unit.Label()
	if it.Unit.Whole() {
		f.UnitHint += ", whole numbers"
	}
}

func (h *Handler) inventoryReserve(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	it, err := inventory.ItemGet(ctx, h.db, scope(c), id)
	if err != nil {
		return err
	}
	f := invview.ReserveForm{LocationID: c.FormValue("location_id"), Batch: c.FormValue("batch"),
		Quantity: strings.TrimSpace(c.FormValue("quantity")), Reference: c.FormValue("reference")}
	var fields store.FieldErrors
	var qty inventory.Qty
	if f.Quantity == "" {
		fields.Add("quantity", "Enter a quantity above zero.")
	} else if qty, err = inventory.ParseQty(f.Quantity); err != nil {
		fields.Add("quantity", store.ErrorMessage(err))
	}
	loc := parseOptionalID(&fields, "location_id", f.LocationID, "Choose a location from the list.")
	err = fields.Err()
	var r *inventory.Reservation
	if err == nil {
		r, err = inventory.Reserve(ctx, h.db, scope(c), inventory.ReserveParams{ItemID: it.ID, LocationID: loc,
			Batch: f.Batch, Quantity: qty, Reference: f.Reference})
	}
	if store.ErrorCode(err) == store.NotFound && f.LocationID != "" {
		// The item was found above: what is missing is the location (another tenant's is none).
		err = (store.FieldErrors{"location_id": "Choose a location from the list."}).Err()
	}
	if store.ErrorCode(err) == store.Invalid {
		f.Errors = fieldErrors(err, reserveFields...)
		if len(f.Errors) == 0 {
			// "Insufficient stock…" and other refusals of the amount belong next to the quantity.
			field := "quantity"
			if !inventory.IsInsufficientStock(err) && !strings.Contains(store.ErrorMessage(err), "quantity") {
				field = ""
			}
			f.Errors = []ui.FieldError{{Field: field, Message: store.ErrorMessage(err)}}
		}
		page, perr := h.itemPage(c, it.ID)
		if perr != nil {
			return perr
		}
		v := h.itemView(c, page, nil)
		f.Action, f.CSRFToken, f.UnitHint = v.Reserve.Action, v.Reserve.CSRFToken, v.Reserve.UnitHint
		for _, o := range v.Reserve.Locations {
			o.Selected = o.Value == f.LocationID
			f.Locations = append(f.Locations, o)
		}
		v.Reserve = f
		if hxTargets(c, invview.ReserveFormID) {
			return render(c, http.StatusUnprocessableEntity, invview.ReserveFormView(v.Reserve))
		}
		return render(c, http.StatusUnprocessableEntity, invview.ItemDetail(h.shell(c, it.SKU+" — Inventory"), v))
	}
	if err != nil {
		return err
	}
	h.flash(ctx, "Reserved "+r.Quantity.String()+" "+string(it.Unit)+" of "+it.SKU+" for "+r.Reference+".")
	return redirect(c, "/inventory/items/"+it.ID.String())
}

func (h *Handler) inventoryReservationRelease(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	r, err := inventory.ReservationRelease(ctx, h.db, scope(c), id)
	if err != nil {
		// Unknown (or another tenant's), or closed already: the error page says which.
		return err
	}
	h.flash(ctx, "Released the reservation for "+r.Reference+".")
	return redirect(c, "/inventory/items/"+r.ItemID.String())
}

// locationEditFields are the location edit form's fields in the order the error summary lists them.
var locationEditFields = []string{"code", "name", "allow_negative"}

// locationEditView builds a location's edit page around the form as typed (nil: the location's values).
func locationEditView(c echo.Context, loc *inventory.Location, form *invview.LocationEditForm) invview.LocationEditView {
	v := invview.LocationEditView{Code: loc.Code, Kind: "Warehouse", Deleted: loc.DeletedAt != nil}
	if loc.Kind == inventory.KindBin {
		v.Kind = "Bin"
	}
	if form == nil {
		form = &invview.LocationEditForm{Code: loc.Code, Name: loc.Name, AllowNegative: loc.AllowNegative, Version: loc.Version}
	}
	form.Action, form.CSRFToken = "/inventory/locations/"+loc.ID.String(), csrfToken(c)
	v.Form = *form
	return v
}

func (h *Handler) inventoryLocationEdit(c echo.Context) error {
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	loc, err := inventory.LocationGet(c.Request().Context(), h.db, scope(c), id)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, invview.LocationEdit(h.shell(c, loc.Code+" — Locations — Inventory"), locationEditView(c, loc, nil)))
}

func (h *Handler) inventoryLocationUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	f := invview.LocationEditForm{Code: c.FormValue("code"), Name: c.FormValue("name"),
		AllowNegative: c.FormValue("allow_negative") == "1", Version: version}
	_, err = inventory.LocationUpdate(ctx, h.db, scope(c), inventory.LocationUpdateParams{ID: id, Version: version,
		Code: f.Code, Name: f.Name, AllowNegative: f.AllowNegative})
	code := store.ErrorCode(err)
	var se *store.Error
	hasFields := errors.As(err, &se) && len(se.Fields) > 0
	if hasFields || code == store.Conflict || code == store.Invalid {
		// Loaded again so that a location of another tenant is a 404 here too, whatever was typed.
		loc, gerr := inventory.LocationGet(ctx, h.db, scope(c), id)
		if gerr != nil {
			return gerr
		}
		f.Errors = fieldErrors(err, locationEditFields...)
		if !hasFields {
			f.Conflict = store.ErrorMessage(err)
		}
		status := http.StatusUnprocessableEntity
		if code == store.Conflict && !hasFields {
			status = http.StatusConflict
		}
		v := locationEditView(c, loc, &f)
		if hxTargets(c, invview.LocationEditFormID) {
			if status == http.StatusConflict {
				// htmx swaps 422s only (layout's responseHandling): the form stays as typed and the
				// message comes as an error toast, which stays until dismissed.
				c.Response().Header().Set("HX-Trigger", toastTrigger("error", f.Conflict))
			}
			return render(c, status, invview.LocationEditFormView(v.Form))
		}
		return render(c, status, invview.LocationEdit(h.shell(c, loc.Code+" — Locations — Inventory"), v))
	}
	if err != nil {
		return err
	}
	h.flash(ctx, "Saved the changes to "+f.Code+".")
	return redirect(c, "/inventory/locations")
}
