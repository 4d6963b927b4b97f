package billing

import (
	"context"

	"ledgerline/store"
)

// InvoiceIssueTx exposes the issuing step so tests can run it inside a transaction they roll back.
var InvoiceIssueTx = invoiceIssueTx

// SetEachPageSize makes the Each functions read n rows per query until the returned function restores it.
func SetEachPageSize(n int) func() {
	old := eachPageSize
	eachPageSize = n
	return func() { eachPageSize = old }
}

// InvoicePageQuery exposes the invoice list's page query so that tests can check its plan.
var InvoicePageQuery = invoicePageQuery

// InvoicesBothWays reads the scope's invoices with selectInvoices and with sqlx's reflection, for
// TestInvoiceColumnsScan.
func InvoicesBothWays(ctx context.Context, db *store.DB, scope store.Scope) (explicit, reflected []Invoice, err error) {
	q := `SELECT ` + invoiceColumns + invoiceFrom + ` WHERE i.tenant_id = $1 ORDER BY i.created_at, i.id`
	err = db.InTenant(ctx, scope, func(tx *store.Tx) error {
		var err error
		if explicit, err = selectInvoices(ctx, tx, 0, q, []any{scope.TenantID}); err != nil {
			return err
		}
		return tx.SelectContext(ctx, &reflected, q, scope.TenantID)
	})
	return explicit, reflected, err
}
