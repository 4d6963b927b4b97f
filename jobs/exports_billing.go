package jobs

import (
	"context"
	"encoding/json"
	"time"

	"ledgerline/store"
	"ledgerline/store/billing"
	"ledgerline/store/exports"
)

// day writes a calendar date (an issue, due or receipt date) as YYYY-MM-DD: it has no time of day, so
// it is not shifted into a zone.
func day(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Format(time.DateOnly)
}

// billingExportSources adds the billing lists: invoices, customers and payments. Amounts are decimal
// numbers in the row's currency, which has its own column; nothing is converted or summed.
func billingExportSources(c exports.Catalog) {
	c[exports.KindBillingInvoices] = exports.Source{
		Columns: []string{"Number", "Status", "Overdue", "Customer", "Issue date", "Due date", "Currency", "Subtotal", "Tax",
			"Total", "Paid", "Credited", "Balance", "Void reason", "Created at", "Invoice id"},
		Count: func(ctx context.Context, tx *store.Tx, filter json.RawMessage) (int64, error) {
			var p billing.InvoiceListParams
			if err := decodeFilter(filter, &p); err != nil {
				return 0, err
			}
			return billing.InvoicesCount(ctx, tx, p)
		},
		Each: func(ctx context.Context, tx *store.Tx, filter json.RawMessage, emit func([]any) error) error {
			var p billing.InvoiceListParams
			if err := decodeFilter(filter, &p); err != nil {
				return err
			}
			return billing.InvoicesEach(ctx, tx, p, func(i billing.Invoice) error {
				number := ""
				if i.Number != nil {
					number = *i.Number
				}
				return emit([]any{number, i.Status.Label(), i.Overdue, i.CustomerName, day(i.IssueDate), day(i.DueDate), i.Currency,
					amount(i.Subtotal, i.Currency), amount(i.TaxTotal, i.Currency), amount(i.Total, i.Currency),
					amount(i.Paid, i.Currency), amount(i.Credited, i.Currency), amount(i.Balance, i.Currency),
					i.VoidReason, i.CreatedAt, i.ID.String()})
			})
		},
	}
	c[exports.KindBillingCustomers] = exports.Source{
		Columns: []string{"Name", "E-mail", "Address", "Currency", "Payment terms (days)", "Tax id", "Bank details", "Notes",
			"Created at", "Deleted at", "Customer id"},
		Count: func(ctx context.Context, tx *store.Tx, filter json.RawMessage) (int64, error) {
			var p billing.CustomerListParams
			if err := decodeFilter(filter, &p); err != nil {
				return 0, err
			}
			return billing.CustomersCount(ctx, tx, p)
		},
		Each: func(ctx context.Context, tx *store.Tx, filter json.RawMessage, emit func([]any) error) error {
			var p billing.CustomerListParams
			if err := decodeFilter(filter, &p); err != nil {
				return err
			}
			// The tax id and bank details stay masked as on the screens: opening them is an audited
			// action of its own, one customer at a time.
			return billing.CustomersEach(ctx, tx, p, func(cu billing.Customer) error {
				return emit([]any{cu.Name, cu.Email, cu.Address, cu.Currency, cu.TermsDays, cu.TaxIDMasked(), cu.BankMasked(),
					cu.Notes, cu.CreatedAt, cu.DeletedAt, cu.ID.String()})
			})
		},
	}
	c[exports.KindBillingPayments] = exports.Source{
		Columns: []string{"Received on", "Customer", "Method", "Reference", "Currency", "Amount", "Allocated", "Unallocated",
			"Reversed at", "Reversal reason", "Payment id"},
		Count: func(ctx context.Context, tx *store.Tx, filter json.RawMessage) (int64, error) {
			var p billing.PaymentListParams
			if err := decodeFilter(filter, &p); err != nil {
				return 0, err
			}
			return billing.PaymentsCount(ctx, tx, p)
		},
		Each: func(ctx context.Context, tx *store.Tx, filter json.RawMessage, emit func([]any) error) error {
			var p billing.PaymentListParams
			if err := decodeFilter(filter, &p); err != nil {
				return err
			}
			return billing.PaymentsEach(ctx, tx, p, func(x billing.Payment) error {
				return emit([]any{day(&x.ReceivedOn), x.CustomerName, x.Method.Label(), x.Reference, x.Currency,
					amount(x.Amount, x.Currency), amount(x.Allocated, x.Currency), amount(x.Unallocated(), x.Currency),
					x.ReversedAt, x.ReversalReason, x.ID.String()})
			})
		},
	}
}
