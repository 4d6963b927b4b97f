package store

import (
	"math"
	"strings"
)

// Money is stored as an int64 count of the currency's minor units (cents for EUR, yen for JPY, fils for
// KWD) next to its ISO 4217 code. These helpers turn what people type into minor units and back, with
// integer arithmetic only: a float cannot hold 0.1 exactly, and an amount must never change on a round trip.

// currencyDigits lists the active ISO 4217 currencies that can be a tenant's currency, with the number of
// digits of their minor unit. Fund codes (BOV, CHE, ...), precious metals and testing codes are left out.
var currencyDigits = map[string]int{
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2, "AZN": 2,
	"BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2, "BOB": 2, "BRL": 2,
	"BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2, "CAD": 2, "CDF": 2, "CHF": 2, "CLP": 0, "CNY": 2,
	"COP": 2, "CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2,
	"ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2,
	"GNF": 0, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2,
	"IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2, "JOD": 3, "JPY": 0, "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0,
	"KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2,
	"LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2,
	"MVR": 2, "MWK": 2, "MXN": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2,
	"NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2,
	"RON": 2, "RSD": 2, "RUB": 2, "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2,
	"SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2,
	"TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0,
	"USD": 2, "UYU": 2, "UZS": 2, "VED": 2, "VES": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2,
	"XCG": 2, "XOF": 0, "XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}

// CurrencyKnown reports whether code is an active ISO 4217 currency code (upper case, like "EUR").
func CurrencyKnown(code string) bool {
	_, ok := currencyDigits[code]
	return ok
}

// CurrencyDigits returns how many decimal digits the currency's minor unit has: 2 for EUR, 0 for JPY, 3 for
// KWD. Unknown codes get 2, the common case.
func CurrencyDigits(code string) int {
	if d, ok := currencyDigits[code]; ok {
		return d
	}
	return 2
}

// maxAmountLength bounds the input ParseMinorUnits looks at; no real amount needs more.
const maxAmountLength = 40

var (
	errAmountFormat = Errorf(Invalid, "Enter an amount in figures, like 1,000.00.")
	errAmountLarge  = Errorf(Invalid, "Enter a smaller amount.")
)

func errAmountDecimals(digits int) *Error {
	switch digits {
	case 0:
		return Errorf(Invalid, "Enter a whole amount: this currency has no decimal places.")
	case 1:
		return Errorf(Invalid, "Enter at most 1 decimal place.")
	}
	return Errorf(Invalid, "Enter at most %d decimal places.", digits)
}

// ParseMinorUnits reads an amount as people type it ("1,000.00", "1000", "-12.5", "7.50") and returns it in
// minor units of a currency with digits decimal places (1,000.00 with 2 digits is 100000). Commas may group
// thousands, and then must do so correctly ("1,00.00" is refused). Fraction digits beyond the currency's are
// accepted only when they are zeros. The error is an Invalid *Error whose message says how to fix the input.
func ParseMinorUnits(s string, digits int) (int64, error) {
	if digits < 0 || digits > 4 {
		digits = 2
	}
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxAmountLength {
		return 0, errAmountFormat
	}
	negative := false
	switch s[0] {
	case '-':
		negative = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || (hasPoint && frac == "") {
		return 0, errAmountFormat
	}
	if strings.Contains(whole, ",") {
		groups := strings.Split(whole, ",")
		if len(groups[0]) < 1 || len(groups[0]) > 3 {
			return 0, errAmountFormat
		}
		for _, g := range groups[1:] {
			if len(g) != 3 {
				return 0, errAmountFormat
			}
		}
		whole = strings.Join(groups, "")
	}
	if !allDigits(whole) || !allDigits(frac) {
		return 0, errAmountFormat
	}
	if len(frac) > digits {
		if strings.Trim(frac[digits:], "0") != "" {
			return 0, errAmountDecimals(digits)
		}
		frac = frac[:digits]
	}
	frac += strings.Repeat("0", digits-len(frac))

	var v int64
	for _, r := range whole + frac {
		d := int64(r - '0')
		if v > (math.MaxInt64-d)/10 {
			return 0, errAmountLarge
		}
		v = v*10 + d
	}
	if negative {
		v = -v
	}
	return v, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FormatMinorUnits writes minor units as a decimal amount with digits decimal places and commas between
// thousands: 100000 with 2 digits is "1,000.00". ParseMinorUnits reads it back to the same value.
func FormatMinorUnits(v int64, digits int) string {
	if digits < 0 || digits > 4 {
		digits = 2
	}
	var u uint64
	neg := v < 0
	if neg {
		u = uint64(-(v + 1)) + 1 // #nosec G115 -- v < 0, so -(v+1) is in [0, MaxInt64]; also right for math.MinInt64
	} else {
		u = uint64(v)
	}
	var pow uint64 = 1
	for range digits {
		pow *= 10
	}
	whole, frac := u/pow, u%pow

	w := []byte{}
	ws := uitoa(whole)
	for i := range len(ws) {
		if i > 0 && (len(ws)-i)%3 == 0 {
			w = append(w, ',')
		}
		w = append(w, ws[i])
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	b.Write(w)
	if digits > 0 {
		fs := uitoa(frac)
		b.WriteByte('.')
		b.WriteString(strings.Repeat("0", digits-len(fs)))
		b.WriteString(fs)
	}
	return b.String()
}

func uitoa(u uint64) string {
	if u == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for u > 0 {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
	}
	return string(buf[i:])
}
