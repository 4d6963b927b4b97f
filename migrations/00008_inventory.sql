-- +goose Up
-- Inventory: items, locations (warehouses and their bins), the append-only stock ledger partitioned by
-- month, stock levels guarded by CHECK constraints, reservations and the once-per-crossing low-stock state.
--
-- Quantities are numeric(15,3): three decimals, and small enough that Go holds them exactly as int64
-- thousandths (inventory.Qty). Money is bigint minor units plus the currency.

CREATE TABLE inventory_items (
	tenant_id      uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id             uuid NOT NULL,
	sku            text NOT NULL CHECK (length(btrim(sku)) BETWEEN 1 AND 64),
	name           text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
	description    text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
	category       text NOT NULL DEFAULT '' CHECK (length(category) <= 100),
	unit           text NOT NULL,
	barcode        text NOT NULL DEFAULT '' CHECK (length(barcode) <= 64),
	reorder_point  numeric(15,3) NOT NULL DEFAULT 0 CHECK (reorder_point >= 0),
	reorder_qty    numeric(15,3) NOT NULL DEFAULT 0 CHECK (reorder_qty >= 0),
	tracking       text NOT NULL DEFAULT 'none' CHECK (tracking IN ('none', 'batch', 'serial')),
	status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
	-- Totals over the item's stock levels and its moving average cost, kept in the movement's transaction
	-- so that lists can sort and filter by them through an index at a million items.
	on_hand        numeric(15,3) NOT NULL DEFAULT 0,
	currency       char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	avg_cost       bigint NOT NULL DEFAULT 0 CHECK (avg_cost >= 0),
	stock_value    bigint NOT NULL DEFAULT 0,
	-- True while the item is at or below its reorder point and managers were told; cleared when it rises above.
	low_notified   boolean NOT NULL DEFAULT false,
	-- Sort and filter keys. Row-level security lets an index condition use only leakproof operators, and
	-- lower() and numeric comparisons are not: stored keys compared with text and bigint operators are.
	sku_key        text GENERATED ALWAYS AS (lower(sku)) STORED,
	name_key       text GENERATED ALWAYS AS (lower(name)) STORED,
	category_key   text GENERATED ALWAYS AS (lower(category)) STORED,
	on_hand_key    bigint GENERATED ALWAYS AS ((on_hand * 1000)::bigint) STORED,
	deleted_at     timestamptz,
	created_at     timestamptz NOT NULL DEFAULT now(),
	updated_at     timestamptz NOT NULL DEFAULT now(),
	version        integer NOT NULL DEFAULT 1,
	PRIMARY KEY (tenant_id, id)
);
-- The SKU is unique among live items, case-insensitively; the same index orders the list by SKU. Each sort
-- of the list has its index on (tenant_id, key, id), so keyset pages cost the same at any depth.
CREATE UNIQUE INDEX inventory_items_sku_key ON inventory_items (tenant_id, sku_key) WHERE deleted_at IS NULL;
CREATE INDEX inventory_items_sku_deleted_idx ON inventory_items (tenant_id, sku_key, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX inventory_items_name_idx ON inventory_items (tenant_id, name_key, id) WHERE deleted_at IS NULL;
CREATE INDEX inventory_items_on_hand_idx ON inventory_items (tenant_id, on_hand_key, id) WHERE deleted_at IS NULL;
CREATE INDEX inventory_items_value_idx ON inventory_items (tenant_id, stock_value, id) WHERE deleted_at IS NULL;
CREATE INDEX inventory_items_category_idx ON inventory_items (tenant_id, category_key, sku_key) WHERE deleted_at IS NULL;
CREATE INDEX inventory_items_low_idx ON inventory_items (tenant_id, sku_key, id)
	WHERE deleted_at IS NULL AND reorder_point > 0 AND on_hand <= reorder_point;
CREATE INDEX inventory_items_sku_trgm ON inventory_items USING gin (sku gin_trgm_ops);
CREATE INDEX inventory_items_name_trgm ON inventory_items USING gin (name gin_trgm_ops);
CREATE INDEX inventory_items_barcode_idx ON inventory_items (tenant_id, barcode) WHERE barcode <> '';

-- Search by part of the SKU or name. ILIKE is not leakproof, so under row-level security the trigram
-- indexes cannot serve it; this function runs as the owner (who bypasses row-level security) and applies
-- the transaction's tenant itself, so it returns only that tenant's items. No tenant: no rows.
-- +goose StatementBegin
CREATE FUNCTION inventory_item_search(p_pattern text)
RETURNS TABLE (id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 100 AS $$
	SELECT i.id FROM inventory_items i
	WHERE i.tenant_id = app_tenant_id() AND (i.sku ILIKE p_pattern OR i.name ILIKE p_pattern)
$$;
-- +goose StatementEnd
REVOKE EXECUTE ON FUNCTION inventory_item_search(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION inventory_item_search(text) TO ledgerline_app;

-- Locations are warehouses and the bins inside them (two levels). allow_negative lets a location's stock go
-- below zero (a tenant's choice for chosen locations); stock levels copy it so a CHECK can see it.
CREATE TABLE inventory_locations (
	tenant_id       uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id              uuid NOT NULL,
	kind            text NOT NULL CHECK (kind IN ('warehouse', 'bin')),
	warehouse_id    uuid,
	code            text NOT NULL CHECK (length(btrim(code)) BETWEEN 1 AND 32),
	name            text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
	allow_negative  boolean NOT NULL DEFAULT false,
	deleted_at      timestamptz,
	created_at      timestamptz NOT NULL DEFAULT now(),
	updated_at      timestamptz NOT NULL DEFAULT now(),
	version         integer NOT NULL DEFAULT 1,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, warehouse_id) REFERENCES inventory_locations (tenant_id, id),
	CHECK ((kind = 'warehouse') = (warehouse_id IS NULL))
);
CREATE UNIQUE INDEX inventory_locations_code_key ON inventory_locations (tenant_id, lower(code)) WHERE deleted_at IS NULL;
CREATE INDEX inventory_locations_warehouse_idx ON inventory_locations (tenant_id, warehouse_id);

-- Current stock per item, location and batch (or serial number; '' for untracked items). The CHECKs make
-- overselling impossible whatever the code does: an update that would leave a level negative, or reserve
-- more than is on hand, fails and its transaction rolls back.
CREATE TABLE stock_levels (
	tenant_id       uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	item_id         uuid NOT NULL,
	location_id     uuid NOT NULL,
	batch           text NOT NULL DEFAULT '' CHECK (length(batch) <= 64),
	on_hand         numeric(15,3) NOT NULL DEFAULT 0,
	reserved        numeric(15,3) NOT NULL DEFAULT 0,
	allow_negative  boolean NOT NULL DEFAULT false,
	updated_at      timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, item_id, location_id, batch),
	FOREIGN KEY (tenant_id, item_id) REFERENCES inventory_items (tenant_id, id),
	FOREIGN KEY (tenant_id, location_id) REFERENCES inventory_locations (tenant_id, id),
	CONSTRAINT stock_levels_on_hand_check CHECK (on_hand >= 0 OR allow_negative),
	CONSTRAINT stock_levels_reserved_check CHECK (reserved >= 0 AND (reserved <= on_hand OR allow_negative))
);
CREATE INDEX stock_levels_location_idx ON stock_levels (tenant_id, location_id, item_id);

-- The stock ledger: one row per leg (a transfer has two, a stocktake one per counted difference), grouped
-- by movement_id. Append-only: the app role may insert and read, never change or delete. Partitioned by
-- month of occurred_at so old months can be detached and archived.
CREATE TABLE stock_movements (
	tenant_id       uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id              uuid NOT NULL,
	movement_id     uuid NOT NULL,
	occurred_at     timestamptz NOT NULL,
	recorded_at     timestamptz NOT NULL DEFAULT now(),
	kind            text NOT NULL CHECK (kind IN ('receipt', 'issue', 'transfer', 'adjustment', 'stocktake', 'reversal')),
	item_id         uuid NOT NULL,
	location_id     uuid NOT NULL,
	batch           text NOT NULL DEFAULT '',
	quantity        numeric(15,3) NOT NULL CHECK (quantity <> 0),
	unit_cost       bigint CHECK (unit_cost >= 0),
	currency        char(3) CHECK (currency ~ '^[A-Z]{3}$'),
	reason          text NOT NULL DEFAULT '',
	reference       text NOT NULL DEFAULT '',
	note            text NOT NULL DEFAULT '',
	reservation_id  uuid,
	reverses_id     uuid,
	actor_id        uuid,
	PRIMARY KEY (tenant_id, id, occurred_at),
	FOREIGN KEY (tenant_id, item_id) REFERENCES inventory_items (tenant_id, id),
	FOREIGN KEY (tenant_id, location_id) REFERENCES inventory_locations (tenant_id, id)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX stock_movements_item_idx ON stock_movements (tenant_id, item_id, occurred_at DESC, id DESC);
CREATE INDEX stock_movements_location_idx ON stock_movements (tenant_id, location_id, occurred_at DESC, id DESC);
CREATE INDEX stock_movements_time_idx ON stock_movements (tenant_id, occurred_at DESC, id DESC);
CREATE INDEX stock_movements_movement_idx ON stock_movements (tenant_id, movement_id);

-- A movement is reversed at most once: the primary key refuses a second reversal even when two race.
CREATE TABLE stock_movement_reversals (
	tenant_id    uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	movement_id  uuid NOT NULL,
	reversal_id  uuid NOT NULL,
	created_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, movement_id)
);

-- Reservations hold stock of a level for a reference (an order, a request). Open ones count in the level's
-- reserved; an issue naming the reservation consumes it.
CREATE TABLE stock_reservations (
	tenant_id    uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id           uuid NOT NULL,
	item_id      uuid NOT NULL,
	location_id  uuid NOT NULL,
	batch        text NOT NULL DEFAULT '',
	quantity     numeric(15,3) NOT NULL CHECK (quantity > 0),
	consumed     numeric(15,3) NOT NULL DEFAULT 0 CHECK (consumed >= 0 AND consumed <= quantity),
	reference    text NOT NULL CHECK (length(btrim(reference)) BETWEEN 1 AND 200),
	status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'released', 'consumed')),
	actor_id     uuid,
	created_at   timestamptz NOT NULL DEFAULT now(),
	closed_at    timestamptz,
	version      integer NOT NULL DEFAULT 1,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, item_id, location_id, batch) REFERENCES stock_levels (tenant_id, item_id, location_id, batch)
);
CREATE INDEX stock_reservations_open_idx ON stock_reservations (tenant_id, item_id, created_at) WHERE status = 'open';

REVOKE UPDATE, DELETE, TRUNCATE ON stock_movements, stock_movement_reversals FROM ledgerline_app;

ALTER TABLE inventory_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory_items FORCE ROW LEVEL SECURITY;
CREATE POLICY inventory_items_tenant ON inventory_items
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE inventory_locations ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory_locations FORCE ROW LEVEL SECURITY;
CREATE POLICY inventory_locations_tenant ON inventory_locations
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE stock_levels ENABLE ROW LEVEL SECURITY;
ALTER TABLE stock_levels FORCE ROW LEVEL SECURITY;
CREATE POLICY stock_levels_tenant ON stock_levels
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE stock_movements ENABLE ROW LEVEL SECURITY;
ALTER TABLE stock_movements FORCE ROW LEVEL SECURITY;
CREATE POLICY stock_movements_tenant ON stock_movements
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE stock_movement_reversals ENABLE ROW LEVEL SECURITY;
ALTER TABLE stock_movement_reversals FORCE ROW LEVEL SECURITY;
CREATE POLICY stock_movement_reversals_tenant ON stock_movement_reversals
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE stock_reservations ENABLE ROW LEVEL SECURITY;
ALTER TABLE stock_reservations FORCE ROW LEVEL SECURITY;
CREATE POLICY stock_reservations_tenant ON stock_reservations
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- stock_movement_partition_create adds the partition of one month (or the DEFAULT partition for NULL) with
-- the parent's protections: a partition can be queried directly, and the parent's policies and revoked
-- rights do not cover that, so each partition gets its own forced row-level security, policy and grants.
-- Rows outside the created months land in the DEFAULT partition; create months ahead of time (a month
-- that already has rows in the DEFAULT partition cannot be attached without moving them first).
-- +goose StatementBegin
CREATE FUNCTION stock_movement_partition_create(p_month date) RETURNS text
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	part text;
BEGIN
	IF p_month IS NULL THEN
		part := 'stock_movements_default';
		EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF stock_movements DEFAULT', part);
	ELSE
		p_month := date_trunc('month', p_month)::date;
		part := 'stock_movements_' || to_char(p_month, 'YYYY_MM');
		EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF stock_movements FOR VALUES FROM (%L) TO (%L)',
			part, p_month::timestamp AT TIME ZONE 'UTC', (p_month + interval '1 month')::timestamp AT TIME ZONE 'UTC');
	END IF;
	EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', part);
	EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', part);
	IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = part::regclass AND polname = part || '_tenant') THEN
		EXECUTE format('CREATE POLICY %I ON %I USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id())',
			part || '_tenant', part);
	END IF;
	EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM ledgerline_app', part);
	EXECUTE format('GRANT SELECT, INSERT ON %I TO ledgerline_app', part);
	RETURN part;
END
$$;
-- +goose StatementEnd
REVOKE EXECUTE ON FUNCTION stock_movement_partition_create(date) FROM PUBLIC, ledgerline_app;

SELECT stock_movement_partition_create(m::date)
FROM generate_series('2025-01-01'::date, '2027-12-01'::date, interval '1 month') m;
SELECT stock_movement_partition_create(NULL);

-- +goose Down
DROP TABLE stock_reservations, stock_movement_reversals, stock_movements, stock_levels;
DROP FUNCTION stock_movement_partition_create(date);
DROP FUNCTION inventory_item_search(text);
DROP TABLE inventory_locations, inventory_items;
