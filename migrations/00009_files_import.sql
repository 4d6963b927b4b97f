-- +goose Up
-- Files kept in PostgreSQL (uploads, import error reports, exports), the state of inventory CSV imports,
-- and in-app notifications.

-- A file is its metadata plus its bytes in chunks of 256 KiB, so it is written and read a chunk at a time
-- and never held whole in memory. expires_at lets a clean-up job remove temporary files.
CREATE TABLE files (
	tenant_id     uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id            uuid NOT NULL,
	owner_id      uuid,
	name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 255),
	content_type  text NOT NULL CHECK (length(content_type) BETWEEN 1 AND 255),
	size          bigint NOT NULL DEFAULT 0 CHECK (size >= 0),
	created_at    timestamptz NOT NULL DEFAULT now(),
	expires_at    timestamptz,
	PRIMARY KEY (tenant_id, id)
);
CREATE INDEX files_expires_idx ON files (tenant_id, expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE file_chunks (
	tenant_id  uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	file_id    uuid NOT NULL,
	seq        integer NOT NULL CHECK (seq >= 0),
	data       bytea NOT NULL,
	PRIMARY KEY (tenant_id, file_id, seq),
	FOREIGN KEY (tenant_id, file_id) REFERENCES files (tenant_id, id) ON DELETE CASCADE
);
-- Chunks are written and read whole: storing them uncompressed saves CPU on every upload and download.
ALTER TABLE file_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- An inventory CSV import: the uploaded file, where the job is (validating, then importing) with its
-- progress in rows, and the outcome: done (all rows committed) or rejected (none, with an error report).
CREATE TABLE inventory_imports (
	tenant_id       uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id              uuid NOT NULL,
	file_id         uuid NOT NULL,
	file_name       text NOT NULL,
	requested_by    uuid,
	state           text NOT NULL DEFAULT 'queued'
		CHECK (state IN ('queued', 'validating', 'importing', 'done', 'rejected', 'failed')),
	rows_total      bigint NOT NULL DEFAULT 0 CHECK (rows_total >= 0),
	rows_done       bigint NOT NULL DEFAULT 0 CHECK (rows_done >= 0),
	items_created   bigint NOT NULL DEFAULT 0 CHECK (items_created >= 0),
	stock_lines     bigint NOT NULL DEFAULT 0 CHECK (stock_lines >= 0),
	error_count     bigint NOT NULL DEFAULT 0 CHECK (error_count >= 0),
	error_file_id   uuid,
	message         text NOT NULL DEFAULT '',
	created_at      timestamptz NOT NULL DEFAULT now(),
	started_at      timestamptz,
	finished_at     timestamptz,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, file_id) REFERENCES files (tenant_id, id),
	FOREIGN KEY (tenant_id, error_file_id) REFERENCES files (tenant_id, id),
	CHECK ((state IN ('done', 'rejected', 'failed')) = (finished_at IS NOT NULL))
);
CREATE INDEX inventory_imports_latest_idx ON inventory_imports (tenant_id, created_at DESC, id DESC);

-- In-app notifications for one member (low stock, ...). read_at is set when the person has seen it.
CREATE TABLE notifications (
	tenant_id   uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id          uuid NOT NULL,
	user_id     uuid NOT NULL,
	kind        text NOT NULL CHECK (kind ~ '^[a-z_]+(\.[a-z_]+)*$'),
	title       text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
	body        text NOT NULL DEFAULT '' CHECK (length(body) <= 4000),
	link        text NOT NULL DEFAULT '' CHECK (link = '' OR link LIKE '/%'),
	read_at     timestamptz,
	created_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id)
);
CREATE INDEX notifications_unread_idx ON notifications (tenant_id, user_id, created_at DESC, id DESC) WHERE read_at IS NULL;

ALTER TABLE files ENABLE ROW LEVEL SECURITY;
ALTER TABLE files FORCE ROW LEVEL SECURITY;
CREATE POLICY files_tenant ON files
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE file_chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE file_chunks FORCE ROW LEVEL SECURITY;
CREATE POLICY file_chunks_tenant ON file_chunks
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE inventory_imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory_imports FORCE ROW LEVEL SECURITY;
CREATE POLICY inventory_imports_tenant ON inventory_imports
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY notifications_tenant ON notifications
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- +goose Down
DROP TABLE notifications, inventory_imports, file_chunks, files;
