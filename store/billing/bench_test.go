package billing_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"ledgerline/store"
	"ledgerline/store/billing"
	"ledgerline/store/identity"
	"ledgerline/store/storetest"
)

// BenchmarkRenderInvoicePDF renders a 20-line invoice (pure Go, no database): the PDF rate per core.
func BenchmarkRenderInvoicePDF(b *testing.B) {
	day := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	doc := billing.InvoiceDocument{SellerName: "Acme Manufacturing", SellerAddress: "Industriestraße 12\n70565 Stuttgart",
		PaymentInstructions: "IBAN DE89 3704 0044 0532 0130 00", CustomerName: "Initech GmbH", CustomerAddress: "Hauptstraße 1\n10115 Berlin",
		CustomerTaxID: "DE123456789", Number: "INV-2026-000123", IssueDate: day, DueDate: day.AddDate(0, 0, 30), Currency: "EUR"}
	for i := range 20 {
		net, tax, gross, _ := billing.LineAmounts(billing.Units(int64(i+1)), 12345, 1900, false)
		doc.Lines = append(doc.Lines, billing.Line{Description: fmt.Sprintf("Line %d", i), Quantity: billing.Units(int64(i + 1)),
			UnitPrice: 12345, TaxName: "Standard", TaxRateBP: 1900, Net: net, Tax: tax, Gross: gross})
	}
	doc.Subtotal, doc.TaxTotal, doc.Total, doc.Taxes = billing.Totals(doc.Lines)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := billing.RenderInvoicePDF(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInvoiceIssue issues prepared three-line drafts one after another in one tenant (one counter
// row): the serial issue rate.
func BenchmarkInvoiceIssue(b *testing.B) {
	ctx := context.Background()
	db := storetest.New(b).DB
	ten, err := identity.TenantCreate(ctx, db, store.Scope{}, identity.TenantCreateParams{Name: "Bench", Slug: "bench", TimeZone: "UTC", Currency: "EUR"})
	if err != nil {
		b.Fatal(err)
	}
	sys := store.Scope{TenantID: ten.ID}
	rate, _ := billing.TaxRateCreate(ctx, db, sys, billing.TaxRateCreateParams{Name: "Standard", RateBP: 1900})
	cust, _ := billing.CustomerCreate(ctx, db, sys, billing.CustomerFields{Name: "Customer", Currency: "EUR"})
	drafts := make([]store.ID, b.N)
	for i := range drafts {
		inv, err := billing.InvoiceCreate(ctx, db, sys, billing.InvoiceCreateParams{CustomerID: cust.ID})
		if err != nil {
			b.Fatal(err)
		}
		for j := range 3 {
			if _, err := billing.InvoiceLineAdd(ctx, db, sys, inv.ID, 0, billing.LineParams{Description: "Work", Quantity: billing.Units(int64(j + 1)),
				UnitPrice: 1000, TaxRateID: rate.ID}); err != nil {
				b.Fatal(err)
			}
		}
		drafts[i] = inv.ID
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := billing.InvoiceIssue(ctx, db, sys, billing.InvoiceIssueParams{ID: drafts[i]}); err != nil {
			b.Fatal(err)
		}
	}
}
