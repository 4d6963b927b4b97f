package approvals_test

import (
	"testing"

	"ledgerline/store/approvals"
)

// FuzzParseQuantity: whatever people type, ParseQuantity either refuses it or returns a positive quantity
// that writes back to text it reads again as the same value.
func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"1", "12.5", "0.001", "1,000.250", "999999999999.999", "0", "-1", "1.", ".5", "1e3", " 7 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := approvals.ParseQuantity(s)
		if err != nil {
			return
		}
		if q <= 0 || q > approvals.QuantityMax {
			t.Fatalf("ParseQuantity(%q) = %d, outside (0, max]", s, q)
		}
		again, err := approvals.ParseQuantity(q.String())
		if err != nil || again != q {
			t.Fatalf("ParseQuantity(%q) = %d writes %q, which reads %d, %v", s, q, q.String(), again, err)
		}
	})
}
