package inventory

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/events"
	"ledgerline/store/identity"
)

// StockLevel is the stock of an item at one location and batch. Available is on hand minus reserved.
type StockLevel struct {
	ItemID       store.ID `db:"item_id" json:"item_id"`
	SKU          string   `db:"sku" json:"sku"`
	ItemName     string   `db:"item_name" json:"item_name"`
	Unit         Unit     `db:"unit" json:"unit"`
	LocationID   store.ID `db:"location_id" json:"location_id"`
	LocationCode string   `db:"location_code" json:"location_code"`
	LocationName string   `db:"location_name" json:"location_name"`
	Batch        string   `db:"batch" json:"batch,omitempty"`
	OnHand       Qty      `db:"on_hand" json:"on_hand"`
	Reserved     Qty      `db:"reserved" json:"reserved"`
	Available    Qty      `db:"-" json:"available"`
}

// StockLevelParams selects levels: of one item, at one location (a warehouse includes its bins), or
// both. Empty levels (nothing on hand or reserved) are left out unless IncludeEmpty.
type StockLevelParams struct {
	ItemID       *store.ID
	LocationID   *store.ID
	IncludeEmpty bool
}

// StockLevelsMax bounds StockLevels.
const StockLevelsMax = 1000

// StockLevels returns levels by SKU, location code and batch, at most StockLevelsMax. The actor needs
// InventoryRead.
func StockLevels(ctx context.Context, db *store.DB, scope store.Scope, p StockLevelParams) ([]StockLevel, error) {
	if p.ItemID == nil && p.LocationID == nil {
		return nil, store.Errorf(store.Invalid, "Choose an item or a location.")
	}
	var out []StockLevel
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryRead); err != nil {
			return err
		}
		// Each filter is a fixed fragment added only when used, so each combination is its own statement
		// with a generic plan that PostgreSQL keeps, instead of one catch-all planned at every execution.
		args := []any{tx.Scope.TenantID}
		q := `
			SELECT s.item_id, i.sku, i.name AS item_name, i.unit, s.location_id, l.code AS location_code,
			       l.name AS location_name, s.batch, s.on_hand, s.reserved
			FROM stock_levels s
			JOIN inventory_items i ON i.tenant_id = s.tenant_id AND i.id = s.item_id
			JOIN inventory_locations l ON l.tenant_id = s.tenant_id AND l.id = s.location_id
			WHERE s.tenant_id = $1`
		if p.ItemID != nil {
			args = append(args, *p.ItemID)
			q += ` AND s.item_id = $` + strconv.Itoa(len(args))
		}
		if p.LocationID != nil {
			args = append(args, *p.LocationID)
			n := `$` + strconv.Itoa(len(args))
			q += ` AND (l.id = ` + n + ` OR l.warehouse_id = ` + n + `)`
		}
		if !p.IncludeEmpty {
			q += ` AND (s.on_hand <> 0 OR s.reserved <> 0)`
		}
		q += ` ORDER BY lower(i.sku), lower(l.code), s.batch LIMIT ` + strconv.Itoa(StockLevelsMax)
		if err := tx.SelectContext(ctx, &out, q, args...); err != nil {
			return fmt.Errorf("error listing stock levels: %w", err)
		}
		return nil
	})
	for i := range out {
		out[i].Available = out[i].OnHand - out[i].Reserved
	}
	return out, err
}

// ReservationStatus says whether a reservation still holds stock.
type ReservationStatus string

// The reservation statuses.
const (
	ReservationOpen     ReservationStatus = "open"
	ReservationReleased ReservationStatus = "released"
	ReservationConsumed ReservationStatus = "consumed"
)

// Reservation holds Quantity of a level for Reference; Consumed counts what issues took of it. While
// open, Quantity − Consumed counts in the level's reserved.
type Reservation struct {
	ID         store.ID          `db:"id" json:"id"`
	ItemID     store.ID          `db:"item_id" json:"item_id"`
	LocationID store.ID          `db:"location_id" json:"location_id"`
	Batch      string            `db:"batch" json:"batch,omitempty"`
	Quantity   Qty               `db:"quantity" json:"quantity"`
	Consumed   Qty               `db:"consumed" json:"consumed"`
	Reference  string            `db:"reference" json:"reference"`
	Status     ReservationStatus `db:"status" json:"status"`
	ActorID    *store.ID         `db:"actor_id" json:"actor_id,omitempty"`
	CreatedAt  time.Time         `db:"created_at" json:"created_at"`
	ClosedAt   *time.Time        `db:"closed_at" json:"closed_at,omitempty"`
	Version    int               `db:"version" json:"version"`
}

// Remaining is what the reservation still holds.
func (r Reservation) Remaining() Qty {
	if r.Status != ReservationOpen {
		return 0
	}
	return r.Quantity - r.Consumed
}

const reservationColumns = `r.id, r.item_id, r.location_id, r.batch, r.quantity, r.consumed, r.reference, r.status,
	r.actor_id, r.created_at, r.closed_at, r.version`

var errReservationNotFound = store.Errorf(store.NotFound, "No such reservation.")

func reservationLockTx(ctx context.Context, tx *store.Tx, id store.ID) (*Reservation, error) {
	var r Reservation
	err := tx.GetContext(ctx, &r, `SELECT `+reservationColumns+` FROM stock_reservations r
		WHERE r.tenant_id = $1 AND r.id = $2 FOR UPDATE`, tx.Scope.TenantID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errReservationNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("error loading reservation %s: %w", id, err)
	}
	return &r, nil
}

// ReserveParams reserves Quantity of an item at a location (and batch) for Reference.
type ReserveParams struct {
	ItemID     store.ID
	LocationID store.ID
	Batch      string
	Quantity   Qty
	Reference  string
}

// Reserve holds stock for a reference: only what is on hand and not yet reserved can be reserved
// (otherwise an Invalid "Insufficient stock" error). The actor needs InventoryWrite.
func Reserve(ctx context.Context, db *store.DB, scope store.Scope, p ReserveParams) (*Reservation, error) {
	var f store.FieldErrors
	required(&f, "item_id", p.ItemID, "Choose an item.")
	required(&f, "location_id", p.LocationID, "Choose a location.")
	positive(&f, p.Quantity)
	p.Batch = batchValid(&f, p.Batch)
	p.Reference = textField(&f, "reference", p.Reference, 1, 200, "Enter what the stock is reserved for (up to 200 characters).")
	if err := f.Err(); err != nil {
		return nil, err
	}
	var r Reservation
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryWrite); err != nil {
			return err
		}
		if err := reservedChange(ctx, tx, p.ItemID, p.LocationID, p.Batch, p.Quantity); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &r, `
			INSERT INTO stock_reservations AS r (id, item_id, location_id, batch, quantity, reference, actor_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+reservationColumns,
			store.NewID(), p.ItemID, p.LocationID, p.Batch, p.Quantity, p.Reference, actorOf(tx)); err != nil {
			return fmt.Errorf("error creating reservation: %w", err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "inventory.reserve", EntityType: "stock_reservation",
			EntityID: r.ID.String(), After: r})
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// reservedChange changes the reserved quantity of a level under the usual locks (item, location, level).
func reservedChange(ctx context.Context, tx *store.Tx, itemID, locationID store.ID, batch string, delta Qty) error {
	items, err := lockedItems(ctx, tx, []store.ID{itemID})
	if err != nil {
		return err
	}
	locs, err := lockedLocations(ctx, tx, []store.ID{locationID})
	if err != nil {
		return err
	}
	it, loc := items[itemID], locs[locationID]
	if delta > 0 {
		if err := legCheck(it, leg{itemID: itemID, locationID: locationID, batch: batch, qty: delta}); err != nil {
			return err
		}
	}
	k := levelKey{itemID, locationID, batch}
	lv, err := levelLock(ctx, tx, k, loc)
	if err != nil {
		return err
	}
	return levelChange(ctx, tx, k, lv, 0, delta, loc, it.Unit)
}

// ReservationRelease gives back what remains of an open reservation. The actor needs InventoryWrite.
func ReservationRelease(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*Reservation, error) {
	var after Reservation
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryWrite); err != nil {
			return err
		}
		before, err := reservationLockTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if before.Status != ReservationOpen {
			return store.Errorf(store.Invalid, "This reservation is %s already.", before.Status)
		}
		if err := reservedChange(ctx, tx, before.ItemID, before.LocationID, before.Batch, -before.Remaining()); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &after, `
			UPDATE stock_reservations r SET status = 'released', closed_at = now(), version = version + 1
			WHERE tenant_id = $1 AND id = $2 RETURNING `+reservationColumns, tx.Scope.TenantID, id); err != nil {
			return fmt.Errorf("error releasing reservation %s: %w", id, err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "inventory.release", EntityType: "stock_reservation",
			EntityID: id.String(), Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	return &after, nil
}

// reservationConsume takes qty off an open reservation for an issue, in tx. The posting lowers the
// level's reserved by the same quantity.
func reservationConsume(ctx context.Context, tx *store.Tx, id store.ID, qty Qty) (*Reservation, error) {
	r, err := reservationLockTx(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if r.Status != ReservationOpen {
		return nil, fieldErr("reservation_id", "This reservation is "+string(r.Status)+" already.")
	}
	if qty > r.Remaining() {
		return nil, fieldErr("quantity", "The reservation holds only "+r.Remaining().String()+": issue at most that.")
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE stock_reservations SET consumed = consumed + $3, version = version + 1,
			status = CASE WHEN consumed + $3 = quantity THEN 'consumed' ELSE status END,
			closed_at = CASE WHEN consumed + $3 = quantity THEN now() END
		WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, id, qty); err != nil {
		return nil, fmt.Errorf("error consuming reservation %s: %w", id, err)
	}
	return r, nil
}

// ReservationGet returns one reservation. The actor needs InventoryRead.
func ReservationGet(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*Reservation, error) {
	var r Reservation
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryRead); err != nil {
			return err
		}
		return store.Get(ctx, tx, &r, errReservationNotFound.Message, `SELECT `+reservationColumns+`
			FROM stock_reservations r WHERE r.tenant_id = $1 AND r.id = $2`, tx.Scope.TenantID, id)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// ReservationList returns the open reservations of an item, oldest first (at most 1000). The actor needs
// InventoryRead.
func ReservationList(ctx context.Context, db *store.DB, scope store.Scope, itemID store.ID) ([]Reservation, error) {
	var out []Reservation
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryRead); err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &out, `SELECT `+reservationColumns+` FROM stock_reservations r
			WHERE r.tenant_id = $1 AND r.item_id = $2 AND r.status = 'open' ORDER BY r.created_at, r.id LIMIT 1000`,
			tx.Scope.TenantID, itemID); err != nil {
			return fmt.Errorf("error listing reservations of item %s: %w", itemID, err)
		}
		return nil
	})
	return out, err
}

// LowStockListParams pages the low-stock list (by SKU).
type LowStockListParams struct {
	Search string
	After  string
	Limit  int
}

// LowStockList returns live items at or below their reorder point, by SKU. The actor needs InventoryRead.
func LowStockList(ctx context.Context, db *store.DB, scope store.Scope, p LowStockListParams) (*ItemListResult, error) {
	return ItemList(ctx, db, scope, ItemListParams{Search: p.Search, LowStock: true, Sort: SortSKU, After: p.After, Limit: p.Limit})
}

// LowStockCrossings returns the tenant's active items that are at or below their reorder point and were
// not reported since they last crossed it, and marks them reported, in one transaction: a periodic job
// that notifies managers calls it and tells each crossing once. An item is reported again only after its
// stock rose above the reorder point (the ledger clears the mark) and fell again. It runs as the system.
func LowStockCrossings(ctx context.Context, db *store.DB, tenantID store.ID) ([]Item, error) {
	var out []Item
	err := db.InTenant(ctx, store.Scope{TenantID: tenantID}, func(tx *store.Tx) (err error) {
		out, err = LowStockCrossingsTx(ctx, tx)
		return err
	})
	return out, err
}

// LowStockCrossingsTx is LowStockCrossings inside the caller's transaction (of tx's tenant), so whatever
// the caller does about the crossings (notifications) commits together with the marks, or not at all.
func LowStockCrossingsTx(ctx context.Context, tx *store.Tx) ([]Item, error) {
	var out []Item
	if err := tx.SelectContext(ctx, &out, `
		UPDATE inventory_items i SET low_notified = true
		WHERE i.tenant_id = $1 AND i.deleted_at IS NULL AND i.reorder_point > 0 AND i.on_hand <= i.reorder_point
		  AND i.status = 'active' AND NOT i.low_notified
		RETURNING `+itemColumns, tx.Scope.TenantID); err != nil {
		return nil, fmt.Errorf("error marking low-stock crossings: %w", err)
	}
	// Each crossing is a business event too (webhooks), recorded with the mark so it happens once.
	for _, it := range out {
		if _, err := events.Record(ctx, tx, events.RecordParams{Type: events.StockLow, Data: map[string]any{
			"item_id": it.ID, "sku": it.SKU, "name": it.Name, "unit": it.Unit,
			"on_hand": it.OnHand.String(), "reorder_point": it.ReorderPoint.String(), "reorder_qty": it.ReorderQty.String(),
		}}); err != nil {
			return nil, err
		}
	}
	sortItemsBySKU(out)
	return out, nil
}

func sortItemsBySKU(items []Item) {
	slices.SortFunc(items, func(a, b Item) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.SKU), strings.ToLower(b.SKU)), cmpID(a.ID, b.ID))
	})
}
