package jobs_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"ledgerline/jobs"
	"ledgerline/store"
	"ledgerline/store/billing"
	"ledgerline/store/identity"
	"ledgerline/store/storetest"
)

func mailpitAPI() string {
	if u := os.Getenv("MAILPIT_URL"); u != "" {
		return strings.TrimSuffix(u, "/") + "/api/v1"
	}
	return "http://127.0.0.1:58025/api/v1"
}

func testSMTP(t *testing.T) *url.URL {
	raw := os.Getenv("SMTP_URL")
	if raw == "" {
		raw = "smtp://127.0.0.1:51025"
	}
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u
}

type mailpitMessage struct {
	ID          string `json:"ID"`
	MessageID   string `json:"MessageID"`
	Subject     string `json:"Subject"`
	Attachments []struct {
		PartID      string `json:"PartID"`
		FileName    string `json:"FileName"`
		ContentType string `json:"ContentType"`
	} `json:"Attachments"`
}

func mailpitGet(t *testing.T, path string, into any) []byte {
	t.Helper()
	res, err := http.Get(mailpitAPI() + path)
	require.NoError(t, err, "is mailpit running?")
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	if into != nil {
		require.NoError(t, json.Unmarshal(b, into))
	}
	return b
}

func mailsTo(t *testing.T, addr string) []string {
	var s struct {
		Messages []struct {
			ID string `json:"ID"`
		} `json:"messages"`
	}
	mailpitGet(t, "/search?query="+url.QueryEscape("to:"+addr), &s)
	var ids []string
	for _, m := range s.Messages {
		ids = append(ids, m.ID)
	}
	return ids
}

// TestInvoiceSendDeliversPDFOnce e-mails an invoice through the local SMTP server (mailpit): the message
// arrives with the PDF attached and the PDF's text holds the invoice number. A failed attempt is noted as
// "retrying"; a retried job after success sends nothing more.
func TestInvoiceSendDeliversPDFOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t).DB
	ten, err := identity.TenantCreate(ctx, db, store.Scope{}, identity.TenantCreateParams{
		Name: "Mailing Co", Slug: "mailing", TimeZone: "UTC", Currency: "EUR"})
	require.NoError(t, err)
	sys := store.Scope{TenantID: ten.ID}
	rate, err := billing.TaxRateCreate(ctx, db, sys, billing.TaxRateCreateParams{Name: "Standard", RateBP: 1900})
	require.NoError(t, err)
	addr := "ap-" + store.NewID().String()[:8] + "@customer.example"
	cust, err := billing.CustomerCreate(ctx, db, sys, billing.CustomerFields{Name: "Customer", Email: addr, Currency: "EUR"})
	require.NoError(t, err)
	inv, err := billing.InvoiceCreate(ctx, db, sys, billing.InvoiceCreateParams{CustomerID: cust.ID})
	require.NoError(t, err)
	_, err = billing.InvoiceLineAdd(ctx, db, sys, inv.ID, 0, billing.LineParams{Description: "Service", Quantity: billing.Units(1),
		UnitPrice: 25000, TaxRateID: rate.ID})
	require.NoError(t, err)
	inv, err = billing.InvoiceIssue(ctx, db, sys, billing.InvoiceIssueParams{ID: inv.ID})
	require.NoError(t, err)
	send, err := billing.InvoiceSendRequest(ctx, db, sys, billing.InvoiceSendParams{InvoiceID: inv.ID})
	require.NoError(t, err)
	job := &river.Job[billing.InvoiceSendArgs]{JobRow: &rivertype.JobRow{ID: 1}, Args: billing.InvoiceSendArgs{TenantID: ten.ID, SendID: send.ID}}

	// The SMTP server is down: the attempt fails and the invoice shows it is retrying.
	down := &jobs.InvoiceSendWorker{DB: db, Mailer: &jobs.Mailer{URL: &url.URL{Scheme: "smtp", Host: "127.0.0.1:1"}, From: "Billing <billing@ledgerline.test>"}}
	require.Error(t, down.Work(ctx, job))
	d, err := billing.InvoiceGet(ctx, db, sys, inv.ID)
	require.NoError(t, err)
	require.True(t, d.Sends[0].Retrying())
	require.NotNil(t, d.PDFFileID, "the send rendered the PDF it needed")

	w := &jobs.InvoiceSendWorker{DB: db, Mailer: &jobs.Mailer{URL: testSMTP(t), From: "Billing <billing@ledgerline.test>"}}
	require.NoError(t, w.Work(ctx, job))
	require.NoError(t, w.Work(ctx, job), "a retried job finds the request sent")

	var ids []string
	for deadline := time.Now().Add(10 * time.Second); ; {
		if ids = mailsTo(t, addr); len(ids) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	ids = mailsTo(t, addr)
	require.Len(t, ids, 1, "exactly one message per request")
	var m mailpitMessage
	mailpitGet(t, "/message/"+url.PathEscape(ids[0]), &m)
	require.Contains(t, m.Subject, *inv.Number)
	require.Equal(t, "invoice-send-"+send.ID.String()+"@ledgerline", m.MessageID)
	require.Len(t, m.Attachments, 1)
	require.Equal(t, *inv.Number+".pdf", m.Attachments[0].FileName)
	require.Equal(t, "application/pdf", m.Attachments[0].ContentType)
	pdf := mailpitGet(t, "/message/"+url.PathEscape(ids[0])+"/part/"+url.PathEscape(m.Attachments[0].PartID), nil)
	require.True(t, strings.HasPrefix(string(pdf), "%PDF-"))
	require.Contains(t, string(pdf), *inv.Number)

	d, err = billing.InvoiceGet(ctx, db, sys, inv.ID)
	require.NoError(t, err)
	require.NotNil(t, d.Sends[0].SentAt)
	require.False(t, d.Sends[0].Retrying())
}

func TestInvoicePDFWorker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t).DB
	ten, err := identity.TenantCreate(ctx, db, store.Scope{}, identity.TenantCreateParams{
		Name: "PDF Co", Slug: "pdfco", TimeZone: "UTC", Currency: "JPY"})
	require.NoError(t, err)
	sys := store.Scope{TenantID: ten.ID}
	rate, err := billing.TaxRateCreate(ctx, db, sys, billing.TaxRateCreateParams{Name: "Consumption", RateBP: 1000})
	require.NoError(t, err)
	cust, err := billing.CustomerCreate(ctx, db, sys, billing.CustomerFields{Name: "株式会社 Example", Currency: "JPY"})
	require.NoError(t, err)
	inv, err := billing.InvoiceCreate(ctx, db, sys, billing.InvoiceCreateParams{CustomerID: cust.ID})
	require.NoError(t, err)
	_, err = billing.InvoiceLineAdd(ctx, db, sys, inv.ID, 0, billing.LineParams{Description: "Beratung – Ümlaut", Quantity: billing.Units(3),
		UnitPrice: 333, TaxRateID: rate.ID})
	require.NoError(t, err)
	w := &jobs.InvoicePDFWorker{DB: db}
	draftJob := &river.Job[billing.InvoicePDFArgs]{JobRow: &rivertype.JobRow{ID: 1}, Args: billing.InvoicePDFArgs{TenantID: ten.ID, InvoiceID: inv.ID}}
	var cancel *river.JobCancelError
	require.ErrorAs(t, w.Work(ctx, draftJob), &cancel, "a draft has no PDF: the job gives up")
	inv, err = billing.InvoiceIssue(ctx, db, sys, billing.InvoiceIssueParams{ID: inv.ID})
	require.NoError(t, err)
	require.NoError(t, w.Work(ctx, draftJob))
	first, err := billing.InvoiceGet(ctx, db, sys, inv.ID)
	require.NoError(t, err)
	require.NotNil(t, first.PDFFileID)
	require.NoError(t, w.Work(ctx, draftJob))
	again, err := billing.InvoiceGet(ctx, db, sys, inv.ID)
	require.NoError(t, err)
	require.Equal(t, *first.PDFFileID, *again.PDFFileID, "a repeated job keeps the first PDF")
	// The issue enqueued the job in its transaction.
	var n int
	require.NoError(t, db.X.GetContext(ctx, &n, `SELECT count(*) FROM river_job WHERE kind = 'billing_invoice_pdf'`))
	require.Equal(t, 1, n)
}
