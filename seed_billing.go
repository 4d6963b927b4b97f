package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"ledgerline/store"
	"ledgerline/store/billing"
)

// seedBillingIfEmpty gives a demo tenant its customers, tax rates, invoices and payments when it has none:
// drafts, issued, partially paid, paid, overdue (dated back by the system) and void invoices, a credit
// note, and a payment with a rest kept as customer credit, in the tenant's currency.
func seedBillingIfEmpty(ctx context.Context, db *store.DB, scope store.Scope, dt demoTenant, stdout io.Writer) error {
	existing, err := billing.CustomerList(ctx, db, scope, billing.CustomerListParams{Limit: 1})
	if err != nil {
		return err
	}
	if len(existing.Customers) > 0 {
		return nil
	}
	cur := dt.params.Currency
	type rateDef struct {
		name string
		bp   int
	}
	rates := []rateDef{{"Standard", 1900}, {"Reduced", 700}}
	instructions := "Bank transfer to " + dt.params.Name + ", IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX."
	address := "Industriestraße 12\n70565 Stuttgart\nGermany"
	if cur != "EUR" {
		rates = []rateDef{{"Sales tax", 825}, {"Exempt", 0}}
		instructions = "ACH or wire to " + dt.params.Name + ", account 000123456789, routing 021000021."
		address = "500 Market Street\nSan Francisco, CA 94105\nUSA"
	}
	if _, err := billing.SettingsUpdate(ctx, db, scope, billing.SettingsUpdateParams{InvoiceSeries: "INV", CreditNoteSeries: "CN",
		DefaultTermsDays: 30, PaymentInstructions: instructions, SenderAddress: address}); err != nil {
		return fmt.Errorf("error seeding billing settings: %w", err)
	}
	var rateIDs []store.ID
	for _, r := range rates {
		tr, err := billing.TaxRateCreate(ctx, db, scope, billing.TaxRateCreateParams{Name: r.name, RateBP: r.bp})
		if err != nil {
			return fmt.Errorf("error seeding tax rate: %w", err)
		}
		rateIDs = append(rateIDs, tr.ID)
	}
	names := []string{"Initech", "Umbrella Corporation", "Hooli", "Stark Industries", "Wayne Enterprises"}
	var customers []*billing.Customer
	for i, name := range names {
		taxID := fmt.Sprintf("DE%09d", 123456780+i)
		bank := fmt.Sprintf("DE89 3704 0044 0532 0130 %02d", i)
		c, err := billing.CustomerCreate(ctx, db, scope, billing.CustomerFields{Name: name,
			Email: fmt.Sprintf("accounts%d@%s.example", i+1, dt.params.Slug), Address: fmt.Sprintf("%d Demo Street\nDemo City", 10+i),
			TaxID: &taxID, Bank: &bank, Currency: cur, TermsDays: []int{14, 30, 30, 45, 60}[i]})
		if err != nil {
			return fmt.Errorf("error seeding customer %s: %w", name, err)
		}
		customers = append(customers, c)
	}
	today := time.Now().UTC()
	day := func(back int) *time.Time {
		d := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -back)
		return &d
	}
	type lineDef struct {
		desc  string
		qty   int64
		price int64
		rate  int
	}
	catalog := []lineDef{{"Consulting (hours)", 8, 12000, 0}, {"Maintenance contract", 1, 49900, 0}, {"Spare parts kit", 3, 2450, 1},
		{"On-site installation", 1, 85000, 0}, {"Training day", 2, 65000, 1}, {"Shipping", 1, 1500, 0}}
	// Oldest first, so numbers follow the issue dates: each entry is a customer, lines, days back (nil:
	// stays a draft) and what happens next.
	type invDef struct {
		cust    int
		lines   []int
		back    *int
		outcome string // "", "paid", "partial", "void", "credit"
	}
	ip := func(n int) *int { return &n }
	defs := []invDef{
		{0, []int{0, 5}, ip(150), "paid"}, {1, []int{3}, ip(120), ""}, {2, []int{1, 2}, ip(95), "partial"},
		{3, []int{4}, ip(75), "paid"}, {1, []int{0}, ip(60), ""}, {4, []int{2, 5}, ip(40), "credit"},
		{0, []int{1}, ip(20), "void"}, {2, []int{0, 4}, ip(10), "partial"}, {3, []int{3, 5}, ip(3), ""},
		{4, []int{0}, ip(0), ""}, {0, []int{2}, nil, ""}, {1, []int{4, 5}, nil, ""},
	}
	invoices := 0
	for _, d := range defs {
		inv, err := billing.InvoiceCreate(ctx, db, scope, billing.InvoiceCreateParams{CustomerID: customers[d.cust].ID})
		if err != nil {
			return fmt.Errorf("error seeding invoice: %w", err)
		}
		for _, li := range d.lines {
			l := catalog[li]
			if _, err := billing.InvoiceLineAdd(ctx, db, scope, inv.ID, 0, billing.LineParams{Description: l.desc,
				Quantity: billing.Units(l.qty), UnitPrice: l.price, TaxRateID: rateIDs[l.rate]}); err != nil {
				return fmt.Errorf("error seeding invoice line: %w", err)
			}
		}
		invoices++
		if d.back == nil {
			continue
		}
		issued, err := billing.InvoiceIssue(ctx, db, scope, billing.InvoiceIssueParams{ID: inv.ID, IssueDate: day(*d.back)})
		if err != nil {
			return fmt.Errorf("error seeding invoice issue: %w", err)
		}
		received := *day(max(*d.back-10, 0))
		switch d.outcome {
		case "paid", "partial":
			amount := issued.Total
			if d.outcome == "partial" {
				amount = issued.Total / 2
			}
			if _, err := billing.PaymentRecord(ctx, db, scope, billing.PaymentParams{CustomerID: issued.CustomerID, Amount: amount,
				ReceivedOn: received, Method: billing.MethodBankTransfer, Reference: "Remittance " + *issued.Number,
				Allocations: []billing.Allocation{{InvoiceID: issued.ID, Amount: amount}}}); err != nil {
				return fmt.Errorf("error seeding payment: %w", err)
			}
		case "void":
			if _, err := billing.InvoiceVoid(ctx, db, scope, billing.InvoiceVoidParams{ID: issued.ID, Reason: "Issued to the wrong customer"}); err != nil {
				return fmt.Errorf("error seeding void: %w", err)
			}
		case "credit":
			amount := issued.Total / 10
			if _, err := billing.CreditNoteIssue(ctx, db, scope, billing.CreditNoteParams{InvoiceID: issued.ID, Amount: &amount,
				Reason: "10 % goodwill discount for the late delivery"}); err != nil {
				return fmt.Errorf("error seeding credit note: %w", err)
			}
		}
	}
	// A payment on account: customer credit for later invoices.
	if _, err := billing.PaymentRecord(ctx, db, scope, billing.PaymentParams{CustomerID: customers[3].ID, Amount: 50000,
		ReceivedOn: *day(2), Method: billing.MethodCard, Reference: "Advance payment", KeepCredit: true}); err != nil {
		return fmt.Errorf("error seeding advance payment: %w", err)
	}
	// A maintenance contract billed monthly since two months ago: the recurring job makes its drafts.
	if _, err := billing.RecurringCreate(ctx, db, scope, billing.RecurringParams{CustomerID: customers[1].ID, Name: "Maintenance contract",
		Schedule: billing.Monthly, StartDate: *day(60), Lines: []billing.RecurringLine{{Description: "Monthly maintenance",
			Quantity: billing.Units(1), UnitPrice: 49900, TaxRateID: rateIDs[0]}}}); err != nil {
		return fmt.Errorf("error seeding recurring invoice: %w", err)
	}
	fmt.Fprintf(stdout, "seed: %s billing: %d customers, %d invoices, payments, a credit note and a recurring invoice\n", dt.params.Name, len(customers), invoices)
	return nil
}
