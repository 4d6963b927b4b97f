package identity

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/notify"
)

// InvitationTTL is how long an invitation link works.
const InvitationTTL = 7 * 24 * time.Hour

// Invitation asks a person, by e-mail, to join a tenant with a role and department. The link's token is
// stored only as a SHA-256 hash; it works once and expires after InvitationTTL.
type Invitation struct {
	ID             store.ID   `db:"id" json:"id"`
	Email          string     `db:"email" json:"email"`
	Name           string     `db:"name" json:"name"`
	Role           Role       `db:"role" json:"role"`
	DepartmentID   *store.ID  `db:"department_id" json:"department_id"`
	DepartmentName *string    `db:"department_name" json:"department_name"`
	InvitedBy      *store.ID  `db:"invited_by" json:"invited_by"`
	InvitedByName  *string    `db:"invited_by_name" json:"invited_by_name"`
	ExpiresAt      time.Time  `db:"expires_at" json:"expires_at"`
	AcceptedAt     *time.Time `db:"accepted_at" json:"accepted_at"`
	RevokedAt      *time.Time `db:"revoked_at" json:"revoked_at"`
	CreatedAt      time.Time  `db:"created_at" json:"created_at"`
}

// Expired reports whether the link no longer works because its time ran out.
func (i Invitation) Expired(now time.Time) bool {
	return !i.ExpiresAt.After(now)
}

const invitationSelect = `
	SELECT i.id, i.email, i.name, i.role, i.department_id, d.name AS department_name, i.invited_by,
	       u.name AS invited_by_name, i.expires_at, i.accepted_at, i.revoked_at, i.created_at
	FROM invitations i
	LEFT JOIN departments d ON d.tenant_id = i.tenant_id AND d.id = i.department_id
	LEFT JOIN users u ON u.id = i.invited_by`

var errInvitationInvalid = store.Errorf(store.NotFound,
	"This invitation link has expired, was revoked or was already used. Ask your administrator for a new one.")

// InvitationCreateParams invites a person. LinkPrefix is the acceptance page URL the token is appended to
// (e.g. "https://ledgerline.example.com/invite/accept?token="); a nil DepartmentID means none.
type InvitationCreateParams struct {
	Email        string
	Name         string
	Role         Role
	DepartmentID *store.ID
	LinkPrefix   string
}

func (p *InvitationCreateParams) validate() error {
	var f store.FieldErrors
	p.Email = strings.TrimSpace(p.Email)
	if addr, err := mail.ParseAddress(p.Email); err != nil || addr.Address != p.Email || len(p.Email) > 254 {
		f.Add("email", "Enter an e-mail address in the correct format, like name@example.com.")
	}
	p.Name = strings.TrimSpace(p.Name)
	if n := len([]rune(p.Name)); n == 0 || n > 200 {
		f.Add("name", "Enter the person's name (up to 200 characters).")
	}
	if !p.Role.Valid() {
		f.Add("role", "Choose a role.")
	}
	return f.Err()
}

// InvitationCreate invites a person to scope's tenant: it stores the invitation and queues the e-mail
// with the link in the same transaction. An address that already belongs to a member, or has an open
// invitation, is refused; an expired invitation to the same address is retired. The actor needs AdminUsers.
func InvitationCreate(ctx context.Context, db *store.DB, scope store.Scope, p InvitationCreateParams) (*Invitation, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	token, tokenHash := store.NewToken("")
	var inv *Invitation
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := Permit(ctx, tx, AdminUsers); err != nil {
			return err
		}
		if p.DepartmentID != nil {
			if err := departmentUsable(ctx, tx, *p.DepartmentID); err != nil {
				return err
			}
		}
		var deactivated []bool
		if err := tx.SelectContext(ctx, &deactivated, `
			SELECT m.deactivated_at IS NOT NULL FROM memberships m JOIN users u ON u.id = m.user_id
			WHERE m.tenant_id = $1 AND lower(u.email) = lower($2)`, tx.Scope.TenantID, p.Email); err != nil {
			return fmt.Errorf("error checking membership of %s: %w", p.Email, err)
		}
		if len(deactivated) > 0 {
			msg := "This person is already a member of this organization."
			if deactivated[0] {
				msg = "This person is a deactivated member of this organization. Reactivate them from their page in People instead."
			}
			return &store.Error{Code: store.Conflict, Message: msg, Fields: map[string]string{"email": msg}}
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE invitations SET revoked_at = now()
			WHERE tenant_id = $1 AND lower(email) = lower($2) AND accepted_at IS NULL AND revoked_at IS NULL
			  AND expires_at <= now()`, tx.Scope.TenantID, p.Email); err != nil {
			return fmt.Errorf("error retiring expired invitations of %s: %w", p.Email, err)
		}
		id := store.NewID()
		_, err := tx.ExecContext(ctx, `
			INSERT INTO invitations (id, email, name, role, department_id, token_hash, invited_by, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $8::interval)`,
			id, p.Email, p.Name, p.Role, p.DepartmentID, tokenHash, tx.Scope.ActorID,
			fmt.Sprintf("%d seconds", int(InvitationTTL.Seconds())))
		if store.IsUniqueViolation(err, "invitations_open_email_key") {
			msg := "An invitation to this address is still open. Revoke it first to send a new one."
			return &store.Error{Code: store.Conflict, Message: msg, Fields: map[string]string{"email": msg}}
		}
		if err != nil {
			return fmt.Errorf("error storing invitation of %s: %w", p.Email, err)
		}
		if inv, err = invitationGetTx(ctx, tx, id); err != nil {
			return err
		}
		var tenantName string
		if err := tx.GetContext(ctx, &tenantName, `SELECT name FROM tenants WHERE id = $1`, tx.Scope.TenantID); err != nil {
			return fmt.Errorf("error loading tenant name: %w", err)
		}
		inviter := "An administrator"
		if inv.InvitedByName != nil {
			inviter = *inv.InvitedByName
		}
		body := fmt.Sprintf("Hello %s,\n\n%s invited you to join %s on Ledgerline as %s.\n\n"+
			"Open this link to accept. It works once and expires in %d days:\n\n%s%s\n\n"+
			"If you already have a Ledgerline account with this address, you will be asked to sign in; "+
			"otherwise you choose your password on that page.\n\n"+
			"If you did not expect this invitation, ignore this message.\n",
			inv.Name, inviter, tenantName, p.Role.Label(), int(InvitationTTL.Hours()/24), p.LinkPrefix, token)
		if err := notify.Email(ctx, tx, notify.EmailParams{
			To: inv.Email, Subject: "You are invited to join " + tenantName + " on Ledgerline", Text: body,
		}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: "invitation.create", EntityType: "invitation", EntityID: id.String(), After: inv,
		})
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

func invitationGetTx(ctx context.Context, tx *store.Tx, id store.ID) (*Invitation, error) {
	var inv Invitation
	err := tx.GetContext(ctx, &inv, invitationSelect+` WHERE i.tenant_id = $1 AND i.id = $2`, tx.Scope.TenantID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.Errorf(store.NotFound, "No such invitation.")
	}
	if err != nil {
		return nil, fmt.Errorf("error loading invitation %s: %w", id, err)
	}
	return &inv, nil
}

// InvitationListParams pages the open invitations. After is the opaque cursor of the previous page;
// Limit defaults to 50 (at most 200).
type InvitationListParams struct {
	After string
	Limit int
}

// InvitationListResult is one page of open invitations, newest first, and the next page's cursor.
type InvitationListResult struct {
	Invitations []Invitation
	Next        string
}

// InvitationList returns scope's open invitations (neither accepted nor revoked), newest first; expired
// ones are included so that an admin sees who never answered. The actor needs AdminUsers.
func InvitationList(ctx context.Context, db *store.DB, scope store.Scope, p InvitationListParams) (*InvitationListResult, error) {
	if p.Limit <= 0 || p.Limit > 200 {
		p.Limit = 50
	}
	var (
		afterTime *time.Time
		afterID   *store.ID
	)
	if p.After != "" {
		t, id, err := invitationCursorDecode(p.After)
		if err != nil {
			return nil, store.Errorf(store.Invalid, "That page link is not valid any more. Start from the first page.")
		}
		afterTime, afterID = &t, &id
	}
	res := &InvitationListResult{}
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := Permit(ctx, tx, AdminUsers); err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &res.Invitations, invitationSelect+`
			WHERE i.tenant_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL
			  AND ($2::timestamptz IS NULL OR (i.created_at, i.id) < ($2, $3::uuid))
			ORDER BY i.created_at DESC, i.id DESC
			LIMIT $4`, tx.Scope.TenantID, afterTime, afterID, p.Limit+1); err != nil {
			return fmt.Errorf("error listing invitations: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(res.Invitations) > p.Limit {
		last := res.Invitations[p.Limit-1]
		res.Invitations = res.Invitations[:p.Limit]
		res.Next = base64.RawURLEncoding.EncodeToString([]byte(last.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + last.ID.String()))
	}
	return res, nil
}

func invitationCursorDecode(s string) (time.Time, store.ID, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, store.ID{}, err
	}
	ts, idStr, ok := strings.Cut(string(b), "|")
	if !ok {
		return time.Time{}, store.ID{}, errors.New("malformed cursor")
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, store.ID{}, err
	}
	id, err := store.ParseID(idStr)
	return t, id, err
}

// InvitationRevoke makes an open invitation's link stop working. The actor needs AdminUsers.
func InvitationRevoke(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) error {
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := Permit(ctx, tx, AdminUsers); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE invitations SET revoked_at = now()
			WHERE tenant_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL`, tx.Scope.TenantID, id)
		if err != nil {
			return fmt.Errorf("error revoking invitation %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return store.Errorf(store.NotFound, "No such open invitation. It may have been accepted or revoked already.")
		}
		after, err := invitationGetTx(ctx, tx, id)
		if err != nil {
			return err
		}
		before := *after
		before.RevokedAt = nil
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: "invitation.revoke", EntityType: "invitation", EntityID: id.String(), Before: before, After: after,
		})
	})
}

// InvitationPreview is what the acceptance page shows about a valid invitation. ExistingUserID is the
// account that already has the invited address, if any: that account must be signed in to accept.
type InvitationPreview struct {
	TenantID       store.ID
	TenantName     string
	Email          string
	Name           string
	Role           Role
	DepartmentName *string
	ExpiresAt      time.Time
	ExistingUserID *store.ID
}

// invitationFind resolves a token to its tenant and invitation, before anyone is signed in, through the
// invitation_by_token() definer function. An unknown, used, revoked or expired token is errInvitationInvalid.
func invitationFind(ctx context.Context, db *store.DB, token string) (tenantID, id store.ID, err error) {
	if token == "" || len(token) > 200 {
		return tenantID, id, errInvitationInvalid
	}
	var row struct {
		TenantID store.ID `db:"tenant_id"`
		ID       store.ID `db:"id"`
	}
	err = sqlxGet(ctx, db, &row, `SELECT tenant_id, id FROM invitation_by_token($1)`, store.HashToken(token))
	if errors.Is(err, sql.ErrNoRows) {
		return tenantID, id, errInvitationInvalid
	}
	if err != nil {
		return tenantID, id, fmt.Errorf("error checking invitation token: %w", err)
	}
	return row.TenantID, row.ID, nil
}

// InvitationCheck returns what the acceptance page shows about the invitation with token, or a NotFound
// error when the link cannot be used (unknown, used, revoked or expired).
func InvitationCheck(ctx context.Context, db *store.DB, token string) (*InvitationPreview, error) {
	tenantID, id, err := invitationFind(ctx, db, token)
	if err != nil {
		return nil, err
	}
	pv := &InvitationPreview{TenantID: tenantID}
	err = db.InTenant(ctx, store.Scope{TenantID: tenantID}, func(tx *store.Tx) error {
		inv, err := invitationGetTx(ctx, tx, id)
		if err != nil {
			return err
		}
		pv.Email, pv.Name, pv.Role, pv.DepartmentName, pv.ExpiresAt = inv.Email, inv.Name, inv.Role, inv.DepartmentName, inv.ExpiresAt
		return tx.GetContext(ctx, &pv.TenantName, `SELECT name FROM tenants WHERE id = $1`, tenantID)
	})
	if err != nil {
		return nil, err
	}
	existing, err := accountByEmail(ctx, db, pv.Email)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		// The account may have been made a moment ago by accepting this very invitation (it commits the
		// account and the acceptance together): look again, so a used link says so.
		if _, _, err := invitationFind(ctx, db, token); err != nil {
			return nil, err
		}
		pv.ExistingUserID = &existing.ID
	}
	return pv, nil
}

type account struct {
	ID       store.ID `db:"id"`
	Disabled bool     `db:"disabled"`
}

// accountByEmail finds the account with an e-mail address (case-insensitively), or nil.
func accountByEmail(ctx context.Context, db *store.DB, email string) (*account, error) {
	var a account
	err := sqlxGet(ctx, db, &a, `SELECT id, disabled FROM auth_user_by_email($1)`, email)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("error looking up account: %w", err)
	}
	return &a, nil
}

// InvitationAcceptParams accepts an invitation.
//
// When no account has the invited address, Name and Password (typed twice, as PasswordConfirm) create
// it. When one does, the invitation is accepted only by that account, signed in (SignedInUserID): an
// invitation link never sets, resets or asks for the password of an existing account, and the sign-in
// it relies on has already passed every check (throttling, second factor).
type InvitationAcceptParams struct {
	Token           string
	Name            string
	Password        string
	PasswordConfirm string
	SignedInUserID  *store.ID
	RequestID       string
	ClientIP        string
}

// InvitationAcceptResult is who joined which tenant; NewAccount says the account was created now.
type InvitationAcceptResult struct {
	UserID     store.ID
	TenantID   store.ID
	TenantName string
	NewAccount bool
}

// InvitationAccept uses up the invitation and makes the person a member of its tenant with the invited
// role and department, creating their account if they have none, in one transaction. A token is accepted
// exactly once, even when the form is submitted twice at the same moment.
func InvitationAccept(ctx context.Context, db *store.DB, p InvitationAcceptParams) (*InvitationAcceptResult, error) {
	pv, err := InvitationCheck(ctx, db, p.Token)
	if err != nil {
		return nil, err
	}
	res := &InvitationAcceptResult{TenantID: pv.TenantID, TenantName: pv.TenantName}
	var passwordHash, name string
	if pv.ExistingUserID != nil {
		if p.SignedInUserID == nil || *p.SignedInUserID != *pv.ExistingUserID {
			return nil, store.Errorf(store.Unauthenticated,
				"An account with the address %s exists. Sign in with it, then open the invitation link again.", pv.Email)
		}
		res.UserID = *pv.ExistingUserID
	} else {
		var f store.FieldErrors
		name = strings.TrimSpace(p.Name)
		if n := len([]rune(name)); n == 0 || n > 200 {
			f.Add("name", "Enter your name (up to 200 characters).")
		}
		if msg := validatePassword(p.Password); msg != "" {
			f.Add("password", msg)
		}
		if p.Password != p.PasswordConfirm {
			f.Add("password_confirm", "Enter the same password twice.")
		}
		if err := f.Err(); err != nil {
			return nil, err
		}
		if passwordHash, err = HashPassword(p.Password); err != nil {
			return nil, err
		}
		res.UserID, res.NewAccount = store.NewID(), true
	}

	scope := store.Scope{TenantID: pv.TenantID, ActorID: res.UserID, RequestID: p.RequestID, ClientIP: p.ClientIP}
	err = db.InTenant(ctx, scope, func(tx *store.Tx) error {
		// The update is the exactly-once gate: a concurrent second accept waits for this row, then finds
		// it accepted and changes nothing.
		var invID store.ID
		err := tx.GetContext(ctx, &invID, `
			UPDATE invitations SET accepted_at = now()
			WHERE tenant_id = $1 AND token_hash = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
			RETURNING id`, pv.TenantID, store.HashToken(p.Token))
		if errors.Is(err, sql.ErrNoRows) {
			return errInvitationInvalid
		}
		if err != nil {
			return fmt.Errorf("error accepting invitation: %w", err)
		}
		inv, err := invitationGetTx(ctx, tx, invID)
		if err != nil {
			return err
		}
		if res.NewAccount {
			u := User{ID: res.UserID, Email: inv.Email, Name: name}
			_, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4)`,
				u.ID, u.Email, u.Name, passwordHash)
			if store.IsUniqueViolation(err, "users_email_key") {
				return store.Errorf(store.Conflict, "An account with this e-mail address was created a moment ago. Open the invitation link again.")
			}
			if err != nil {
				return fmt.Errorf("error creating user: %w", err)
			}
			if err := audit.Record(ctx, tx, audit.RecordParams{
				Action: "user.create", EntityType: "user", EntityID: u.ID.String(), After: u,
			}); err != nil {
				return err
			}
		}
		var deactivated []bool
		if err := tx.SelectContext(ctx, &deactivated,
			`SELECT deactivated_at IS NOT NULL FROM memberships WHERE tenant_id = $1 AND user_id = $2`,
			pv.TenantID, res.UserID); err != nil {
			return fmt.Errorf("error checking membership: %w", err)
		}
		switch {
		case len(deactivated) > 0 && deactivated[0]:
			return store.Errorf(store.Conflict, "Your membership of %s is deactivated. Ask an administrator to reactivate it.", pv.TenantName)
		case len(deactivated) == 0:
			dept := inv.DepartmentID
			if dept != nil {
				// The department may have been deleted since the invitation was sent.
				if err := departmentUsable(ctx, tx, *dept); store.ErrorCode(err) == store.Invalid {
					dept = nil
				} else if err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO memberships (tenant_id, user_id, role, department_id) VALUES ($1, $2, $3, $4)`,
				pv.TenantID, res.UserID, inv.Role, dept); err != nil {
				return fmt.Errorf("error adding member %s: %w", res.UserID, err)
			}
			m, err := memberGetTx(ctx, tx, res.UserID, false)
			if err != nil {
				return err
			}
			if err := audit.Record(ctx, tx, audit.RecordParams{
				Action: "membership.create", EntityType: "membership", EntityID: res.UserID.String(), After: m,
			}); err != nil {
				return err
			}
		}
		// An active member accepting again (an invitation sent before they joined another way) only uses
		// up the link.
		before := *inv
		before.AcceptedAt = nil
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: "invitation.accept", EntityType: "invitation", EntityID: invID.String(), Before: before, After: inv,
		})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
