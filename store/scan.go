package store

import "context"

// ScanRows runs query in tx and appends every row to out, scanned into the destinations fields returns for
// it, in the query's column order. Hot lists use it instead of sqlx's Select, whose reflection maps the
// columns to fields again for every row (5-22 % of a list page's CPU); each caller keeps a test that holds
// its fields to its columns.
func ScanRows[T any](ctx context.Context, tx *Tx, out *[]T, fields func(*T) []any, query string, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v T
		if err := rows.Scan(fields(&v)...); err != nil {
			return err
		}
		*out = append(*out, v)
	}
	return rows.Err()
}
