// Package events owns the business events that other systems may follow: invoice.issued, approval.decided,
// stock.low and the rest. A domain records an event with Record in the same transaction as the change that
// causes it, so the event exists exactly when the change does. Outgoing webhooks deliver them.
//
// Like store/audit, this is shared base every domain may use; it must not import a domain package.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
)

// Type names a kind of event, "<entity>.<what happened>".
type Type string

// The event types endpoints can subscribe to.
const (
	InvoiceIssued     Type = "invoice.issued"
	InvoicePaid       Type = "invoice.paid"
	InvoiceVoided     Type = "invoice.voided"
	PaymentRecorded   Type = "payment.recorded"
	CreditNoteIssued  Type = "credit_note.issued"
	ApprovalRequested Type = "approval.requested"
	ApprovalDecided   Type = "approval.decided"
	StockLow          Type = "stock.low"
	ExportFinished    Type = "export.finished"
	UserDeactivated   Type = "user.deactivated"
)

// Types lists every event type, in the order screens show them.
var Types = []Type{
	InvoiceIssued, InvoicePaid, InvoiceVoided, PaymentRecorded, CreditNoteIssued,
	ApprovalRequested, ApprovalDecided, StockLow, ExportFinished, UserDeactivated,
}

var typePattern = regexp.MustCompile(`^[a-z_]+(\.[a-z_]+)+$`)

// Event is one recorded event. Data is the event's JSON object.
type Event struct {
	ID         store.ID        `db:"id" json:"id"`
	TenantID   store.ID        `db:"tenant_id" json:"tenant_id"`
	Type       Type            `db:"type" json:"type"`
	OccurredAt time.Time       `db:"occurred_at" json:"occurred_at"`
	Data       json.RawMessage `db:"data" json:"data"`
}

// RecordParams describes an event. Data must encode as a JSON object: it is what receivers get.
type RecordParams struct {
	Type Type
	Data any
}

// Record writes an event in tx for tx's tenant and returns its id.
func Record(ctx context.Context, tx *store.Tx, p RecordParams) (store.ID, error) {
	if !typePattern.MatchString(string(p.Type)) {
		return store.ID{}, fmt.Errorf("error recording event: malformed type %q", p.Type)
	}
	data, err := json.Marshal(p.Data)
	if err != nil {
		return store.ID{}, fmt.Errorf("error encoding event %s: %w", p.Type, err)
	}
	if len(data) == 0 || data[0] != '{' {
		return store.ID{}, fmt.Errorf("error recording event %s: data is not a JSON object", p.Type)
	}
	id := store.NewID()
	if _, err := tx.ExecContext(ctx, `INSERT INTO events (id, type, data) VALUES ($1, $2, $3)`, id, p.Type, data); err != nil {
		return store.ID{}, fmt.Errorf("error recording event %s: %w", p.Type, err)
	}
	// The fan-out to webhook endpoints is a job in the same transaction: it exists exactly when the event
	// does, and a rolled-back change sends nothing.
	if err := tx.Enqueue(ctx, FanOutArgs{TenantID: tx.Scope.TenantID, EventID: id}, nil); err != nil {
		return store.ID{}, err
	}
	return id, nil
}

// FanOutArgs is the job that turns a recorded event into one webhook delivery per subscribed endpoint.
type FanOutArgs struct {
	TenantID store.ID `json:"tenant_id"`
	EventID  store.ID `json:"event_id"`
}

// Kind is the River job kind.
func (FanOutArgs) Kind() string { return "event_fan_out" }

// InsertOpts puts the fan-out on the webhooks queue.
func (FanOutArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: "webhooks"}
}

// Get returns one event of tx's tenant.
func Get(ctx context.Context, tx *store.Tx, id store.ID) (*Event, error) {
	var ev Event
	if err := store.Get(ctx, tx, &ev, "No such event.",
		`SELECT id, tenant_id, type, occurred_at, data FROM events WHERE id = $1`, id); err != nil {
		return nil, err
	}
	return &ev, nil
}
