-- +goose Up
-- Performance: the searched item list at a million items.
--
-- A search of the item list used inventory_item_search(), which returns every matching id (ILIKE is not
-- leakproof, so under row-level security only an owner's function can use the trigram indexes), and the
-- list then sorted all of them: a common word ("galvanised", 100,000 of 1,000,000 items) took 700 ms.
-- inventory_item_search_page() runs the whole page query as the owner, so the planner sees real
-- selectivities and every index: a common word walks the sort index and stops after one page, a rare one
-- takes the trigram index and sorts a handful of rows. It applies the transaction's tenant itself (no
-- tenant: no rows), takes every filter as a parameter (the sort column from a fixed list) and returns only
-- ids in page order; the caller reads the rows through row-level security as usual.
-- +goose StatementBegin
CREATE FUNCTION inventory_item_search_page(p_pattern text, p_sort text, p_desc boolean, p_after_key text,
	p_after_id uuid, p_category text, p_location uuid, p_low boolean, p_deleted boolean, p_limit integer)
RETURNS TABLE (item_id uuid)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	tenant uuid := app_tenant_id();
	k text;
	typ text;
	cmp text := CASE WHEN p_desc THEN '<' ELSE '>' END;
	dir text := CASE WHEN p_desc THEN ' DESC' ELSE '' END;
	q text;
BEGIN
	IF tenant IS NULL THEN
		RETURN;
	END IF;
	k := CASE p_sort WHEN 'sku' THEN 'i.sku_key' WHEN 'name' THEN 'i.name_key'
		WHEN 'on_hand' THEN 'i.on_hand_key' WHEN 'value' THEN 'i.stock_value' END;
	typ := CASE WHEN p_sort IN ('on_hand', 'value') THEN 'bigint' ELSE 'text' END;
	IF k IS NULL THEN
		RAISE EXCEPTION 'inventory_item_search_page: unknown sort %', p_sort USING ERRCODE = '22023';
	END IF;
	-- The lower-case keys against a lower-case pattern: the same match as ILIKE, and the keys sit in the
	-- sort indexes (INCLUDE below), so a common word is filtered on the index without reading the table.
	q := 'SELECT i.id FROM inventory_items i WHERE i.tenant_id = $1 AND (i.sku_key LIKE $2 OR i.name_key LIKE $2)'
		|| CASE WHEN p_deleted THEN ' AND i.deleted_at IS NOT NULL' ELSE ' AND i.deleted_at IS NULL' END;
	IF p_category IS NOT NULL THEN
		q := q || ' AND i.category_key = $3';
	END IF;
	IF p_location IS NOT NULL THEN
		q := q || ' AND EXISTS (SELECT 1 FROM stock_levels l JOIN inventory_locations loc
			ON loc.tenant_id = l.tenant_id AND loc.id = l.location_id
			WHERE l.tenant_id = i.tenant_id AND l.item_id = i.id AND (l.on_hand <> 0 OR l.reserved <> 0)
			  AND (loc.id = $4 OR loc.warehouse_id = $4))';
	END IF;
	IF p_low THEN
		q := q || ' AND i.reorder_point > 0 AND i.on_hand <= i.reorder_point';
	END IF;
	IF p_after_id IS NOT NULL THEN
		q := q || format(' AND %1$s %2$s= $5::%3$s AND (%1$s %2$s $5::%3$s OR i.id %2$s $6)', k, cmp, typ);
	END IF;
	q := q || format(' ORDER BY %1$s%2$s, i.id%2$s LIMIT $7', k, dir);
	RETURN QUERY EXECUTE q USING tenant, lower(p_pattern), p_category, p_location, p_after_key, p_after_id, p_limit;
END
$$;
-- +goose StatementEnd
REVOKE EXECUTE ON FUNCTION inventory_item_search_page(text, text, boolean, text, uuid, text, uuid, boolean, boolean, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION inventory_item_search_page(text, text, boolean, text, uuid, text, uuid, boolean, boolean, integer) TO ledgerline_app;

-- inventory_item_count_estimate is the "of about N" of the item list: the planner's estimate of the rows
-- the list's filters match, from EXPLAIN, never a count over a million rows. It runs as the owner for the
-- same reason as the page function (under row-level security the planner multiplies the policy's
-- selectivity into the estimate and is off by the number of tenants), applies the transaction's tenant
-- itself, and quotes every value with format('%L'). (VOLATILE only because PostgreSQL runs EXPLAIN in no other kind.)
-- +goose StatementBegin
CREATE FUNCTION inventory_item_count_estimate(p_pattern text, p_category text, p_location uuid, p_low boolean,
	p_deleted boolean)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	tenant uuid := app_tenant_id();
	q text;
	plan json;
BEGIN
	IF tenant IS NULL THEN
		RETURN 0;
	END IF;
	q := format('SELECT 1 FROM inventory_items i WHERE i.tenant_id = %L', tenant)
		|| CASE WHEN p_deleted THEN ' AND i.deleted_at IS NOT NULL' ELSE ' AND i.deleted_at IS NULL' END;
	IF p_pattern IS NOT NULL THEN
		q := q || format(' AND (i.sku_key LIKE %1$L OR i.name_key LIKE %1$L)', lower(p_pattern));
	END IF;
	IF p_category IS NOT NULL THEN
		q := q || format(' AND i.category_key = %L', p_category);
	END IF;
	IF p_location IS NOT NULL THEN
		q := q || format(' AND EXISTS (SELECT 1 FROM stock_levels l JOIN inventory_locations loc
			ON loc.tenant_id = l.tenant_id AND loc.id = l.location_id
			WHERE l.tenant_id = i.tenant_id AND l.item_id = i.id AND (l.on_hand <> 0 OR l.reserved <> 0)
			  AND (loc.id = %1$L OR loc.warehouse_id = %1$L))', p_location);
	END IF;
	IF p_low THEN
		q := q || ' AND i.reorder_point > 0 AND i.on_hand <= i.reorder_point';
	END IF;
	EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO plan;
	RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric::bigint;
END
$$;
-- +goose StatementEnd
REVOKE EXECUTE ON FUNCTION inventory_item_count_estimate(text, text, uuid, boolean, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION inventory_item_count_estimate(text, text, uuid, boolean, boolean) TO ledgerline_app;

-- Indexes of the searched list. Every sort index carries the other lower-case key (INCLUDE), so that a
-- search that walks it in sort order checks the pattern on the index alone (an index-only scan); a
-- category filter with any sort has its own (tenant, category, key, id) index, where walking the sort's
-- plain index crossed every other category first ("Fasteners" by name read 300,000 rows before its first
-- hit). The trigram indexes move to the lower-case keys that the search now matches.
CREATE INDEX inventory_items_category_name_idx ON inventory_items (tenant_id, category_key, name_key, id)
	INCLUDE (sku_key) WHERE deleted_at IS NULL;
CREATE INDEX inventory_items_category_on_hand_idx ON inventory_items (tenant_id, category_key, on_hand_key, id)
	INCLUDE (sku_key, name_key) WHERE deleted_at IS NULL;
CREATE INDEX inventory_items_category_value_idx ON inventory_items (tenant_id, category_key, stock_value, id)
	INCLUDE (sku_key, name_key) WHERE deleted_at IS NULL;
CREATE INDEX inventory_items_category_sku_idx ON inventory_items (tenant_id, category_key, sku_key, id)
	INCLUDE (name_key) WHERE deleted_at IS NULL;
DROP INDEX inventory_items_category_idx;
CREATE INDEX inventory_items_name_idx_new ON inventory_items (tenant_id, name_key, id) INCLUDE (sku_key) WHERE deleted_at IS NULL;
DROP INDEX inventory_items_name_idx;
ALTER INDEX inventory_items_name_idx_new RENAME TO inventory_items_name_idx;
CREATE INDEX inventory_items_on_hand_idx_new ON inventory_items (tenant_id, on_hand_key, id) INCLUDE (sku_key, name_key) WHERE deleted_at IS NULL;
DROP INDEX inventory_items_on_hand_idx;
ALTER INDEX inventory_items_on_hand_idx_new RENAME TO inventory_items_on_hand_idx;
CREATE INDEX inventory_items_value_idx_new ON inventory_items (tenant_id, stock_value, id) INCLUDE (sku_key, name_key) WHERE deleted_at IS NULL;
DROP INDEX inventory_items_value_idx;
ALTER INDEX inventory_items_value_idx_new RENAME TO inventory_items_value_idx;
-- The SKU's unique index keeps its name (the store recognises its violation by it).
CREATE UNIQUE INDEX inventory_items_sku_key_new ON inventory_items (tenant_id, sku_key) INCLUDE (id, name_key) WHERE deleted_at IS NULL;
DROP INDEX inventory_items_sku_key;
ALTER INDEX inventory_items_sku_key_new RENAME TO inventory_items_sku_key;
CREATE INDEX inventory_items_sku_key_trgm ON inventory_items USING gin (sku_key gin_trgm_ops);
CREATE INDEX inventory_items_name_key_trgm ON inventory_items USING gin (name_key gin_trgm_ops);
DROP INDEX inventory_items_sku_trgm, inventory_items_name_trgm;
-- inventory_item_search (migration 00008) is no longer used by the app; it keeps working on the new indexes.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION inventory_item_search(p_pattern text)
RETURNS TABLE (id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 100 AS $$
	SELECT i.id FROM inventory_items i
	WHERE i.tenant_id = app_tenant_id() AND (i.sku_key LIKE lower(p_pattern) OR i.name_key LIKE lower(p_pattern))
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION inventory_item_search(p_pattern text)
RETURNS TABLE (id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 100 AS $$
	SELECT i.id FROM inventory_items i
	WHERE i.tenant_id = app_tenant_id() AND (i.sku ILIKE p_pattern OR i.name ILIKE p_pattern)
$$;
-- +goose StatementEnd
CREATE INDEX inventory_items_sku_trgm ON inventory_items USING gin (sku gin_trgm_ops);
CREATE INDEX inventory_items_name_trgm ON inventory_items USING gin (name gin_trgm_ops);
DROP INDEX inventory_items_sku_key_trgm, inventory_items_name_key_trgm;
CREATE INDEX inventory_items_category_idx ON inventory_items (tenant_id, category_key, sku_key) WHERE deleted_at IS NULL;
DROP INDEX inventory_items_category_name_idx, inventory_items_category_on_hand_idx, inventory_items_category_value_idx,
	inventory_items_category_sku_idx;
DROP FUNCTION inventory_item_count_estimate(text, text, uuid, boolean, boolean);
DROP FUNCTION inventory_item_search_page(text, text, boolean, text, uuid, text, uuid, boolean, boolean, integer);
