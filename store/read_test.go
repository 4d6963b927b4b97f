package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/storetest"
)

// TestInTenantRead checks where reads that may lag go: to the replica when READ_DATABASE_URL names one
// (here a second database, so the test can tell which one answered), to the primary when the replica is
// unreachable, and always read-only.
func TestInTenantRead(t *testing.T) {
	t.Parallel()
	primary, ctx := setup(t)
	replica := storetest.New(t) // stands in for the replica: same schema, none of the primary's rows

	id := store.NewID()
	require.NoError(t, primary.db.InTenant(ctx, store.Scope{TenantID: id}, func(tx *store.Tx) error {
		return tenantInsert(ctx, tx, id)
	}))
	sees := func(db *store.DB) (bool, error) {
		var n int
		err := db.InTenantRead(ctx, store.Scope{TenantID: id}, func(tx *store.Tx) error {
			return tx.GetContext(ctx, &n, `SELECT count(*) FROM tenants WHERE id = $1`, id)
		})
		return n == 1, err
	}
	open := func(readURL string) *store.DB {
		db, err := store.Open(ctx, primary.appURL, store.OpenOpts{MaxConns: 4, ReadURL: readURL})
		require.NoError(t, err)
		t.Cleanup(db.Close)
		return db
	}

	t.Run("NoReplicaReadsThePrimary", func(t *testing.T) {
		ok, err := sees(primary.db)
		require.NoError(t, err)
		require.True(t, ok)
	})
	t.Run("ReplicaAnswers", func(t *testing.T) {
		db := open(replica.AppURL)
		ok, err := sees(db)
		require.NoError(t, err)
		require.False(t, ok, "the read went to the primary, not the replica")
		// Writes never go to the replica.
		var n int
		require.NoError(t, db.InTenant(ctx, store.Scope{TenantID: id}, func(tx *store.Tx) error {
			return tx.GetContext(ctx, &n, `SELECT count(*) FROM tenants WHERE id = $1`, id)
		}))
		require.Equal(t, 1, n)
	})
	t.Run("ReplicaDownFallsBack", func(t *testing.T) {
		db := open("postgres://ledgerline_app:ledgerline_app@127.0.0.1:1/ledgerline?sslmode=disable")
		start := time.Now()
		ok, err := sees(db)
		require.NoError(t, err)
		require.True(t, ok, "the primary answers when the replica cannot")
		require.Less(t, time.Since(start), 3*time.Second)
	})
	t.Run("ReadOnly", func(t *testing.T) {
		for _, db := range []*store.DB{primary.db, open(replica.AppURL)} {
			other := store.NewID()
			err := db.InTenantRead(ctx, store.Scope{TenantID: other}, func(tx *store.Tx) error {
				return tenantInsert(ctx, tx, other)
			})
			var pgErr *pgconn.PgError
			require.True(t, errors.As(err, &pgErr), "%v", err)
			require.Equal(t, "25006", pgErr.Code, "read_only_sql_transaction")
		}
	})
}
