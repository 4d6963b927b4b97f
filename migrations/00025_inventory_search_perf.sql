-- +goose Up
-- Performance of the item search at benchmark scale (round 4). Written so that applying it to a database
-- that already has it is harmless (the function keeps its signature, so a binary from before keeps working).
--
-- A search for a code such as "LG-00042" read 770 pages of the SKU trigram index (8–11 ms) to find 151
-- candidates. For LIKE, pg_trgm pads the words of the pattern where a non-word character bounds them, and
-- the padded trigrams of a code ("lg ", "  0", " 00") are in every SKU of a tenant whose codes share one
-- scheme: GIN has to skip through their posting trees, a million entries each, for every candidate of the
-- rare trigrams. The SKU condition now looks the index up with the pattern's words alone, in order
-- ("%lg%00042%": only the unpadded trigrams "000", "004", "042", 84 pages), and checks the exact text
-- with strpos, which no index takes, so the index condition stays the cheap one. What matches is unchanged:
-- a SKU that contains the search text, in any case. A search without non-word characters keeps the one
-- LIKE (its pattern has no padded trigrams). Names keep the plain LIKE: their words are not shared by
-- every row, so their padded trigrams are selective.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION inventory_item_search_page(p_pattern text, p_sort text, p_desc boolean, p_after_key text,
	p_after_id uuid, p_category text, p_location uuid, p_low boolean, p_deleted boolean, p_limit integer)
RETURNS TABLE (item_id uuid)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	tenant uuid := app_tenant_id();
	pattern text := lower(p_pattern);
	inner_text text;
	literal text; -- the search text when the pattern is '%text%' with no wildcard of its own
	words text;   -- its words in order, as a LIKE pattern for the trigram index
	sku_match text := 'i.sku_key LIKE $2';
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
	-- The store sends '%' || text || '%' with \ escaping \, % and _ in the text.
	IF length(pattern) >= 2 AND left(pattern, 1) = '%' AND right(pattern, 1) = '%' THEN
		inner_text := substr(pattern, 2, length(pattern) - 2);
		IF inner_text <> '' AND regexp_replace(inner_text, '\\.', '', 'g') !~ '[%_\\]' THEN
			literal := regexp_replace(inner_text, '\\(.)', '\1', 'g');
		END IF;
	END IF;
	IF literal ~ '[^[:alnum:]]' THEN
		-- Words are runs of letters and digits, so they need no LIKE escaping.
		words := '%' || array_to_string(regexp_split_to_array(literal, '[^[:alnum:]]+'), '%') || '%';
		sku_match := '(i.sku_key LIKE $8 AND strpos(i.sku_key, $9) > 0)';
	END IF;
	-- The lower-case keys against a lower-case pattern: the same match as ILIKE, and the keys sit in the
	-- sort indexes (INCLUDE), so a common word is filtered on the index without reading the table.
	q := 'SELECT i.id FROM inventory_items i WHERE i.tenant_id = $1 AND (' || sku_match || ' OR i.name_key LIKE $2)'
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
	RETURN QUERY EXECUTE q USING tenant, pattern, p_category, p_location, p_after_key, p_after_id, p_limit, words, literal;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION inventory_item_search_page(p_pattern text, p_sort text, p_desc boolean, p_after_key text,
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
