-- +goose Up
-- Performance of the inventory and audit screens at benchmark scale (round 3). Written so that applying it
-- to a database that already has any part of it is harmless.

-- audit_latest_change is audit.LatestChange: the id of the newest event of the transaction's tenant in one
-- domain (the first dot-separated part of the action), the version of every cached count and panel of
-- that domain. Under row-level security the domain index of migration 00019 cannot be used: split_part is
-- not leakproof, so its comparison may not run before the tenant policy, and the query walked the tenant's
-- events newest first through every monthly partition until one matched (800 buffers, 2–3 ms, planned
-- afresh each time). As the owner the query probes the domain index once per partition (about 100
-- buffers), and PL/pgSQL keeps its plan. It applies the transaction's tenant itself (no tenant: NULL) and
-- returns nothing but an id of that tenant.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_latest_change(p_domain text)
RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	tenant uuid := app_tenant_id();
BEGIN
	IF tenant IS NULL THEN
		RETURN NULL;
	END IF;
	RETURN (SELECT e.id FROM audit_events e
		WHERE e.tenant_id = tenant AND split_part(e.action, '.', 1) = p_domain
		ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1);
END
$$;
-- +goose StatementEnd
REVOKE EXECUTE ON FUNCTION audit_latest_change(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_latest_change(text) TO ledgerline_app;

-- The trigram indexes of the item search take new entries into a pending list (GIN's fast update) that
-- every search through them reads from end to end until VACUUM merges it. Every stock movement changes its
-- items' on-hand keys, so each item row gets a new version and both indexes new pending entries: on the
-- bench data the lists had grown to 464 and 200 pages, and a search for a word that matches nothing read
-- all 666 pages (7 ms) before it could answer. A 1 MB limit (the default is 4 MB) keeps each list under 128
-- pages: the insert that fills it merges it into the index in one sorted pass. Smaller limits would cut the
-- search further but merge in smaller batches, which costs bulk imports (100,000 items bring millions of
-- trigram entries); 1 MB keeps the merges large.
ALTER INDEX inventory_items_sku_key_trgm SET (gin_pending_list_limit = 1024);
ALTER INDEX inventory_items_name_key_trgm SET (gin_pending_list_limit = 1024);
SELECT gin_clean_pending_list('inventory_items_sku_key_trgm'::regclass);
SELECT gin_clean_pending_list('inventory_items_name_key_trgm'::regclass);

-- +goose Down
ALTER INDEX inventory_items_sku_key_trgm RESET (gin_pending_list_limit);
ALTER INDEX inventory_items_name_key_trgm RESET (gin_pending_list_limit);
DROP FUNCTION IF EXISTS audit_latest_change(text);
