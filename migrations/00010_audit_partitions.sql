-- +goose Up
-- audit_events becomes partitioned by month, like stock_movements, so old years can be archived by
-- detaching partitions. The primary key must contain the partition key: (tenant_id, occurred_at, id).
-- Event ids stay unique because they are UUIDv7 made in Go; (tenant_id, id) keeps an index for lookups.
ALTER TABLE audit_events RENAME TO audit_events_old;
ALTER INDEX audit_events_pkey RENAME TO audit_events_old_pkey;
ALTER INDEX audit_events_occurred_idx RENAME TO audit_events_old_occurred_idx;
ALTER INDEX audit_events_entity_idx RENAME TO audit_events_old_entity_idx;
ALTER INDEX audit_events_actor_idx RENAME TO audit_events_old_actor_idx;
ALTER TABLE audit_events_old RENAME CONSTRAINT audit_events_tenant_id_fkey TO audit_events_old_tenant_id_fkey;
ALTER TABLE audit_events_old RENAME CONSTRAINT audit_events_action_check TO audit_events_old_action_check;

CREATE TABLE audit_events (
	tenant_id    uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id           uuid NOT NULL,
	occurred_at  timestamptz NOT NULL DEFAULT now(),
	actor_id     uuid,
	action       text NOT NULL CHECK (action ~ '^[a-z_]+(\.[a-z_]+)+$'),
	entity_type  text NOT NULL,
	entity_id    text NOT NULL DEFAULT '',
	before       jsonb,
	after        jsonb,
	request_id   text NOT NULL DEFAULT '',
	client_ip    text NOT NULL DEFAULT '',
	PRIMARY KEY (tenant_id, occurred_at, id)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX audit_events_id_idx ON audit_events (tenant_id, id);
CREATE INDEX audit_events_entity_idx ON audit_events (tenant_id, entity_type, entity_id);
CREATE INDEX audit_events_actor_idx ON audit_events (tenant_id, actor_id, occurred_at DESC, id DESC);

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_events_tenant ON audit_events
	USING (tenant_id = app_tenant_id())
	WITH CHECK (tenant_id = app_tenant_id());
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM ledgerline_app;
GRANT SELECT, INSERT ON audit_events TO ledgerline_app;

-- audit_event_partition_create adds one month's partition (or the DEFAULT one for NULL) with the parent's
-- protections: a partition can be queried directly, so each gets forced RLS, its policy and append-only rights.
-- +goose StatementBegin
CREATE FUNCTION audit_event_partition_create(p_month date) RETURNS text
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	part text;
BEGIN
	IF p_month IS NULL THEN
		part := 'audit_events_default';
		EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF audit_events DEFAULT', part);
	ELSE
		p_month := date_trunc('month', p_month)::date;
		part := 'audit_events_' || to_char(p_month, 'YYYY_MM');
		EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF audit_events FOR VALUES FROM (%L) TO (%L)',
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
REVOKE EXECUTE ON FUNCTION audit_event_partition_create(date) FROM PUBLIC, ledgerline_app;

SELECT audit_event_partition_create(m::date)
FROM generate_series('2025-01-01'::date, '2027-12-01'::date, interval '1 month') m;
SELECT audit_event_partition_create(NULL);

INSERT INTO audit_events (tenant_id, id, occurred_at, actor_id, action, entity_type, entity_id, before, after, request_id, client_ip)
SELECT tenant_id, id, occurred_at, actor_id, action, entity_type, entity_id, before, after, request_id, client_ip
FROM audit_events_old;
DROP TABLE audit_events_old;

-- +goose Down
ALTER TABLE audit_events RENAME TO audit_events_partitioned;
CREATE TABLE audit_events (LIKE audit_events_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE audit_events ADD PRIMARY KEY (tenant_id, id);
INSERT INTO audit_events SELECT * FROM audit_events_partitioned;
DROP TABLE audit_events_partitioned;
DROP FUNCTION audit_event_partition_create(date);
ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_events_tenant ON audit_events
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM ledgerline_app;
