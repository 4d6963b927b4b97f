package identity

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"ledgerline/store"
	"ledgerline/store/audit"
)

// Department is a unit of a tenant with an optional manager. Deleting one is soft: DeletedAt is set and
// the name becomes free for a new department; restoring it needs the name to be free again.
type Department struct {
	ID        store.ID   `db:"id" json:"id"`
	Name      string     `db:"name" json:"name"`
	ManagerID *store.ID  `db:"manager_id" json:"manager_id"`
	DeletedAt *time.Time `db:"deleted_at" json:"deleted_at,omitempty"`
	Version   int        `db:"version" json:"version"`
}

// DepartmentSummary is a department as lists and the detail page show it: with its manager's name and how
// many active members it has.
type DepartmentSummary struct {
	Department
	ManagerName *string `db:"manager_name"`
	MemberCount int     `db:"member_count"`
}

// DepartmentNameMaxLength is the longest department name, in characters.
const DepartmentNameMaxLength = 200

var (
	errDepartmentNotFound = store.Errorf(store.NotFound, "No such department.")
	errDepartmentChanged  = store.Errorf(store.Conflict,
		"This department was changed by someone else while you were editing. Reload the page to see the changes, then try again.")
)

// departmentPermit requires AdminUsers (see Permit for members, clients and the system).
func departmentPermit(ctx context.Context, tx *store.Tx) error {
	return Permit(ctx, tx, AdminUsers)
}

func departmentNameValid(name string) (string, error) {
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n == 0 || n > DepartmentNameMaxLength {
		return "", (store.FieldErrors{"name": "Enter the department's name (up to 200 characters)."}).Err()
	}
	return name, nil
}

func departmentNameTaken(name string) error {
	return &store.Error{Code: store.Conflict, Message: "A department with that name exists.",
		Fields: map[string]string{"name": "Choose another name; a department called " + name + " exists."}}
}

// departmentSummaryColumns and departmentSummaryFrom read DepartmentSummary rows.
const (
	departmentSummaryColumns = `
	SELECT d.id, d.name, d.manager_id, d.deleted_at, d.version, u.name AS manager_name,
	       (SELECT count(*) FROM memberships m
	        WHERE m.tenant_id = d.tenant_id AND m.department_id = d.id AND m.deactivated_at IS NULL) AS member_count`
	departmentSummaryFrom = `
	FROM departments d
	LEFT JOIN users u ON u.id = d.manager_id`
)

// departmentLockTx reads a department for update. Other tenants' departments do not exist for it.
func departmentLockTx(ctx context.Context, tx *store.Tx, id store.ID) (*Department, error) {
	var d Department
	err := tx.GetContext(ctx, &d, `
		SELECT id, name, manager_id, deleted_at, version FROM departments
		WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tx.Scope.TenantID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errDepartmentNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("error loading department %s: %w", id, err)
	}
	return &d, nil
}

// DepartmentCreate creates a department in scope's tenant. The actor needs AdminUsers.
func DepartmentCreate(ctx context.Context, db *store.DB, scope store.Scope, name string) (*Department, error) {
	name, err := departmentNameValid(name)
	if err != nil {
		return nil, err
	}
	d := &Department{ID: store.NewID(), Name: name, Version: 1}
	err = db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := departmentPermit(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO departments (id, name) VALUES ($1, $2)`, d.ID, d.Name)
		if store.IsUniqueViolation(err, "departments_name_key") {
			return departmentNameTaken(name)
		}
		if err != nil {
			return fmt.Errorf("error creating department: %w", err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "department.create", EntityType: "department", EntityID: d.ID.String(), After: d})
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// DepartmentListParams filters and pages the department list. IncludeDeleted adds soft-deleted
// departments. After is the opaque cursor of the previous page; Limit defaults to 50 (at most 200).
type DepartmentListParams struct {
	IncludeDeleted bool
	After          string
	Limit          int
}

// DepartmentListResult is one page of departments by name. Total counts every department matching the
// filter, Start is the 1-based position of the page's first department, Next the cursor of the next page
// ("" on the last).
type DepartmentListResult struct {
	Departments []DepartmentSummary
	Total       int
	Start       int
	Next        string
}

// DepartmentList returns a page of scope's departments ordered by name, with member counts and keyset
// pagination on (lower(name), id). The actor needs AdminUsers.
func DepartmentList(ctx context.Context, db *store.DB, scope store.Scope, p DepartmentListParams) (*DepartmentListResult, error) {
	if p.Limit <= 0 || p.Limit > 200 {
		p.Limit = 50
	}
	var (
		afterName *string
		afterID   *store.ID
	)
	res := &DepartmentListResult{Start: 1}
	if p.After != "" {
		cur, err := departmentCursorDecode(p.After)
		if err != nil {
			return nil, store.Errorf(store.Invalid, "That page link is not valid any more. Start from the first page.")
		}
		afterName, afterID, res.Start = &cur.name, &cur.id, cur.start
	}
	var rows []struct {
		DepartmentSummary
		SortName string `db:"sort_name"`
	}
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := departmentPermit(ctx, tx); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &res.Total, `
			SELECT count(*) FROM departments d WHERE d.tenant_id = $1 AND ($2 OR d.deleted_at IS NULL)`,
			tx.Scope.TenantID, p.IncludeDeleted); err != nil {
			return fmt.Errorf("error counting departments: %w", err)
		}
		if err := tx.SelectContext(ctx, &rows, departmentSummaryColumns+`, lower(d.name) AS sort_name`+departmentSummaryFrom+`
			WHERE d.tenant_id = $1 AND ($2 OR d.deleted_at IS NULL)
			  AND ($3::text IS NULL OR (lower(d.name), d.id) > ($3::text, $4::uuid))
			ORDER BY lower(d.name), d.id
			LIMIT $5`, tx.Scope.TenantID, p.IncludeDeleted, afterName, afterID, p.Limit+1); err != nil {
			return fmt.Errorf("error listing departments: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(rows) > p.Limit {
		last := rows[p.Limit-1]
		rows = rows[:p.Limit]
		res.Next = departmentCursor{start: res.Start + p.Limit, name: last.SortName, id: last.ID}.encode()
	}
	res.Departments = make([]DepartmentSummary, len(rows))
	for i, r := range rows {
		res.Departments[i] = r.DepartmentSummary
	}
	return res, nil
}

// departmentCursor is where the next page starts: after (name, id), showing rows from position start on.
type departmentCursor struct {
	start int
	name  string
	id    store.ID
}

func (c departmentCursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(c.start) + "|" + c.id.String() + "|" + c.name))
}

func departmentCursorDecode(s string) (departmentCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return departmentCursor{}, err
	}
	parts := strings.SplitN(string(b), "|", 3)
	if len(parts) != 3 {
		return departmentCursor{}, errors.New("malformed cursor")
	}
	start, err := strconv.Atoi(parts[0])
	if err != nil || start < 1 {
		return departmentCursor{}, errors.New("malformed cursor position")
	}
	id, err := store.ParseID(parts[1])
	if err != nil {
		return departmentCursor{}, err
	}
	return departmentCursor{start: start, name: parts[2], id: id}, nil
}

// DepartmentGet returns one department of scope's tenant, deleted or not. A department of another tenant is
// NotFound. The actor needs AdminUsers.
func DepartmentGet(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*DepartmentSummary, error) {
	var d DepartmentSummary
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := departmentPermit(ctx, tx); err != nil {
			return err
		}
		return store.Get(ctx, tx, &d, errDepartmentNotFound.Message,
			departmentSummaryColumns+departmentSummaryFrom+` WHERE d.tenant_id = $1 AND d.id = $2`, tx.Scope.TenantID, id)
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// DepartmentRenameParams renames a department. Version is the version the editor saw.
type DepartmentRenameParams struct {
	ID      store.ID
	Name    string
	Version int
}

// DepartmentRename renames a department (deleted ones too, which helps restoring one whose name was taken).
// A stale Version is a Conflict; a name a live department has is a Conflict on the name field. The actor
// needs AdminUsers.
func DepartmentRename(ctx context.Context, db *store.DB, scope store.Scope, p DepartmentRenameParams) (*Department, error) {
	name, err := departmentNameValid(p.Name)
	if err != nil {
		return nil, err
	}
	var after Department
	err = db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := departmentPermit(ctx, tx); err != nil {
			return err
		}
		before, err := departmentLockTx(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if before.Version != p.Version {
			return errDepartmentChanged
		}
		after = *before
		if before.Name == name {
			return nil
		}
		after.Name = name
		after.Version++
		_, err = tx.ExecContext(ctx, `
			UPDATE departments SET name = $1, version = version + 1, updated_at = now()
			WHERE tenant_id = $2 AND id = $3`, name, tx.Scope.TenantID, p.ID)
		if store.IsUniqueViolation(err, "departments_name_key") {
			return departmentNameTaken(name)
		}
		if err != nil {
			return fmt.Errorf("error renaming department %s: %w", p.ID, err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "department.rename", EntityType: "department",
			EntityID: p.ID.String(), Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	return &after, nil
}

// DepartmentManagerUpdateParams assigns or clears (nil ManagerID) a department's manager. Version is the
// version the editor saw; 0 skips the check (for operators' commands such as seed).
type DepartmentManagerUpdateParams struct {
	ID        store.ID
	ManagerID *store.ID
	Version   int
}

// DepartmentManagerUpdate assigns a department's manager, who must be an active member of scope's tenant,
// or clears it. A deleted department keeps its manager until it is restored. A stale Version is a
// Conflict. The actor needs AdminUsers.
func DepartmentManagerUpdate(ctx context.Context, db *store.DB, scope store.Scope, p DepartmentManagerUpdateParams) (*Department, error) {
	var after Department
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := departmentPermit(ctx, tx); err != nil {
			return err
		}
		before, err := departmentLockTx(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if p.Version != 0 && before.Version != p.Version {
			return errDepartmentChanged
		}
		if before.DeletedAt != nil {
			return store.Errorf(store.Invalid, "This department is deleted. Restore it before changing its manager.")
		}
		if p.ManagerID != nil {
			var active bool
			if err := tx.GetContext(ctx, &active, `
				SELECT EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
				WHERE m.tenant_id = $1 AND m.user_id = $2 AND m.deactivated_at IS NULL AND u.disabled_at IS NULL)`,
				tx.Scope.TenantID, *p.ManagerID); err != nil {
				return fmt.Errorf("error checking manager %s: %w", *p.ManagerID, err)
			}
			if !active {
				return (store.FieldErrors{"manager_id": "Choose an active member of this organization as the manager."}).Err()
			}
		}
		after = *before
		if sameID(before.ManagerID, p.ManagerID) {
			return nil
		}
		after.ManagerID = p.ManagerID
		after.Version++
		if _, err := tx.ExecContext(ctx, `
			UPDATE departments SET manager_id = $1, version = version + 1, updated_at = now()
			WHERE tenant_id = $2 AND id = $3`, p.ManagerID, tx.Scope.TenantID, p.ID); err != nil {
			return fmt.Errorf("error setting manager of department %s: %w", p.ID, err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "department.manager_set", EntityType: "department",
			EntityID: p.ID.String(), Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	return &after, nil
}

// DepartmentManagerSet makes a member the manager of a department, whatever its version: the operators'
// shortcut (seed) for DepartmentManagerUpdate.
func DepartmentManagerSet(ctx context.Context, db *store.DB, scope store.Scope, departmentID, managerID store.ID) error {
	_, err := DepartmentManagerUpdate(ctx, db, scope, DepartmentManagerUpdateParams{ID: departmentID, ManagerID: &managerID})
	return err
}

// DepartmentDelete soft-deletes a department. It is refused while people still belong to it, active or
// deactivated: move them first. (An open invitation naming it is no obstacle: accepting it then joins the
// person without a department.) A stale version is a Conflict. The actor needs AdminUsers.
func DepartmentDelete(ctx context.Context, db *store.DB, scope store.Scope, id store.ID, version int) (*Department, error) {
	var after Department
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := departmentPermit(ctx, tx); err != nil {
			return err
		}
		before, err := departmentLockTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if before.Version != version {
			return errDepartmentChanged
		}
		if before.DeletedAt != nil {
			return store.Errorf(store.Invalid, "%s is already deleted.", before.Name)
		}
		var members int
		if err := tx.GetContext(ctx, &members,
			`SELECT count(*) FROM memberships WHERE tenant_id = $1 AND department_id = $2`,
			tx.Scope.TenantID, id); err != nil {
			return fmt.Errorf("error counting members of department %s: %w", id, err)
		}
		if members > 0 {
			who := "1 person still belongs"
			if members > 1 {
				who = fmt.Sprintf("%d people still belong", members)
			}
			return store.Errorf(store.Invalid, "%s cannot be deleted: %s to it (deactivated members count too). Move them to another department first, then delete it.",
				before.Name, who)
		}
		after = *before
		if err := tx.GetContext(ctx, &after.DeletedAt, `
			UPDATE departments SET deleted_at = now(), version = version + 1, updated_at = now()
			WHERE tenant_id = $1 AND id = $2 RETURNING deleted_at`, tx.Scope.TenantID, id); err != nil {
			return fmt.Errorf("error deleting department %s: %w", id, err)
		}
		after.Version++
		return audit.Record(ctx, tx, audit.RecordParams{Action: "department.delete", EntityType: "department",
			EntityID: id.String(), Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	return &after, nil
}

// DepartmentRestore brings back a soft-deleted department. Its name must be free among the live
// departments (otherwise rename one of the two first). A stale version is a Conflict. The actor needs
// AdminUsers.
func DepartmentRestore(ctx context.Context, db *store.DB, scope store.Scope, id store.ID, version int) (*Department, error) {
	var after Department
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := departmentPermit(ctx, tx); err != nil {
			return err
		}
		before, err := departmentLockTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if before.Version != version {
			return errDepartmentChanged
		}
		if before.DeletedAt == nil {
			return store.Errorf(store.Invalid, "%s is not deleted.", before.Name)
		}
		after = *before
		after.DeletedAt = nil
		after.Version++
		_, err = tx.ExecContext(ctx, `
			UPDATE departments SET deleted_at = NULL, version = version + 1, updated_at = now()
			WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, id)
		if store.IsUniqueViolation(err, "departments_name_key") {
			return store.Errorf(store.Conflict,
				"Another department is called %s now. Rename this one or the other one first, then restore it.", before.Name)
		}
		if err != nil {
			return fmt.Errorf("error restoring department %s: %w", id, err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "department.restore", EntityType: "department",
			EntityID: id.String(), Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	return &after, nil
}

// ManagerChoice is an active member as offered in the manager list.
type ManagerChoice struct {
	UserID store.ID `db:"user_id"`
	Name   string   `db:"name"`
	Email  string   `db:"email"`
}

// DepartmentManagerChoices lists the active members of scope's tenant by name, the people who may manage
// a department. At most 1000 are returned. The actor needs AdminUsers.
func DepartmentManagerChoices(ctx context.Context, db *store.DB, scope store.Scope) ([]ManagerChoice, error) {
	var out []ManagerChoice
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := departmentPermit(ctx, tx); err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &out, `
			SELECT m.user_id, u.name, u.email FROM memberships m JOIN users u ON u.id = m.user_id
			WHERE m.tenant_id = $1 AND m.deactivated_at IS NULL AND u.disabled_at IS NULL
			ORDER BY lower(u.name), u.id LIMIT 1000`, tx.Scope.TenantID); err != nil {
			return fmt.Errorf("error listing manager choices: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
