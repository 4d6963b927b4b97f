package billing

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
