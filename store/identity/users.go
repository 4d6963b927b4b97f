package identity

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/events"
)

// MemberStatus says whether a member may work in the tenant.
type MemberStatus string

// The member statuses. A deactivated member keeps their history and can be reactivated.
const (
	MemberActive      MemberStatus = "active"
	MemberDeactivated MemberStatus = "deactivated"
)

// Valid reports whether s is one of the statuses.
func (s MemberStatus) Valid() bool {
	return s == MemberActive || s == MemberDeactivated
}

// Label is the status as people read it.
func (s MemberStatus) Label() string {
	switch s {
	case MemberActive:
		return "Active"
	case MemberDeactivated:
		return "Deactivated"
	}
	return string(s)
}

// Member is a person as a member of one tenant: who they are, their role and department there, and
// whether they may still work there. Version guards edits (optimistic locking).
type Member struct {
	UserID         store.ID   `db:"user_id" json:"user_id"`
	Email          string     `db:"email" json:"email"`
	Name           string     `db:"name" json:"name"`
	Role           Role       `db:"role" json:"role"`
	DepartmentID   *store.ID  `db:"department_id" json:"department_id"`
	DepartmentName *string    `db:"department_name" json:"department_name"`
	DeactivatedAt  *time.Time `db:"deactivated_at" json:"deactivated_at"`
	CreatedAt      time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt      time.Time  `db:"updated_at" json:"updated_at"`
	Version        int        `db:"version" json:"version"`
}

// Status returns whether the member is active or deactivated.
func (m Member) Status() MemberStatus {
	if m.DeactivatedAt != nil {
		return MemberDeactivated
	}
	return MemberActive
}

// errMemberNotFound covers both "no such person" and "a person of another tenant": row-level security
// makes the two indistinguishable, on purpose.
var errMemberNotFound = store.Errorf(store.NotFound, "No such person in this organization.")

// errMemberChanged is the optimistic-locking conflict.
var errMemberChanged = store.Errorf(store.Conflict,
	"This person was changed by someone else while you were editing. Reload the page to see the changes, then try again.")

var errNotAllowed = store.Errorf(store.Forbidden, "Your role does not allow this. Ask an administrator if you need access.")

// lastAdminMessage explains why the last active admin cannot lose the role.
func lastAdminMessage(name string) string {
	return name + " is the last active administrator of this organization. Make someone else an administrator first."
}

// memberSelect reads members with their user and department. Row-level security limits it to the
// transaction's tenant; every query adds the tenant explicitly too, so the indexes are used.
const (
	memberColumns = `
	SELECT m.user_id, u.email, u.name, m.role, m.department_id, d.name AS department_name,
	       m.deactivated_at, m.created_at, m.updated_at, m.version`
	memberFrom = `
	FROM memberships m
	JOIN users u ON u.id = m.user_id
	LEFT JOIN departments d ON d.tenant_id = m.tenant_id AND d.id = m.department_id`
	memberSelect = memberColumns + memberFrom
)

// Permit checks inside tx that the scope may do p. A member needs an active membership whose role
// grants p; the role is read in the transaction, not taken from the caller, so a role changed a moment ago
// counts. An OAuth client needs p among its token's scopes. The system (no actor, no client) may.
func Permit(ctx context.Context, tx *store.Tx, p Permission) error {
	if tx.Scope.ActorID == (store.ID{}) {
		if tx.Scope.ClientID == (store.ID{}) || slices.Contains(tx.Scope.ClientScopes, string(p)) {
			return nil
		}
		return errNotAllowed
	}
	if r := Role(tx.ActorRole()); r != "" {
		if !r.Can(p) {
			return errNotAllowed
		}
		return nil
	}
	var role Role
	err := tx.GetContext(ctx, &role, `
		SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.tenant_id = $1 AND m.user_id = $2 AND m.deactivated_at IS NULL AND u.disabled_at IS NULL`,
		tx.Scope.TenantID, tx.Scope.ActorID)
	if errors.Is(err, sql.ErrNoRows) {
		return errNotAllowed
	}
	if err != nil {
		return fmt.Errorf("error checking permission %s of user %s: %w", p, tx.Scope.ActorID, err)
	}
	tx.ActorRoleRemember(string(role))
	if !role.Can(p) {
		return errNotAllowed
	}
	return nil
}

// adminsLock locks the tenant's active admin memberships and returns their user ids. Every operation that
// can take the admin role away from someone calls it first, so two of them run one after the other and
// the second counts what the first left: two admins demoting each other at once cannot leave none.
func adminsLock(ctx context.Context, tx *store.Tx) ([]store.ID, error) {
	var ids []store.ID
	if err := tx.SelectContext(ctx, &ids, `
		SELECT m.user_id FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.tenant_id = $1 AND m.role = 'admin' AND m.deactivated_at IS NULL AND u.disabled_at IS NULL
		ORDER BY m.user_id
		FOR UPDATE OF m`, tx.Scope.TenantID); err != nil {
		return nil, fmt.Errorf("error locking administrators: %w", err)
	}
	return ids, nil
}

func memberGetTx(ctx context.Context, tx *store.Tx, userID store.ID, forUpdate bool) (*Member, error) {
	q := memberSelect + ` WHERE m.tenant_id = $1 AND m.user_id = $2`
	if forUpdate {
		q += ` FOR UPDATE OF m`
	}
	var m Member
	err := tx.GetContext(ctx, &m, q, tx.Scope.TenantID, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errMemberNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("error loading member %s: %w", userID, err)
	}
	return &m, nil
}

// MemberGet returns one member of scope's tenant. The actor needs AdminUsers.
func MemberGet(ctx context.Context, db *store.DB, scope store.Scope, userID store.ID) (*Member, error) {
	var m *Member
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := Permit(ctx, tx, AdminUsers); err != nil {
			return err
		}
		var err error
		m, err = memberGetTx(ctx, tx, userID, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// MemberListParams filters and pages the member list. Search matches part of the name or e-mail address;
// empty Role, nil DepartmentID and empty Status match everyone. After is the opaque cursor of the previous
// page; Limit defaults to 50 (at most 200).
type MemberListParams struct {
	Search       string
	Role         Role
	DepartmentID *store.ID
	Status       MemberStatus
	After        string
	Limit        int
}

// MemberListResult is one page of members ordered by name. Total counts every member matching the
// filters, Start is the 1-based position of the first member of the page, Next the cursor of the next
// page ("" on the last).
type MemberListResult struct {
	Members []Member
	Total   int
	Start   int
	Next    string
}

// MemberSearchMaxLength bounds the search text; longer input is cut.
const MemberSearchMaxLength = 100

// MemberList returns a page of scope's members, by name, with keyset pagination on (lower(name), id). The
// actor needs AdminUsers.
func MemberList(ctx context.Context, db *store.DB, scope store.Scope, p MemberListParams) (*MemberListResult, error) {
	var f store.FieldErrors
	if p.Role != "" && !p.Role.Valid() {
		f.Add("role", "Choose a role from the list.")
	}
	if p.Status != "" && !p.Status.Valid() {
		f.Add("status", "Choose a status from the list.")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if p.Limit <= 0 || p.Limit > 200 {
		p.Limit = 50
	}
	var cur *memberCursor
	if p.After != "" {
		c, err := memberCursorDecode(p.After)
		if err != nil {
			return nil, store.Errorf(store.Invalid, "That page link is not valid any more. Start from the first page.")
		}
		cur = &c
	}
	res := &MemberListResult{Start: 1}
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := Permit(ctx, tx, AdminUsers); err != nil {
			return err
		}
		var err error
		res, err = memberPageTx(ctx, tx, p, cur, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

const memberWhere = `
		WHERE m.tenant_id = $1
		  AND ($2 = '' OR u.name ILIKE $2 OR u.email ILIKE $2)
		  AND ($3 = '' OR m.role = $3)
		  AND ($4::uuid IS NULL OR m.department_id = $4)
		  AND ($5 = '' OR ($5 = 'active') = (m.deactivated_at IS NULL))`

func memberListArgs(tenantID store.ID, p MemberListParams) []any {
	pattern := ""
	if s := strings.TrimSpace(p.Search); s != "" {
		if utf8.RuneCountInString(s) > MemberSearchMaxLength {
			s = string([]rune(s)[:MemberSearchMaxLength])
		}
		pattern = "%" + likeEscaper.Replace(s) + "%"
	}
	return []any{tenantID, pattern, string(p.Role), p.DepartmentID, string(p.Status)}
}

// memberPageTx reads one page of the member list after cur (nil: the first) in tx, with the total when
// total is set; the caller has checked the permission and p.Limit.
func memberPageTx(ctx context.Context, tx *store.Tx, p MemberListParams, cur *memberCursor, total bool) (*MemberListResult, error) {
	args := memberListArgs(tx.Scope.TenantID, p)
	res := &MemberListResult{Start: 1}
	var rows []struct {
		Member
		SortName string `db:"sort_name"`
		Total    int    `db:"total"`
	}
	var afterName *string
	var afterID *store.ID
	if cur != nil {
		afterName, afterID = &cur.name, &cur.id
	}
	// The total rides on every row of the page (an uncorrelated subquery: computed once), so the page and
	// its count are one statement.
	count := ""
	if total {
		count = `, (SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id` + memberWhere + `) AS total`
	}
	if err := tx.SelectContext(ctx, &rows, `
			`+memberColumns+`, lower(u.name) AS sort_name`+count+memberFrom+memberWhere+`
			  AND ($6::text IS NULL OR (lower(u.name), u.id) > ($6::text, $7::uuid))
			ORDER BY lower(u.name), u.id
			LIMIT $8`, append(args, afterName, afterID, p.Limit+1)...); err != nil {
		return nil, fmt.Errorf("error listing members: %w", err)
	}
	switch {
	case !total:
	case len(rows) > 0:
		res.Total = rows[0].Total
	case cur != nil:
		// A page past the end (the list shrank since the link was made): count on its own.
		if err := tx.GetContext(ctx, &res.Total, `
			SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id`+memberWhere, args...); err != nil {
			return nil, fmt.Errorf("error counting members: %w", err)
		}
	}
	if cur != nil {
		res.Start = cur.start
	}
	if len(rows) > p.Limit {
		last := rows[p.Limit-1]
		rows = rows[:p.Limit]
		res.Next = memberCursor{start: res.Start + p.Limit, name: last.SortName, id: last.UserID}.encode()
	}
	res.Members = make([]Member, len(rows))
	for i, r := range rows {
		res.Members[i] = r.Member
	}
	return res, nil
}

// MembersEach calls fn for every member of the member list with p's filter, by name like the People page
// (p.After and p.Limit are ignored), a thousand per keyset query in tx. fn must not use tx. The actor
// needs AdminUsers.
func MembersEach(ctx context.Context, tx *store.Tx, p MemberListParams, fn func(Member) error) error {
	var f store.FieldErrors
	if p.Role != "" && !p.Role.Valid() {
		f.Add("role", "Choose a role from the list.")
	}
	if p.Status != "" && !p.Status.Valid() {
		f.Add("status", "Choose a status from the list.")
	}
	if err := f.Err(); err != nil {
		return err
	}
	if err := Permit(ctx, tx, AdminUsers); err != nil {
		return err
	}
	p.Limit = 1000
	var cur *memberCursor
	for {
		res, err := memberPageTx(ctx, tx, p, cur, false)
		if err != nil {
			return err
		}
		for _, m := range res.Members {
			if err := fn(m); err != nil {
				return err
			}
		}
		if res.Next == "" {
			return nil
		}
		c, err := memberCursorDecode(res.Next)
		if err != nil {
			return err
		}
		cur = &c
	}
}

// MembersCount counts the members matching p's filter. The actor needs AdminUsers.
func MembersCount(ctx context.Context, tx *store.Tx, p MemberListParams) (int64, error) {
	if err := Permit(ctx, tx, AdminUsers); err != nil {
		return 0, err
	}
	var n int64
	if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id`+memberWhere,
		memberListArgs(tx.Scope.TenantID, p)...); err != nil {
		return 0, fmt.Errorf("error counting members: %w", err)
	}
	return n, nil
}

// likeEscaper makes typed text match literally inside an ILIKE pattern (backslash is the default escape).
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// memberCursor is where the next page starts: after (name, id), showing rows from position start on.
type memberCursor struct {
	start int
	name  string
	id    store.ID
}

func (c memberCursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(c.start) + "|" + c.id.String() + "|" + c.name))
}

func memberCursorDecode(s string) (memberCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return memberCursor{}, err
	}
	parts := strings.SplitN(string(b), "|", 3)
	if len(parts) != 3 {
		return memberCursor{}, errors.New("malformed cursor")
	}
	start, err := strconv.Atoi(parts[0])
	if err != nil || start < 1 {
		return memberCursor{}, errors.New("malformed cursor position")
	}
	id, err := store.ParseID(parts[1])
	if err != nil {
		return memberCursor{}, err
	}
	return memberCursor{start: start, name: parts[2], id: id}, nil
}

// MemberUpdateParams changes a member's role and department. Version is the version the editor saw;
// a nil DepartmentID means no department.
type MemberUpdateParams struct {
	UserID       store.ID
	Role         Role
	DepartmentID *store.ID
	Version      int
}

// MemberUpdateResult is the member after the change. RoleChanged tells the caller to end the member's
// sessions, so the new role applies at once.
type MemberUpdateResult struct {
	Member      *Member
	RoleChanged bool
}

// MemberUpdate changes a member's role and department. A stale Version is a Conflict; the last active
// admin cannot be given another role. The actor needs AdminUsers.
func MemberUpdate(ctx context.Context, db *store.DB, scope store.Scope, p MemberUpdateParams) (*MemberUpdateResult, error) {
	if !p.Role.Valid() {
		return nil, (store.FieldErrors{"role": "Choose a role."}).Err()
	}
	res := &MemberUpdateResult{}
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		admins, err := adminsLock(ctx, tx)
		if err != nil {
			return err
		}
		if err := Permit(ctx, tx, AdminUsers); err != nil {
			return err
		}
		before, err := memberGetTx(ctx, tx, p.UserID, true)
		if err != nil {
			return err
		}
		if before.Version != p.Version {
			return errMemberChanged
		}
		if p.DepartmentID != nil && !sameID(before.DepartmentID, p.DepartmentID) {
			if err := departmentUsable(ctx, tx, *p.DepartmentID); err != nil {
				return err
			}
		}
		if before.Role == RoleAdmin && p.Role != RoleAdmin && before.DeactivatedAt == nil && len(admins) <= 1 {
			return (store.FieldErrors{"role": lastAdminMessage(before.Name)}).Err()
		}
		if before.Role == p.Role && sameID(before.DepartmentID, p.DepartmentID) {
			res.Member = before
			return nil
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE memberships SET role = $3, department_id = $4, version = version + 1, updated_at = now()
			WHERE tenant_id = $1 AND user_id = $2`,
			tx.Scope.TenantID, p.UserID, p.Role, p.DepartmentID); err != nil {
			return fmt.Errorf("error updating member %s: %w", p.UserID, err)
		}
		after, err := memberGetTx(ctx, tx, p.UserID, false)
		if err != nil {
			return err
		}
		res.Member, res.RoleChanged = after, before.Role != after.Role
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: "membership.update", EntityType: "membership", EntityID: p.UserID.String(), Before: before, After: after,
		})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// departmentUsable checks that the department exists in the tenant and is not deleted, and holds a share
// lock on it until the transaction ends: DepartmentDelete locks the row for update before it counts the
// members, so a member cannot be moved into a department while it is being deleted.
func departmentUsable(ctx context.Context, tx *store.Tx, id store.ID) error {
	var live []bool
	if err := tx.SelectContext(ctx, &live,
		`SELECT deleted_at IS NULL FROM departments WHERE tenant_id = $1 AND id = $2 FOR SHARE`,
		tx.Scope.TenantID, id); err != nil {
		return fmt.Errorf("error checking department %s: %w", id, err)
	}
	if ok := len(live) == 1 && live[0]; !ok {
		return (store.FieldErrors{"department_id": "Choose a department from the list."}).Err()
	}
	return nil
}

func sameID(a, b *store.ID) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// MemberDeactivate stops a member from working in scope's tenant; their other organizations are not
// affected. Deactivating a deactivated member changes nothing. Nobody can deactivate themselves, and the
// last active admin cannot be deactivated. The caller ends the member's sessions after it returns. The
// actor needs AdminUsers.
func MemberDeactivate(ctx context.Context, db *store.DB, scope store.Scope, userID store.ID) (*Member, error) {
	var m *Member
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		admins, err := adminsLock(ctx, tx)
		if err != nil {
			return err
		}
		if err := Permit(ctx, tx, AdminUsers); err != nil {
			return err
		}
		before, err := memberGetTx(ctx, tx, userID, true)
		if err != nil {
			return err
		}
		if before.DeactivatedAt != nil {
			m = before
			return nil
		}
		if userID == tx.Scope.ActorID {
			return store.Errorf(store.Conflict, "You cannot deactivate yourself. Ask another administrator.")
		}
		if before.Role == RoleAdmin && len(admins) <= 1 {
			return store.Errorf(store.Conflict, "%s", lastAdminMessage(before.Name))
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE memberships SET deactivated_at = now(), version = version + 1, updated_at = now()
			WHERE tenant_id = $1 AND user_id = $2`, tx.Scope.TenantID, userID); err != nil {
			return fmt.Errorf("error deactivating member %s: %w", userID, err)
		}
		if m, err = memberGetTx(ctx, tx, userID, false); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.RecordParams{
			Action: "membership.deactivate", EntityType: "membership", EntityID: userID.String(), Before: before, After: m,
		}); err != nil {
			return err
		}
		_, err = events.Record(ctx, tx, events.RecordParams{Type: events.UserDeactivated, Data: map[string]any{
			"user_id": userID, "email": m.Email, "name": m.Name, "role": m.Role, "deactivated_at": m.DeactivatedAt,
		}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// MemberReactivate lets a deactivated member work in scope's tenant again, with the role and department
// they had. Reactivating an active member changes nothing. The actor needs AdminUsers.
func MemberReactivate(ctx context.Context, db *store.DB, scope store.Scope, userID store.ID) (*Member, error) {
	var m *Member
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := Permit(ctx, tx, AdminUsers); err != nil {
			return err
		}
		before, err := memberGetTx(ctx, tx, userID, true)
		if err != nil {
			return err
		}
		if before.DeactivatedAt == nil {
			m = before
			return nil
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE memberships SET deactivated_at = NULL, version = version + 1, updated_at = now()
			WHERE tenant_id = $1 AND user_id = $2`, tx.Scope.TenantID, userID); err != nil {
			return fmt.Errorf("error reactivating member %s: %w", userID, err)
		}
		if m, err = memberGetTx(ctx, tx, userID, false); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: "membership.reactivate", EntityType: "membership", EntityID: userID.String(), Before: before, After: m,
		})
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// DepartmentChoice is a department as offered in a form's list.
type DepartmentChoice struct {
	ID   store.ID `db:"id"`
	Name string   `db:"name"`
}

// DepartmentChoices lists the tenant's departments (not deleted) by name, for the people forms and
// filters. At most 1000 are returned. The actor needs AdminUsers.
func DepartmentChoices(ctx context.Context, db *store.DB, scope store.Scope) ([]DepartmentChoice, error) {
	var out []DepartmentChoice
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := Permit(ctx, tx, AdminUsers); err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &out, `
			SELECT id, name FROM departments WHERE tenant_id = $1 AND deleted_at IS NULL
			ORDER BY lower(name), id LIMIT 1000`, tx.Scope.TenantID); err != nil {
			return fmt.Errorf("error listing departments: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
