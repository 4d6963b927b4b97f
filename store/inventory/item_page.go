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
	"sync"
	"sync/atomic"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// ItemPage is what an item's page shows besides its movement history: the item, its levels that hold or
// reserve stock (by location code and batch), its open reservations (oldest first) and the tenant's
// locations, deleted ones included, which name the locations of its levels, reservations and older lines.
// The locations carry only what names and chooses them: ID, Kind, WarehouseID, Code, Name and DeletedAt.
type ItemPage struct {
	Item         Item
	Levels       []StockLevel
	Reservations []Reservation
	Locations    []Location
}

// ItemPageGet returns the item's page data in one statement (it was four: the item, StockLevels,
// ReservationList and LocationList, each a round trip of its own). The lists are the same as those
// functions return for the item. An item of another tenant is NotFound. The actor needs InventoryRead.
//
// The history stays a statement of its own (MovementList): read as JSON in this one it saved a round trip
// but cost the app more to decode (seven uuids and two times a line) than the round trip did.
func ItemPageGet(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*ItemPage, error) {
	var page ItemPage
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryRead); err != nil {
			return err
		}
		var row struct {
			Item
			Levels       []byte `db:"levels"`
			Reservations []byte `db:"reservations"`
			LocationsKey string `db:"locations_key"`
		}
		// Each list is a subquery read as JSON whose keys are the JSON names of its Go type; n keeps the
		// order of the list (json_agg of a sorted subquery would only usually keep it). The locations are
		// put in LocationList's order here (sortLocations): in SQL that took a self-join and a window,
		// half the statement's time.
		err := tx.GetContext(ctx, &row, `SELECT `+itemColumns+`,
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
			(`+locationsKeySQL+`) AS locations_key
			FROM inventory_items i WHERE i.tenant_id = $1 AND i.id = $2`, tx.Scope.TenantID, id)
		if errors.Is(err, sql.ErrNoRows) {
			return errItemNotFound
		}
		if err != nil {
			return fmt.Errorf("error loading the page of item %s: %w", id, err)
		}
		page.Item = row.Item
		for _, l := range []struct {
			raw  []byte
			into any
		}{{row.Levels, &page.Levels}, {row.Reservations, &page.Reservations}} {
			if err := json.Unmarshal(l.raw, l.into); err != nil {
				return fmt.Errorf("error reading the lists of item %s: %w", id, err)
			}
		}
		page.Locations, err = pageLocations(ctx, tx, row.LocationsKey)
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range page.Levels {
		lv := &page.Levels[i]
		lv.SKU, lv.ItemName, lv.Unit = page.Item.SKU, page.Item.Name, page.Item.Unit
		lv.Available = lv.OnHand - lv.Reserved
	}
	return &page, nil
}

// The locations of item pages are kept in the process per tenant, under a key that changes with every
// change of the tenant's locations: the fingerprint of their (id, version) pairs, which every insert,
// edit, deletion and restore changes (each bumps the version). The page's statement reads the key; the
// list is read only when the process has none under that key. Decoding the list as JSON on every page was
// an eighth of the app's CPU on the item page (24 locations, 4 KB).
const locationsKeySQL = `SELECT coalesce(md5(string_agg(l.id::text || ':' || l.version, ',' ORDER BY l.id)), '')
	FROM inventory_locations l WHERE l.tenant_id = $1`

// locationsCacheMax bounds the cache: lists longer than locationsCacheLong are not kept, and past
// locationsCacheMax tenants the cache starts over.
const (
	locationsCacheMax  = 10_000
	locationsCacheLong = 1_000
)

type cachedLocations struct {
	key  string
	list []Location
}

var (
	locationsCache   sync.Map // tenant store.ID → *cachedLocations
	locationsCounted atomic.Int64
)

// ForgetLocations drops the locations kept for item pages, so that the next page of every tenant reads
// them: for tests that measure the uncached path.
func ForgetLocations() {
	locationsCache.Clear()
	locationsCounted.Store(0)
}

// pageLocations returns the tenant's locations as an item page shows them (sortLocations' order, deleted
// ones included) for the key read in the same transaction: from the cache, or read and kept. The list read
// after the key is at least as new as the key says, so a list is never kept under a newer key than its own.
func pageLocations(ctx context.Context, tx *store.Tx, key string) ([]Location, error) {
	tenant := tx.Scope.TenantID
	if c, ok := locationsCache.Load(tenant); ok && key != "" && c.(*cachedLocations).key == key {
		return slices.Clone(c.(*cachedLocations).list), nil
	}
	var list []Location
	if err := tx.SelectContext(ctx, &list, `SELECT l.id, l.kind, l.warehouse_id, l.code, l.name, l.deleted_at
		FROM inventory_locations l WHERE l.tenant_id = $1 LIMIT `+strconv.Itoa(LocationListMax), tenant); err != nil {
		return nil, fmt.Errorf("error reading locations: %w", err)
	}
	sortLocations(list)
	if key != "" && len(list) <= locationsCacheLong {
		if locationsCounted.Add(1) > locationsCacheMax {
			locationsCache.Clear()
			locationsCounted.Store(0)
		}
		locationsCache.Store(tenant, &cachedLocations{key: key, list: slices.Clone(list)})
	}
	return list, nil
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
