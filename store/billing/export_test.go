package billing

// InvoiceIssueTx exposes the issuing step so tests can run it inside a transaction they roll back.
var InvoiceIssueTx = invoiceIssueTx
