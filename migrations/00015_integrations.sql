-- +goose Up
-- Outgoing webhooks (endpoints, their signing secrets, and one delivery per endpoint and event) and single
-- sign-on with OpenID Connect (one provider per tenant).

CREATE TABLE webhook_endpoints (
	tenant_id        uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id               uuid NOT NULL,
	url              text NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
	description      text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
	event_types      text[] NOT NULL CHECK (cardinality(event_types) > 0),
	-- The signing secret (and, during a rotation's overlap window, the previous one), sealed with the data
	-- key and bound to the endpoint id.
	secret_sealed    bytea NOT NULL,
	previous_secret_sealed  bytea,
	previous_secret_expires_at timestamptz,
	enabled          boolean NOT NULL DEFAULT true,
	disabled_reason  text NOT NULL DEFAULT '',
	-- Deliveries that failed for good in a row; reset by a success.
	consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
	created_by       uuid REFERENCES users (id),
	created_at       timestamptz NOT NULL DEFAULT now(),
	updated_at       timestamptz NOT NULL DEFAULT now(),
	deleted_at       timestamptz,
	version          integer NOT NULL DEFAULT 1,
	PRIMARY KEY (tenant_id, id),
	CHECK ((previous_secret_sealed IS NULL) = (previous_secret_expires_at IS NULL))
);
CREATE INDEX webhook_endpoints_live_idx ON webhook_endpoints (tenant_id, created_at DESC) WHERE deleted_at IS NULL;

-- One delivery of one event to one endpoint (a resend is another delivery of the same event, with the same
-- webhook-id, so receivers can recognise it). The worker attempts it until it succeeds or gives up.
CREATE TABLE webhook_deliveries (
	tenant_id        uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id               uuid NOT NULL,
	endpoint_id      uuid NOT NULL,
	event_id         uuid NOT NULL,
	event_type       text NOT NULL,
	resend_of        uuid,
	state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'retrying', 'succeeded', 'failed')),
	attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	request_body     text NOT NULL,
	last_attempt_at  timestamptz,
	next_attempt_at  timestamptz,
	response_status  integer,
	response_ms      integer,
	response_body    text NOT NULL DEFAULT '',
	error            text NOT NULL DEFAULT '',
	created_at       timestamptz NOT NULL DEFAULT now(),
	finished_at      timestamptz,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id),
	FOREIGN KEY (tenant_id, event_id) REFERENCES events (tenant_id, id)
);
-- Fan-out is idempotent: an event reaches an endpoint once (resends aside).
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (tenant_id, endpoint_id, event_id) WHERE resend_of IS NULL;
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (tenant_id, endpoint_id, id DESC);

-- One OpenID Connect provider per tenant.
CREATE TABLE sso_configs (
	tenant_id             uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id) PRIMARY KEY,
	enabled               boolean NOT NULL DEFAULT true,
	issuer_url            text NOT NULL CHECK (length(issuer_url) BETWEEN 8 AND 2000),
	client_id             text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 500),
	client_secret_sealed  bytea NOT NULL,
	allowed_domains       text[] NOT NULL CHECK (cardinality(allowed_domains) > 0),
	default_role          text NOT NULL CHECK (default_role IN ('admin', 'manager', 'finance', 'employee', 'auditor')),
	password_allowed      boolean NOT NULL DEFAULT true,
	updated_by            uuid REFERENCES users (id),
	created_at            timestamptz NOT NULL DEFAULT now(),
	updated_at            timestamptz NOT NULL DEFAULT now(),
	version               integer NOT NULL DEFAULT 1
);
CREATE INDEX sso_configs_domains_idx ON sso_configs USING gin (allowed_domains);

ALTER TABLE webhook_endpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_endpoints FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_endpoints_tenant ON webhook_endpoints
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_deliveries_tenant ON webhook_deliveries
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE sso_configs ENABLE ROW LEVEL SECURITY;
ALTER TABLE sso_configs FORCE ROW LEVEL SECURITY;
CREATE POLICY sso_configs_tenant ON sso_configs
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
REVOKE DELETE, TRUNCATE ON webhook_endpoints, webhook_deliveries, sso_configs FROM ledgerline_app;

-- Before a tenant is known, the SSO sign-in page finds the tenant by the e-mail's domain or the
-- organization's slug; it learns only the tenant's id, nothing of its configuration.
-- +goose StatementBegin
CREATE FUNCTION sso_tenant_lookup(p_domain text, p_slug text)
RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
	SELECT s.tenant_id FROM sso_configs s JOIN tenants t ON t.id = s.tenant_id
	WHERE s.enabled AND ((p_domain <> '' AND lower(p_domain) = ANY (s.allowed_domains))
	                  OR (p_slug <> '' AND t.slug = lower(p_slug)))
	ORDER BY s.created_at LIMIT 1
$$;
-- +goose StatementEnd

-- Password sign-in asks which of a person's organizations refuse passwords.
-- +goose StatementBegin
CREATE FUNCTION sso_password_refused(p_user uuid)
RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
	SELECT s.tenant_id FROM sso_configs s JOIN memberships m ON m.tenant_id = s.tenant_id
	WHERE m.user_id = p_user AND s.enabled AND NOT s.password_allowed
$$;
-- +goose StatementEnd
REVOKE EXECUTE ON FUNCTION sso_tenant_lookup(text, text), sso_password_refused(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sso_tenant_lookup(text, text), sso_password_refused(uuid) TO ledgerline_app;

-- +goose Down
DROP FUNCTION sso_password_refused(uuid);
DROP FUNCTION sso_tenant_lookup(text, text);
DROP TABLE sso_configs;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
