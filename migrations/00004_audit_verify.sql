-- +goose Up
-- Audit chain verification on request: an auditor or admin asks, a River job recomputes the tenant's chain
-- (audit.Verify) and stores the outcome here, which the audit log page shows. At most one verification per
-- tenant is open (queued or running) at a time; asking again while one runs returns that one.
CREATE TABLE audit_verifications (
	tenant_id        uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id               uuid NOT NULL,
	requested_by     uuid,
	state            text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
	checked          bigint NOT NULL DEFAULT 0 CHECK (checked >= 0),
	unsealed         bigint NOT NULL DEFAULT 0 CHECK (unsealed >= 0),
	ok               boolean,
	first_bad_seq    bigint,
	first_bad_event  uuid,
	reason           text NOT NULL DEFAULT '',
	created_at       timestamptz NOT NULL DEFAULT now(),
	finished_at      timestamptz,
	PRIMARY KEY (tenant_id, id),
	CHECK ((state IN ('done', 'failed')) = (finished_at IS NOT NULL)),
	CHECK (state <> 'done' OR ok IS NOT NULL)
);
CREATE UNIQUE INDEX audit_verifications_one_open ON audit_verifications (tenant_id)
	WHERE state IN ('queued', 'running');
CREATE INDEX audit_verifications_latest_idx ON audit_verifications (tenant_id, created_at DESC, id DESC);

ALTER TABLE audit_verifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_verifications FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_verifications_tenant ON audit_verifications
	USING (tenant_id = app_tenant_id())
	WITH CHECK (tenant_id = app_tenant_id());

-- The audit log filters by actor; without this index that filter walks the whole time index.
CREATE INDEX audit_events_actor_idx ON audit_events (tenant_id, actor_id, occurred_at DESC, id DESC);

-- Departments show their member counts and refuse deletion while members remain: both count by department.
CREATE INDEX memberships_department_idx ON memberships (tenant_id, department_id);

-- +goose Down
DROP INDEX memberships_department_idx;
DROP INDEX audit_events_actor_idx;
DROP TABLE audit_verifications;
