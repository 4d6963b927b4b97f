-- +goose Up
-- People (admin): the member list searches names and e-mail addresses with ILIKE '%...%', which trigram
-- indexes answer; it pages by (lower(name), id). Open invitations are listed newest first per tenant.
-- Deactivation and role changes lock a tenant's active admins, found through the partial index.
CREATE INDEX users_name_trgm ON users USING gin (name gin_trgm_ops);
CREATE INDEX users_email_trgm ON users USING gin (email gin_trgm_ops);
CREATE INDEX users_name_order ON users (lower(name), id);
CREATE INDEX memberships_admins_idx ON memberships (tenant_id, user_id)
	WHERE role = 'admin' AND deactivated_at IS NULL;
CREATE INDEX invitations_open_idx ON invitations (tenant_id, created_at DESC, id DESC)
	WHERE accepted_at IS NULL AND revoked_at IS NULL;

-- +goose Down
DROP INDEX invitations_open_idx;
DROP INDEX memberships_admins_idx;
DROP INDEX users_name_order;
DROP INDEX users_email_trgm;
DROP INDEX users_name_trgm;
