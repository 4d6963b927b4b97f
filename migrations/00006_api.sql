-- +goose Up
-- API v1. A member's personal access tokens die when the member is deactivated: the trigger revokes them in
-- the same transaction, whoever deactivates (page, API, job), so reactivating the member later does not
-- bring old tokens back. It runs as the caller, under the caller's tenant and row-level security.

-- +goose StatementBegin
CREATE FUNCTION api_tokens_revoke_on_deactivation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE api_tokens SET revoked_at = now()
	WHERE tenant_id = NEW.tenant_id AND user_id = NEW.user_id AND revoked_at IS NULL;
	RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER memberships_deactivation_revokes_api_tokens
	AFTER UPDATE OF deactivated_at ON memberships
	FOR EACH ROW WHEN (OLD.deactivated_at IS NULL AND NEW.deactivated_at IS NOT NULL)
	EXECUTE FUNCTION api_tokens_revoke_on_deactivation();

-- The admin page lists a tenant's clients newest first.
CREATE INDEX oauth_clients_created_idx ON oauth_clients (tenant_id, created_at DESC, id DESC);

-- +goose Down
DROP INDEX oauth_clients_created_idx;
DROP TRIGGER memberships_deactivation_revokes_api_tokens ON memberships;
DROP FUNCTION api_tokens_revoke_on_deactivation();
