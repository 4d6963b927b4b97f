package handlers

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestItemsShowing(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		n           int
		more, later bool
		estimate    int64
		want        string
	}{
		{0, false, false, 0, ""},
		{1, false, false, 0, "Showing 1 item"},
		{12, false, false, 0, "Showing 1–12 of 12"},
		{50, true, false, 51, "Showing 1–50 of about 51"},
		{50, true, false, 18594, "Showing 1–50 of about 19,000"},
		{50, true, false, 999810, "Showing 1–50 of about 1 million"},
		{50, true, false, 1234567, "Showing 1–50 of about 1.2 million"},
		{50, true, false, 250, "Showing 1–50 of about 250"},
		{50, true, true, 0, "Showing 50 items on this page"},
		{7, false, true, 0, "Showing 7 items on this page"},
	} {
		require.Equal(t, c.want, itemsShowing(c.n, c.more, c.later, c.estimate), "%+v", c)
	}
}
