package billing

import (
	"math/big"

	"ledgerline/store"
)

// The rounding rule, written once:
//
// Each line is rounded once, half to even ("banker's rounding"), to the minor unit of the invoice's
// currency; subtotal, tax and total are exact sums of the rounded lines. Unit prices are entered in minor
// units of the currency (2 decimals for EUR, 0 for JPY, 3 for KWD), so the exponent is already in the
// integers and one rule fits every currency.
//
//   - Prices exclusive of tax: net = round(quantity × unit price); tax = round(net × rate); gross = net + tax.
//   - Prices inclusive of tax: gross = round(quantity × unit price); net = round(gross ÷ (1 + rate));
//     tax = gross − net, so the printed gross is exactly what the customer was quoted.
//
// Quantities carry three decimals and rates are basis points; products are computed with math/big, so no
// intermediate value overflows or passes through a float.

// MaxAmount bounds any amount a line, invoice or payment may reach (10^15 minor units), so sums of up to
// MaxLines lines stay far inside int64.
const MaxAmount int64 = 1_000_000_000_000_000

// MaxLines is the most lines an invoice may have.
const MaxLines = 500

var errAmountTooLarge = store.Errorf(store.Invalid, "The amount is too large. Split it over several lines or invoices.")

// roundHalfEven returns num ÷ den rounded half to even. den must be positive.
func roundHalfEven(num *big.Int, den int64) *big.Int {
	d := big.NewInt(den)
	q, r := new(big.Int).QuoRem(num, d, new(big.Int))
	// Compare 2|r| with den: below rounds toward zero, above away from zero, equal to the even neighbour.
	twice := new(big.Int).Abs(r)
	twice.Lsh(twice, 1)
	switch c := twice.Cmp(d); {
	case c > 0, c == 0 && q.Bit(0) == 1:
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

// LineAmounts computes a line's net, tax and gross in minor units from its quantity (thousandths), unit
// price (minor units) and tax rate (basis points), by the rounding rule above. Negative inputs and results
// beyond MaxAmount are Invalid errors.
func LineAmounts(qty Qty, unitPrice int64, rateBP int, pricesIncludeTax bool) (net, tax, gross int64, err error) {
	if qty <= 0 || unitPrice < 0 || rateBP < 0 || rateBP > 10000 {
		return 0, 0, 0, store.Errorf(store.Invalid, "Enter a positive quantity, a price of zero or more and a tax rate from the list.")
	}
	product := new(big.Int).Mul(big.NewInt(int64(qty)), big.NewInt(unitPrice))
	first := roundHalfEven(product, QtyScale)
	if !first.IsInt64() || first.Int64() > MaxAmount {
		return 0, 0, 0, errAmountTooLarge
	}
	if pricesIncludeTax {
		gross = first.Int64()
		n := roundHalfEven(new(big.Int).Mul(big.NewInt(gross), big.NewInt(10000)), int64(10000+rateBP))
		net = n.Int64()
		tax = gross - net
	} else {
		net = first.Int64()
		t := roundHalfEven(new(big.Int).Mul(big.NewInt(net), big.NewInt(int64(rateBP))), 10000)
		tax = t.Int64()
		gross = net + tax
		if gross > MaxAmount {
			return 0, 0, 0, errAmountTooLarge
		}
	}
	return net, tax, gross, nil
}

// TaxShare is the tax of one rate on an invoice: its name, rate, the net it applies to and the tax.
type TaxShare struct {
	Name   string `json:"name"`
	RateBP int    `json:"rate_bp"`
	Net    int64  `json:"net"`
	Tax    int64  `json:"tax"`
}

// Totals sums rounded lines: subtotal (net), tax, total, and the tax by rate in first-seen order.
func Totals(lines []Line) (subtotal, tax, total int64, byRate []TaxShare) {
	idx := map[string]int{}
	for _, l := range lines {
		subtotal += l.Net
		tax += l.Tax
		key := l.TaxName + "\x00" + itoa(l.TaxRateBP)
		i, ok := idx[key]
		if !ok {
			i = len(byRate)
			idx[key] = i
			byRate = append(byRate, TaxShare{Name: l.TaxName, RateBP: l.TaxRateBP})
		}
		byRate[i].Net += l.Net
		byRate[i].Tax += l.Tax
	}
	return subtotal, tax, subtotal + tax, byRate
}

// RateText writes basis points as a percentage: 1900 is "19%", 750 is "7.5%".
func RateText(bp int) string {
	whole, frac := bp/100, bp%100
	s := itoa(whole)
	if frac != 0 {
		f := itoa(frac)
		if frac < 10 {
			f = "0" + f
		}
		for len(f) > 0 && f[len(f)-1] == '0' {
			f = f[:len(f)-1]
		}
		s += "." + f
	}
	return s + "%"
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

// ParseRate reads a percentage as typed ("19", "7.5", "19 %") into basis points.
func ParseRate(s string) (int, error) {
	v, err := store.ParseMinorUnits(trimPercent(s), 2)
	if err != nil || v < 0 || v > 10000 {
		return 0, store.Errorf(store.Invalid, "Enter a rate between 0 and 100 with at most 2 decimals, like 19 or 7.5.")
	}
	return int(v), nil
}

func trimPercent(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '%' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	return s
}
