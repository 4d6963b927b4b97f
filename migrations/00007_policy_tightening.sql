-- +goose Up
-- The per-user views of memberships and tenants exist for the moments before a tenant is chosen (sign-in,
-- the tenant switcher). Inside a tenant they must not apply: a query that forgets its tenant filter would
-- otherwise see the actor's rows in other tenants. A user row may only be changed by that user; tenant
-- admins change memberships, never the person's global account (e-mail, password).
ALTER POLICY memberships_self ON memberships
	USING (app_tenant_id() IS NULL AND user_id = app_actor_id());
ALTER POLICY tenants_member ON tenants
	USING (app_tenant_id() IS NULL AND id IN (SELECT m.tenant_id FROM memberships m WHERE m.user_id = app_actor_id()));
ALTER POLICY users_update ON users
	USING (id = app_actor_id())
	WITH CHECK (id = app_actor_id());

-- +goose Down
ALTER POLICY users_update ON users
	USING (id = app_actor_id()
		OR EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id AND m.tenant_id = app_tenant_id()));
ALTER POLICY tenants_member ON tenants
	USING (id IN (SELECT m.tenant_id FROM memberships m WHERE m.user_id = app_actor_id()));
ALTER POLICY memberships_self ON memberships
	USING (user_id = app_actor_id());
