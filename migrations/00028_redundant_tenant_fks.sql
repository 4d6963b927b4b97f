-- +goose Up
-- Three foreign keys to tenants that other constraints already imply, each a lookup in tenants for every row
-- written: a stock level and a ledger line name their item by (tenant_id, item_id), and the item's own key
-- to tenants vouches for the tenant; an entry of the sealing queue is written by the trigger on
-- audit_events from an event that has that key. Importing 100,000 items with opening stock made 300,000
-- such lookups (the import bench: bench/README.md).
ALTER TABLE stock_levels DROP CONSTRAINT stock_levels_tenant_id_fkey;
ALTER TABLE stock_movements DROP CONSTRAINT stock_movements_tenant_id_fkey;
ALTER TABLE audit_unsealed DROP CONSTRAINT audit_unsealed_tenant_id_fkey;

-- +goose Down
ALTER TABLE stock_levels ADD CONSTRAINT stock_levels_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE stock_movements ADD CONSTRAINT stock_movements_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE audit_unsealed ADD CONSTRAINT audit_unsealed_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id);
