package billing_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/billing"
)

// TestLineAmounts is the rounding rule as a table: round half to even once per line, per currency
// exponent (JPY 0, EUR 2, KWD 3 decimals), prices exclusive and inclusive of tax.
func TestLineAmounts(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name            string
		currency        string
		qty, price      string // as typed, in the currency's units
		rateBP          int
		inclusive       bool
		net, tax, gross int64
	}{
		// EUR, 2 decimals: 0.5 cent goes to the even cent.
		{"eur exact", "EUR", "3", "10.00", 1900, false, 3000, 570, 3570},
		{"eur half down to even", "EUR", "0.5", "0.05", 0, false, 2, 0, 2},            // 2.5 cents → 2
		{"eur half up to even", "EUR", "0.5", "0.07", 0, false, 4, 0, 4},              // 3.5 cents → 4
		{"eur tax half to even", "EUR", "1", "0.50", 500, false, 50, 2, 52},           // tax 2.5 → 2
		{"eur tax half up", "EUR", "1", "0.70", 500, false, 70, 4, 74},                // tax 3.5 → 4
		{"eur tax below half", "EUR", "1", "0.33", 1900, false, 33, 6, 39},            // tax 6.27 → 6
		{"eur fractional qty", "EUR", "2.345", "19.99", 1900, false, 4688, 891, 5579}, // 4687.655 → 4688; 890.72 → 891
		{"eur inclusive", "EUR", "1", "119.00", 1900, true, 10000, 1900, 11900},
		{"eur inclusive rounding", "EUR", "1", "10.00", 1900, true, 840, 160, 1000}, // 840.336 → 840
		{"eur inclusive half even", "EUR", "1", "0.21", 5000, true, 14, 7, 21},      // 14.0 exactly
		// JPY, no decimals.
		{"jpy", "JPY", "3", "333", 1000, false, 999, 100, 1099},         // tax 99.9 → 100
		{"jpy half even", "JPY", "0.5", "5", 0, false, 2, 0, 2},         // 2.5 → 2
		{"jpy tax half even", "JPY", "1", "25", 1000, false, 25, 2, 27}, // 2.5 → 2
		{"jpy tax half up", "JPY", "1", "35", 1000, false, 35, 4, 39},   // 3.5 → 4
		{"jpy inclusive", "JPY", "1", "1100", 1000, true, 1000, 100, 1100},
		// KWD, 3 decimals.
		{"kwd", "KWD", "1", "1.005", 500, false, 1005, 50, 1055},    // 50.25 → 50
		{"kwd half even", "KWD", "0.5", "0.005", 0, false, 2, 0, 2}, // 2.5 fils → 2
		{"kwd tax half up", "KWD", "1", "0.150", 1000, false, 150, 15, 165},
		{"kwd tax half even odd", "KWD", "1", "0.015", 1000, false, 15, 2, 17}, // 1.5 → 2
		{"kwd inclusive", "KWD", "2", "5.500", 1500, true, 9565, 1435, 11000},  // 9565.217 → 9565
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			qty, err := billing.ParseQty(tt.qty)
			require.NoError(t, err)
			price, err := store.ParseMinorUnits(tt.price, store.CurrencyDigits(tt.currency))
			require.NoError(t, err)
			net, tax, gross, err := billing.LineAmounts(qty, price, tt.rateBP, tt.inclusive)
			require.NoError(t, err)
			require.Equal(t, []int64{tt.net, tt.tax, tt.gross}, []int64{net, tax, gross})
			require.Equal(t, gross, net+tax)
		})
	}
}

func TestLineAmountsRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		qty    billing.Qty
		price  int64
		rateBP int
	}{
		{0, 100, 1900}, {-1000, 100, 1900}, {1000, -1, 1900}, {1000, 100, -1}, {1000, 100, 10001},
		{billing.QtyMax, billing.MaxAmount, 1900}, // beyond MaxAmount, no overflow
	} {
		_, _, _, err := billing.LineAmounts(tt.qty, tt.price, tt.rateBP, false)
		require.Equal(t, store.Invalid, store.ErrorCode(err), "%+v", tt)
	}
}

func TestTotalsByRate(t *testing.T) {
	t.Parallel()
	lines := []billing.Line{
		{TaxName: "Standard", TaxRateBP: 1900, Net: 1000, Tax: 190, Gross: 1190},
		{TaxName: "Reduced", TaxRateBP: 700, Net: 500, Tax: 35, Gross: 535},
		{TaxName: "Standard", TaxRateBP: 1900, Net: 333, Tax: 63, Gross: 396},
	}
	sub, tax, total, by := billing.Totals(lines)
	require.Equal(t, []int64{1833, 288, 2121}, []int64{sub, tax, total})
	require.Equal(t, []billing.TaxShare{{Name: "Standard", RateBP: 1900, Net: 1333, Tax: 253}, {Name: "Reduced", RateBP: 700, Net: 500, Tax: 35}}, by)
	require.Equal(t, "19%", billing.RateText(1900))
	require.Equal(t, "7.5%", billing.RateText(750))
	require.Equal(t, "0.25%", billing.RateText(25))
	bp, err := billing.ParseRate("7.5 %")
	require.NoError(t, err)
	require.Equal(t, 750, bp)
}
