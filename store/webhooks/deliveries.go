package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/events"
	"ledgerline/store/identity"
	"ledgerline/store/notify"
)

// MaxAttempts is how often a delivery is tried. With Backoff's schedule the attempts span about a day.
const MaxAttempts = 10

// DisableAfter is how many deliveries in a row may fail for good before the endpoint is disabled and its
// tenant's admins are told.
const DisableAfter = 5

// Backoff is the wait after failed attempt n (1-based): 30 s, tripling each time, at most 8 hours. The nine
// waits of a delivery add up to about 24 hours.
func Backoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := time.Duration(float64(30*time.Second) * math.Pow(3, float64(attempt-1)))
	if d > 8*time.Hour || d <= 0 {
		d = 8 * time.Hour
	}
	return d
}

// Delivery states.
const (
	StatePending   = "pending"
	StateRetrying  = "retrying"
	StateSucceeded = "succeeded"
	StateFailed    = "failed"
)

// Delivery is one event sent (or being sent) to one endpoint.
type Delivery struct {
	ID             store.ID   `db:"id" json:"id"`
	EndpointID     store.ID   `db:"endpoint_id" json:"endpoint_id"`
	EventID        store.ID   `db:"event_id" json:"event_id"`
	EventType      string     `db:"event_type" json:"event_type"`
	ResendOf       *store.ID  `db:"resend_of" json:"resend_of"`
	State          string     `db:"state" json:"state"`
	Attempts       int        `db:"attempts" json:"attempts"`
	RequestBody    string     `db:"request_body" json:"request_body"`
	LastAttemptAt  *time.Time `db:"last_attempt_at" json:"last_attempt_at"`
	NextAttemptAt  *time.Time `db:"next_attempt_at" json:"next_attempt_at"`
	ResponseStatus *int       `db:"response_status" json:"response_status"`
	ResponseMS     *int       `db:"response_ms" json:"response_ms"`
	ResponseBody   string     `db:"response_body" json:"response_body"`
	Error          string     `db:"error" json:"error"`
	CreatedAt      time.Time  `db:"created_at" json:"created_at"`
	FinishedAt     *time.Time `db:"finished_at" json:"finished_at"`
}

const deliveryColumns = `id, endpoint_id, event_id, event_type, resend_of, state, attempts, request_body, last_attempt_at,
	next_attempt_at, response_status, response_ms, response_body, error, created_at, finished_at`

// DeliverArgs is the job that attempts one delivery.
type DeliverArgs struct {
	TenantID   store.ID `json:"tenant_id"`
	DeliveryID store.ID `json:"delivery_id"`
}

// Kind is the River job kind.
func (DeliverArgs) Kind() string { return "webhook_deliver" }

// InsertOpts: deliveries have their own queue, so a hanging receiver never holds up other jobs.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: "webhooks", MaxAttempts: MaxAttempts}
}

// Payload is the JSON body receivers get.
type Payload struct {
	ID        store.ID        `json:"id"`
	Type      events.Type     `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	TenantID  store.ID        `json:"tenant_id"`
	Data      json.RawMessage `json:"data"`
}

// FanOut creates one delivery of the event for every enabled endpoint of the tenant that subscribes to
// its type, and enqueues their jobs. It is idempotent: running it again for the same event adds nothing.
func FanOut(ctx context.Context, db *store.DB, tenantID, eventID store.ID) (int, error) {
	n := 0
	err := db.InTenant(ctx, store.Scope{TenantID: tenantID}, func(tx *store.Tx) error {
		n = 0
		ev, err := events.Get(ctx, tx, eventID)
		if err != nil {
			return err
		}
		body, err := json.Marshal(Payload{ID: ev.ID, Type: ev.Type, Timestamp: ev.OccurredAt.UTC(), TenantID: ev.TenantID, Data: ev.Data})
		if err != nil {
			return fmt.Errorf("error encoding event %s: %w", ev.ID, err)
		}
		var endpoints []store.ID
		if err := tx.SelectContext(ctx, &endpoints, `
			SELECT id FROM webhook_endpoints
			WHERE tenant_id = $1 AND enabled AND deleted_at IS NULL AND $2 = ANY (event_types)
			ORDER BY id`, tenantID, string(ev.Type)); err != nil {
			return fmt.Errorf("error listing endpoints for event %s: %w", ev.ID, err)
		}
		for _, ep := range endpoints {
			id := store.NewID()
			res, err := tx.ExecContext(ctx, `
				INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, request_body)
				VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (tenant_id, endpoint_id, event_id) WHERE resend_of IS NULL DO NOTHING`,
				id, ep, ev.ID, ev.Type, string(body))
			if err != nil {
				return fmt.Errorf("error creating delivery of event %s to endpoint %s: %w", ev.ID, ep, err)
			}
			if k, _ := res.RowsAffected(); k == 0 {
				continue
			}
			if err := tx.Enqueue(ctx, DeliverArgs{TenantID: tenantID, DeliveryID: id}, nil); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// Attempt is what the delivery worker needs for one attempt: where to send, what, and the signatures.
// Skip is set when there is nothing to do (already delivered or given up, endpoint disabled or deleted).
type Attempt struct {
	Skip       bool
	URL        string
	MessageID  string // webhook-id: the event id, the same for every attempt and resend
	Timestamp  time.Time
	Body       []byte
	Signatures string // webhook-signature: one "v1,…" per signing secret, space-separated
}

// AttemptPrepare loads a delivery for an attempt and signs its body with the endpoint's current secrets.
func AttemptPrepare(ctx context.Context, db *store.DB, tenantID, deliveryID store.ID, now time.Time) (*Attempt, error) {
	var a Attempt
	err := db.InTenant(ctx, store.Scope{TenantID: tenantID}, func(tx *store.Tx) error {
		var row struct {
			State      string     `db:"state"`
			Body       string     `db:"request_body"`
			EventID    store.ID   `db:"event_id"`
			EndpointID store.ID   `db:"endpoint_id"`
			URL        string     `db:"url"`
			Enabled    bool       `db:"enabled"`
			DeletedAt  *time.Time `db:"deleted_at"`
		}
		if err := store.Get(ctx, tx, &row, "No such delivery.", `
			SELECT d.state, d.request_body, d.event_id, d.endpoint_id, e.url, e.enabled, e.deleted_at
			FROM webhook_deliveries d JOIN webhook_endpoints e ON e.tenant_id = d.tenant_id AND e.id = d.endpoint_id
			WHERE d.tenant_id = $1 AND d.id = $2`, tenantID, deliveryID); err != nil {
			return err
		}
		if row.State == StateSucceeded || row.State == StateFailed || !row.Enabled || row.DeletedAt != nil {
			a.Skip = true
			return nil
		}
		secrets, err := signingSecrets(ctx, tx, row.EndpointID, now)
		if err != nil {
			return err
		}
		a.URL, a.MessageID, a.Timestamp, a.Body = row.URL, row.EventID.String(), now, []byte(row.Body)
		for i, s := range secrets {
			sig, err := Sign(s, a.MessageID, now, a.Body)
			if err != nil {
				return err
			}
			if i > 0 {
				a.Signatures += " "
			}
			a.Signatures += sig
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// AttemptResult is the outcome of one attempt. Status is 0 when no response came (Err says why).
type AttemptResult struct {
	Status   int
	Duration time.Duration
	Body     string
	Err      string
	// Final is set on the last attempt: a failure then fails the delivery for good.
	Final bool
	// Attempt is the job's attempt number, for next_attempt_at.
	Attempt int
}

// Succeeded reports whether the receiver accepted the delivery (any 2xx).
func (r AttemptResult) Succeeded() bool {
	return r.Err == "" && r.Status >= 200 && r.Status < 300
}

// responseBodyMax is how much of a receiver's answer the log keeps.
const responseBodyMax = 2048

// AttemptRecord writes an attempt's outcome. A success resets the endpoint's failure count; a final
// failure counts against the endpoint, and the DisableAfter-th in a row disables it and tells the admins.
func AttemptRecord(ctx context.Context, db *store.DB, tenantID, deliveryID store.ID, r AttemptResult) error {
	return db.InTenant(ctx, store.Scope{TenantID: tenantID}, func(tx *store.Tx) error {
		var endpointID store.ID
		var state string
		if err := store.Get(ctx, tx, &endpointID, "No such delivery.", `
			SELECT endpoint_id FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
			tenantID, deliveryID); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &state, `SELECT state FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2`,
			tenantID, deliveryID); err != nil {
			return fmt.Errorf("error reading delivery %s: %w", deliveryID, err)
		}
		if state == StateSucceeded || state == StateFailed {
			return nil
		}
		body := r.Body
		if len(body) > responseBodyMax {
			body = body[:responseBodyMax]
		}
		for !utf8.ValidString(body) && len(body) > 0 {
			body = body[:len(body)-1]
		}
		var status, ms *int
		if r.Status != 0 {
			status = &r.Status
		}
		m := int(r.Duration / time.Millisecond)
		ms = &m
		newState, now := StateRetrying, time.Now()
		var next *time.Time
		switch {
		case r.Succeeded():
			newState = StateSucceeded
		case r.Final:
			newState = StateFailed
		default:
			t := now.Add(Backoff(r.Attempt))
			next = &t
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE webhook_deliveries SET state = $3::text, attempts = attempts + 1, last_attempt_at = $4::timestamptz,
				next_attempt_at = $5, response_status = $6, response_ms = $7, response_body = $8, error = $9,
				finished_at = CASE WHEN $3::text IN ('succeeded', 'failed') THEN $4::timestamptz END
			WHERE tenant_id = $1 AND id = $2`,
			tenantID, deliveryID, newState, now, next, status, ms, body, truncate(r.Err, 500)); err != nil {
			return fmt.Errorf("error recording attempt of delivery %s: %w", deliveryID, err)
		}
		switch newState {
		case StateSucceeded:
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET consecutive_failures = 0
				WHERE tenant_id = $1 AND id = $2 AND consecutive_failures <> 0`, tenantID, endpointID); err != nil {
				return fmt.Errorf("error resetting failures of endpoint %s: %w", endpointID, err)
			}
		case StateFailed:
			return endpointFailure(ctx, tx, endpointID)
		}
		return nil
	})
}

// endpointFailure counts a delivery that failed for good and disables the endpoint at DisableAfter.
func endpointFailure(ctx context.Context, tx *store.Tx, endpointID store.ID) error {
	var ep struct {
		Failures int    `db:"consecutive_failures"`
		Enabled  bool   `db:"enabled"`
		URL      string `db:"url"`
	}
	if err := tx.GetContext(ctx, &ep, `
		UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1
		WHERE tenant_id = $1 AND id = $2 RETURNING consecutive_failures, enabled, url`,
		tx.Scope.TenantID, endpointID); err != nil {
		return fmt.Errorf("error counting failure of endpoint %s: %w", endpointID, err)
	}
	if ep.Failures < DisableAfter || !ep.Enabled {
		return nil
	}
	reason := fmt.Sprintf("Disabled automatically after %d deliveries in a row failed.", ep.Failures)
	if _, err := tx.ExecContext(ctx, `
		UPDATE webhook_endpoints SET enabled = false, disabled_reason = $3, updated_at = now(), version = version + 1
		WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, endpointID, reason); err != nil {
		return fmt.Errorf("error disabling endpoint %s: %w", endpointID, err)
	}
	if err := audit.Record(ctx, tx, audit.RecordParams{
		Action: "webhook_endpoint.disable", EntityType: "webhook_endpoint", EntityID: endpointID.String(),
		After: map[string]any{"enabled": false, "reason": reason},
	}); err != nil {
		return err
	}
	admins, err := notify.RecipientsTx(ctx, tx, string(identity.RoleAdmin))
	if err != nil {
		return err
	}
	link := "/admin/webhooks/" + endpointID.String()
	text := "The webhook endpoint " + ep.URL + " was disabled: " + reason +
		" Check the receiver, then enable the endpoint again on its page; deliveries from the log can be resent."
	for _, a := range admins {
		if err := notify.InApp(ctx, tx, notify.InAppParams{
			UserID: a.UserID, Kind: "webhooks.endpoint_disabled", Title: "Webhook endpoint disabled", Body: text, Link: link,
		}); err != nil {
			return err
		}
		if err := notify.Email(ctx, tx, notify.EmailParams{
			To: a.Email, Subject: "Webhook endpoint disabled", Text: "Hello " + a.Name + ",\n\n" + text + "\n",
		}); err != nil {
			return err
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return s
}

// DeliveryListParams pages through an endpoint's deliveries, newest first. After is the last id of the
// previous page.
type DeliveryListParams struct {
	EndpointID store.ID
	After      string
	Limit      int
}

// DeliveryListResult is one page and the cursor of the next ("" at the end).
type DeliveryListResult struct {
	Deliveries []Delivery
	Next       string
}

// DeliveryList returns a page of an endpoint's delivery log. The actor needs AdminSettings.
func DeliveryList(ctx context.Context, db *store.DB, scope store.Scope, p DeliveryListParams) (*DeliveryListResult, error) {
	if p.Limit <= 0 || p.Limit > 200 {
		p.Limit = 50
	}
	var after *store.ID
	if p.After != "" {
		id, err := store.ParseID(p.After)
		if err != nil {
			return nil, (store.FieldErrors{"cursor": "The page cursor is malformed; start from the first page."}).Err()
		}
		after = &id
	}
	res := &DeliveryListResult{}
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx); err != nil {
			return err
		}
		if _, err := endpointGetTx(ctx, tx, p.EndpointID); err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &res.Deliveries, `SELECT `+deliveryColumns+` FROM webhook_deliveries
			WHERE tenant_id = $1 AND endpoint_id = $2 AND ($3::uuid IS NULL OR id < $3)
			ORDER BY id DESC LIMIT $4`, tx.Scope.TenantID, p.EndpointID, after, p.Limit+1); err != nil {
			return fmt.Errorf("error listing deliveries of endpoint %s: %w", p.EndpointID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(res.Deliveries) > p.Limit {
		res.Deliveries = res.Deliveries[:p.Limit]
		res.Next = res.Deliveries[p.Limit-1].ID.String()
	}
	return res, nil
}

// DeliveryGet returns one delivery. The actor needs AdminSettings.
func DeliveryGet(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*Delivery, error) {
	var d Delivery
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx); err != nil {
			return err
		}
		return store.Get(ctx, tx, &d, "No such delivery.", `SELECT `+deliveryColumns+` FROM webhook_deliveries
			WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, id)
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// Resend delivers a delivery's event again to its endpoint as a new delivery with the same webhook-id and
// body (signed anew). The endpoint must be enabled. The actor needs AdminSettings.
func Resend(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*Delivery, error) {
	var out Delivery
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx); err != nil {
			return err
		}
		var orig Delivery
		if err := store.Get(ctx, tx, &orig, "No such delivery.", `SELECT `+deliveryColumns+` FROM webhook_deliveries
			WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, id); err != nil {
			return err
		}
		ep, err := endpointGetTx(ctx, tx, orig.EndpointID)
		if err != nil {
			return err
		}
		if ep.DeletedAt != nil || !ep.Enabled {
			return store.Errorf(store.Conflict, "The endpoint is disabled. Enable it first, then resend.")
		}
		newID := store.NewID()
		root := orig.ID
		if orig.ResendOf != nil {
			root = *orig.ResendOf
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, request_body, resend_of)
			VALUES ($1, $2, $3, $4, $5, $6)`, newID, orig.EndpointID, orig.EventID, orig.EventType, orig.RequestBody, root); err != nil {
			return fmt.Errorf("error creating resend of delivery %s: %w", id, err)
		}
		if err := tx.Enqueue(ctx, DeliverArgs{TenantID: tx.Scope.TenantID, DeliveryID: newID}, nil); err != nil {
			return err
		}
		if err := store.Get(ctx, tx, &out, "No such delivery.", `SELECT `+deliveryColumns+` FROM webhook_deliveries
			WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, newID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: "webhook_delivery.resend", EntityType: "webhook_endpoint", EntityID: orig.EndpointID.String(),
			After: map[string]string{"delivery_id": newID.String(), "resend_of": id.String(), "event_id": orig.EventID.String()},
		})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
