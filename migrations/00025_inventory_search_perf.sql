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
--
-- A search of one or two characters matches the start of a SKU or of a name (the store sends 'text%'):
-- trigrams need three characters, and a contains-match of two letters that few items have ("zq") walked
-- all million rows of the tenant (1.6 s). The keys' btree indexes answer a start as a range; starts_with
-- keeps the match exact whatever the collation's order.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION inventory_item_search_page(p_pattern text, p_sort text, p_desc boolean, p_after_key text,
	p_after_id uuid, p_category text, p_location uuid, p_low boolean, p_deleted boolean, p_limit integer)
RETURNS TABLE (item_id uuid)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	tenant uuid := app_tenant_id();
	pattern text := lower(p_pattern);
	inner_text text;
	literal text; -- the search text when the pattern is '%text%' or 'text%' with no wildcard of its own
	words text;   -- its words in order, as a LIKE pattern for the trigram index
	prefix boolean := false;
	sku_match text := 'i.sku_key LIKE $2';
	name_match text := 'i.name_key LIKE $2';
	k text;
	typ text;
	cmp text := CASE WHEN p_desc THEN '<' ELSE '>' END;
	dir text := CASE WHEN p_desc THEN ' DESC' ELSE '' END;
	f text;
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
	-- The store sends '%' || text || '%' (contains) or text || '%' (starts with), with \ escaping \, % and _
	-- in the text.
	IF length(pattern) >= 2 AND right(pattern, 1) = '%' THEN
		prefix := left(pattern, 1) <> '%';
		inner_text := substr(pattern, CASE WHEN prefix THEN 1 ELSE 2 END, length(pattern) - CASE WHEN prefix THEN 1 ELSE 2 END);
		IF inner_text = '' THEN
			NULL;
		ELSIF strpos(inner_text, '\') = 0 THEN -- the common case, without the regular expressions
			IF strpos(inner_text, '%') = 0 AND strpos(inner_text, '_') = 0 THEN
				literal := inner_text;
			END IF;
		ELSIF regexp_replace(inner_text, '\\.', '', 'g') !~ '[%_\\]' THEN
			literal := regexp_replace(inner_text, '\\(.)', '\1', 'g');
		END IF;
	END IF;
	IF prefix AND literal IS NOT NULL THEN
		sku_match := '(i.sku_key >= $9 AND i.sku_key < ($9 || chr(1114111)) AND starts_with(i.sku_key, $9))';
		name_match := '(i.name_key >= $9 AND i.name_key < ($9 || chr(1114111)) AND starts_with(i.name_key, $9))';
	ELSIF literal ~ '[^[:alnum:]]' THEN
		-- Words are runs of letters and digits, so they need no LIKE escaping.
		words := '%' || array_to_string(regexp_split_to_array(literal, '[^[:alnum:]]+'), '%') || '%';
		sku_match := '(i.sku_key LIKE $8 AND strpos(i.sku_key, $9) > 0)';
	END IF;
	-- The filters besides the search, the same in every form of the query.
	f := CASE WHEN p_deleted THEN ' AND i.deleted_at IS NOT NULL' ELSE ' AND i.deleted_at IS NULL' END;
	IF p_category IS NOT NULL THEN
		f := f || ' AND i.category_key = $3';
	END IF;
	IF p_location IS NOT NULL THEN
		f := f || ' AND EXISTS (SELECT 1 FROM stock_levels l JOIN inventory_locations loc
			ON loc.tenant_id = l.tenant_id AND loc.id = l.location_id
			WHERE l.tenant_id = i.tenant_id AND l.item_id = i.id AND (l.on_hand <> 0 OR l.reserved <> 0)
			  AND (loc.id = $4 OR loc.warehouse_id = $4))';
	END IF;
	IF p_low THEN
		f := f || ' AND i.reorder_point > 0 AND i.on_hand <= i.reorder_point';
	END IF;
	IF p_after_id IS NOT NULL THEN
		f := f || format(' AND %1$s %2$s= $5::%3$s AND (%1$s %2$s $5::%3$s OR i.id %2$s $6)', k, cmp, typ);
	END IF;
	IF prefix AND literal IS NOT NULL THEN
		-- Two branches, each the first page of its own in the list's order, then the first page of both: the
		-- items whose name starts with the text, and those whose SKU does but name does not. Under one OR
		-- the planner could not start at the text in the sort index of either key ("s" by name walked half a
		-- million names first, 140 ms); each branch can, and stops after one page.
		q := format('SELECT s.id FROM ((SELECT i.id, %1$s AS k FROM inventory_items i WHERE i.tenant_id = $1 AND %3$s%4$s
				ORDER BY %1$s%2$s, i.id%2$s LIMIT $7)
			UNION ALL (SELECT i.id, %1$s FROM inventory_items i WHERE i.tenant_id = $1 AND %5$s AND NOT %3$s%4$s
				ORDER BY %1$s%2$s, i.id%2$s LIMIT $7)) s
			ORDER BY s.k%2$s, s.id%2$s LIMIT $7', k, dir, name_match, f, sku_match);
	ELSE
		-- The lower-case keys against a lower-case pattern: the same match as ILIKE, and the keys sit in the
		-- sort indexes (INCLUDE), so a common word is filtered on the index without reading the table.
		q := 'SELECT i.id FROM inventory_items i WHERE i.tenant_id = $1 AND (' || sku_match || ' OR ' || name_match || ')'
			|| f || format(' ORDER BY %1$s%2$s, i.id%2$s LIMIT $7', k, dir);
	END IF;
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
