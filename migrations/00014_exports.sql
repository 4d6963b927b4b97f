-- +goose Up
-- Exports of lists to CSV or XLSX, the per-tenant retention of their files, and scheduled reports.

-- One export: who asked, which list (kind) with which filter and sort (the list's own parameters as JSON),
-- where the job is, and the finished file. file_id is set only when the file is complete, so a partial file
-- is never offered for download.
CREATE TABLE exports (
	tenant_id      uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id             uuid NOT NULL,
	requested_by   uuid NOT NULL,
	kind           text NOT NULL CHECK (kind ~ '^[a-z_]+\.[a-z_]+$'),
	format         text NOT NULL CHECK (format IN ('csv', 'xlsx')),
	filter         jsonb NOT NULL DEFAULT '{}',
	filter_text    text NOT NULL DEFAULT '' CHECK (length(filter_text) <= 2000),
	state          text NOT NULL DEFAULT 'queued'
		CHECK (state IN ('queued', 'running', 'waiting', 'done', 'failed', 'cancelled')),
	rows_done      bigint NOT NULL DEFAULT 0 CHECK (rows_done >= 0),
	rows_total     bigint NOT NULL DEFAULT 0 CHECK (rows_total >= 0),
	file_id        uuid,
	file_name      text NOT NULL DEFAULT '',
	file_size      bigint NOT NULL DEFAULT 0,
	error          text NOT NULL DEFAULT '' CHECK (length(error) <= 2000),
	schedule_id    uuid,
	attempt        integer NOT NULL DEFAULT 0,
	created_at     timestamptz NOT NULL DEFAULT now(),
	started_at     timestamptz,
	finished_at    timestamptz,
	expires_at     timestamptz,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, requested_by) REFERENCES memberships (tenant_id, user_id),
	FOREIGN KEY (tenant_id, file_id) REFERENCES files (tenant_id, id),
	CHECK ((state IN ('done', 'failed', 'cancelled')) = (finished_at IS NOT NULL))
);
CREATE INDEX exports_requester_idx ON exports (tenant_id, requested_by, created_at DESC, id DESC);
CREATE INDEX exports_created_idx ON exports (tenant_id, created_at DESC, id DESC);
CREATE INDEX exports_active_idx ON exports (tenant_id, requested_by) WHERE state IN ('queued', 'running', 'waiting');

-- How long export files are kept, per tenant (no row: the default of 7 days).
CREATE TABLE export_settings (
	tenant_id       uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	retention_days  integer NOT NULL DEFAULT 7 CHECK (retention_days BETWEEN 1 AND 90),
	max_concurrent  integer NOT NULL DEFAULT 3 CHECK (max_concurrent BETWEEN 1 AND 20),
	updated_at      timestamptz NOT NULL DEFAULT now(),
	version         integer NOT NULL DEFAULT 1,
	PRIMARY KEY (tenant_id)
);

-- A scheduled report: an export run daily, weekly or monthly at a local hour of the tenant's time zone,
-- sent as a link to members of the tenant. owner_id is the admin who scheduled it and hears of failures;
-- the export runs with the owner's rights.
CREATE TABLE export_schedules (
	tenant_id      uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id             uuid NOT NULL,
	owner_id       uuid NOT NULL,
	name           text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
	kind           text NOT NULL CHECK (kind ~ '^[a-z_]+\.[a-z_]+$'),
	format         text NOT NULL CHECK (format IN ('csv', 'xlsx')),
	filter         jsonb NOT NULL DEFAULT '{}',
	frequency      text NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly')),
	-- weekly: 0 (Sunday) to 6; monthly: 1 to 28; daily: 0.
	day            integer NOT NULL DEFAULT 0 CHECK (day BETWEEN 0 AND 28),
	hour           integer NOT NULL CHECK (hour BETWEEN 0 AND 23),
	recipients     uuid[] NOT NULL CHECK (cardinality(recipients) BETWEEN 1 AND 50),
	next_run_at    timestamptz NOT NULL,
	last_run_at    timestamptz,
	last_export_id uuid,
	deleted_at     timestamptz,
	created_at     timestamptz NOT NULL DEFAULT now(),
	version        integer NOT NULL DEFAULT 1,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, owner_id) REFERENCES memberships (tenant_id, user_id)
);
CREATE INDEX export_schedules_due_idx ON export_schedules (tenant_id, next_run_at) WHERE deleted_at IS NULL;

ALTER TABLE exports ADD FOREIGN KEY (tenant_id, schedule_id) REFERENCES export_schedules (tenant_id, id);

-- Every temporary file expires: import uploads and error reports too (7 days, like exports by default).
-- The clean-up job removes an expired file's bytes and marks it purged; the metadata stays, so the history
-- of imports and exports still names the file.
ALTER TABLE files ADD COLUMN purged_at timestamptz;
UPDATE files SET expires_at = created_at + interval '7 days'
WHERE expires_at IS NULL AND (id IN (SELECT file_id FROM inventory_imports)
	OR id IN (SELECT error_file_id FROM inventory_imports WHERE error_file_id IS NOT NULL));
CREATE INDEX files_expiry_due_idx ON files (expires_at) WHERE expires_at IS NOT NULL AND purged_at IS NULL;

-- Daily figures of the dashboard's trends (the stock value at the end of each day, ...), one series per
-- figure, in minor units of a currency. A periodic job writes today's value; the chart reads the last days.
CREATE TABLE dashboard_snapshots (
	tenant_id   uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	series      text NOT NULL CHECK (series ~ '^[a-z_]+\.[a-z_]+$'),
	day         date NOT NULL,
	currency    char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	value       bigint NOT NULL,
	recorded_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, series, day, currency)
);
ALTER TABLE dashboard_snapshots ENABLE ROW LEVEL SECURITY;
ALTER TABLE dashboard_snapshots FORCE ROW LEVEL SECURITY;
CREATE POLICY dashboard_snapshots_tenant ON dashboard_snapshots
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

ALTER TABLE exports ENABLE ROW LEVEL SECURITY;
ALTER TABLE exports FORCE ROW LEVEL SECURITY;
CREATE POLICY exports_tenant ON exports
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE export_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE export_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY export_settings_tenant ON export_settings
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE export_schedules ENABLE ROW LEVEL SECURITY;
ALTER TABLE export_schedules FORCE ROW LEVEL SECURITY;
CREATE POLICY export_schedules_tenant ON export_schedules
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- +goose Down
DROP INDEX files_expiry_due_idx;
ALTER TABLE files DROP COLUMN purged_at;
ALTER TABLE exports DROP CONSTRAINT exports_tenant_id_schedule_id_fkey;
DROP TABLE dashboard_snapshots, export_schedules, export_settings, exports;
