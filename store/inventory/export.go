package inventory

import (
	"context"
	"fmt"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// EachPageSize is how many rows the Each functions read per query: large enough that a million rows
// take two hundred keyset queries (measured: 1,000 per page exports 30% slower), small enough that a page
// costs a few MB.
const EachPageSize = 5000

// ItemsEach calls fn for every item of the item list with p's filter and sort, in the list's order (p.After
// and p.Limit are ignored), reading page by page with the list's own keyset query in tx. fn must not use
// tx. The actor needs InventoryRead.
func ItemsEach(ctx context.Context, tx *store.Tx, p ItemListParams, fn func(Item) error) error {
	if err := permit(ctx, tx, identity.InventoryRead); err != nil {
		return err
	}
	p.After, p.Limit = "", EachPageSize
	for {
		res, err := itemPageTx(ctx, tx, p)
		if err != nil {
			return err
		}
		for _, it := range res.Items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if res.Next == "" {
			return nil
		}
		p.After = res.Next
	}
}

// ItemsCount counts the items of the item list with p's filter. The actor needs InventoryRead.
func ItemsCount(ctx context.Context, tx *store.Tx, p ItemListParams) (int64, error) {
	if err := permit(ctx, tx, identity.InventoryRead); err != nil {
		return 0, err
	}
	if p.Sort != "" {
		if _, ok := itemSortKeys[p.Sort]; !ok {
			return 0, (store.FieldErrors{"sort": "Choose a sort order from the list."}).Err()
		}
	}
	query, args := itemCountQuery(p, tx.Scope.TenantID)
	var n int64
	if err := tx.GetContext(ctx, &n, query, args...); err != nil {
		return 0, fmt.Errorf("error counting items: %w", err)
	}
	return n, nil
}

// MovementExportLine is a ledger line with its item's SKU and name and its location's code, as an
// export shows it.
type MovementExportLine struct {
	MovementLine
	SKU          string
	ItemName     string
	LocationCode string
}

// MovementsEach calls fn for every line of the ledger with p's filter, newest first like the ledger page
// (p.After and p.Limit are ignored). fn must not use tx. The actor needs InventoryRead.
func MovementsEach(ctx context.Context, tx *store.Tx, p MovementListParams, fn func(MovementExportLine) error) error {
	if err := permit(ctx, tx, identity.InventoryRead); err != nil {
		return err
	}
	var locs []struct {
		ID   store.ID `db:"id"`
		Code string   `db:"code"`
	}
	if err := tx.SelectContext(ctx, &locs, `SELECT id, code FROM inventory_locations WHERE tenant_id = $1`, tx.Scope.TenantID); err != nil {
		return fmt.Errorf("error loading locations: %w", err)
	}
	codes := make(map[store.ID]string, len(locs))
	for _, l := range locs {
		codes[l.ID] = l.Code
	}
	p.After, p.Limit = "", EachPageSize
	for {
		res, err := movementPageTx(ctx, tx, p, false)
		if err != nil {
			return err
		}
		ids := make([]store.ID, 0, len(res.Lines))
		for _, l := range res.Lines {
			ids = append(ids, l.ItemID)
		}
		var items []struct {
			ID   store.ID `db:"id"`
			SKU  string   `db:"sku"`
			Name string   `db:"name"`
		}
		if err := tx.SelectContext(ctx, &items, `SELECT id, sku, name FROM inventory_items WHERE tenant_id = $1 AND id = ANY ($2)`,
			tx.Scope.TenantID, ids); err != nil {
			return fmt.Errorf("error naming the items of stock movements: %w", err)
		}
		names := make(map[store.ID][2]string, len(items))
		for _, it := range items {
			names[it.ID] = [2]string{it.SKU, it.Name}
		}
		for _, l := range res.Lines {
			n := names[l.ItemID]
			if err := fn(MovementExportLine{MovementLine: l, SKU: n[0], ItemName: n[1], LocationCode: codes[l.LocationID]}); err != nil {
				return err
			}
		}
		if res.Next == "" {
			return nil
		}
		p.After = res.Next
	}
}

// MovementsCount counts the ledger lines with p's filter. The actor needs InventoryRead.
func MovementsCount(ctx context.Context, tx *store.Tx, p MovementListParams) (int64, error) {
	if err := permit(ctx, tx, identity.InventoryRead); err != nil {
		return 0, err
	}
	res, err := movementPageTx(ctx, tx, p, true)
	if err != nil {
		return 0, err
	}
	return res.Count, nil
}

// LevelsEach calls fn for every stock level StockLevels selects for p, in its order, without its cap:
// the rows stream from one query, so fn must not use tx. The actor needs InventoryRead.
func LevelsEach(ctx context.Context, tx *store.Tx, p StockLevelParams, fn func(StockLevel) error) error {
	if err := permit(ctx, tx, identity.InventoryRead); err != nil {
		return err
	}
	rows, err := tx.QueryxContext(ctx, `
		SELECT s.item_id, i.sku, i.name AS item_name, i.unit, s.location_id, l.code AS location_code,
		       l.name AS location_name, s.batch, s.on_hand, s.reserved
		FROM stock_levels s
		JOIN inventory_items i ON i.tenant_id = s.tenant_id AND i.id = s.item_id
		JOIN inventory_locations l ON l.tenant_id = s.tenant_id AND l.id = s.location_id
		WHERE s.tenant_id = $1
		  AND ($2::uuid IS NULL OR s.item_id = $2)
		  AND ($3::uuid IS NULL OR l.id = $3 OR l.warehouse_id = $3)
		  AND ($4 OR s.on_hand <> 0 OR s.reserved <> 0)
		ORDER BY lower(i.sku), lower(l.code), s.batch`, tx.Scope.TenantID, p.ItemID, p.LocationID, p.IncludeEmpty)
	if err != nil {
		return fmt.Errorf("error listing stock levels: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l StockLevel
		if err := rows.StructScan(&l); err != nil {
			return fmt.Errorf("error reading stock level: %w", err)
		}
		l.Available = l.OnHand - l.Reserved
		if err := fn(l); err != nil {
			return err
		}
	}
	return rows.Err()
}
