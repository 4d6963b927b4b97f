package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
)

func TestIsUnavailable(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"admin shutdown", fmt.Errorf("error listing: %w", &pgconn.PgError{Code: "57P01"}), true},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"serialization failure", &pgconn.PgError{Code: "40001"}, false},
		{"socket error", fmt.Errorf("query: %w", &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}), true},
		{"cut off", fmt.Errorf("query: %w", io.ErrUnexpectedEOF), true},
		{"application error", store.Errorf(store.Invalid, "Enter a name."), false},
		{"other", errors.New("boom"), false},
	} {
		require.Equal(t, tt.want, store.IsUnavailable(tt.err), tt.name)
	}

	// A real unreachable server.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := store.Open(ctx, "postgres://ledgerline_app:x@127.0.0.1:1/ledgerline?sslmode=disable", store.OpenOpts{})
	require.Error(t, err)
	require.True(t, store.IsUnavailable(err), "%v", err)
}
