-- +goose Up
-- first_movement_at is a lower bound of the occurred_at of every ledger line of the item (NULL: it has
-- none): posting lowers it when a movement is older. An item's history is read between it and now, so
-- PostgreSQL skips the months before the item's first movement and the months created ahead, instead of
-- looking into each of the ledger's monthly partitions for the item's newest lines.
ALTER TABLE inventory_items ADD COLUMN first_movement_at timestamptz;
UPDATE inventory_items i SET first_movement_at = f.first
FROM (SELECT tenant_id, item_id, min(occurred_at) AS first FROM stock_movements_all GROUP BY tenant_id, item_id) f
WHERE i.tenant_id = f.tenant_id AND i.id = f.item_id;

-- +goose Down
ALTER TABLE inventory_items DROP COLUMN first_movement_at;
