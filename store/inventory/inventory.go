// Package inventory owns items, locations (warehouses and their bins), the stock ledger, stock levels,
// reservations, valuation and the low-stock state.
//
// The ledger (stock_movements) is append-only: a movement is never edited, a mistake is corrected by
// MovementReverse. Stock levels change in the same transaction as the movement that explains them, and
// CHECK constraints in the database refuse a negative level (unless the location allows it) or a
// reservation beyond what is on hand, so concurrent issues cannot oversell whatever the code does.
//
// Every operation validates its input, checks the actor's permission, writes its rows and its audit
// event in one transaction. The package must not import other business domains; they reach it through
// River jobs.
package inventory

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// Qty is a quantity with exactly three decimals, held as an integer count of thousandths so that sums
// are exact. The database column is numeric(15,3), whose range fits an int64 of thousandths.
type Qty int64

// QtyScale is the number of thousandths in one unit.
const QtyScale = 1000

// QtyMax is the largest quantity a column holds: 999,999,999,999.999.
const QtyMax Qty = 999_999_999_999_999

// Units returns a Qty of n whole units.
func Units(n int64) Qty { return Qty(n * QtyScale) }

// IsWhole reports whether q has no fractional part.
func (q Qty) IsWhole() bool { return q%QtyScale == 0 }

// String writes q with as few decimals as it needs: "12", "12.5", "-0.125".
func (q Qty) String() string {
	neg := q < 0
	u := uint64(q) // #nosec G115 -- two's complement on purpose: negated below when q < 0
	if neg {
		u = uint64(-q)
	}
	whole, frac := u/QtyScale, u%QtyScale
	s := strconv.FormatUint(whole, 10)
	if frac != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%03d", frac), "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

var errQtyFormat = store.Errorf(store.Invalid, "Enter a quantity in figures with at most 3 decimals, like 12.5.")

// ParseQty reads a quantity as people type it ("12", "12.5", "-3", "1,000.25"). More than three decimals,
// or a value beyond QtyMax, is an Invalid error.
func ParseQty(s string) (Qty, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 40 {
		return 0, errQtyFormat
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	whole = strings.ReplaceAll(whole, ",", "")
	if whole == "" || (hasPoint && frac == "") || len(frac) > 3 || !digits(whole) || !digits(frac) {
		return 0, errQtyFormat
	}
	frac += strings.Repeat("0", 3-len(frac))
	var v int64
	for _, r := range whole + frac {
		d := int64(r - '0')
		if v > (int64(QtyMax)-d)/10 {
			return 0, store.Errorf(store.Invalid, "Enter a smaller quantity.")
		}
		v = v*10 + d
	}
	if neg {
		v = -v
	}
	return Qty(v), nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Scan reads a numeric column (pgx hands numeric over as text).
func (q *Qty) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*q = 0
		return nil
	case int64:
		*q = Qty(v * QtyScale)
		return nil
	case string:
		return q.scanText(v)
	case []byte:
		return q.scanText(string(v))
	}
	// Floats are refused rather than rounded silently; pgx sends numeric as text.
	return fmt.Errorf("cannot scan %T into inventory.Qty", src)
}

func (q *Qty) scanText(s string) error {
	// Aggregates can carry more than three decimals of trailing zeros ("12.5000").
	if whole, frac, ok := strings.Cut(s, "."); ok && len(frac) > 3 {
		if strings.Trim(frac[3:], "0") != "" {
			return fmt.Errorf("numeric %q has more than 3 decimals", s)
		}
		s = whole + "." + frac[:3]
	}
	v, err := ParseQty(s)
	if err != nil {
		return fmt.Errorf("cannot scan numeric %q into inventory.Qty: %w", s, err)
	}
	*q = v
	return nil
}

// Value writes q as numeric text.
func (q Qty) Value() (driver.Value, error) { return q.String(), nil }

// MarshalJSON writes q as a JSON number with up to three decimals.
func (q Qty) MarshalJSON() ([]byte, error) { return []byte(q.String()), nil }

// UnmarshalJSON reads a JSON number or string.
func (q *Qty) UnmarshalJSON(b []byte) error {
	v, err := ParseQty(strings.Trim(string(b), `"`))
	if err != nil {
		return err
	}
	*q = v
	return nil
}

// Unit is an item's unit of measure, from a fixed list.
type Unit string

// unitInfo describes a unit: its label and whether quantities must be whole.
type unitInfo struct {
	label string
	whole bool
}

var units = map[Unit]unitInfo{
	"ea": {"each", true}, "pcs": {"pieces", true}, "box": {"box", true}, "pack": {"pack", true},
	"pair": {"pair", true}, "set": {"set", true}, "roll": {"roll", true}, "pallet": {"pallet", true},
	"kg": {"kilogram", false}, "g": {"gram", false}, "t": {"tonne", false},
	"l": {"litre", false}, "ml": {"millilitre", false},
	"m": {"metre", false}, "cm": {"centimetre", false}, "m2": {"square metre", false}, "m3": {"cubic metre", false},
	"h": {"hour", false},
}

// UnitList returns every unit, sorted by code.
func UnitList() []Unit {
	out := make([]Unit, 0, len(units))
	for u := range units {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// Valid reports whether u is one of the units.
func (u Unit) Valid() bool { _, ok := units[u]; return ok }

// Label is the unit's name as people read it.
func (u Unit) Label() string {
	if i, ok := units[u]; ok {
		return i.label
	}
	return string(u)
}

// Whole reports whether the unit counts whole things (quantities without decimals).
func (u Unit) Whole() bool { return units[u].whole }

// permit is identity's one permission check: members by their current role, OAuth clients by their
// token's scopes, the system always.
func permit(ctx context.Context, tx *store.Tx, p identity.Permission) error {
	return identity.Permit(ctx, tx, p)
}

// actorOf returns who acts in tx for the ledger's actor column: the member, else the OAuth client.
func actorOf(tx *store.Tx) *store.ID {
	if a := tx.Scope.ActorID; a != (store.ID{}) {
		return &a
	}
	if c := tx.Scope.ClientID; c != (store.ID{}) {
		return &c
	}
	return nil
}

var errBadCursor = store.Errorf(store.Invalid, "That page link is not valid any more. Start from the first page.")

// likeEscaper escapes LIKE wildcards in user search text.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// textField trims s and checks its length in characters.
func textField(f *store.FieldErrors, field, s string, minLen, maxLen int, msg string) string {
	s = strings.TrimSpace(s)
	if n := len([]rune(s)); n < minLen || n > maxLen {
		f.Add(field, msg)
	}
	return s
}

// isNumericOverflow reports whether err is PostgreSQL's "numeric field overflow" (a total beyond numeric(15,3)).
func isNumericOverflow(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "22003"
}
