// Package webhooks owns outgoing webhooks: the endpoints a tenant's admins register, their signing secrets
// (shown once, rotatable with an overlap window in which both sign), the fan-out of recorded events into
// one delivery per subscribed endpoint, and each delivery's attempts, log and resend. Requests are signed
// after the Standard Webhooks scheme (webhook-id, webhook-timestamp, webhook-signature).
//
// The package does not send HTTP itself: the delivery worker in jobs/ does, through Guard's dialer, and
// records each attempt here. It must not import a business domain.
package webhooks

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lib/pq"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/events"
	"ledgerline/store/identity"
)

// SecretPrefix starts every signing secret (the Standard Webhooks convention).
const SecretPrefix = "whsec_"

// RotationOverlapMax is the longest overlap window of a secret rotation.
const RotationOverlapMax = 7 * 24 * time.Hour

// Endpoint is a receiver registered by an admin. The secrets are never part of it.
type Endpoint struct {
	ID                  store.ID       `db:"id" json:"id"`
	URL                 string         `db:"url" json:"url"`
	Description         string         `db:"description" json:"description"`
	EventTypes          pq.StringArray `db:"event_types" json:"event_types"`
	Enabled             bool           `db:"enabled" json:"enabled"`
	DisabledReason      string         `db:"disabled_reason" json:"disabled_reason"`
	ConsecutiveFailures int            `db:"consecutive_failures" json:"consecutive_failures"`
	PreviousExpiresAt   *time.Time     `db:"previous_secret_expires_at" json:"previous_secret_expires_at"`
	CreatedAt           time.Time      `db:"created_at" json:"created_at"`
	UpdatedAt           time.Time      `db:"updated_at" json:"updated_at"`
	DeletedAt           *time.Time     `db:"deleted_at" json:"deleted_at"`
	Version             int            `db:"version" json:"version"`
}

const endpointColumns = `id, url, description, event_types, enabled, disabled_reason, consecutive_failures,
	previous_secret_expires_at, created_at, updated_at, deleted_at, version`

// errNotAllowed is the message for an actor without AdminSettings.
func permit(ctx context.Context, tx *store.Tx) error {
	return identity.Permit(ctx, tx, identity.AdminSettings)
}

// newSecret returns a new signing secret: the prefix and 24 random bytes in standard base64.
func newSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretKey returns the HMAC key of a secret: the bytes its base64 part encodes.
func secretKey(secret string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
}

// Sign returns the Standard Webhooks signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>".
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", fmt.Errorf("error decoding webhook secret: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Verify checks a webhook-signature header (space-separated signatures) against secret, and that ts is
// within tolerance of now, as a receiver does. Ledgerline's own tests use it; it is exported for receivers
// written in Go.
func Verify(secret, msgID string, ts time.Time, body []byte, header string, now time.Time, tolerance time.Duration) bool {
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return false
	}
	want, err := Sign(secret, msgID, ts, body)
	if err != nil {
		return false
	}
	for _, s := range strings.Fields(header) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return true
		}
	}
	return false
}

// EndpointParams are the editable fields of an endpoint.
type EndpointParams struct {
	URL         string
	Description string
	EventTypes  []events.Type
}

func (p *EndpointParams) validate(ctx context.Context, g *Guard) error {
	var f store.FieldErrors
	url, msg := g.CheckURL(ctx, p.URL)
	if msg != "" {
		f.Add("url", msg)
	}
	p.URL = url
	p.Description = strings.TrimSpace(p.Description)
	if utf8.RuneCountInString(p.Description) > 500 {
		f.Add("description", "Enter a description of up to 500 characters.")
	}
	if len(p.EventTypes) == 0 {
		f.Add("event_types", "Choose at least one event.")
	}
	var types []events.Type
	for _, t := range p.EventTypes {
		if !slices.Contains(events.Types, t) {
			f.Add("event_types", "Choose events from the list.")
		}
		if !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	p.EventTypes = types
	return f.Err()
}

func typeStrings(ts []events.Type) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}

// EndpointCreateResult is the new endpoint and its signing secret, shown once.
type EndpointCreateResult struct {
	Endpoint *Endpoint
	Secret   string
}

// EndpointCreate registers an endpoint in the scope's tenant. The actor needs AdminSettings.
func EndpointCreate(ctx context.Context, db *store.DB, scope store.Scope, g *Guard, p EndpointParams) (*EndpointCreateResult, error) {
	if err := p.validate(ctx, g); err != nil {
		return nil, err
	}
	secret := newSecret()
	res := &EndpointCreateResult{Secret: secret}
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx); err != nil {
			return err
		}
		id := store.NewID()
		var createdBy *store.ID
		if scope.ActorID != (store.ID{}) {
			createdBy = &scope.ActorID
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO webhook_endpoints (id, url, description, event_types, secret_sealed, created_by)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			id, p.URL, p.Description, pq.StringArray(typeStrings(p.EventTypes)),
			tx.Secrets().Seal([]byte(secret), id[:]), createdBy); err != nil {
			return fmt.Errorf("error creating webhook endpoint: %w", err)
		}
		ep, err := endpointGetTx(ctx, tx, id)
		if err != nil {
			return err
		}
		res.Endpoint = ep
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: "webhook_endpoint.create", EntityType: "webhook_endpoint", EntityID: id.String(), After: ep,
		})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func endpointGetTx(ctx context.Context, tx *store.Tx, id store.ID) (*Endpoint, error) {
	var ep Endpoint
	if err := store.Get(ctx, tx, &ep, "No such webhook endpoint.",
		`SELECT `+endpointColumns+` FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`,
		tx.Scope.TenantID, id); err != nil {
		if store.ErrorCode(err) == store.NotFound {
			return nil, err
		}
		return nil, fmt.Errorf("error loading webhook endpoint %s: %w", id, err)
	}
	return &ep, nil
}

// EndpointGet returns one endpoint of the scope's tenant. The actor needs AdminSettings.
func EndpointGet(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*Endpoint, error) {
	var ep *Endpoint
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx); err != nil {
			return err
		}
		var err error
		ep, err = endpointGetTx(ctx, tx, id)
		return err
	})
	return ep, err
}

// endpointListMax bounds the endpoint list: a tenant has a handful of receivers, not thousands.
const endpointListMax = 200

// EndpointList returns the tenant's endpoints, newest first, deleted ones only when withDeleted.
func EndpointList(ctx context.Context, db *store.DB, scope store.Scope, withDeleted bool) ([]Endpoint, error) {
	var out []Endpoint
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx); err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &out, `SELECT `+endpointColumns+` FROM webhook_endpoints
			WHERE tenant_id = $1 AND ($2 OR deleted_at IS NULL) ORDER BY created_at DESC, id DESC LIMIT $3`,
			tx.Scope.TenantID, withDeleted, endpointListMax); err != nil {
			return fmt.Errorf("error listing webhook endpoints: %w", err)
		}
		return nil
	})
	return out, err
}

// endpointLock loads an endpoint for change, checking the version the caller read (0 skips the check).
func endpointLock(ctx context.Context, tx *store.Tx, id store.ID, version int) (*Endpoint, error) {
	var ep Endpoint
	if err := store.Get(ctx, tx, &ep, "No such webhook endpoint.",
		`SELECT `+endpointColumns+` FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
		tx.Scope.TenantID, id); err != nil {
		if store.ErrorCode(err) == store.NotFound {
			return nil, err
		}
		return nil, fmt.Errorf("error locking webhook endpoint %s: %w", id, err)
	}
	if version != 0 && ep.Version != version {
		return nil, store.Errorf(store.Conflict, "This endpoint was changed by someone else. Reload the page and try again.")
	}
	return &ep, nil
}

// EndpointUpdateParams changes an endpoint; Version is the one the caller read. Enabled turns a disabled
// endpoint back on (its failure count starts again).
type EndpointUpdateParams struct {
	EndpointParams
	Enabled bool
	Version int
}

// EndpointUpdate changes an endpoint's URL, description, events and whether it is enabled.
func EndpointUpdate(ctx context.Context, db *store.DB, scope store.Scope, g *Guard, id store.ID, p EndpointUpdateParams) (*Endpoint, error) {
	if err := p.validate(ctx, g); err != nil {
		return nil, err
	}
	var after *Endpoint
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx); err != nil {
			return err
		}
		before, err := endpointLock(ctx, tx, id, p.Version)
		if err != nil {
			return err
		}
		if before.DeletedAt != nil {
			return store.Errorf(store.NotFound, "No such webhook endpoint.")
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE webhook_endpoints SET url = $3, description = $4, event_types = $5, enabled = $6,
				disabled_reason = CASE WHEN $6 THEN '' ELSE CASE WHEN enabled THEN 'Disabled by an administrator.' ELSE disabled_reason END END,
				consecutive_failures = CASE WHEN $6 AND NOT enabled THEN 0 ELSE consecutive_failures END,
				updated_at = now(), version = version + 1
			WHERE tenant_id = $1 AND id = $2`,
			tx.Scope.TenantID, id, p.URL, p.Description, pq.StringArray(typeStrings(p.EventTypes)), p.Enabled); err != nil {
			return fmt.Errorf("error updating webhook endpoint %s: %w", id, err)
		}
		if after, err = endpointGetTx(ctx, tx, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: "webhook_endpoint.update", EntityType: "webhook_endpoint", EntityID: id.String(), Before: before, After: after,
		})
	})
	return after, err
}

// EndpointDelete soft-deletes an endpoint: it gets no new deliveries; its log stays.
func EndpointDelete(ctx context.Context, db *store.DB, scope store.Scope, id store.ID, version int) error {
	return endpointSetDeleted(ctx, db, scope, id, version, true)
}

// EndpointRestore brings a deleted endpoint back.
func EndpointRestore(ctx context.Context, db *store.DB, scope store.Scope, id store.ID, version int) error {
	return endpointSetDeleted(ctx, db, scope, id, version, false)
}

func endpointSetDeleted(ctx context.Context, db *store.DB, scope store.Scope, id store.ID, version int, deleted bool) error {
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx); err != nil {
			return err
		}
		before, err := endpointLock(ctx, tx, id, version)
		if err != nil {
			return err
		}
		if (before.DeletedAt != nil) == deleted {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE webhook_endpoints SET deleted_at = CASE WHEN $3 THEN now() END, updated_at = now(), version = version + 1
			WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, id, deleted); err != nil {
			return fmt.Errorf("error deleting webhook endpoint %s: %w", id, err)
		}
		after, err := endpointGetTx(ctx, tx, id)
		if err != nil {
			return err
		}
		action := "webhook_endpoint.delete"
		if !deleted {
			action = "webhook_endpoint.restore"
		}
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: action, EntityType: "webhook_endpoint", EntityID: id.String(), Before: before, After: after,
		})
	})
}

// SecretRotateParams rotates an endpoint's secret. Overlap is how long the old secret keeps signing
// beside the new one (0: it stops at once; at most RotationOverlapMax).
type SecretRotateParams struct {
	Overlap time.Duration
	Version int
}

// SecretRotate gives the endpoint a new secret, returned once. During the overlap every request carries
// two signatures, so the receiver can switch secrets without losing a delivery.
func SecretRotate(ctx context.Context, db *store.DB, scope store.Scope, id store.ID, p SecretRotateParams) (string, error) {
	if p.Overlap < 0 || p.Overlap > RotationOverlapMax {
		return "", (store.FieldErrors{"overlap": "Choose an overlap from none to 7 days."}).Err()
	}
	secret := newSecret()
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx); err != nil {
			return err
		}
		before, err := endpointLock(ctx, tx, id, p.Version)
		if err != nil {
			return err
		}
		if before.DeletedAt != nil {
			return store.Errorf(store.NotFound, "No such webhook endpoint.")
		}
		var current []byte
		if err := tx.GetContext(ctx, &current, `SELECT secret_sealed FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`,
			tx.Scope.TenantID, id); err != nil {
			return fmt.Errorf("error reading secret of webhook endpoint %s: %w", id, err)
		}
		var prev []byte
		var prevUntil *time.Time
		if p.Overlap > 0 {
			until := time.Now().Add(p.Overlap)
			prev, prevUntil = current, &until
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE webhook_endpoints SET secret_sealed = $3, previous_secret_sealed = $4, previous_secret_expires_at = $5,
				updated_at = now(), version = version + 1
			WHERE tenant_id = $1 AND id = $2`,
			tx.Scope.TenantID, id, tx.Secrets().Seal([]byte(secret), id[:]), prev, prevUntil); err != nil {
			return fmt.Errorf("error rotating secret of webhook endpoint %s: %w", id, err)
		}
		after, err := endpointGetTx(ctx, tx, id)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: "webhook_endpoint.rotate_secret", EntityType: "webhook_endpoint", EntityID: id.String(),
			Before: before, After: after,
		})
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// signingSecrets returns the secrets that sign now: the current one, and the previous one while its
// overlap window lasts.
func signingSecrets(ctx context.Context, tx *store.Tx, id store.ID, now time.Time) ([]string, error) {
	var row struct {
		Current   []byte     `db:"secret_sealed"`
		Previous  []byte     `db:"previous_secret_sealed"`
		PrevUntil *time.Time `db:"previous_secret_expires_at"`
	}
	if err := tx.GetContext(ctx, &row, `
		SELECT secret_sealed, previous_secret_sealed, previous_secret_expires_at FROM webhook_endpoints
		WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, id); err != nil {
		return nil, fmt.Errorf("error reading secrets of webhook endpoint %s: %w", id, err)
	}
	cur, err := tx.Secrets().Open(row.Current, id[:])
	if err != nil {
		return nil, fmt.Errorf("error opening secret of webhook endpoint %s: %w", id, err)
	}
	out := []string{string(cur)}
	if row.Previous != nil && row.PrevUntil != nil && now.Before(*row.PrevUntil) {
		prev, err := tx.Secrets().Open(row.Previous, id[:])
		if err != nil {
			return nil, fmt.Errorf("error opening previous secret of webhook endpoint %s: %w", id, err)
		}
		out = append(out, string(prev))
	}
	return out, nil
}
