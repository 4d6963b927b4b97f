package inventory

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// ItemPage is what an item's page shows: the item, its levels that hold or reserve stock (by location
// code and batch), its open reservations (oldest first), the tenant's locations, deleted ones included,
// which name the locations of its levels, reservations and older lines, and a page of its history.
type ItemPage struct {
	Item         Item
	Levels       []StockLevel
	Reservations []Reservation
	Locations    []Location
	History      *MovementListResult
}

// ItemPageParams selects an item and the page of its history: HistoryAfter is the previous history page's
// cursor, HistoryLimit defaults to 20 (at most 500).
type ItemPageParams struct {
	ID           store.ID
	HistoryAfter string
	HistoryLimit int
}

// ItemPageGet returns the item's page in one statement (it was five: the item, StockLevels,
// ReservationList, LocationList and MovementList, each a round trip of its own). The lists are the same as
// those functions return for the item. An item of another tenant is NotFound. The actor needs InventoryRead.
func ItemPageGet(ctx context.Context, db *store.DB, scope store.Scope, p ItemPageParams) (*ItemPage, error) {
	if p.HistoryLimit <= 0 || p.HistoryLimit > 500 {
		p.HistoryLimit = 20
	}
	id := p.ID
	var page ItemPage
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryRead); err != nil {
			return err
		}
		// The history's statement takes $1 (tenant) and $2 (item) like the rest, and its cursor after them.
		history, args, err := movementPageQuery(MovementListParams{ItemID: &id, After: p.HistoryAfter, Limit: p.HistoryLimit},
			tx.Scope.TenantID, false)
		if err != nil {
			return err
		}
		var row struct {
			Item
			Levels       []byte `db:"levels"`
			Reservations []byte `db:"reservations"`
			Locations    []byte `db:"locations"`
			History      []byte `db:"history"`
		}
		// Each list is a subquery read as JSON whose keys are the JSON names of its Go type; n keeps the
		// order of the list (json_agg of a sorted subquery would only usually keep it). The locations are
		// put in LocationList's order here (sortLocations): in SQL that took a self-join and a window,
		// half the statement's time.
		err = tx.GetContext(ctx, &row, `SELECT `+itemColumns+`,
			(SELECT coalesce(json_agg(x ORDER BY x.n), '[]') FROM (
				SELECT s.item_id, s.location_id, l.code AS location_code, l.name AS location_name, s.batch, s.on_hand,
				       s.reserved, row_number() OVER (ORDER BY lower(l.code), s.batch) AS n
				FROM stock_levels s JOIN inventory_locations l ON l.tenant_id = s.tenant_id AND l.id = s.location_id
				WHERE s.tenant_id = $1 AND s.item_id = $2 AND (s.on_hand <> 0 OR s.reserved <> 0)
				ORDER BY n LIMIT `+strconv.Itoa(StockLevelsMax)+`) x) AS levels,
			(SELECT coalesce(json_agg(x ORDER BY x.n), '[]') FROM (
				SELECT `+reservationColumns+`, row_number() OVER (ORDER BY r.created_at, r.id) AS n
				FROM stock_reservations r WHERE r.tenant_id = $1 AND r.item_id = $2 AND r.status = 'open'
				ORDER BY n LIMIT 1000) x) AS reservations,
			(SELECT coalesce(json_agg(x), '[]') FROM (
				SELECT `+locationColumns+` FROM inventory_locations l WHERE l.tenant_id = $1 LIMIT `+strconv.Itoa(LocationListMax)+`) x) AS locations,
			(SELECT coalesce(json_agg(h ORDER BY h.occurred_at DESC, h.id DESC), '[]') FROM (`+history+`) h) AS history
			FROM inventory_items i WHERE i.tenant_id = $1 AND i.id = $2`, args...)
		if errors.Is(err, sql.ErrNoRows) {
			return errItemNotFound
		}
		if err != nil {
			return fmt.Errorf("error loading the page of item %s: %w", id, err)
		}
		page.Item, page.History = row.Item, &MovementListResult{}
		for _, l := range []struct {
			raw  []byte
			into any
		}{{row.Levels, &page.Levels}, {row.Reservations, &page.Reservations}, {row.Locations, &page.Locations},
			{row.History, &page.History.Lines}} {
			if err := json.Unmarshal(l.raw, l.into); err != nil {
				return fmt.Errorf("error reading the lists of item %s: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	page.History.cut(p.HistoryLimit)
	sortLocations(page.Locations)
	for i := range page.Levels {
		lv := &page.Levels[i]
		lv.SKU, lv.ItemName, lv.Unit = page.Item.SKU, page.Item.Name, page.Item.Unit
		lv.Available = lv.OnHand - lv.Reserved
	}
	return &page, nil
}

// sortLocations puts locations in LocationList's order: warehouses by code (in lower case), each followed
// by its bins by code; ties by id, as PostgreSQL compares uuids (byte by byte).
func sortLocations(locs []Location) {
	warehouses := map[store.ID]string{}
	for _, l := range locs {
		if l.WarehouseID == nil {
			warehouses[l.ID] = strings.ToLower(l.Code)
		}
	}
	group := func(l Location) (string, store.ID) {
		if l.WarehouseID != nil {
			return warehouses[*l.WarehouseID], *l.WarehouseID
		}
		return strings.ToLower(l.Code), l.ID
	}
	slices.SortFunc(locs, func(a, b Location) int {
		ak, aw := group(a)
		bk, bw := group(b)
		if c := strings.Compare(ak, bk); c != 0 {
			return c
		}
		if c := bytes.Compare(aw[:], bw[:]); c != 0 {
			return c
		}
		if (a.WarehouseID == nil) != (b.WarehouseID == nil) { // the warehouse before its bins
			if a.WarehouseID == nil {
				return -1
			}
			return 1
		}
		if c := strings.Compare(strings.ToLower(a.Code), strings.ToLower(b.Code)); c != 0 {
			return c
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
}
