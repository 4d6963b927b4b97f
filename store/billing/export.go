package billing

import (
	"context"
	"fmt"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// EachPageSize is how many rows the Each functions read per keyset query, as in inventory: a million
// rows take two hundred queries and one page costs a few MB.
const EachPageSize = 5000

// eachPageSize is EachPageSize, smaller in tests so that they cross pages.
var eachPageSize = EachPageSize

// InvoicesEach calls fn for every invoice of the invoice list with p's filter, in the list's order (newest
// first; p.After and p.Limit are ignored), reading page by page with the list's own keyset query in tx.
// fn must not use tx. The actor needs BillingRead.
func InvoicesEach(ctx context.Context, tx *store.Tx, p InvoiceListParams, fn func(Invoice) error) error {
	if err := permit(ctx, tx, identity.BillingRead); err != nil {
		return err
	}
	p.After, p.Limit = "", eachPageSize
	for {
		res, err := invoicePageTx(ctx, tx, p, false)
		if err != nil {
			return err
		}
		for _, i := range res.Invoices {
			if err := fn(i); err != nil {
				return err
			}
		}
		if res.Next == "" {
			return nil
		}
		p.After = res.Next
	}
}

// InvoicesCount counts the invoices of the invoice list with p's filter. The actor needs BillingRead.
func InvoicesCount(ctx context.Context, tx *store.Tx, p InvoiceListParams) (int64, error) {
	if err := permit(ctx, tx, identity.BillingRead); err != nil {
		return 0, err
	}
	where, args, err := invoiceWhere(p, tx.Scope.TenantID, searchAll)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM billing_invoices i`+where, args...); err != nil {
		return 0, fmt.Errorf("error counting invoices: %w", err)
	}
	return n, nil
}

// CustomersEach calls fn for every customer of the customer list with p's filter, by name like the list
// (p.After and p.Limit are ignored). fn must not use tx. The actor needs BillingRead.
func CustomersEach(ctx context.Context, tx *store.Tx, p CustomerListParams, fn func(Customer) error) error {
	if err := permit(ctx, tx, identity.BillingRead); err != nil {
		return err
	}
	p.After, p.Limit = "", eachPageSize
	for {
		res, err := customerPageTx(ctx, tx, p)
		if err != nil {
			return err
		}
		for _, c := range res.Customers {
			if err := fn(c); err != nil {
				return err
			}
		}
		if res.Next == "" {
			return nil
		}
		p.After = res.Next
	}
}

// CustomersCount counts the customers of the customer list with p's filter. The actor needs BillingRead.
func CustomersCount(ctx context.Context, tx *store.Tx, p CustomerListParams) (int64, error) {
	if err := permit(ctx, tx, identity.BillingRead); err != nil {
		return 0, err
	}
	where, args := customerWhere(p, tx.Scope.TenantID)
	var n int64
	if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM billing_customers c`+where, args...); err != nil {
		return 0, fmt.Errorf("error counting customers: %w", err)
	}
	return n, nil
}

// PaymentsEach calls fn for every payment of the payment list with p's filter, newest first like the list
// (p.After and p.Limit are ignored). fn must not use tx. The actor needs BillingRead.
func PaymentsEach(ctx context.Context, tx *store.Tx, p PaymentListParams, fn func(Payment) error) error {
	if err := permit(ctx, tx, identity.BillingRead); err != nil {
		return err
	}
	p.After, p.Limit = "", eachPageSize
	for {
		res, err := paymentPageTx(ctx, tx, p)
		if err != nil {
			return err
		}
		for _, x := range res.Payments {
			if err := fn(x); err != nil {
				return err
			}
		}
		if res.Next == "" {
			return nil
		}
		p.After = res.Next
	}
}

// PaymentsCount counts the payments of the payment list with p's filter. The actor needs BillingRead.
func PaymentsCount(ctx context.Context, tx *store.Tx, p PaymentListParams) (int64, error) {
	if err := permit(ctx, tx, identity.BillingRead); err != nil {
		return 0, err
	}
	where, args := paymentWhere(p, tx.Scope.TenantID)
	var n int64
	if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM billing_payments p`+where, args...); err != nil {
		return 0, fmt.Errorf("error counting payments: %w", err)
	}
	return n, nil
}
