// Package approvals owns approval requests (purchase requests, expense claims, general requests), the
// policies that route them, the route frozen on each request at submission, decisions, delegations and
// the SLA reminders and escalations.
//
// Every operation validates its input, checks the actor's right, writes its rows, its audit event and its
// business event, and enqueues its follow-up jobs in one transaction. Decisions lock the request row, so
// two approvers acting at once are served one after the other; unique constraints make sure no approver
// and no person is counted twice on a step. The package must not import other business domains: an
// approved purchase request reaches inventory through RequestApprovedArgs, worked in jobs/.
package approvals

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
	"time"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// RequestType is what is asked for.
type RequestType string

// The request types.
const (
	TypePurchase RequestType = "purchase"
	TypeExpense  RequestType = "expense"
	TypeGeneral  RequestType = "general"
)

// RequestTypes lists the types in the order screens show them.
var RequestTypes = []RequestType{TypePurchase, TypeExpense, TypeGeneral}

// Valid reports whether t is one of the types.
func (t RequestType) Valid() bool {
	return t == TypePurchase || t == TypeExpense || t == TypeGeneral
}

// Label is the type's name as people read it.
func (t RequestType) Label() string {
	switch t {
	case TypePurchase:
		return "Purchase request"
	case TypeExpense:
		return "Expense claim"
	case TypeGeneral:
		return "General request"
	}
	return string(t)
}

// Status is where a request stands.
type Status string

// The request statuses. Draft and returned requests are the requester's to edit; pending ones are on
// their route; approved, rejected and withdrawn are final.
const (
	StatusDraft     Status = "draft"
	StatusPending   Status = "pending"
	StatusApproved  Status = "approved"
	StatusRejected  Status = "rejected"
	StatusReturned  Status = "returned"
	StatusWithdrawn Status = "withdrawn"
)

// Label is the status as people read it.
func (s Status) Label() string {
	switch s {
	case StatusDraft:
		return "Draft"
	case StatusPending:
		return "Pending"
	case StatusApproved:
		return "Approved"
	case StatusRejected:
		return "Rejected"
	case StatusReturned:
		return "Sent back"
	case StatusWithdrawn:
		return "Withdrawn"
	}
	return string(s)
}

// Editable reports whether the requester may still change the request.
func (s Status) Editable() bool { return s == StatusDraft || s == StatusReturned }

// Quantity is a purchase line's quantity in thousandths (numeric(15,3) in the database).
type Quantity int64

// QuantityMax is the largest quantity a line holds.
const QuantityMax Quantity = 999_999_999_999_999

// ParseQuantity reads "12", "12.5" or "1,000.25" (at most three decimals, above zero).
func ParseQuantity(s string) (Quantity, error) {
	bad := store.Errorf(store.Invalid, "Enter a quantity above zero in figures, with at most 3 decimals, like 12.5.")
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", "")
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || len(whole) > 12 || (hasPoint && frac == "") || len(frac) > 3 || !allDigits(whole) || !allDigits(frac) {
		return 0, bad
	}
	frac += strings.Repeat("0", 3-len(frac))
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || v <= 0 || Quantity(v) > QuantityMax {
		return 0, bad
	}
	return Quantity(v), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String writes q with as few decimals as it needs.
func (q Quantity) String() string {
	whole, frac := int64(q)/1000, int64(q)%1000
	s := strconv.FormatInt(whole, 10)
	if frac != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%03d", frac), "0")
	}
	return s
}

// Scan reads a numeric column.
func (q *Quantity) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	case int64:
		*q = Quantity(v * 1000)
		return nil
	default:
		return fmt.Errorf("cannot scan %T into approvals.Quantity", src)
	}
	if whole, frac, ok := strings.Cut(s, "."); ok && len(frac) > 3 {
		s = whole + "." + frac[:3]
	}
	v, err := ParseQuantity(s)
	if err != nil {
		return fmt.Errorf("cannot scan numeric %q into approvals.Quantity", s)
	}
	*q = v
	return nil
}

// Value writes q as numeric text.
func (q Quantity) Value() (driver.Value, error) { return q.String(), nil }

// MarshalJSON writes q as a JSON number.
func (q Quantity) MarshalJSON() ([]byte, error) { return []byte(q.String()), nil }

// UnmarshalJSON reads a JSON number or string.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	v, err := ParseQuantity(strings.Trim(string(b), `"`))
	if err != nil {
		return err
	}
	*q = v
	return nil
}

// lineAmount is quantity × unit cost in minor units, rounded half up.
func lineAmount(q Quantity, unitCost int64) int64 {
	return (int64(q)*unitCost + 500) / 1000
}

// Number formats a request's number for people: AR-000123.
func Number(n int64) string { return fmt.Sprintf("AR-%06d", n) }

var (
	errRequestNotFound = store.Errorf(store.NotFound, "No such request.")
	errRequestChanged  = store.Errorf(store.Conflict,
		"This request was changed by someone else while you were editing. Reload the page to see the changes, then try again.")
	errOwnRequest = store.Errorf(store.Forbidden, "You cannot decide on your own request, not even on someone else's behalf.")
)

func permit(ctx context.Context, tx *store.Tx, p identity.Permission) error {
	return identity.Permit(ctx, tx, p)
}

// textField trims s and checks its length in characters.
func textField(f *store.FieldErrors, field, s string, minLen, maxLen int, msg string) string {
	s = strings.TrimSpace(s)
	if n := len([]rune(s)); n < minLen || n > maxLen {
		f.Add(field, msg)
	}
	return s
}

// tenantLocation returns the time zone of tx's tenant.
func tenantLocation(ctx context.Context, tx *store.Tx) (*time.Location, error) {
	var tz string
	if err := tx.GetContext(ctx, &tz, `SELECT time_zone FROM tenants WHERE id = $1`, tx.Scope.TenantID); err != nil {
		return nil, fmt.Errorf("error loading time zone: %w", err)
	}
	loc, err := store.LoadLocation(tz)
	if err != nil {
		return time.UTC, nil
	}
	return loc, nil
}

// memberName returns a member's name, or "someone" when unknown.
func memberName(ctx context.Context, tx *store.Tx, id store.ID) string {
	var name string
	if err := tx.GetContext(ctx, &name, `SELECT name FROM users WHERE id = $1`, id); err != nil {
		return "someone"
	}
	return name
}
