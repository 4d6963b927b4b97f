package inventory

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
)

// Tracking says how an item's units are told apart: not at all, by batch (lot), or each by serial number.
type Tracking string

// The tracking modes. A serial-tracked item moves one unit per serial number.
const (
	TrackNone   Tracking = "none"
	TrackBatch  Tracking = "batch"
	TrackSerial Tracking = "serial"
)

// Valid reports whether t is one of the modes.
func (t Tracking) Valid() bool { return t == TrackNone || t == TrackBatch || t == TrackSerial }

// ItemStatus says whether an item is in use. An inactive item can still be issued and counted but not received.
type ItemStatus string

// The item statuses.
const (
	ItemActive   ItemStatus = "active"
	ItemInactive ItemStatus = "inactive"
)

// Valid reports whether s is one of the statuses.
func (s ItemStatus) Valid() bool { return s == ItemActive || s == ItemInactive }

// Item is a stock-keeping unit of the tenant. OnHand, AvgCost (minor units of Currency per unit) and
// StockValue (minor units) are kept by the ledger; Version guards edits (optimistic locking).
type Item struct {
	ID           store.ID   `db:"id" json:"id"`
	SKU          string     `db:"sku" json:"sku"`
	Name         string     `db:"name" json:"name"`
	Description  string     `db:"description" json:"description"`
	Category     string     `db:"category" json:"category"`
	Unit         Unit       `db:"unit" json:"unit"`
	Barcode      string     `db:"barcode" json:"barcode"`
	ReorderPoint Qty        `db:"reorder_point" json:"reorder_point"`
	ReorderQty   Qty        `db:"reorder_qty" json:"reorder_qty"`
	Tracking     Tracking   `db:"tracking" json:"tracking"`
	Status       ItemStatus `db:"status" json:"status"`
	OnHand       Qty        `db:"on_hand" json:"on_hand"`
	Currency     string     `db:"currency" json:"currency"`
	AvgCost      int64      `db:"avg_cost" json:"avg_cost"`
	StockValue   int64      `db:"stock_value" json:"stock_value"`
	DeletedAt    *time.Time `db:"deleted_at" json:"deleted_at,omitempty"`
	CreatedAt    time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt    time.Time  `db:"updated_at" json:"updated_at"`
	Version      int        `db:"version" json:"version"`
	// FirstMovementAt is no later than the item's oldest ledger line (nil: it has none); ItemHistory
	// reads from it.
	FirstMovementAt *time.Time `db:"first_movement_at" json:"-"`
}

// Low reports whether the item is at or below its reorder point (items without one never are).
func (i Item) Low() bool { return i.ReorderPoint > 0 && i.OnHand <= i.ReorderPoint }

const itemColumns = `i.id, i.sku, i.name, i.description, i.category, i.unit, i.barcode, i.reorder_point,
	i.reorder_qty, i.tracking, i.status, i.on_hand, i.currency, i.avg_cost, i.stock_value, i.deleted_at,
	i.created_at, i.updated_at, i.version, i.first_movement_at`

var (
	errItemNotFound = store.Errorf(store.NotFound, "No such item.")
	errItemChanged  = store.Errorf(store.Conflict,
		"This item was changed by someone else while you were editing. Reload the page to see the changes, then try again.")
)

func skuTaken(sku string) error {
	return &store.Error{Code: store.Conflict, Message: "An item with that SKU exists.",
		Fields: map[string]string{"sku": "Choose another SKU; " + sku + " is in use."}}
}

// ItemFields are an item's editable fields.
type ItemFields struct {
	SKU          string
	Name         string
	Description  string
	Category     string
	Unit         Unit
	Barcode      string
	ReorderPoint Qty
	ReorderQty   Qty
	Tracking     Tracking   // "" means none
	Status       ItemStatus // "" means active
}

func (p *ItemFields) validate() error {
	var f store.FieldErrors
	p.SKU = textField(&f, "sku", p.SKU, 1, 64, "Enter the SKU (up to 64 characters).")
	if strings.ContainsAny(p.SKU, " \t\r\n") {
		f.Add("sku", "A SKU has no spaces.")
	}
	p.Name = textField(&f, "name", p.Name, 1, 200, "Enter the item's name (up to 200 characters).")
	p.Description = textField(&f, "description", p.Description, 0, 4000, "Keep the description under 4,000 characters.")
	p.Category = textField(&f, "category", p.Category, 0, 100, "Keep the category under 100 characters.")
	p.Barcode = textField(&f, "barcode", p.Barcode, 0, 64, "Keep the barcode under 64 characters.")
	if !p.Unit.Valid() {
		f.Add("unit", "Choose a unit of measure from the list.")
	}
	if p.ReorderPoint < 0 || p.ReorderPoint > QtyMax {
		f.Add("reorder_point", "Enter a reorder point of zero or more.")
	}
	if p.ReorderQty < 0 || p.ReorderQty > QtyMax {
		f.Add("reorder_qty", "Enter a reorder quantity of zero or more.")
	}
	if p.Unit.Valid() && p.Unit.Whole() {
		if !p.ReorderPoint.IsWhole() {
			f.Add("reorder_point", "Enter a whole number: this unit counts whole things.")
		}
		if !p.ReorderQty.IsWhole() {
			f.Add("reorder_qty", "Enter a whole number: this unit counts whole things.")
		}
	}
	if p.Tracking == "" {
		p.Tracking = TrackNone
	}
	if !p.Tracking.Valid() {
		f.Add("tracking", "Choose none, batch or serial tracking.")
	}
	if p.Status == "" {
		p.Status = ItemActive
	}
	if !p.Status.Valid() {
		f.Add("status", "Choose active or inactive.")
	}
	if p.Tracking == TrackSerial && p.Unit.Valid() && !p.Unit.Whole() {
		f.Add("unit", "Serial numbers need a unit that counts whole things, like each.")
	}
	return f.Err()
}

// ItemCreate adds an item to scope's tenant, valued in the tenant's currency. A SKU that a live item has
// (in any letter case) is a Conflict on the sku field. The actor needs InventoryAdjust.
func ItemCreate(ctx context.Context, db *store.DB, scope store.Scope, p ItemFields) (*Item, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	var item Item
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryAdjust); err != nil {
			return err
		}
		id := store.NewID()
		err := tx.GetContext(ctx, &item, `
			INSERT INTO inventory_items AS i (id, sku, name, description, category, unit, barcode, reorder_point,
				reorder_qty, tracking, status, currency)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, (SELECT currency FROM tenants WHERE id = $12))
			RETURNING `+itemColumns,
			id, p.SKU, p.Name, p.Description, p.Category, p.Unit, p.Barcode, p.ReorderPoint, p.ReorderQty,
			p.Tracking, p.Status, tx.Scope.TenantID)
		if store.IsUniqueViolation(err, "inventory_items_sku_key") {
			return skuTaken(p.SKU)
		}
		if err != nil {
			return fmt.Errorf("error creating item %s: %w", p.SKU, err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "inventory.item_create", EntityType: "inventory_item",
			EntityID: item.ID.String(), After: item})
	})
	if err != nil {
		return nil, err
	}
	return &item, nil
}

func itemGetTx(ctx context.Context, tx *store.Tx, id store.ID, forUpdate bool) (*Item, error) {
	q := `SELECT ` + itemColumns + ` FROM inventory_items i WHERE i.tenant_id = $1 AND i.id = $2`
	if forUpdate {
		q += ` FOR NO KEY UPDATE`
	}
	var item Item
	err := tx.GetContext(ctx, &item, q, tx.Scope.TenantID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errItemNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("error loading item %s: %w", id, err)
	}
	return &item, nil
}

// ItemGet returns one item of scope's tenant, deleted or not. An item of another tenant is NotFound. The
// actor needs InventoryRead.
func ItemGet(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*Item, error) {
	var item *Item
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryRead); err != nil {
			return err
		}
		var err error
		item, err = itemGetTx(ctx, tx, id, false)
		return err
	})
	return item, err
}

// ItemsGet returns the items of scope's tenant with the given ids (deleted or not), by id, in one query:
// what a page naming the items of its rows needs. Ids of other tenants or of no item are left out. The
// actor needs InventoryRead.
func ItemsGet(ctx context.Context, db *store.DB, scope store.Scope, ids []store.ID) (map[store.ID]Item, error) {
	out := make(map[store.ID]Item, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryRead); err != nil {
			return err
		}
		var items []Item
		if err := tx.SelectContext(ctx, &items, `SELECT `+itemColumns+` FROM inventory_items i
			WHERE i.tenant_id = $1 AND i.id = ANY ($2::uuid[])`, tx.Scope.TenantID, idStrings(sortedIDs(ids))); err != nil {
			return fmt.Errorf("error loading %d items: %w", len(ids), err)
		}
		for _, it := range items {
			out[it.ID] = it
		}
		return nil
	})
	return out, err
}

// ItemUpdateParams changes an item. Version is the version the editor saw.
type ItemUpdateParams struct {
	ID      store.ID
	Version int
	ItemFields
}

// itemHasStock reports whether any level of the item holds or reserves stock.
func itemHasStock(ctx context.Context, tx *store.Tx, id store.ID) (bool, error) {
	var has bool
	err := tx.GetContext(ctx, &has, `
		SELECT EXISTS (SELECT 1 FROM stock_levels WHERE tenant_id = $1 AND item_id = $2 AND (on_hand <> 0 OR reserved <> 0))`,
		tx.Scope.TenantID, id)
	if err != nil {
		return false, fmt.Errorf("error checking stock of item %s: %w", id, err)
	}
	return has, nil
}

// ItemUpdate changes an item's fields. A stale Version is a Conflict; so is a SKU that another live item
// has. The unit and the tracking mode can change only while the item holds no stock. A deleted item must
// be restored first. The actor needs InventoryAdjust.
func ItemUpdate(ctx context.Context, db *store.DB, scope store.Scope, p ItemUpdateParams) (*Item, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	var after Item
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryAdjust); err != nil {
			return err
		}
		before, err := itemGetTx(ctx, tx, p.ID, true)
		if err != nil {
			return err
		}
		if before.Version != p.Version {
			return errItemChanged
		}
		if before.DeletedAt != nil {
			return store.Errorf(store.Invalid, "%s is deleted. Restore it before changing it.", before.SKU)
		}
		if before.Unit != p.Unit || before.Tracking != p.Tracking {
			has, err := itemHasStock(ctx, tx, p.ID)
			if err != nil {
				return err
			}
			if has {
				var f store.FieldErrors
				if before.Unit != p.Unit {
					f.Add("unit", "The unit can change only while the item has no stock.")
				}
				if before.Tracking != p.Tracking {
					f.Add("tracking", "The tracking mode can change only while the item has no stock.")
				}
				return f.Err()
			}
		}
		err = tx.GetContext(ctx, &after, `
			UPDATE inventory_items i SET sku = $3, name = $4, description = $5, category = $6, unit = $7, barcode = $8,
				reorder_point = $9, reorder_qty = $10, tracking = $11, status = $12,
				low_notified = low_notified AND on_hand <= $9,
				version = version + 1, updated_at = now()
			WHERE tenant_id = $1 AND id = $2
			RETURNING `+itemColumns,
			tx.Scope.TenantID, p.ID, p.SKU, p.Name, p.Description, p.Category, p.Unit, p.Barcode, p.ReorderPoint,
			p.ReorderQty, p.Tracking, p.Status)
		if store.IsUniqueViolation(err, "inventory_items_sku_key") {
			return skuTaken(p.SKU)
		}
		if err != nil {
			return fmt.Errorf("error updating item %s: %w", p.ID, err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "inventory.item_update", EntityType: "inventory_item",
			EntityID: p.ID.String(), Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	return &after, nil
}

// ItemDelete soft-deletes an item, freeing its SKU. An item that holds or reserves stock anywhere cannot
// be deleted: issue or adjust it to zero first. A stale version is a Conflict. The actor needs InventoryAdjust.
func ItemDelete(ctx context.Context, db *store.DB, scope store.Scope, id store.ID, version int) (*Item, error) {
	return itemDeleteOrRestore(ctx, db, scope, id, version, true)
}

// ItemRestore brings back a deleted item; its SKU must be free among the live items (a Conflict
// otherwise). A stale version is a Conflict. The actor needs InventoryAdjust.
func ItemRestore(ctx context.Context, db *store.DB, scope store.Scope, id store.ID, version int) (*Item, error) {
	return itemDeleteOrRestore(ctx, db, scope, id, version, false)
}

func itemDeleteOrRestore(ctx context.Context, db *store.DB, scope store.Scope, id store.ID, version int, del bool) (*Item, error) {
	var after Item
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryAdjust); err != nil {
			return err
		}
		before, err := itemGetTx(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if before.Version != version {
			return errItemChanged
		}
		action := "inventory.item_restore"
		if del {
			action = "inventory.item_delete"
			if before.DeletedAt != nil {
				return store.Errorf(store.Invalid, "%s is already deleted.", before.SKU)
			}
			has, err := itemHasStock(ctx, tx, id)
			if err != nil {
				return err
			}
			if has {
				return store.Errorf(store.Invalid, "%s still has stock. Issue or adjust it to zero everywhere, then delete it.", before.SKU)
			}
		} else if before.DeletedAt == nil {
			return store.Errorf(store.Invalid, "%s is not deleted.", before.SKU)
		}
		err = tx.GetContext(ctx, &after, `
			UPDATE inventory_items i SET deleted_at = CASE WHEN $3 THEN now() END, version = version + 1, updated_at = now()
			WHERE tenant_id = $1 AND id = $2
			RETURNING `+itemColumns, tx.Scope.TenantID, id, del)
		if store.IsUniqueViolation(err, "inventory_items_sku_key") {
			return &store.Error{Code: store.Conflict,
				Message: "Another item has the SKU " + before.SKU + " now. Change the SKU of one of them first, then restore this one."}
		}
		if err != nil {
			return fmt.Errorf("error changing item %s: %w", id, err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: action, EntityType: "inventory_item",
			EntityID: id.String(), Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	return &after, nil
}

// ItemSort names a sort order of the item list.
type ItemSort string

// The sorts of the item list. Each one has an index on (tenant_id, key, id).
const (
	SortSKU    ItemSort = "sku"
	SortName   ItemSort = "name"
	SortOnHand ItemSort = "on_hand"
	SortValue  ItemSort = "value"
)

// itemSortKeys is the whitelist of sort expressions and the type their cursor value casts to.
// itemSortKey is a sort's column and the type its cursor value is cast to.
type itemSortKey struct{ expr, cast string }

var itemSortKeys = map[ItemSort]itemSortKey{
	SortSKU:    {"i.sku_key", "text"},
	SortName:   {"i.name_key", "text"},
	SortOnHand: {"i.on_hand_key", "bigint"},
	SortValue:  {"i.stock_value", "bigint"},
}

// ItemSearchMaxLength bounds the search text; longer input is cut.
const ItemSearchMaxLength = 100

// ItemListParams filters, sorts and pages the item list. Search matches part of the SKU or name, in any
// letter case; a search shorter than ItemSearchContainsFrom characters matches the start of either.
// Category matches exactly (any case). LocationID keeps items with stock at that location (a warehouse
// includes its bins). LowStock keeps items at or below their reorder point. Deleted lists the trash
// instead of the live items. Sort defaults to SKU; Desc reverses it. After is the previous page's cursor;
// Limit defaults to 50 (at most 200).
type ItemListParams struct {
	Search     string
	Category   string
	LocationID *store.ID
	LowStock   bool
	Deleted    bool
	Sort       ItemSort
	Desc       bool
	After      string
	Limit      int
}

// ItemListResult is one page of items; Next is the cursor of the next page ("" on the last).
type ItemListResult struct {
	Items []Item
	Next  string
	// Estimate is, on the first page (no After), the planner's estimate of how many items match the filters
	// (PostgreSQL's EXPLAIN, never a count); 0 on later pages. Show it as "about".
	Estimate int64
}

// ItemList returns a page of scope's items with keyset pagination on (sort key, id): deep pages cost
// what the first costs. Every filter is a fixed SQL fragment added only when used, so the planner sees
// the predicates of the partial indexes. The actor needs InventoryRead.
func ItemList(ctx context.Context, db *store.DB, scope store.Scope, p ItemListParams) (*ItemListResult, error) {
	if p.Limit <= 0 || p.Limit > 200 {
		p.Limit = 50
	}
	var res *ItemListResult
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryRead); err != nil {
			return err
		}
		var err error
		res, err = itemPageTx(ctx, tx, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// itemSearchText is p's search as the list uses it: trimmed and cut to ItemSearchMaxLength.
func itemSearchText(p ItemListParams) string {
	search := strings.TrimSpace(p.Search)
	if r := []rune(search); len(r) > ItemSearchMaxLength {
		search = string(r[:ItemSearchMaxLength])
	}
	return search
}

// itemPageTx reads one page of the item list in tx, with the estimate of the whole on a first page that
// has a next one; the caller has checked the permission and bounded p.Limit.
func itemPageTx(ctx context.Context, tx *store.Tx, p ItemListParams) (*ItemListResult, error) {
	if p.Sort == "" {
		p.Sort = SortSKU
	}
	key, ok := itemSortKeys[p.Sort]
	if !ok {
		return nil, (store.FieldErrors{"sort": "Choose a sort order from the list."}).Err()
	}
	var cur *itemCursor
	if p.After != "" {
		c, err := itemCursorDecode(p.After)
		if err != nil || c.sort != p.Sort || c.desc != p.Desc {
			return nil, errBadCursor
		}
		cur = &c
	}

	search := itemSearchText(p)
	var query string
	var args []any
	if search != "" {
		query, args = itemSearchPageQuery(p, key, search, cur)
	} else {
		query, args = itemListQuery(p, key, cur)
	}
	args[0] = tx.Scope.TenantID

	var rows []struct {
		Item
		SortKey string `db:"sort_key"`
	}
	if err := tx.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, fmt.Errorf("error listing items: %w", err)
	}
	res := &ItemListResult{}
	if len(rows) > p.Limit {
		if p.After == "" {
			// Only a first page with more after it needs the estimate.
			estimate, err := itemCountEstimate(ctx, tx, p, search)
			if err != nil {
				return nil, err
			}
			// The estimate can be below what the page already shows; there are at least this many.
			res.Estimate = max(estimate, int64(p.Limit+1))
		}
		last := rows[p.Limit-1]
		rows = rows[:p.Limit]
		res.Next = itemCursor{sort: p.Sort, desc: p.Desc, key: last.SortKey, id: last.ID}.encode()
	}
	res.Items = make([]Item, len(rows))
	for i, r := range rows {
		res.Items[i] = r.Item
	}
	return res, nil
}

// itemCountEstimate is the planner's estimate of the items matching p's filters (EXPLAIN, never a count).
func itemCountEstimate(ctx context.Context, tx *store.Tx, p ItemListParams, search string) (int64, error) {
	var pattern, category, location any
	if search != "" {
		pattern = itemSearchPattern(search)
	}
	if c := strings.TrimSpace(p.Category); c != "" {
		category = strings.ToLower(c)
	}
	if p.LocationID != nil {
		location = *p.LocationID
	}
	var estimate int64
	if err := tx.GetContext(ctx, &estimate, `SELECT inventory_item_count_estimate($1, $2, $3, $4, $5)`,
		pattern, category, location, p.LowStock, p.Deleted); err != nil {
		return 0, fmt.Errorf("error estimating the item count: %w", err)
	}
	return estimate, nil
}

// itemCountQuery counts the items matching p's filters exactly (exports show it as their total).
func itemCountQuery(p ItemListParams, tenantID store.ID) (string, []any) {
	args := []any{tenantID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var q strings.Builder
	q.WriteString(`SELECT count(*) FROM inventory_items i WHERE i.tenant_id = $1`)
	writeItemFilters(&q, p, itemSearchText(p), arg)
	return q.String(), args
}

// itemListQuery is the list's query without a search: every filter a fixed SQL fragment added only when
// used, so the planner sees the predicates of the partial indexes.
func itemListQuery(p ItemListParams, key itemSortKey, cur *itemCursor) (string, []any) {
	args := []any{nil}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var q strings.Builder
	q.WriteString(`SELECT ` + itemColumns + `, (` + key.expr + `)::text AS sort_key FROM inventory_items i WHERE i.tenant_id = $1`)
	writeItemFilters(&q, p, "", arg)
	cmp, dir := ">", ""
	if p.Desc {
		cmp, dir = "<", " DESC"
	}
	if cur != nil {
		// Spelled out rather than as a row comparison, so that the key's bound is an index condition.
		k, id := arg(cur.key)+`::`+key.cast, arg(cur.id)+`::uuid`
		q.WriteString(` AND ` + key.expr + ` ` + cmp + `= ` + k + ` AND (` + key.expr + ` ` + cmp + ` ` + k + ` OR i.id ` + cmp + ` ` + id + `)`)
	}
	q.WriteString(` ORDER BY ` + key.expr + dir + `, i.id` + dir + store.Limit(p.Limit+1))
	return q.String(), args
}

// writeItemFilters adds p's filters to a query over inventory_items i, each a fixed SQL fragment added only
// when used, so the planner sees the predicates of the partial indexes. A search of three or more characters
// goes through inventory_item_search, the only way to the trigram indexes under row-level security; one of
// one or two characters is a start of the SKU or name (starts_with is leakproof, so it runs under the policy).
func writeItemFilters(q *strings.Builder, p ItemListParams, search string, arg func(any) string) {
	if p.Deleted {
		q.WriteString(` AND i.deleted_at IS NOT NULL`)
	} else {
		q.WriteString(` AND i.deleted_at IS NULL`)
	}
	if search != "" {
		if itemSearchContains(search) {
			q.WriteString(` AND i.id IN (SELECT s.id FROM inventory_item_search(` + arg(itemSearchPattern(search)) + `) s)`)
		} else {
			n := arg(search)
			q.WriteString(` AND (starts_with(i.sku_key, lower(` + n + `)) OR starts_with(i.name_key, lower(` + n + `)))`)
		}
	}
	if c := strings.TrimSpace(p.Category); c != "" {
		q.WriteString(` AND i.category_key = ` + arg(strings.ToLower(c)))
	}
	if p.LocationID != nil {
		n := arg(*p.LocationID)
		q.WriteString(` AND EXISTS (SELECT 1 FROM stock_levels l JOIN inventory_locations loc
			ON loc.tenant_id = l.tenant_id AND loc.id = l.location_id
			WHERE l.tenant_id = i.tenant_id AND l.item_id = i.id AND (l.on_hand <> 0 OR l.reserved <> 0)
			  AND (loc.id = ` + n + ` OR loc.warehouse_id = ` + n + `))`)
	}
	if p.LowStock {
		q.WriteString(` AND i.reorder_point > 0 AND i.on_hand <= i.reorder_point`)
	}
}

// ItemSearchContainsFrom is the length from which a search matches any part of a SKU or name; a shorter
// one matches their start. Trigram indexes need three characters, and two letters anywhere in a name
// match most of a large list (or, when few items have them, make the list walk every row to find out).
const ItemSearchContainsFrom = 3

// itemSearchContains reports whether search (trimmed) matches any part of a SKU or name, rather than its start.
func itemSearchContains(search string) bool { return len([]rune(search)) >= ItemSearchContainsFrom }

// itemSearchPattern is search as the LIKE pattern inventory_item_search_page and the estimate take:
// '%text%' for a search that matches any part, 'text%' for one that matches the start.
func itemSearchPattern(search string) string {
	if itemSearchContains(search) {
		return "%" + likeEscaper.Replace(search) + "%"
	}
	return likeEscaper.Replace(search) + "%"
}

// itemSearchPageQuery is the list's query with a search. ILIKE is not leakproof, so under row-level
// security neither the trigram indexes nor good estimates are available to it; inventory_item_search_page
// (migrations 00016, 00025) finds the page's ids as the owner, for the transaction's tenant only, and the
// rows are then read through row-level security in the function's order.
func itemSearchPageQuery(p ItemListParams, key itemSortKey, search string, cur *itemCursor) (string, []any) {
	var category, location, afterKey, afterID any
	if c := strings.TrimSpace(p.Category); c != "" {
		category = strings.ToLower(c)
	}
	if p.LocationID != nil {
		location = *p.LocationID
	}
	if cur != nil {
		afterKey, afterID = cur.key, cur.id
	}
	return `SELECT ` + itemColumns + `, (` + key.expr + `)::text AS sort_key
		FROM inventory_item_search_page($2, $3, $4, $5, $6, $7, $8, $9, $10, $11) WITH ORDINALITY AS s (item_id, n)
		JOIN inventory_items i ON i.tenant_id = $1 AND i.id = s.item_id
		ORDER BY s.n`,
		[]any{nil, itemSearchPattern(search), string(p.Sort), p.Desc, afterKey, afterID, category, location,
			p.LowStock, p.Deleted, p.Limit + 1}
}

// itemCursor is where the next page starts: after (key, id) in the given order.
type itemCursor struct {
	sort ItemSort
	desc bool
	key  string
	id   store.ID
}

func (c itemCursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(string(c.sort) + "|" + strconv.FormatBool(c.desc) + "|" +
		c.id.String() + "|" + c.key))
}

func itemCursorDecode(s string) (itemCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return itemCursor{}, err
	}
	parts := strings.SplitN(string(b), "|", 4)
	if len(parts) != 4 {
		return itemCursor{}, errors.New("malformed cursor")
	}
	desc, err := strconv.ParseBool(parts[1])
	if err != nil {
		return itemCursor{}, err
	}
	id, err := store.ParseID(parts[2])
	if err != nil {
		return itemCursor{}, err
	}
	c := itemCursor{sort: ItemSort(parts[0]), desc: desc, id: id, key: parts[3]}
	// The key is cast in SQL; check numeric keys here so a forged cursor is Invalid, not an internal error.
	switch c.sort {
	case SortOnHand, SortValue:
		if _, err := strconv.ParseInt(c.key, 10, 64); err != nil {
			return itemCursor{}, err
		}
	}
	return c, nil
}
