package store_test

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
)

func TestParseMinorUnits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		digits int
		want   int64
		errMsg string // "" for success; otherwise part of the message
	}{
		{"1,000.00", 2, 100000, ""},
		{"1000", 2, 100000, ""},
		{"1000.5", 2, 100050, ""},
		{"  7.50 ", 2, 750, ""},
		{"0", 2, 0, ""},
		{"0.01", 2, 1, ""},
		{"+12", 2, 1200, ""},
		{"-12.5", 2, -1250, ""},
		{"12,345,678.90", 2, 1234567890, ""},
		{"1.500", 2, 150, ""},     // zeros beyond the currency's digits are harmless
		{"1,000.00", 0, 1000, ""}, // JPY: "1,000.00" means 1000 yen
		{"5", 0, 5, ""},
		{"1.234", 3, 1234, ""}, // KWD
		{"0.5", 3, 500, ""},
		{"92,233,720,368,547,758.07", 2, math.MaxInt64, ""},
		{"9223372036854775807", 0, math.MaxInt64, ""},

		{"", 2, 0, "Enter an amount in figures"},
		{"   ", 2, 0, "Enter an amount in figures"},
		{"abc", 2, 0, "Enter an amount in figures"},
		{"1.2.3", 2, 0, "Enter an amount in figures"},
		{"1,00.00", 2, 0, "Enter an amount in figures"},
		{"1000,000", 2, 0, "Enter an amount in figures"},
		{",100", 2, 0, "Enter an amount in figures"},
		{"1,000,", 2, 0, "Enter an amount in figures"},
		{"1.", 2, 0, "Enter an amount in figures"},
		{".5", 2, 0, "Enter an amount in figures"},
		{"-", 2, 0, "Enter an amount in figures"},
		{"--1", 2, 0, "Enter an amount in figures"},
		{"1e3", 2, 0, "Enter an amount in figures"},
		{"1 000", 2, 0, "Enter an amount in figures"},
		{"١٢", 2, 0, "Enter an amount in figures"}, // Arabic-Indic digits are not ASCII digits
		{"0x10", 2, 0, "Enter an amount in figures"},
		{"€10", 2, 0, "Enter an amount in figures"},
		{"1.005", 2, 0, "at most 2 decimal places"},
		{"1.5", 0, 0, "no decimal places"},
		{"1.0001", 3, 0, "at most 3 decimal places"},
		{"92,233,720,368,547,758.08", 2, 0, "smaller amount"},
		{"99999999999999999999", 2, 0, "smaller amount"},
		{strings.Repeat("1", 41), 0, 0, "Enter an amount in figures"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := store.ParseMinorUnits(tt.in, tt.digits)
			if tt.errMsg != "" {
				require.Error(t, err)
				require.Equal(t, store.Invalid, store.ErrorCode(err))
				require.Contains(t, store.ErrorMessage(err), tt.errMsg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestFormatMinorUnits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v      int64
		digits int
		want   string
	}{
		{0, 2, "0.00"},
		{1, 2, "0.01"},
		{100000, 2, "1,000.00"},
		{123456789, 2, "1,234,567.89"},
		{-1250, 2, "-12.50"},
		{1000, 0, "1,000"},
		{1234, 3, "1.234"},
		{999, 0, "999"},
		{math.MaxInt64, 2, "92,233,720,368,547,758.07"},
		{math.MinInt64, 2, "-92,233,720,368,547,758.08"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, store.FormatMinorUnits(tt.v, tt.digits), "%d with %d digits", tt.v, tt.digits)
	}
}

func TestCurrencyDigits(t *testing.T) {
	t.Parallel()
	require.Equal(t, 2, store.CurrencyDigits("EUR"))
	require.Equal(t, 0, store.CurrencyDigits("JPY"))
	require.Equal(t, 3, store.CurrencyDigits("KWD"))
	require.True(t, store.CurrencyKnown("USD"))
	require.False(t, store.CurrencyKnown("usd"))
	require.False(t, store.CurrencyKnown("XXX"))
	require.False(t, store.CurrencyKnown("ABC"))
}

// FuzzParseMinorUnits checks that no input makes the parser panic, that what it accepts is made only of the
// characters an amount has, and that every accepted amount survives a format-and-parse round trip.
func FuzzParseMinorUnits(f *testing.F) {
	for _, s := range []string{"1,000.00", "0", "-12.5", "1.005", "92,233,720,368,547,758.07", "1,00", "", " 3 ", "+0.10"} {
		f.Add(s, 2)
	}
	f.Add("1,000", 0)
	f.Add("1.234", 3)
	f.Fuzz(func(t *testing.T, s string, digits int) {
		digits = ((digits % 4) + 4) % 4
		v, err := store.ParseMinorUnits(s, digits)
		if err != nil {
			require.Equal(t, store.Invalid, store.ErrorCode(err))
			return
		}
		require.Empty(t, strings.Trim(strings.TrimSpace(s), "0123456789,.+-"), "accepted %q", s)
		formatted := store.FormatMinorUnits(v, digits)
		back, err := store.ParseMinorUnits(formatted, digits)
		require.NoError(t, err, "formatted %d as %q", v, formatted)
		require.Equal(t, v, back)
	})
}
