package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/billing"
)

// InvoiceSendWorker e-mails an invoice's PDF for one send request, once: the request records when its
// message was handed to the SMTP server, and a retried or duplicated job for a request already sent does
// nothing. SMTP has no transaction to join, so the one window left is a crash between the server's
// acceptance and the recording; the recording is retried a few times at once to keep it small, and the
// Message-ID is derived from the request, so a receiver can recognise a repeat as the same message.
type InvoiceSendWorker struct {
	river.WorkerDefaults[billing.InvoiceSendArgs]
	DB     *store.DB
	Mailer *Mailer
}

// Work sends the message and records it.
func (w *InvoiceSendWorker) Work(ctx context.Context, job *river.Job[billing.InvoiceSendArgs]) error {
	scope := store.Scope{TenantID: job.Args.TenantID}
	m, err := billing.InvoiceSendPrepare(ctx, w.DB, scope, job.Args.SendID)
	if code := store.ErrorCode(err); code == store.NotFound || code == store.Invalid {
		return river.JobCancel(fmt.Errorf("error preparing invoice e-mail %s: %w", job.Args.SendID, err))
	}
	if err != nil {
		_ = billing.InvoiceSendFailed(context.WithoutCancel(ctx), w.DB, scope, job.Args.SendID, "preparing the e-mail failed, retrying")
		return err
	}
	if m.AlreadyDelivered {
		return nil
	}
	err = w.Mailer.SendMessage(ctx, Message{To: m.To, Subject: m.Subject, Text: m.Text, MessageID: "invoice-send-" + m.SendID.String(),
		Attachments: []Attachment{{Name: m.FileName, ContentType: "application/pdf", Data: m.PDF}}})
	if err != nil {
		_ = billing.InvoiceSendFailed(context.WithoutCancel(ctx), w.DB, scope, job.Args.SendID, "sending failed, retrying")
		return err
	}
	// The message is out: record it even if the job's context is ending.
	rctx := context.WithoutCancel(ctx)
	for attempt := 1; ; attempt++ {
		err = billing.InvoiceSendDone(rctx, w.DB, scope, job.Args.SendID)
		if err == nil || attempt == 5 {
			return err
		}
		time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
	}
}

// Timeout bounds one attempt.
func (w *InvoiceSendWorker) Timeout(*river.Job[billing.InvoiceSendArgs]) time.Duration {
	return 2 * time.Minute
}
