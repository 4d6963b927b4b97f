package notify

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"ledgerline/store"
)

// In-app notifications: a short message for one member of a tenant (low stock, ...), shown until they
// mark it read. They are written in the caller's transaction, like e-mail.

// Notification is one in-app message to a member.
type Notification struct {
	ID        store.ID   `db:"id"`
	UserID    store.ID   `db:"user_id"`
	Kind      string     `db:"kind"`
	Title     string     `db:"title"`
	Body      string     `db:"body"`
	Link      string     `db:"link"`
	ReadAt    *time.Time `db:"read_at"`
	CreatedAt time.Time  `db:"created_at"`
}

// InAppParams is one message to one member. Kind is "<domain>.<what>", e.g. "inventory.low_stock"; Link,
// when set, is a path of the app.
type InAppParams struct {
	UserID store.ID
	Kind   string
	Title  string
	Body   string
	Link   string
}

// InApp writes a notification for a member of tx's tenant.
func InApp(ctx context.Context, tx *store.Tx, p InAppParams) error {
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO notifications (id, user_id, kind, title, body, link) VALUES ($1, $2, $3, $4, $5, $6)`,
		store.NewID(), p.UserID, p.Kind, p.Title, p.Body, p.Link); err != nil {
		return fmt.Errorf("error writing notification %s for user %s: %w", p.Kind, p.UserID, err)
	}
	return nil
}

// ListUnread returns the scope's actor's unread notifications, newest first, at most limit (50 when 0).
func ListUnread(ctx context.Context, db *store.DB, scope store.Scope, limit int) ([]Notification, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	var out []Notification
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := tx.SelectContext(ctx, &out, `
			SELECT id, user_id, kind, title, body, link, read_at, created_at FROM notifications
			WHERE tenant_id = $1 AND user_id = $2 AND read_at IS NULL
			ORDER BY created_at DESC, id DESC LIMIT $3`, scope.TenantID, scope.ActorID, limit); err != nil {
			return fmt.Errorf("error listing notifications of user %s: %w", scope.ActorID, err)
		}
		return nil
	})
	return out, err
}

// MarkRead marks the scope's actor's notification id read. Someone else's notification is NotFound.
func MarkRead(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) error {
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE notifications SET read_at = coalesce(read_at, now())
			WHERE tenant_id = $1 AND id = $2 AND user_id = $3`, scope.TenantID, id, scope.ActorID)
		if err != nil {
			return fmt.Errorf("error marking notification %s read: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.Errorf(store.NotFound, "No such notification.")
		}
		return nil
	})
}

// Recipient is a member to notify.
type Recipient struct {
	UserID store.ID `db:"user_id"`
	Email  string   `db:"email"`
	Name   string   `db:"name"`
}

// RecipientsTx returns the active members of tx's tenant who have one of the roles, by name.
func RecipientsTx(ctx context.Context, tx *store.Tx, roles ...string) ([]Recipient, error) {
	var out []Recipient
	if err := tx.SelectContext(ctx, &out, `
		SELECT u.id AS user_id, u.email, u.name FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.tenant_id = $1 AND m.role = ANY ($2::text[]) AND m.deactivated_at IS NULL AND u.disabled_at IS NULL
		ORDER BY u.name, u.id`, tx.Scope.TenantID, roles); err != nil {
		return nil, fmt.Errorf("error listing members to notify: %w", err)
	}
	return out, nil
}

// List returns the scope's actor's notifications, newest first, at most limit (50 when 0): only the
// unread ones unless withRead.
func List(ctx context.Context, db *store.DB, scope store.Scope, withRead bool, limit int) ([]Notification, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	var out []Notification
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := tx.SelectContext(ctx, &out, `
			SELECT id, user_id, kind, title, body, link, read_at, created_at FROM notifications
			WHERE tenant_id = $1 AND user_id = $2 AND ($3 OR read_at IS NULL)
			ORDER BY created_at DESC, id DESC LIMIT $4`, scope.TenantID, scope.ActorID, withRead, limit); err != nil {
			return fmt.Errorf("error listing notifications of user %s: %w", scope.ActorID, err)
		}
		return nil
	})
	return out, err
}

// UnreadCountMax is where the count of unread notifications stops: the badge shows "99+" from there on.
// Every request counts them (identity.ActorLoad), so the count reads at most this many index entries
// (counting up to 1,000 took 0.45 ms of the 0.55 ms the actor's statement costs a user with that many).
const UnreadCountMax = 100

// UnreadCountSQL is the SQL expression for the unread notifications (up to UnreadCountMax) of the user in
// column or parameter user of tenant tenant, for queries that read it alongside other things
// (identity.ActorLoad reads it with the actor, in the round trip every request makes anyway).
func UnreadCountSQL(tenant, user string) string {
	return `(SELECT count(*) FROM (SELECT 1 FROM notifications n
		WHERE n.tenant_id = ` + tenant + ` AND n.user_id = ` + user + ` AND n.read_at IS NULL LIMIT ` +
		strconv.Itoa(UnreadCountMax) + `) unread)`
}

// MarkAllRead marks every notification of the scope's actor read.
func MarkAllRead(ctx context.Context, db *store.DB, scope store.Scope) error {
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			UPDATE notifications SET read_at = now() WHERE tenant_id = $1 AND user_id = $2 AND read_at IS NULL`,
			scope.TenantID, scope.ActorID); err != nil {
			return fmt.Errorf("error marking notifications read: %w", err)
		}
		return nil
	})
}
