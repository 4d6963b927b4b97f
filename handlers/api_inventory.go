package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
)

// Inventory in API v1: items and locations here, the ledger, levels, valuation and reservations in
// api_inventory_movements.go. Every operation calls one store operation, which checks the actor's
// permission itself; the scopes below mirror those permissions (inventory.read to look, inventory.write
// to move stock, inventory.adjust to change the catalog, adjust, count and reverse).

// apiQty is a quantity in JSON: a decimal string with exactly three decimals ("12.500"). Quantities are
// exact fixed-point values in the store; a JSON number would invite clients to send floats.
type apiQty inventory.Qty

// apiQtyPattern is the schema's pattern for a quantity: up to 12 whole digits and 3 decimals.
const apiQtyPattern = `^-?[0-9]{1,12}(\.[0-9]{1,3})?$`

// String writes q with three decimals.
func (q apiQty) String() string {
	v := int64(q)
	sign := ""
	u := uint64(v) // #nosec G115 -- two's complement on purpose: negated below when v < 0
	if v < 0 {
		sign, u = "-", uint64(-v)
	}
	return fmt.Sprintf("%s%d.%03d", sign, u/inventory.QtyScale, u%inventory.QtyScale)
}

// MarshalJSON writes q as a decimal string.
func (q apiQty) MarshalJSON() ([]byte, error) { return []byte(`"` + q.String() + `"`), nil }

// UnmarshalJSON reads a decimal string; numbers are refused (the schema says so first).
func (q *apiQty) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`send quantities as decimal strings, like "12.5"`)
	}
	v, err := inventory.ParseQty(s)
	if err != nil {
		return err
	}
	*q = apiQty(v)
	return nil
}

// Schema documents a quantity as a decimal string.
func (apiQty) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{
		Type: huma.TypeString, Pattern: apiQtyPattern, Examples: []any{"12.500"},
		Description: "A quantity as a decimal string with up to 3 decimals (answers always carry 3), never a JSON number.",
	}
}

// apiMoney is an amount in integer minor units of a currency (cents for EUR and USD).
type apiMoney struct {
	Amount   int64  `json:"amount" doc:"Integer minor units of the currency, e.g. 1250 for 12.50 EUR."`
	Currency string `json:"currency" minLength:"3" maxLength:"3" doc:"ISO 4217 code." example:"EUR"`
}

// apiItem is an item as the API shows it. Quantities are decimal strings, money minor units.
type apiItem struct {
	ID           string     `json:"id" format:"uuid"`
	SKU          string     `json:"sku"`
	Name         string     `json:"name"`
	Description  string     `json:"description"`
	Category     string     `json:"category"`
	Unit         string     `json:"unit" doc:"Unit of measure, e.g. ea, kg, l."`
	Barcode      string     `json:"barcode"`
	ReorderPoint apiQty     `json:"reorder_point"`
	ReorderQty   apiQty     `json:"reorder_qty"`
	Tracking     string     `json:"tracking" enum:"none,batch,serial"`
	Status       string     `json:"status" enum:"active,inactive"`
	OnHand       apiQty     `json:"on_hand" doc:"On hand over all locations."`
	LowStock     bool       `json:"low_stock" doc:"At or below the reorder point."`
	AvgCost      apiMoney   `json:"avg_cost" doc:"Moving average cost per unit."`
	StockValue   apiMoney   `json:"stock_value" doc:"On hand valued at the average cost."`
	DeletedAt    *time.Time `json:"deleted_at" doc:"When it was deleted; null while it exists. Deleted items can be restored."`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	Version      int        `json:"version" doc:"Send it back when changing the item: a stale version is a 409 conflict."`
}

func apiItemOf(it *inventory.Item) apiItem {
	out := apiItem{
		ID: it.ID.String(), SKU: it.SKU, Name: it.Name, Description: it.Description, Category: it.Category,
		Unit: string(it.Unit), Barcode: it.Barcode, ReorderPoint: apiQty(it.ReorderPoint), ReorderQty: apiQty(it.ReorderQty),
		Tracking: string(it.Tracking), Status: string(it.Status), OnHand: apiQty(it.OnHand), LowStock: it.Low(),
		AvgCost:    apiMoney{Amount: it.AvgCost, Currency: it.Currency},
		StockValue: apiMoney{Amount: it.StockValue, Currency: it.Currency},
		CreatedAt:  it.CreatedAt.UTC(), UpdatedAt: it.UpdatedAt.UTC(), Version: it.Version,
	}
	if it.DeletedAt != nil {
		t := it.DeletedAt.UTC()
		out.DeletedAt = &t
	}
	return out
}

type apiItemListInput struct {
	APIPage
	Search     string `query:"search" maxLength:"100" doc:"Part of the SKU or name, in any letter case; one or two characters match the start of either."`
	Category   string `query:"category" maxLength:"100" doc:"Only items of this category (any case)."`
	LocationID string `query:"location_id" format:"uuid" doc:"Only items with stock at this location (a warehouse includes its bins)."`
	LowStock   bool   `query:"low_stock" doc:"Only items at or below their reorder point."`
	Deleted    bool   `query:"deleted" doc:"List the deleted items (the trash) instead of the live ones."`
	Sort       string `query:"sort" enum:"sku,-sku,name,-name,on_hand,-on_hand,value,-value" default:"sku" doc:"Sort key; a leading - sorts descending."`
}

type apiItemListOutput struct {
	Body apiList[apiItem]
}

type apiItemIDInput struct {
	ID string `path:"id" format:"uuid" doc:"The item's id."`
}

type apiItemOutput struct {
	Body apiItem
}

// apiItemCreateBody is a new item: its editable fields. The unit enum lists
// inventory.UnitList (TestAPIInventoryDocument keeps them equal).
type apiItemCreateBody struct {
	SKU          string  `json:"sku" maxLength:"64" doc:"Unique among the live items, in any letter case; no spaces."`
	Name         string  `json:"name" maxLength:"200"`
	Description  string  `json:"description,omitempty" maxLength:"4000"`
	Category     string  `json:"category,omitempty" maxLength:"100"`
	Unit         string  `json:"unit" enum:"box,cm,ea,g,h,kg,l,m,m2,m3,ml,pack,pair,pallet,pcs,roll,set,t" doc:"Unit of measure."`
	Barcode      string  `json:"barcode,omitempty" maxLength:"64"`
	ReorderPoint *apiQty `json:"reorder_point,omitempty" doc:"Low stock at or below this; absent for none."`
	ReorderQty   *apiQty `json:"reorder_qty,omitempty" doc:"How much to reorder."`
	Tracking     string  `json:"tracking,omitempty" enum:"none,batch,serial" doc:"How units are told apart (default none)."`
	Status       string  `json:"status,omitempty" enum:"active,inactive" doc:"Default active."`
}

type apiItemCreateInput struct {
	APIIdempotencyKey
	Body apiItemCreateBody
}

type apiItemUpdateInput struct {
	ID   string `path:"id" format:"uuid" doc:"The item's id."`
	Body struct {
		SKU          *string `json:"sku,omitempty" maxLength:"64" doc:"Absent keeps it."`
		Name         *string `json:"name,omitempty" maxLength:"200" doc:"Absent keeps it."`
		Description  *string `json:"description,omitempty" maxLength:"4000" doc:"Absent keeps it."`
		Category     *string `json:"category,omitempty" maxLength:"100" doc:"Absent keeps it."`
		Unit         *string `json:"unit,omitempty" enum:"box,cm,ea,g,h,kg,l,m,m2,m3,ml,pack,pair,pallet,pcs,roll,set,t" doc:"Changes only while the item holds no stock."`
		Barcode      *string `json:"barcode,omitempty" maxLength:"64" doc:"Absent keeps it."`
		ReorderPoint *apiQty `json:"reorder_point,omitempty" doc:"Absent keeps it."`
		ReorderQty   *apiQty `json:"reorder_qty,omitempty" doc:"Absent keeps it."`
		Tracking     *string `json:"tracking,omitempty" enum:"none,batch,serial" doc:"Changes only while the item holds no stock."`
		Status       *string `json:"status,omitempty" enum:"active,inactive" doc:"Absent keeps it."`
		Version      int     `json:"version" minimum:"1" doc:"The version you read; a stale one is a 409 conflict."`
	}
}

type apiItemDeleteInput struct {
	ID      string `path:"id" format:"uuid" doc:"The item's id."`
	Version int    `query:"version" required:"true" minimum:"1" doc:"The version you read."`
}

// apiVersionBody is the body of a restore: the version the caller read.
type apiVersionBody struct {
	Version int `json:"version" minimum:"1" doc:"The version you read."`
}

type apiItemRestoreInput struct {
	APIIdempotencyKey
	ID   string `path:"id" format:"uuid" doc:"The item's id."`
	Body apiVersionBody
}

// apiLocation is a warehouse or a bin as the API shows it.
type apiLocation struct {
	ID            string     `json:"id" format:"uuid"`
	Kind          string     `json:"kind" enum:"warehouse,bin"`
	WarehouseID   *string    `json:"warehouse_id" format:"uuid" doc:"A bin's warehouse; null for a warehouse."`
	Code          string     `json:"code"`
	Name          string     `json:"name"`
	AllowNegative bool       `json:"allow_negative" doc:"Whether stock here may go below zero."`
	DeletedAt     *time.Time `json:"deleted_at" doc:"When it was deleted; null while it exists."`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	Version       int        `json:"version" doc:"Send it back when changing the location: a stale version is a 409 conflict."`
}

func apiLocationOf(l *inventory.Location) apiLocation {
	out := apiLocation{ID: l.ID.String(), Kind: string(l.Kind), Code: l.Code, Name: l.Name, AllowNegative: l.AllowNegative,
		CreatedAt: l.CreatedAt.UTC(), UpdatedAt: l.UpdatedAt.UTC(), Version: l.Version}
	if l.WarehouseID != nil {
		s := l.WarehouseID.String()
		out.WarehouseID = &s
	}
	if l.DeletedAt != nil {
		t := l.DeletedAt.UTC()
		out.DeletedAt = &t
	}
	return out
}

type apiLocationListInput struct {
	IncludeDeleted bool `query:"include_deleted" doc:"Also list deleted locations."`
}

type apiLocationListOutput struct {
	Body apiList[apiLocation]
}

type apiLocationIDInput struct {
	ID string `path:"id" format:"uuid" doc:"The location's id."`
}

type apiLocationOutput struct {
	Body apiLocation
}

type apiLocationCreateInput struct {
	APIIdempotencyKey
	Body struct {
		WarehouseID   *string `json:"warehouse_id,omitempty" format:"uuid" doc:"The warehouse of a new bin; absent for a new warehouse."`
		Code          string  `json:"code" maxLength:"32" doc:"Unique among the live locations, in any letter case."`
		Name          string  `json:"name" maxLength:"200"`
		AllowNegative bool    `json:"allow_negative,omitempty" doc:"Let stock here go below zero (default false)."`
	}
}

type apiLocationUpdateInput struct {
	ID   string `path:"id" format:"uuid" doc:"The location's id."`
	Body struct {
		Code          *string `json:"code,omitempty" maxLength:"32" doc:"Absent keeps it."`
		Name          *string `json:"name,omitempty" maxLength:"200" doc:"Absent keeps it."`
		AllowNegative *bool   `json:"allow_negative,omitempty" doc:"Absent keeps it; false only while nothing here is below zero."`
		Version       int     `json:"version" minimum:"1" doc:"The version you read; a stale one is a 409 conflict."`
	}
}

type apiLocationDeleteInput struct {
	ID      string `path:"id" format:"uuid" doc:"The location's id."`
	Version int    `query:"version" required:"true" minimum:"1" doc:"The version you read."`
}

type apiLocationRestoreInput struct {
	APIIdempotencyKey
	ID   string `path:"id" format:"uuid" doc:"The location's id."`
	Body apiVersionBody
}

func (h *Handler) apiInventoryRoutes(api huma.API) {
	h.apiItemRoutes(api)
	h.apiLocationRoutes(api)
	h.apiMovementRoutes(api)
	h.apiStockRoutes(api)
}

func (h *Handler) apiItemRoutes(api huma.API) {
	tags := []string{"Inventory items"}
	apiOperation(h, api, huma.Operation{
		OperationID: "listItems", Method: http.MethodGet, Path: "/items", Tags: tags,
		Summary: "List items",
		Description: "The organization's items, filtered by the query parameters and sorted by SKU, name, on hand or " +
			"value. Pages by cursor; deep pages cost what the first costs.",
	}, identity.InventoryRead, h.apiItemList)
	apiOperation(h, api, huma.Operation{
		OperationID: "getItem", Method: http.MethodGet, Path: "/items/{id}", Tags: tags,
		Summary: "Get an item", Description: "One item, deleted or not, with its on hand, average cost and stock value.",
		Errors: []int{http.StatusNotFound},
	}, identity.InventoryRead, h.apiItemGet)
	apiOperation(h, api, huma.Operation{
		OperationID: "createItem", Method: http.MethodPost, Path: "/items", Tags: tags,
		Summary: "Create an item", Description: "A new item, valued in the organization's currency. A SKU in use is a 409 conflict.",
		DefaultStatus: http.StatusCreated,
	}, identity.InventoryAdjust, h.apiItemCreate)
	apiOperation(h, api, huma.Operation{
		OperationID: "updateItem", Method: http.MethodPatch, Path: "/items/{id}", Tags: tags,
		Summary:     "Change an item",
		Description: "Changes the fields sent; absent fields keep their values. The version is required: a stale one is a 409 conflict.",
		Errors:      []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
	}, identity.InventoryAdjust, h.apiItemUpdate)
	apiOperation(h, api, huma.Operation{
		OperationID: "deleteItem", Method: http.MethodDelete, Path: "/items/{id}", Tags: tags,
		Summary:     "Delete an item",
		Description: "Soft delete, refused while the item holds or reserves stock; frees its SKU; it can be restored.",
		Errors:      []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
	}, identity.InventoryAdjust, h.apiItemDelete)
	apiOperation(h, api, huma.Operation{
		OperationID: "restoreItem", Method: http.MethodPost, Path: "/items/{id}/restore", Tags: tags,
		Summary: "Restore a deleted item", Description: "Brings a deleted item back; its SKU must be free among the live items.",
		Errors: []int{http.StatusNotFound},
	}, identity.InventoryAdjust, h.apiItemRestore)
}

func (h *Handler) apiLocationRoutes(api huma.API) {
	tags := []string{"Inventory locations"}
	apiOperation(h, api, huma.Operation{
		OperationID: "listLocations", Method: http.MethodGet, Path: "/locations", Tags: tags,
		Summary: "List locations",
		Description: "Warehouses, each followed by its bins, by code; at most 5,000 in one page (next_cursor is " +
			"always null).",
	}, identity.InventoryRead, h.apiLocationList)
	apiOperation(h, api, huma.Operation{
		OperationID: "getLocation", Method: http.MethodGet, Path: "/locations/{id}", Tags: tags,
		Summary: "Get a location", Description: "One warehouse or bin, deleted or not.",
		Errors: []int{http.StatusNotFound},
	}, identity.InventoryRead, h.apiLocationGet)
	apiOperation(h, api, huma.Operation{
		OperationID: "createLocation", Method: http.MethodPost, Path: "/locations", Tags: tags,
		Summary: "Create a warehouse or a bin", Description: "A warehouse, or with warehouse_id a bin in a live warehouse.",
		DefaultStatus: http.StatusCreated,
	}, identity.InventoryAdjust, h.apiLocationCreate)
	apiOperation(h, api, huma.Operation{
		OperationID: "updateLocation", Method: http.MethodPatch, Path: "/locations/{id}", Tags: tags,
		Summary:     "Change a location",
		Description: "Changes the fields sent; absent fields keep their values. The version is required: a stale one is a 409 conflict.",
		Errors:      []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
	}, identity.InventoryAdjust, h.apiLocationUpdate)
	apiOperation(h, api, huma.Operation{
		OperationID: "deleteLocation", Method: http.MethodDelete, Path: "/locations/{id}", Tags: tags,
		Summary:     "Delete a location",
		Description: "Soft delete of an empty location (nothing on hand or reserved, no live bins); it can be restored.",
		Errors:      []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
	}, identity.InventoryAdjust, h.apiLocationDelete)
	apiOperation(h, api, huma.Operation{
		OperationID: "restoreLocation", Method: http.MethodPost, Path: "/locations/{id}/restore", Tags: tags,
		Summary: "Restore a deleted location", Description: "Brings a deleted location back; a bin's warehouse must be live.",
		Errors: []int{http.StatusNotFound},
	}, identity.InventoryAdjust, h.apiLocationRestore)
}

// apiOptionalID parses an optional id parameter; a malformed one is a field error (the schema's uuid
// format catches most first).
func apiOptionalID(field, s string) (*store.ID, error) {
	if s == "" {
		return nil, nil
	}
	id, err := store.ParseID(s)
	if err != nil {
		return nil, (store.FieldErrors{field: "Enter a valid id."}).Err()
	}
	return &id, nil
}

func (h *Handler) apiItemList(ctx context.Context, in *apiItemListInput) (*apiItemListOutput, error) {
	loc, err := apiOptionalID("location_id", in.LocationID)
	if err != nil {
		return nil, err
	}
	sort := in.Sort
	desc := strings.HasPrefix(sort, "-")
	res, err := inventory.ItemList(ctx, h.db, apiScope(ctx), inventory.ItemListParams{
		Search: in.Search, Category: in.Category, LocationID: loc, LowStock: in.LowStock, Deleted: in.Deleted,
		Sort: inventory.ItemSort(strings.TrimPrefix(sort, "-")), Desc: desc, After: in.Cursor, Limit: in.Limit,
	})
	if err != nil {
		return nil, err
	}
	data := make([]apiItem, len(res.Items))
	for i := range res.Items {
		data[i] = apiItemOf(&res.Items[i])
	}
	return &apiItemListOutput{Body: newAPIList(data, res.Next)}, nil
}

func (h *Handler) apiItemGet(ctx context.Context, in *apiItemIDInput) (*apiItemOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	it, err := inventory.ItemGet(ctx, h.db, apiScope(ctx), id)
	if err != nil {
		return nil, err
	}
	return &apiItemOutput{Body: apiItemOf(it)}, nil
}

func (h *Handler) apiItemCreate(ctx context.Context, in *apiItemCreateInput) (*apiItemOutput, error) {
	b := in.Body
	f := inventory.ItemFields{SKU: b.SKU, Name: b.Name, Description: b.Description, Category: b.Category,
		Unit: inventory.Unit(b.Unit), Barcode: b.Barcode, Tracking: inventory.Tracking(b.Tracking),
		Status: inventory.ItemStatus(b.Status)}
	if b.ReorderPoint != nil {
		f.ReorderPoint = inventory.Qty(*b.ReorderPoint)
	}
	if b.ReorderQty != nil {
		f.ReorderQty = inventory.Qty(*b.ReorderQty)
	}
	it, err := inventory.ItemCreate(ctx, h.db, apiScope(ctx), f)
	if err != nil {
		return nil, err
	}
	return &apiItemOutput{Body: apiItemOf(it)}, nil
}

func (h *Handler) apiItemUpdate(ctx context.Context, in *apiItemUpdateInput) (*apiItemOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	// Absent fields keep their values; the version makes reading them first safe.
	cur, err := inventory.ItemGet(ctx, h.db, apiScope(ctx), id)
	if err != nil {
		return nil, err
	}
	b := in.Body
	f := inventory.ItemFields{SKU: cur.SKU, Name: cur.Name, Description: cur.Description, Category: cur.Category,
		Unit: cur.Unit, Barcode: cur.Barcode, ReorderPoint: cur.ReorderPoint, ReorderQty: cur.ReorderQty,
		Tracking: cur.Tracking, Status: cur.Status}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&f.SKU, b.SKU)
	set(&f.Name, b.Name)
	set(&f.Description, b.Description)
	set(&f.Category, b.Category)
	set(&f.Barcode, b.Barcode)
	if b.Unit != nil {
		f.Unit = inventory.Unit(*b.Unit)
	}
	if b.Tracking != nil {
		f.Tracking = inventory.Tracking(*b.Tracking)
	}
	if b.Status != nil {
		f.Status = inventory.ItemStatus(*b.Status)
	}
	if b.ReorderPoint != nil {
		f.ReorderPoint = inventory.Qty(*b.ReorderPoint)
	}
	if b.ReorderQty != nil {
		f.ReorderQty = inventory.Qty(*b.ReorderQty)
	}
	it, err := inventory.ItemUpdate(ctx, h.db, apiScope(ctx), inventory.ItemUpdateParams{ID: id, Version: b.Version, ItemFields: f})
	if err != nil {
		return nil, err
	}
	return &apiItemOutput{Body: apiItemOf(it)}, nil
}

func (h *Handler) apiItemDelete(ctx context.Context, in *apiItemDeleteInput) (*apiItemOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	it, err := inventory.ItemDelete(ctx, h.db, apiScope(ctx), id, in.Version)
	if err != nil {
		return nil, err
	}
	return &apiItemOutput{Body: apiItemOf(it)}, nil
}

func (h *Handler) apiItemRestore(ctx context.Context, in *apiItemRestoreInput) (*apiItemOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	it, err := inventory.ItemRestore(ctx, h.db, apiScope(ctx), id, in.Body.Version)
	if err != nil {
		return nil, err
	}
	return &apiItemOutput{Body: apiItemOf(it)}, nil
}

func (h *Handler) apiLocationList(ctx context.Context, in *apiLocationListInput) (*apiLocationListOutput, error) {
	locs, err := inventory.LocationList(ctx, h.db, apiScope(ctx), in.IncludeDeleted)
	if err != nil {
		return nil, err
	}
	data := make([]apiLocation, len(locs))
	for i := range locs {
		data[i] = apiLocationOf(&locs[i])
	}
	return &apiLocationListOutput{Body: newAPIList(data, "")}, nil
}

func (h *Handler) apiLocationGet(ctx context.Context, in *apiLocationIDInput) (*apiLocationOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	l, err := inventory.LocationGet(ctx, h.db, apiScope(ctx), id)
	if err != nil {
		return nil, err
	}
	return &apiLocationOutput{Body: apiLocationOf(l)}, nil
}

func (h *Handler) apiLocationCreate(ctx context.Context, in *apiLocationCreateInput) (*apiLocationOutput, error) {
	p := inventory.LocationCreateParams{Code: in.Body.Code, Name: in.Body.Name, AllowNegative: in.Body.AllowNegative}
	if in.Body.WarehouseID != nil {
		wh, err := apiOptionalID("warehouse_id", *in.Body.WarehouseID)
		if err != nil {
			return nil, err
		}
		p.WarehouseID = wh
	}
	l, err := inventory.LocationCreate(ctx, h.db, apiScope(ctx), p)
	if err != nil {
		return nil, err
	}
	return &apiLocationOutput{Body: apiLocationOf(l)}, nil
}

func (h *Handler) apiLocationUpdate(ctx context.Context, in *apiLocationUpdateInput) (*apiLocationOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	cur, err := inventory.LocationGet(ctx, h.db, apiScope(ctx), id)
	if err != nil {
		return nil, err
	}
	p := inventory.LocationUpdateParams{ID: id, Version: in.Body.Version, Code: cur.Code, Name: cur.Name, AllowNegative: cur.AllowNegative}
	if in.Body.Code != nil {
		p.Code = *in.Body.Code
	}
	if in.Body.Name != nil {
		p.Name = *in.Body.Name
	}
	if in.Body.AllowNegative != nil {
		p.AllowNegative = *in.Body.AllowNegative
	}
	l, err := inventory.LocationUpdate(ctx, h.db, apiScope(ctx), p)
	if err != nil {
		return nil, err
	}
	return &apiLocationOutput{Body: apiLocationOf(l)}, nil
}

func (h *Handler) apiLocationDelete(ctx context.Context, in *apiLocationDeleteInput) (*apiLocationOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	l, err := inventory.LocationDelete(ctx, h.db, apiScope(ctx), id, in.Version)
	if err != nil {
		return nil, err
	}
	return &apiLocationOutput{Body: apiLocationOf(l)}, nil
}

func (h *Handler) apiLocationRestore(ctx context.Context, in *apiLocationRestoreInput) (*apiLocationOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	l, err := inventory.LocationRestore(ctx, h.db, apiScope(ctx), id, in.Body.Version)
	if err != nil {
		return nil, err
	}
	return &apiLocationOutput{Body: apiLocationOf(l)}, nil
}
