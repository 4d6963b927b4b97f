-- +goose Up
-- The business events other systems may follow (invoice.issued, approval.decided, stock.low, ...), written
-- in the same transaction as the change that causes them, so an event exists exactly when its change does.
-- Outgoing webhooks deliver them; the table is append-only for the app role.
CREATE TABLE events (
	tenant_id    uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id           uuid NOT NULL,
	type         text NOT NULL CHECK (type ~ '^[a-z_]+(\.[a-z_]+)+$'),
	occurred_at  timestamptz NOT NULL DEFAULT now(),
	data         jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
	PRIMARY KEY (tenant_id, id)
);
CREATE INDEX events_type_idx ON events (tenant_id, type, id DESC);

ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
CREATE POLICY events_tenant ON events
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
REVOKE UPDATE, DELETE, TRUNCATE ON events FROM ledgerline_app;

-- +goose Down
DROP TABLE events;
