package billing

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/files"
	"ledgerline/store/identity"
)

// InvoiceDocument is what an invoice PDF prints: seller, customer, lines, taxes, totals and how to pay.
type InvoiceDocument struct {
	SellerName, SellerAddress, PaymentInstructions string
	CustomerName, CustomerAddress, CustomerTaxID   string
	Number                                         string
	IssueDate, DueDate                             time.Time
	Currency                                       string
	PricesIncludeTax                               bool
	Lines                                          []Line
	Taxes                                          []TaxShare
	Subtotal, TaxTotal, Total                      int64
	Notes                                          string
}

// RenderInvoicePDF renders an invoice as an A4 PDF with go-pdf/fpdf (pure Go, core fonts). Streams are
// left uncompressed so the document's text (its number first) can be searched by any tool; an invoice is
// a few kilobytes either way. The creation date is the issue date, so rendering the same document twice
// gives the same bytes.
func RenderInvoicePDF(doc InvoiceDocument) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCompression(false)
	pdf.SetCreationDate(doc.IssueDate)
	pdf.SetModificationDate(doc.IssueDate)
	pdf.SetTitle("Invoice "+doc.Number, true)
	pdf.SetAuthor(doc.SellerName, true)
	pdf.SetMargins(18, 18, 18)
	pdf.SetAutoPageBreak(true, 20)
	tr := pdf.UnicodeTranslatorFromDescriptor("") // UTF-8 → the core fonts' cp1252
	digits := store.CurrencyDigits(doc.Currency)
	amount := func(v int64) string { return store.FormatMinorUnits(v, digits) }
	pdf.AddPage()

	pdf.SetFont("Helvetica", "B", 16)
	pdf.CellFormat(0, 8, tr(doc.SellerName), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 9)
	if doc.SellerAddress != "" {
		pdf.MultiCell(90, 4.5, tr(doc.SellerAddress), "", "L", false)
	}
	pdf.Ln(6)
	pdf.SetFont("Helvetica", "B", 20)
	pdf.CellFormat(0, 10, "INVOICE "+tr(doc.Number), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	y := pdf.GetY() + 2
	pdf.SetXY(18, y)
	pdf.SetFont("Helvetica", "B", 10)
	pdf.CellFormat(90, 5, "Bill to", "", 2, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	pdf.CellFormat(90, 5, tr(doc.CustomerName), "", 2, "L", false, 0, "")
	if doc.CustomerAddress != "" {
		pdf.MultiCell(90, 5, tr(doc.CustomerAddress), "", "L", false)
	}
	if doc.CustomerTaxID != "" {
		pdf.CellFormat(90, 5, "Tax id: "+tr(doc.CustomerTaxID), "", 2, "L", false, 0, "")
	}
	after := pdf.GetY()
	pdf.SetXY(120, y)
	for _, kv := range [][2]string{
		{"Invoice number", doc.Number}, {"Issue date", doc.IssueDate.Format("2 January 2006")},
		{"Due date", doc.DueDate.Format("2 January 2006")}, {"Currency", doc.Currency},
	} {
		pdf.SetX(120)
		pdf.SetFont("Helvetica", "B", 10)
		pdf.CellFormat(32, 5, kv[0], "", 0, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 10)
		pdf.CellFormat(0, 5, tr(kv[1]), "", 1, "L", false, 0, "")
	}
	if pdf.GetY() > after {
		after = pdf.GetY()
	}
	pdf.SetXY(18, after+8)

	// Lines.
	widths := []float64{76, 18, 26, 18, 36}
	heads := []string{"Description", "Qty", "Unit price", "Tax", "Amount"}
	if doc.PricesIncludeTax {
		heads[4] = "Amount incl. tax"
	}
	pdf.SetFont("Helvetica", "B", 9)
	pdf.SetFillColor(235, 238, 242)
	for i, h := range heads {
		align := "R"
		if i == 0 {
			align = "L"
		}
		pdf.CellFormat(widths[i], 7, h, "B", 0, align, true, 0, "")
	}
	pdf.Ln(-1)
	pdf.SetFont("Helvetica", "", 9)
	for _, l := range doc.Lines {
		shown := l.Net
		if doc.PricesIncludeTax {
			shown = l.Gross
		}
		desc := tr(l.Description)
		if pdf.GetStringWidth(desc) > widths[0]-2 {
			for len(desc) > 1 && pdf.GetStringWidth(desc+"...") > widths[0]-2 {
				desc = desc[:len(desc)-1]
			}
			desc += "..."
		}
		cells := []string{desc, l.Quantity.String(), amount(l.UnitPrice), RateText(l.TaxRateBP), amount(shown)}
		for i, c := range cells {
			align := "R"
			if i == 0 {
				align = "L"
			}
			pdf.CellFormat(widths[i], 6, c, "B", 0, align, false, 0, "")
		}
		pdf.Ln(-1)
	}
	pdf.Ln(3)
	total := func(label, v string, bold bool) {
		style := ""
		if bold {
			style = "B"
		}
		pdf.SetFont("Helvetica", style, 10)
		pdf.SetX(18 + widths[0] + widths[1])
		pdf.CellFormat(widths[2]+widths[3], 6, tr(label), "", 0, "R", false, 0, "")
		pdf.CellFormat(widths[4], 6, v, "", 1, "R", false, 0, "")
	}
	total("Subtotal", amount(doc.Subtotal), false)
	for _, t := range doc.Taxes {
		total(t.Name+" "+RateText(t.RateBP), amount(t.Tax), false)
	}
	total("Total "+doc.Currency, amount(doc.Total), true)

	pdf.Ln(8)
	if doc.PaymentInstructions != "" {
		pdf.SetFont("Helvetica", "B", 10)
		pdf.CellFormat(0, 6, "How to pay", "", 1, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 9)
		pdf.MultiCell(0, 4.5, tr(doc.PaymentInstructions), "", "L", false)
		pdf.Ln(2)
	}
	pdf.SetFont("Helvetica", "", 9)
	pdf.MultiCell(0, 4.5, tr(fmt.Sprintf("Please pay %s %s by %s, quoting %s.", doc.Currency, amount(doc.Total),
		doc.DueDate.Format("2 January 2006"), doc.Number)), "", "L", false)
	if doc.Notes != "" {
		pdf.Ln(2)
		pdf.MultiCell(0, 4.5, tr(doc.Notes), "", "L", false)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("error rendering invoice %s: %w", doc.Number, err)
	}
	return buf.Bytes(), nil
}

// invoiceDocumentTx gathers what the PDF of an issued invoice prints.
func invoiceDocumentTx(ctx context.Context, tx *store.Tx, inv *Invoice) (InvoiceDocument, error) {
	var doc InvoiceDocument
	cust, err := customerGetTx(ctx, tx, inv.CustomerID, false)
	if err != nil {
		return doc, err
	}
	secrets, err := customerSecretsTx(ctx, tx, inv.CustomerID)
	if err != nil {
		return doc, err
	}
	settings, err := settingsGetTx(ctx, tx)
	if err != nil {
		return doc, err
	}
	if err := tx.GetContext(ctx, &doc.SellerName, `SELECT name FROM tenants WHERE id = $1`, tx.Scope.TenantID); err != nil {
		return doc, fmt.Errorf("error loading tenant name: %w", err)
	}
	lines, err := linesTx(ctx, tx, inv.ID)
	if err != nil {
		return doc, err
	}
	_, _, _, taxes := Totals(lines)
	doc.SellerAddress, doc.PaymentInstructions = settings.SenderAddress, settings.PaymentInstructions
	doc.CustomerName, doc.CustomerAddress, doc.CustomerTaxID = cust.Name, cust.Address, secrets.TaxID
	doc.Number, doc.IssueDate, doc.DueDate, doc.Currency = *inv.Number, *inv.IssueDate, *inv.DueDate, inv.Currency
	doc.PricesIncludeTax, doc.Lines, doc.Taxes, doc.Notes = inv.PricesIncludeTax, lines, taxes, inv.Notes
	doc.Subtotal, doc.TaxTotal, doc.Total = inv.Subtotal, inv.TaxTotal, inv.Total
	return doc, nil
}

// InvoicePDFEnsure renders and stores the PDF of an issued (or void, paid) invoice unless it has one,
// and returns the file's id. The invoice row is locked while rendering, so two jobs cannot both store a
// PDF, and the stored PDF is never replaced (a trigger refuses it too). The actor needs BillingRead; jobs
// run as the system.
func InvoicePDFEnsure(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (store.ID, error) {
	var fileID store.ID
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		inv, err := invoiceGetTx(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if inv.PDFFileID != nil {
			fileID = *inv.PDFFileID
			return nil
		}
		if inv.Status == StatusDraft {
			return store.Errorf(store.Invalid, "A draft has no PDF. Issue the invoice first.")
		}
		doc, err := invoiceDocumentTx(ctx, tx, inv)
		if err != nil {
			return err
		}
		b, err := RenderInvoicePDF(doc)
		if err != nil {
			return err
		}
		f, err := files.Create(ctx, tx, files.CreateParams{Name: *inv.Number + ".pdf", ContentType: "application/pdf"}, bytes.NewReader(b))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE billing_invoices SET pdf_file_id = $3, pdf_error = '' WHERE tenant_id = $1 AND id = $2`,
			tx.Scope.TenantID, id, f.ID); err != nil {
			return fmt.Errorf("error attaching PDF to invoice %s: %w", id, err)
		}
		fileID = f.ID
		return audit.Record(ctx, tx, audit.RecordParams{Action: "billing.invoice_pdf", EntityType: "billing_invoice",
			EntityID: id.String(), After: map[string]any{"file_id": f.ID, "size": f.Size}})
	})
	return fileID, err
}

// InvoicePDFFailed notes on the invoice that rendering failed (the job retries); InvoicePDFEnsure clears it.
func InvoicePDFFailed(ctx context.Context, db *store.DB, scope store.Scope, id store.ID, msg string) error {
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE billing_invoices SET pdf_error = left($3, 500) WHERE tenant_id = $1 AND id = $2
			AND pdf_file_id IS NULL`, tx.Scope.TenantID, id, msg)
		return err
	})
}

// InvoicePDFOpen returns a reader of an invoice's stored PDF. Before the job has rendered it, the answer
// is NotFound ("being prepared"). The actor needs BillingRead.
func InvoicePDFOpen(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*files.Reader, error) {
	var fileID *store.ID
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		inv, err := invoiceGetTx(ctx, tx, id, false)
		if err != nil {
			return err
		}
		if inv.PDFFileID == nil {
			return store.Errorf(store.NotFound, "The PDF of this invoice is being prepared. Try again in a moment.")
		}
		fileID = inv.PDFFileID
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files.Open(ctx, db, scope, *fileID)
}

// InvoiceSendArgs is the job that e-mails an invoice's PDF for one send request.
type InvoiceSendArgs struct {
	TenantID store.ID `json:"tenant_id"`
	SendID   store.ID `json:"send_id"`
}

// Kind is the River job kind.
func (InvoiceSendArgs) Kind() string { return "billing_invoice_send" }

// InsertOpts: the e-mail queue, retries for about a day, one job per request.
func (InvoiceSendArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: "email", MaxAttempts: 20, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// InvoiceSendParams ask for an invoice to be e-mailed; To "" sends to the customer's address.
type InvoiceSendParams struct {
	InvoiceID store.ID
	To        string
}

// InvoiceSendRequest records a request to e-mail an issued invoice and enqueues its job in the same
// transaction. The actor needs BillingWrite.
func InvoiceSendRequest(ctx context.Context, db *store.DB, scope store.Scope, p InvoiceSendParams) (*Send, error) {
	var s Send
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingWrite); err != nil {
			return err
		}
		inv, err := invoiceGetTx(ctx, tx, p.InvoiceID, false)
		if err != nil {
			return err
		}
		if inv.Status == StatusDraft || inv.Status == StatusVoid {
			return store.Errorf(store.Invalid, "Only an issued invoice can be sent; this one is %s.", strings.ToLower(inv.Status.Label()))
		}
		to := strings.TrimSpace(p.To)
		if to == "" {
			cust, err := customerGetTx(ctx, tx, inv.CustomerID, false)
			if err != nil {
				return err
			}
			to = cust.Email
		}
		if a, err := mail.ParseAddress(to); to == "" || err != nil || a.Address != to {
			return (store.FieldErrors{"to": "Enter the e-mail address to send the invoice to (the customer has none on file)."}).Err()
		}
		if err := tx.GetContext(ctx, &s, `INSERT INTO billing_invoice_sends (id, invoice_id, recipient, requested_by)
			VALUES ($1, $2, $3, $4) RETURNING id, recipient, requested_at, attempts, last_error, sent_at`,
			store.NewID(), inv.ID, to, actorOf(tx)); err != nil {
			return fmt.Errorf("error requesting e-mail of invoice %s: %w", inv.ID, err)
		}
		if err := tx.Enqueue(ctx, InvoiceSendArgs{TenantID: tx.Scope.TenantID, SendID: s.ID}, nil); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "billing.invoice_send_request", EntityType: "billing_invoice",
			EntityID: inv.ID.String(), After: map[string]any{"send_id": s.ID, "to": to}})
	})
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// SendMessage is an invoice e-mail ready to go out.
type SendMessage struct {
	SendID           store.ID
	InvoiceID        store.ID
	To, Subject      string
	Text             string
	FileName         string
	PDF              []byte
	AlreadyDelivered bool
}

// InvoiceSendPrepare loads a send request for its job: nil-free, with AlreadyDelivered set when an
// earlier attempt was recorded as sent (the job then does nothing). It renders the PDF first if the PDF
// job has not yet. Jobs run it as the system.
func InvoiceSendPrepare(ctx context.Context, db *store.DB, scope store.Scope, sendID store.ID) (*SendMessage, error) {
	var m SendMessage
	var inv *Invoice
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		var row struct {
			InvoiceID store.ID   `db:"invoice_id"`
			Recipient string     `db:"recipient"`
			SentAt    *time.Time `db:"sent_at"`
		}
		if err := store.Get(ctx, tx, &row, "No such e-mail request.", `SELECT invoice_id, recipient, sent_at FROM billing_invoice_sends
			WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, sendID); err != nil {
			return err
		}
		m.SendID, m.InvoiceID, m.To, m.AlreadyDelivered = sendID, row.InvoiceID, row.Recipient, row.SentAt != nil
		var err error
		inv, err = invoiceGetTx(ctx, tx, row.InvoiceID, false)
		return err
	})
	if err != nil || m.AlreadyDelivered {
		return &m, err
	}
	fileID, err := InvoicePDFEnsure(ctx, db, scope, inv.ID)
	if err != nil {
		return nil, err
	}
	r, err := files.Open(ctx, db, scope, fileID)
	if err != nil {
		return nil, err
	}
	if m.PDF, err = io.ReadAll(r); err != nil {
		return nil, fmt.Errorf("error reading PDF of invoice %s: %w", inv.ID, err)
	}
	var seller string
	if err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &seller, `SELECT name FROM tenants WHERE id = $1`, tx.Scope.TenantID)
	}); err != nil {
		return nil, fmt.Errorf("error loading tenant name: %w", err)
	}
	amount := inv.Currency + " " + store.FormatMinorUnits(inv.Total, store.CurrencyDigits(inv.Currency))
	m.FileName = *inv.Number + ".pdf"
	m.Subject = fmt.Sprintf("Invoice %s from %s", *inv.Number, seller)
	m.Text = fmt.Sprintf("Hello %s,\n\nplease find attached invoice %s over %s, due on %s.\n\nKind regards,\n%s\n",
		inv.CustomerName, *inv.Number, amount, inv.DueDate.Format("2 January 2006"), seller)
	return &m, nil
}

// InvoiceSendDone records that the request's e-mail was handed to the SMTP server. It changes only a
// request not yet marked sent, so the timeline shows one "sent" per request.
func InvoiceSendDone(ctx context.Context, db *store.DB, scope store.Scope, sendID store.ID) error {
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		var invoiceID store.ID
		err := tx.GetContext(ctx, &invoiceID, `UPDATE billing_invoice_sends SET sent_at = now(), attempts = attempts + 1, last_error = ''
			WHERE tenant_id = $1 AND id = $2 AND sent_at IS NULL RETURNING invoice_id`, tx.Scope.TenantID, sendID)
		if err != nil {
			if strings.Contains(err.Error(), "no rows") {
				return nil
			}
			return fmt.Errorf("error marking e-mail %s sent: %w", sendID, err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "billing.invoice_sent", EntityType: "billing_invoice",
			EntityID: invoiceID.String(), After: map[string]any{"send_id": sendID}})
	})
}

// InvoiceSendFailed notes a failed attempt; the invoice page shows "sending failed, retrying".
func InvoiceSendFailed(ctx context.Context, db *store.DB, scope store.Scope, sendID store.ID, msg string) error {
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE billing_invoice_sends SET attempts = attempts + 1, last_error = left($3, 500)
			WHERE tenant_id = $1 AND id = $2 AND sent_at IS NULL`, tx.Scope.TenantID, sendID, msg)
		return err
	})
}
