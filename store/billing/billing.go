// Package billing owns customers, tax rates, the tenant's billing settings, invoices and their lines,
// gapless document numbers, credit notes, payments and their allocations, invoice documents (PDF) and
// e-mail send requests, and the receivables reports.
//
// Auditors must be able to trust every number:
//   - Invoice and credit note numbers are gapless per tenant, series and year. The number is taken in the
//     issuing transaction from a counter row locked FOR UPDATE (never a sequence), so a rolled-back issue
//     gives its number back and concurrent issues queue on the row.
//   - Amounts are int64 minor units computed with exact integer arithmetic (math/big for products) and
//     rounded half to even once per line (LineAmounts); totals are sums of rounded lines. No float is used.
//   - An invoice's balance is total - paid - credited, kept in the same transaction as every allocation,
//     reversal and credit note and guarded by CHECK constraints (billing_invoices_balance_rule), so no
//     allocation or credit can exceed a balance and the balance cannot drift from its ledger.
//   - Payments are never deleted: a reversal marks the payment and its allocations and restores balances.
//
// Every operation validates its input, checks the actor's permission, writes its rows, its audit event and
// its business event (store/events), and enqueues its jobs, in one transaction. The package must not import
// another business domain (inventory included): an invoice line may name an inventory item by id, and the
// caller (the handler) passes the price it defaults from that item.
package billing

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"

	"ledgerline/store"
	"ledgerline/store/identity"
)

func permit(ctx context.Context, tx *store.Tx, p identity.Permission) error {
	return identity.Permit(ctx, tx, p)
}

// actorOf returns who acts in tx: the member, else the OAuth client, else nil (the system).
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

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func textField(f *store.FieldErrors, field, s string, minLen, maxLen int, msg string) string {
	s = strings.TrimSpace(s)
	if n := len([]rune(s)); n < minLen || n > maxLen {
		f.Add(field, msg)
	}
	return s
}

// Qty is an invoice line's quantity with exactly three decimals, held as thousandths (numeric(15,3)).
type Qty int64

// QtyScale is the number of thousandths in one unit.
const QtyScale = 1000

// QtyMax is the largest quantity a line holds.
const QtyMax Qty = 999_999_999_999_999

// Units returns n whole units.
func Units(n int64) Qty { return Qty(n * QtyScale) }

// String writes q with as few decimals as it needs: "12", "12.5".
func (q Qty) String() string {
	neg := q < 0
	u := uint64(q) // #nosec G115 -- two's complement on purpose: negated below when q < 0
	if neg {
		u = uint64(-q)
	}
	s := strconv.FormatUint(u/QtyScale, 10)
	if frac := u % QtyScale; frac != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%03d", frac), "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

var errQtyFormat = store.Errorf(store.Invalid, "Enter a quantity in figures with at most 3 decimals, like 2.5.")

// ParseQty reads a quantity as people type it ("12", "12.5", "1,000.25"). A negative quantity parses (the
// store refuses it with its own message).
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
	if whole == "" || (hasPoint && frac == "") || len(frac) > 3 || !allDigits(whole) || !allDigits(frac) {
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

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Scan reads a numeric column (pgx hands numeric over as text).
func (q *Qty) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case int64:
		*q = Qty(v * QtyScale)
		return nil
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("cannot scan %T into billing.Qty", src)
	}
	if whole, frac, ok := strings.Cut(s, "."); ok && len(frac) > 3 {
		if strings.Trim(frac[3:], "0") != "" {
			return fmt.Errorf("numeric %q has more than 3 decimals", s)
		}
		s = whole + "." + frac[:3]
	}
	v, err := ParseQty(s)
	if err != nil {
		return fmt.Errorf("cannot scan numeric %q into billing.Qty: %w", s, err)
	}
	*q = v
	return nil
}

// Value writes q as numeric text.
func (q Qty) Value() (driver.Value, error) { return q.String(), nil }
