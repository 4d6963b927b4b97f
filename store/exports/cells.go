package exports

import (
	"strings"
)

// Number is a numeric cell kept as its exact decimal text ("12.500", "-3"): written as a number to XLSX
// and as-is to CSV, and never neutralised, because a leading minus is its sign, not a formula.
type Number string

// formulaStarts are the first characters that make a spreadsheet read a cell as a formula (or, for tab
// and carriage return, let one hide behind whitespace).
const formulaStarts = "=+-@\t\r"

// Neutralise makes text safe to open in a spreadsheet: a cell beginning with =, +, -, @, tab or carriage
// return gets a leading apostrophe, so it is shown as text and never evaluated (OWASP CSV injection).
func Neutralise(s string) string {
	if s != "" && strings.IndexByte(formulaStarts, s[0]) >= 0 {
		return "'" + s
	}
	return s
}
