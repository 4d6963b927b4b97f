package inventory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"ledgerline/store"
	"ledgerline/store/audit"
)

// This file is the one place that changes stock: post writes a movement's legs to the ledger and applies
// them to the stock levels and item totals, in the caller's transaction.
//
// Locking order, the same for every operation so that two transactions never wait on each other in a
// circle: the items (by id), then the locations (by id, shared), then the level rows (by item, location,
// batch). Locking the item first also serializes every movement of one item, which the moving average
// cost needs anyway. Deadlocks that slip through anyway (40P01) are retried by store.InTenant.

// leg is one line of a posting: a change of on hand (and reserved) at one level.
type leg struct {
	itemID     store.ID
	locationID store.ID
	batch      string
	qty        Qty  // change of on hand; ignored when counted is set
	counted    *Qty // stocktake: the counted on hand; the leg's qty becomes the difference
	reserved   Qty  // change of reserved (an issue consuming a reservation: -qty)
	unitCost   *int64
	currency   *string
	reservID   *store.ID
}

type levelKey struct {
	item, location store.ID
	batch          string
}

func (k levelKey) compare(o levelKey) int {
	if c := cmpID(k.item, o.item); c != 0 {
		return c
	}
	if c := cmpID(k.location, o.location); c != 0 {
		return c
	}
	return cmp.Compare(k.batch, o.batch)
}

func cmpID(a, b store.ID) int {
	for i := range a {
		if c := cmp.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// posting is a movement to write.
type posting struct {
	kind       MovementKind
	occurredAt time.Time
	reason     string
	reference  string
	note       string
	reversesID *store.ID
	legs       []leg
	// checkTracking applies the item's tracking rules to each leg (reversals repeat legs that passed them).
	checkTracking bool
	// receipt legs update the moving average cost.
	valueReceipts bool
}

// lockedItems locks the items in id order and returns them by id. A deleted or unknown item is refused.
func lockedItems(ctx context.Context, tx *store.Tx, ids []store.ID) (map[store.ID]*Item, error) {
	ids = sortedIDs(ids)
	var items []Item
	if err := tx.SelectContext(ctx, &items, `
		SELECT `+itemColumns+` FROM inventory_items i
		WHERE i.tenant_id = $1 AND i.id = ANY ($2::uuid[])
		ORDER BY i.id FOR NO KEY UPDATE`, tx.Scope.TenantID, idStrings(ids)); err != nil {
		return nil, fmt.Errorf("error locking items: %w", err)
	}
	out := make(map[store.ID]*Item, len(items))
	for i := range items {
		out[items[i].ID] = &items[i]
	}
	for _, id := range ids {
		it, ok := out[id]
		if !ok {
			return nil, errItemNotFound
		}
		if it.DeletedAt != nil {
			return nil, store.Errorf(store.Invalid, "%s is deleted. Restore it before moving its stock.", it.SKU)
		}
	}
	return out, nil
}

// lockedLocations share-locks the locations in id order (a location cannot be deleted while stock moves
// into it) and returns them by id. A deleted or unknown location is refused.
func lockedLocations(ctx context.Context, tx *store.Tx, ids []store.ID) (map[store.ID]*Location, error) {
	ids = sortedIDs(ids)
	var locs []Location
	if err := tx.SelectContext(ctx, &locs, `
		SELECT `+locationColumns+` FROM inventory_locations l
		WHERE l.tenant_id = $1 AND l.id = ANY ($2::uuid[])
		ORDER BY l.id FOR SHARE`, tx.Scope.TenantID, idStrings(ids)); err != nil {
		return nil, fmt.Errorf("error locking locations: %w", err)
	}
	out := make(map[store.ID]*Location, len(locs))
	for i := range locs {
		out[locs[i].ID] = &locs[i]
	}
	for _, id := range ids {
		l, ok := out[id]
		if !ok {
			return nil, errLocationNotFound
		}
		if l.DeletedAt != nil {
			return nil, store.Errorf(store.Invalid, "%s is deleted. Restore it before moving stock there.", l.Code)
		}
	}
	return out, nil
}

func sortedIDs(ids []store.ID) []store.ID {
	ids = slices.Clone(ids)
	slices.SortFunc(ids, cmpID)
	return slices.Compact(ids)
}

func idStrings(ids []store.ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

// level is a locked stock level.
type level struct {
	OnHand   Qty `db:"on_hand"`
	Reserved Qty `db:"reserved"`
}

// levelLock creates the level row if it is missing and locks it, returning its current values.
func levelLock(ctx context.Context, tx *store.Tx, k levelKey, loc *Location) (level, error) {
	var lv level
	err := tx.GetContext(ctx, &lv, `
		INSERT INTO stock_levels (item_id, location_id, batch, allow_negative) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant_id, item_id, location_id, batch) DO UPDATE SET updated_at = now()
		RETURNING on_hand, reserved`, k.item, k.location, k.batch, loc.AllowNegative)
	if err != nil {
		return lv, fmt.Errorf("error locking stock level: %w", err)
	}
	return lv, nil
}

// levelChange applies a change to a locked level. The CHECK constraints are the guard: a change that
// would oversell fails there and becomes the user's "insufficient stock" message.
func levelChange(ctx context.Context, tx *store.Tx, k levelKey, before level, onHand, reserved Qty, loc *Location, unit Unit) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE stock_levels SET on_hand = on_hand + $4, reserved = reserved + $5, updated_at = now()
		WHERE tenant_id = $6 AND item_id = $1 AND location_id = $2 AND batch = $3`,
		k.item, k.location, k.batch, onHand, reserved, tx.Scope.TenantID)
	if store.IsCheckViolation(err, "") {
		return insufficient(before, loc, unit)
	}
	if isNumericOverflow(err) {
		return store.Errorf(store.Invalid, "That quantity is too large for this stock level.")
	}
	if err != nil {
		return fmt.Errorf("error changing stock level: %w", err)
	}
	return nil
}

func insufficient(lv level, loc *Location, unit Unit) error {
	return &insufficientStockError{err: store.Errorf(store.Invalid, "Insufficient stock: %s %s on hand, %s reserved at %s (%s).",
		lv.OnHand, unit, lv.Reserved, loc.Code, loc.Name)}
}

// insufficientStockError refuses a movement or reservation that would take more than a level has. It is an
// Invalid *store.Error underneath (errors.As finds it), so pages and the API show its message like any other.
type insufficientStockError struct{ err *store.Error }

func (e *insufficientStockError) Error() string { return e.err.Error() }
func (e *insufficientStockError) Unwrap() error { return e.err }

// IsInsufficientStock reports whether err refused taking more stock than a level has available. The store
// cannot say which input caused it (the level's CHECK constraint refused the sum), so callers name the field.
func IsInsufficientStock(err error) bool {
	var e *insufficientStockError
	return errors.As(err, &e)
}

func fieldErr(field, msg string) error {
	return (store.FieldErrors{field: msg}).Err()
}

// legCheck applies the item's unit and tracking rules to one leg.
func legCheck(it *Item, l leg) error {
	q := l.qty
	if l.counted != nil {
		q = *l.counted
	}
	if it.Unit.Whole() && !q.IsWhole() {
		return fieldErr("quantity", fmt.Sprintf("Enter a whole number: %s is counted in %s.", it.SKU, it.Unit.Label()))
	}
	switch it.Tracking {
	case TrackNone:
		if l.batch != "" {
			return fieldErr("batch", it.SKU+" is not tracked by batch or serial number: leave the batch empty.")
		}
	case TrackBatch:
		if l.batch == "" {
			return fieldErr("batch", it.SKU+" is tracked by batch: enter the batch.")
		}
	case TrackSerial:
		if l.batch == "" {
			return fieldErr("batch", it.SKU+" is tracked by serial number: enter the serial number.")
		}
		if l.counted != nil {
			if *l.counted != 0 && *l.counted != Units(1) {
				return fieldErr("quantity", "Count a serial number as 0 or 1.")
			}
		} else if l.qty != Units(1) && l.qty != Units(-1) {
			return fieldErr("quantity", "Serial numbers move one at a time: enter a quantity of 1.")
		}
	}
	return nil
}

// post writes p in tx and returns the movement. Legs with a zero change (a stocktake line that matches)
// are left out of the ledger.
func post(ctx context.Context, tx *store.Tx, p posting) (*Movement, error) {
	itemIDs, locIDs := make([]store.ID, 0, len(p.legs)), make([]store.ID, 0, len(p.legs))
	for _, l := range p.legs {
		itemIDs = append(itemIDs, l.itemID)
		locIDs = append(locIDs, l.locationID)
	}
	items, err := lockedItems(ctx, tx, itemIDs)
	if err != nil {
		return nil, err
	}
	locs, err := lockedLocations(ctx, tx, locIDs)
	if err != nil {
		return nil, err
	}
	if p.checkTracking {
		for _, l := range p.legs {
			if err := legCheck(items[l.itemID], l); err != nil {
				return nil, err
			}
		}
	}

	// Lock every level the posting touches, in key order, and read its values.
	keys := make([]levelKey, 0, len(p.legs))
	for _, l := range p.legs {
		keys = append(keys, levelKey{l.itemID, l.locationID, l.batch})
	}
	slices.SortFunc(keys, levelKey.compare)
	keys = slices.Compact(keys)
	before := make(map[levelKey]level, len(keys))
	for _, k := range keys {
		lv, err := levelLock(ctx, tx, k, locs[k.location])
		if err != nil {
			return nil, err
		}
		before[k] = lv
	}

	// Settle each leg's change (stocktake lines become differences) and sum the changes per level.
	type change struct{ onHand, reserved Qty }
	changes := map[levelKey]change{}
	legs := make([]leg, 0, len(p.legs))
	for _, l := range p.legs {
		k := levelKey{l.itemID, l.locationID, l.batch}
		if l.counted != nil {
			l.qty = *l.counted - before[k].OnHand
		}
		if l.qty == 0 && l.reserved == 0 {
			continue
		}
		c := changes[k]
		c.onHand += l.qty
		c.reserved += l.reserved
		changes[k] = c
		legs = append(legs, l)
	}
	itemDelta := map[store.ID]Qty{}
	for _, k := range keys {
		c, ok := changes[k]
		if !ok {
			continue
		}
		it := items[k.item]
		if err := levelChange(ctx, tx, k, before[k], c.onHand, c.reserved, locs[k.location], it.Unit); err != nil {
			return nil, err
		}
		itemDelta[k.item] += c.onHand
	}

	// A serial number is in stock at most once across all locations.
	for _, l := range legs {
		if it := items[l.itemID]; it.Tracking == TrackSerial && l.qty > 0 {
			var total Qty
			if err := tx.GetContext(ctx, &total, `
				SELECT coalesce(sum(on_hand), 0) FROM stock_levels WHERE tenant_id = $1 AND item_id = $2 AND batch = $3`,
				tx.Scope.TenantID, l.itemID, l.batch); err != nil {
				return nil, fmt.Errorf("error checking serial number: %w", err)
			}
			if total > Units(1) {
				return nil, fieldErr("batch", fmt.Sprintf("Serial number %s of %s is already in stock.", l.batch, it.SKU))
			}
		}
	}

	// Item totals and the moving average cost.
	for _, id := range sortedIDs(itemIDs) {
		it := items[id]
		avg := it.AvgCost
		onHand := it.OnHand
		moved := false
		for _, l := range legs {
			if l.itemID != id {
				continue
			}
			if p.valueReceipts && l.qty > 0 && l.unitCost != nil {
				avg = MovingAverageCost(onHand, avg, l.qty, *l.unitCost)
			}
			onHand += l.qty
			moved = true
		}
		// The first movement of the item, or one dated before it, moves first_movement_at back.
		earlier := moved && (it.FirstMovementAt == nil || p.occurredAt.Before(*it.FirstMovementAt))
		if onHand == it.OnHand && avg == it.AvgCost && !earlier {
			continue
		}
		value, err := StockValueOf(onHand, avg)
		if err != nil {
			return nil, err
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE inventory_items SET on_hand = $3, avg_cost = $4, stock_value = $5,
				low_notified = low_notified AND $3 <= reorder_point, updated_at = now(),
				first_movement_at = least(first_movement_at, $6)
			WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, id, onHand, avg, value, p.occurredAt)
		if isNumericOverflow(err) {
			return nil, store.Errorf(store.Invalid, "That quantity is too large for %s.", it.SKU)
		}
		if err != nil {
			return nil, fmt.Errorf("error updating totals of item %s: %w", id, err)
		}
		it.OnHand, it.AvgCost, it.StockValue = onHand, avg, value
	}

	// The ledger.
	m := &Movement{ID: store.NewID(), Kind: p.kind, OccurredAt: p.occurredAt, Reason: p.reason, Reference: p.reference,
		Note: p.note, ReversesID: p.reversesID, ActorID: actorOf(tx)}
	for _, l := range legs {
		line := MovementLine{ID: store.NewID(), MovementID: m.ID, OccurredAt: m.OccurredAt, Kind: m.Kind,
			ItemID: l.itemID, LocationID: l.locationID, Batch: l.batch, Quantity: l.qty, UnitCost: l.unitCost,
			Currency: l.currency, Reason: m.Reason, Reference: m.Reference, Note: m.Note, ReservationID: l.reservID,
			ReversesID: m.ReversesID, ActorID: m.ActorID}
		if err := tx.GetContext(ctx, &line.RecordedAt, `
			INSERT INTO stock_movements (id, movement_id, occurred_at, kind, item_id, location_id, batch, quantity,
				unit_cost, currency, reason, reference, note, reservation_id, reverses_id, actor_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
			RETURNING recorded_at`,
			line.ID, line.MovementID, line.OccurredAt, line.Kind, line.ItemID, line.LocationID, line.Batch, line.Quantity,
			line.UnitCost, line.Currency, line.Reason, line.Reference, line.Note, line.ReservationID, line.ReversesID,
			line.ActorID); err != nil {
			return nil, fmt.Errorf("error writing stock movement: %w", err)
		}
		m.Lines = append(m.Lines, line)
	}
	if err := audit.Record(ctx, tx, audit.RecordParams{Action: "inventory." + string(p.kind), EntityType: "stock_movement",
		EntityID: m.ID.String(), After: m}); err != nil {
		return nil, err
	}
	return m, nil
}
