package main

import (
	"context"
	"io"

	"ledgerline/store"
)

// seedApprovalsIfEmpty gives a demo tenant its approval policies and requests when it has none.
func seedApprovalsIfEmpty(ctx context.Context, db *store.DB, scope store.Scope, dt demoTenant, stdout io.Writer) error {
	return nil
}
