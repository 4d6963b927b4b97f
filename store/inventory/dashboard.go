package inventory

import (
	"context"
	"fmt"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// LowStockCount counts the live items at or below their reorder point (through the low-stock partial
// index). The actor needs InventoryRead.
func LowStockCount(ctx context.Context, db *store.DB, scope store.Scope) (int64, error) {
	var n int64
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryRead); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &n, `
			SELECT count(*) FROM inventory_items
			WHERE tenant_id = $1 AND deleted_at IS NULL AND reorder_point > 0 AND on_hand <= reorder_point`, scope.TenantID); err != nil {
			return fmt.Errorf("error counting low-stock items: %w", err)
		}
		return nil
	})
	return n, err
}
