-- +goose Up
-- When an export's last attempt failed and River will try again, the time of that next attempt (shown
-- with the "waiting" state).
ALTER TABLE exports ADD COLUMN next_attempt_at timestamptz;

-- Each tenant's retention policy, on the export settings page: how many months of audit events and of
-- stock movements stay online (in the live partitioned tables), and after how many days soft-deleted
-- records are purged.
ALTER TABLE export_settings
	ADD COLUMN audit_online_months     integer NOT NULL DEFAULT 36 CHECK (audit_online_months BETWEEN 3 AND 240),
	ADD COLUMN movements_online_months integer NOT NULL DEFAULT 36 CHECK (movements_online_months BETWEEN 3 AND 240),
	ADD COLUMN purge_deleted_days      integer NOT NULL DEFAULT 90 CHECK (purge_deleted_days BETWEEN 7 AND 3650);

-- The archive: monthly partitions older than every tenant's policy are DETACHED from the live tables and
-- attached to a parent of the same shape here (the rows are not copied). The live tables stay small for
-- the daily screens; readers that need history (the audit log, audit-verify and the stock ledger) read
-- the *_all views, which add the archive. Archived months are read-only for the app.
CREATE SCHEMA archive;
GRANT USAGE ON SCHEMA archive TO ledgerline_app;

CREATE TABLE archive.audit_events (LIKE public.audit_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
	PARTITION BY RANGE (occurred_at);
ALTER TABLE archive.audit_events ADD PRIMARY KEY (tenant_id, occurred_at, id);
CREATE INDEX audit_events_id_idx ON archive.audit_events (tenant_id, id);
CREATE INDEX audit_events_entity_idx ON archive.audit_events (tenant_id, entity_type, entity_id);
CREATE INDEX audit_events_actor_idx ON archive.audit_events (tenant_id, actor_id, occurred_at DESC, id DESC);

CREATE TABLE archive.stock_movements (LIKE public.stock_movements INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
	PARTITION BY RANGE (occurred_at);
ALTER TABLE archive.stock_movements ADD PRIMARY KEY (tenant_id, id, occurred_at);
CREATE INDEX stock_movements_item_idx ON archive.stock_movements (tenant_id, item_id, occurred_at DESC, id DESC);
CREATE INDEX stock_movements_location_idx ON archive.stock_movements (tenant_id, location_id, occurred_at DESC, id DESC);
CREATE INDEX stock_movements_time_idx ON archive.stock_movements (tenant_id, occurred_at DESC, id DESC);
CREATE INDEX stock_movements_movement_idx ON archive.stock_movements (tenant_id, movement_id);

ALTER TABLE archive.audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE archive.audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_events_tenant ON archive.audit_events USING (tenant_id = app_tenant_id());
ALTER TABLE archive.stock_movements ENABLE ROW LEVEL SECURITY;
ALTER TABLE archive.stock_movements FORCE ROW LEVEL SECURITY;
CREATE POLICY stock_movements_tenant ON archive.stock_movements USING (tenant_id = app_tenant_id());
REVOKE ALL ON archive.audit_events, archive.stock_movements FROM ledgerline_app;
GRANT SELECT ON archive.audit_events, archive.stock_movements TO ledgerline_app;

-- The views run with the caller's rights (security_invoker), so row-level security of both sides applies.
CREATE VIEW audit_events_all WITH (security_invoker = true) AS
	SELECT * FROM public.audit_events UNION ALL SELECT * FROM archive.audit_events;
CREATE VIEW stock_movements_all WITH (security_invoker = true) AS
	SELECT * FROM public.stock_movements UNION ALL SELECT * FROM archive.stock_movements;
REVOKE ALL ON audit_events_all, stock_movements_all FROM ledgerline_app;
GRANT SELECT ON audit_events_all, stock_movements_all TO ledgerline_app;

-- ledger_partition_archive moves one month's partition of audit_events or stock_movements to the archive:
-- DETACH from the live table, SET SCHEMA archive, ATTACH to the archive parent, and take away the app's
-- INSERT. DDL needs the tables' owner, so this runs as its definer (ledgerline_owner); the app may call it
-- but it refuses the current and the previous month, so nothing recent can leave the live tables. The
-- caller decides the month from the tenants' policies (see store/exports/archive.go). Returns false when
-- that month has no live partition (already archived, or never created).
-- +goose StatementBegin
CREATE FUNCTION ledger_partition_archive(p_table text, p_month date) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	part text;
BEGIN
	IF p_table NOT IN ('audit_events', 'stock_movements') THEN
		RAISE EXCEPTION 'ledger_partition_archive: % is not an archivable ledger', p_table;
	END IF;
	p_month := date_trunc('month', p_month)::date;
	IF p_month + interval '1 month' > date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month' THEN
		RAISE EXCEPTION 'ledger_partition_archive: % is too recent to archive', p_month;
	END IF;
	part := p_table || '_' || to_char(p_month, 'YYYY_MM');
	IF NOT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = ('public.' || p_table)::regclass AND c.relname = part
		  AND c.relnamespace = 'public'::regnamespace) THEN
		RETURN false;
	END IF;
	EXECUTE format('ALTER TABLE public.%I DETACH PARTITION public.%I', p_table, part);
	EXECUTE format('ALTER TABLE public.%I SET SCHEMA archive', part);
	EXECUTE format('ALTER TABLE archive.%I ATTACH PARTITION archive.%I FOR VALUES FROM (%L) TO (%L)',
		p_table, part, p_month::timestamp AT TIME ZONE 'UTC', (p_month + interval '1 month')::timestamp AT TIME ZONE 'UTC');
	EXECUTE format('REVOKE ALL ON archive.%I FROM ledgerline_app', part);
	EXECUTE format('GRANT SELECT ON archive.%I TO ledgerline_app', part);
	RETURN true;
END
$$;
-- +goose StatementEnd
REVOKE EXECUTE ON FUNCTION ledger_partition_archive(text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger_partition_archive(text, date) TO ledgerline_app;

-- +goose Down
-- Archived months are live data: refuse to roll back while the archive holds any (attach them back first).
-- +goose StatementBegin
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_inherits WHERE inhparent IN ('archive.audit_events'::regclass, 'archive.stock_movements'::regclass)) THEN
		RAISE EXCEPTION 'the archive schema holds archived months; attach them back to the live tables before rolling back';
	END IF;
END
$$;
-- +goose StatementEnd
DROP FUNCTION ledger_partition_archive(text, date);
DROP VIEW audit_events_all, stock_movements_all;
DROP TABLE archive.audit_events, archive.stock_movements;
DROP SCHEMA archive;
ALTER TABLE export_settings DROP COLUMN audit_online_months, DROP COLUMN movements_online_months,
	DROP COLUMN purge_deleted_days;
ALTER TABLE exports DROP COLUMN next_attempt_at;
