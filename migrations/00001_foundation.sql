-- +goose Up
-- The foundation: tenants, users, memberships, departments, password resets and the audit trail.
-- Every table with a tenant_id has row-level security enabled and forced; the app role (ledgerline_app)
-- sees only the rows of the tenant set with set_config('app.tenant_id', ..., true) in its transaction.

-- +goose StatementBegin
CREATE FUNCTION app_tenant_id() RETURNS uuid LANGUAGE sql STABLE AS $$
	SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION app_actor_id() RETURNS uuid LANGUAGE sql STABLE AS $$
	SELECT NULLIF(current_setting('app.actor_id', true), '')::uuid
$$;
-- +goose StatementEnd

GRANT USAGE ON SCHEMA public TO ledgerline_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ledgerline_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ledgerline_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO ledgerline_app;

CREATE TABLE tenants (
	id          uuid PRIMARY KEY DEFAULT app_tenant_id(),
	name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
	slug        text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
	time_zone   text NOT NULL DEFAULT 'UTC',
	currency    char(3) NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
	created_at  timestamptz NOT NULL DEFAULT now(),
	updated_at  timestamptz NOT NULL DEFAULT now(),
	version     integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX tenants_slug_key ON tenants (slug);

CREATE TABLE users (
	id             uuid PRIMARY KEY,
	email          text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254),
	name           text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
	password_hash  text NOT NULL,
	disabled_at    timestamptz,
	created_at     timestamptz NOT NULL DEFAULT now(),
	updated_at     timestamptz NOT NULL DEFAULT now(),
	version        integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE departments (
	tenant_id   uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id          uuid NOT NULL,
	name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
	manager_id  uuid,
	deleted_at  timestamptz,
	created_at  timestamptz NOT NULL DEFAULT now(),
	updated_at  timestamptz NOT NULL DEFAULT now(),
	version     integer NOT NULL DEFAULT 1,
	PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX departments_name_key ON departments (tenant_id, lower(name)) WHERE deleted_at IS NULL;

CREATE TABLE memberships (
	tenant_id      uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	user_id        uuid NOT NULL REFERENCES users (id),
	role           text NOT NULL CHECK (role IN ('admin', 'manager', 'finance', 'employee', 'auditor')),
	department_id  uuid,
	created_at     timestamptz NOT NULL DEFAULT now(),
	updated_at     timestamptz NOT NULL DEFAULT now(),
	version        integer NOT NULL DEFAULT 1,
	PRIMARY KEY (tenant_id, user_id),
	FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);
ALTER TABLE departments ADD FOREIGN KEY (tenant_id, manager_id) REFERENCES memberships (tenant_id, user_id);

-- Password reset tokens are stored as SHA-256 hashes; the token itself only travels in the e-mail.
CREATE TABLE password_resets (
	id          uuid PRIMARY KEY,
	user_id     uuid NOT NULL REFERENCES users (id),
	token_hash  bytea NOT NULL UNIQUE,
	expires_at  timestamptz NOT NULL,
	used_at     timestamptz,
	created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);

-- Audit events are append-only: the app role may insert and read them, never change or delete them.
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
	PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_events_occurred_idx ON audit_events (tenant_id, occurred_at DESC, id DESC);
CREATE INDEX audit_events_entity_idx ON audit_events (tenant_id, entity_type, entity_id);

-- Seals chain each tenant's events: hash = sha256(prev_hash || canonical event). A seal never names a
-- foreign key to its event, so an event deleted behind the app's back shows up as a missing link.
CREATE TABLE audit_seals (
	tenant_id   uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	seq         bigint NOT NULL CHECK (seq > 0),
	event_id    uuid NOT NULL,
	prev_hash   bytea NOT NULL,
	hash        bytea NOT NULL,
	sealed_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, seq),
	UNIQUE (tenant_id, event_id)
);

REVOKE UPDATE, DELETE, TRUNCATE ON audit_events, audit_seals FROM ledgerline_app;

-- Row-level security. Tenants and memberships are also visible to their own user (tenant switcher);
-- users are visible to themselves and to the tenants they belong to.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenants_own ON tenants
	USING (id = app_tenant_id())
	WITH CHECK (id = app_tenant_id());
CREATE POLICY tenants_member ON tenants FOR SELECT
	USING (id IN (SELECT m.tenant_id FROM memberships m WHERE m.user_id = app_actor_id()));

ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY memberships_tenant ON memberships
	USING (tenant_id = app_tenant_id())
	WITH CHECK (tenant_id = app_tenant_id());
CREATE POLICY memberships_self ON memberships FOR SELECT
	USING (user_id = app_actor_id());

ALTER TABLE departments ENABLE ROW LEVEL SECURITY;
ALTER TABLE departments FORCE ROW LEVEL SECURITY;
CREATE POLICY departments_tenant ON departments
	USING (tenant_id = app_tenant_id())
	WITH CHECK (tenant_id = app_tenant_id());

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_events_tenant ON audit_events
	USING (tenant_id = app_tenant_id())
	WITH CHECK (tenant_id = app_tenant_id());

ALTER TABLE audit_seals ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_seals FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_seals_tenant ON audit_seals
	USING (tenant_id = app_tenant_id())
	WITH CHECK (tenant_id = app_tenant_id());

-- Users and password resets hold no tenant_id. RLS is enabled (not forced) so that the schema owner's
-- SECURITY DEFINER functions below can look a user up by e-mail or token before anyone is signed in.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_visible ON users FOR SELECT
	USING (id = app_actor_id()
		OR EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id AND m.tenant_id = app_tenant_id()));
CREATE POLICY users_update ON users FOR UPDATE
	USING (id = app_actor_id()
		OR EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id AND m.tenant_id = app_tenant_id()));
CREATE POLICY users_insert ON users FOR INSERT WITH CHECK (true);

ALTER TABLE password_resets ENABLE ROW LEVEL SECURITY;
CREATE POLICY password_resets_self ON password_resets
	USING (user_id = app_actor_id())
	WITH CHECK (user_id = app_actor_id());

-- +goose StatementBegin
CREATE FUNCTION auth_user_by_email(p_email text)
RETURNS TABLE (id uuid, name text, password_hash text, disabled boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
	SELECT u.id, u.name, u.password_hash, u.disabled_at IS NOT NULL
	FROM users u WHERE lower(u.email) = lower(p_email)
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION auth_password_reset_user(p_token_hash bytea)
RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
	SELECT r.user_id FROM password_resets r
	WHERE r.token_hash = p_token_hash AND r.used_at IS NULL AND r.expires_at > now()
$$;
-- +goose StatementEnd

-- Periodic jobs (audit sealing) visit every tenant; they learn the ids here and then open a transaction
-- in each tenant, under its row-level security like any request.
-- +goose StatementBegin
CREATE FUNCTION all_tenant_ids()
RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
	SELECT id FROM tenants ORDER BY id
$$;
-- +goose StatementEnd

REVOKE EXECUTE ON FUNCTION auth_user_by_email(text), auth_password_reset_user(bytea), all_tenant_ids() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_user_by_email(text), auth_password_reset_user(bytea), all_tenant_ids() TO ledgerline_app;

-- Platform-level audit events (a failed sign-in for an unknown e-mail) belong to this reserved tenant,
-- which has no members and is read only by operators through `ledgerline audit-verify`.
SELECT set_config('app.tenant_id', '00000000-0000-7000-8000-000000000001', true);
INSERT INTO tenants (id, name, slug) VALUES ('00000000-0000-7000-8000-000000000001', 'Platform', 'platform');

-- +goose Down
DROP FUNCTION all_tenant_ids();
DROP FUNCTION auth_password_reset_user(bytea);
DROP FUNCTION auth_user_by_email(text);
DROP TABLE audit_seals, audit_events, password_resets;
ALTER TABLE departments DROP CONSTRAINT departments_tenant_id_manager_id_fkey;
DROP TABLE memberships, departments, users, tenants;
DROP FUNCTION app_actor_id();
DROP FUNCTION app_tenant_id();
