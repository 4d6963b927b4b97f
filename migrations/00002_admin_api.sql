-- +goose Up
-- Admin console and API v1: member status, invitations, tenant settings, two-factor authentication,
-- personal access tokens, OAuth clients with rotating signing keys.

-- A member is deactivated per tenant; the person may still work in their other organizations.
ALTER TABLE memberships ADD COLUMN deactivated_at timestamptz;

-- Tenant settings read by later modules (approvals) and by the API rate limiter.
ALTER TABLE tenants
	ADD COLUMN require_2fa_admins boolean NOT NULL DEFAULT false,
	ADD COLUMN approval_manager_limit bigint NOT NULL DEFAULT 100000 CHECK (approval_manager_limit >= 0),
	ADD COLUMN approval_finance_limit bigint NOT NULL DEFAULT 1000000 CHECK (approval_finance_limit >= 0),
	ADD COLUMN api_rate_limit integer NOT NULL DEFAULT 600 CHECK (api_rate_limit BETWEEN 1 AND 1000000),
	ADD CONSTRAINT tenants_approval_limits_order CHECK (approval_finance_limit >= approval_manager_limit);
COMMENT ON COLUMN tenants.approval_manager_limit IS 'Requests up to this amount (minor units of the tenant currency) need only the department manager.';
COMMENT ON COLUMN tenants.approval_finance_limit IS 'Requests above the manager limit and up to this amount add finance; above it, an admin too.';
COMMENT ON COLUMN tenants.api_rate_limit IS 'API requests per minute allowed per token, and ten times that per tenant.';

-- Invitations: a single-use, expiring link that lets a person set their password and join the tenant.
CREATE TABLE invitations (
	tenant_id      uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id             uuid NOT NULL,
	email          text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254),
	name           text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
	role           text NOT NULL CHECK (role IN ('admin', 'manager', 'finance', 'employee', 'auditor')),
	department_id  uuid,
	token_hash     bytea NOT NULL UNIQUE,
	invited_by     uuid,
	expires_at     timestamptz NOT NULL,
	accepted_at    timestamptz,
	revoked_at     timestamptz,
	created_at     timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id)
);
CREATE UNIQUE INDEX invitations_open_email_key ON invitations (tenant_id, lower(email))
	WHERE accepted_at IS NULL AND revoked_at IS NULL;
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY invitations_tenant ON invitations
	USING (tenant_id = app_tenant_id())
	WITH CHECK (tenant_id = app_tenant_id());

-- +goose StatementBegin
-- The invitee is not signed in: the token tells which tenant and invitation it is.
CREATE FUNCTION invitation_by_token(p_token_hash bytea)
RETURNS TABLE (tenant_id uuid, id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
	SELECT i.tenant_id, i.id FROM invitations i
	WHERE i.token_hash = p_token_hash AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()
$$;
-- +goose StatementEnd

-- Two-factor authentication (TOTP). The secret is sealed with the data key; recovery codes are hashed.
ALTER TABLE users
	ADD COLUMN totp_secret bytea,
	ADD COLUMN totp_enabled_at timestamptz;
CREATE TABLE user_recovery_codes (
	user_id    uuid NOT NULL REFERENCES users (id),
	code_hash  bytea NOT NULL,
	used_at    timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, code_hash)
);
ALTER TABLE user_recovery_codes ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_recovery_codes_self ON user_recovery_codes
	USING (user_id = app_actor_id())
	WITH CHECK (user_id = app_actor_id());

-- Personal access tokens: belong to a member of one tenant, carry a subset of the member's permissions.
CREATE TABLE api_tokens (
	tenant_id     uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id            uuid NOT NULL,
	user_id       uuid NOT NULL,
	name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
	scopes        text[] NOT NULL,
	token_hash    bytea NOT NULL UNIQUE,
	expires_at    timestamptz NOT NULL,
	revoked_at    timestamptz,
	last_used_at  timestamptz,
	created_at    timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id)
);
CREATE INDEX api_tokens_user_idx ON api_tokens (tenant_id, user_id);
ALTER TABLE api_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY api_tokens_tenant ON api_tokens
	USING (tenant_id = app_tenant_id())
	WITH CHECK (tenant_id = app_tenant_id());

-- OAuth 2.0 clients (client credentials grant): machines acting in one tenant with fixed scopes.
CREATE TABLE oauth_clients (
	tenant_id     uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id            uuid NOT NULL,
	name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
	scopes        text[] NOT NULL,
	secret_hash   bytea NOT NULL,
	created_by    uuid,
	revoked_at    timestamptz,
	last_used_at  timestamptz,
	created_at    timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX oauth_clients_id_key ON oauth_clients (id);
ALTER TABLE oauth_clients ENABLE ROW LEVEL SECURITY;
ALTER TABLE oauth_clients FORCE ROW LEVEL SECURITY;
CREATE POLICY oauth_clients_tenant ON oauth_clients
	USING (tenant_id = app_tenant_id())
	WITH CHECK (tenant_id = app_tenant_id());

-- +goose StatementBegin
-- A bearer token arrives before any tenant is known; these two functions say whose it is.
CREATE FUNCTION api_token_by_hash(p_token_hash bytea)
RETURNS TABLE (tenant_id uuid, id uuid, user_id uuid, scopes text[], expires_at timestamptz, revoked_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
	SELECT t.tenant_id, t.id, t.user_id, t.scopes, t.expires_at, t.revoked_at FROM api_tokens t
	WHERE t.token_hash = p_token_hash
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION oauth_client_by_id(p_id uuid)
RETURNS TABLE (tenant_id uuid, id uuid, scopes text[], secret_hash bytea, revoked_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
	SELECT c.tenant_id, c.id, c.scopes, c.secret_hash, c.revoked_at FROM oauth_clients c WHERE c.id = p_id
$$;
-- +goose StatementEnd

-- JWT signing keys (HMAC-SHA256), sealed with the data key. Tokens name their key (kid); a retired key
-- still verifies tokens until retired_at + the token lifetime, then nothing it signed is accepted.
CREATE TABLE signing_keys (
	id          uuid PRIMARY KEY,
	secret      bytea NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	retired_at  timestamptz
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((true)) WHERE retired_at IS NULL;

REVOKE EXECUTE ON FUNCTION invitation_by_token(bytea), api_token_by_hash(bytea), oauth_client_by_id(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION invitation_by_token(bytea), api_token_by_hash(bytea), oauth_client_by_id(uuid) TO ledgerline_app;

-- +goose Down
DROP TABLE signing_keys;
DROP FUNCTION oauth_client_by_id(uuid);
DROP FUNCTION api_token_by_hash(bytea);
DROP TABLE oauth_clients, api_tokens, user_recovery_codes, invitations;
DROP FUNCTION invitation_by_token(bytea);
ALTER TABLE users DROP COLUMN totp_enabled_at, DROP COLUMN totp_secret;
ALTER TABLE tenants DROP CONSTRAINT tenants_approval_limits_order,
	DROP COLUMN api_rate_limit, DROP COLUMN approval_finance_limit, DROP COLUMN approval_manager_limit,
	DROP COLUMN require_2fa_admins;
ALTER TABLE memberships DROP COLUMN deactivated_at;
