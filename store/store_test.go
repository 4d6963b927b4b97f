package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/storetest"
)

// testBundle is one test's database: the app role's handle and the URLs of the fresh database.
type testBundle struct {
	db       *store.DB
	appURL   string
	ownerURL string
}

func setup(t *testing.T) (*testBundle, context.Context) {
	t.Helper()
	b := storetest.New(t)
	return &testBundle{db: b.DB, appURL: b.AppURL, ownerURL: b.OwnerURL}, t.Context()
}

// tenantInsert inserts a bare tenant row from inside its own scope, as the tenants policy requires.
func tenantInsert(ctx context.Context, tx *store.Tx, id store.ID) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO tenants (id, name, slug) VALUES ($1, $2, $3)`,
		id, "Tenant "+id.String(), "t-"+id.String())
	return err
}

// tenantExists reports whether the tenant's row is visible from its own scope.
func (tb *testBundle) tenantExists(ctx context.Context, t *testing.T, id store.ID) bool {
	t.Helper()
	var n int
	require.NoError(t, tb.db.InTenant(ctx, store.Scope{TenantID: id}, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &n, `SELECT count(*) FROM tenants WHERE id = $1`, id)
	}))
	return n == 1
}

func TestInTenant(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)

	t.Run("CommitsOnNil", func(t *testing.T) {
		t.Parallel()
		id := store.NewID()
		require.NoError(t, tb.db.InTenant(ctx, store.Scope{TenantID: id}, func(tx *store.Tx) error {
			return tenantInsert(ctx, tx, id)
		}))
		require.True(t, tb.tenantExists(ctx, t, id))
	})

	t.Run("RollsBackOnError", func(t *testing.T) {
		t.Parallel()
		id := store.NewID()
		boom := errors.New("boom")
		err := tb.db.InTenant(ctx, store.Scope{TenantID: id}, func(tx *store.Tx) error {
			if err := tenantInsert(ctx, tx, id); err != nil {
				return err
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		require.False(t, tb.tenantExists(ctx, t, id))
	})

	t.Run("RejectsZeroTenant", func(t *testing.T) {
		t.Parallel()
		ran := false
		err := tb.db.InTenant(ctx, store.Scope{ActorID: store.NewID()}, func(tx *store.Tx) error {
			ran = true
			return nil
		})
		require.Error(t, err)
		require.False(t, ran)
	})

	t.Run("SetsScope", func(t *testing.T) {
		t.Parallel()
		scope := store.Scope{TenantID: store.NewID(), ActorID: store.NewID(), RequestID: "req-1", ClientIP: "192.0.2.1"}
		var tenant, actor string
		require.NoError(t, tb.db.InTenant(ctx, scope, func(tx *store.Tx) error {
			require.Equal(t, scope, tx.Scope)
			return tx.QueryRowxContext(ctx,
				`SELECT current_setting('app.tenant_id'), current_setting('app.actor_id')`).Scan(&tenant, &actor)
		}))
		require.Equal(t, scope.TenantID.String(), tenant)
		require.Equal(t, scope.ActorID.String(), actor)
	})

	t.Run("RetriesRetryableErrors", func(t *testing.T) {
		t.Parallel()
		for _, code := range []string{"40001", "40P01"} {
			t.Run(code, func(t *testing.T) {
				t.Parallel()
				id := store.NewID()
				attempts := 0
				err := tb.db.InTenant(ctx, store.Scope{TenantID: id}, func(tx *store.Tx) error {
					attempts++
					// Both attempts write the same row: the second succeeds only if the first rolled back.
					if err := tenantInsert(ctx, tx, id); err != nil {
						return err
					}
					if attempts == 1 {
						return fmt.Errorf("error doing work: %w", &pgconn.PgError{Code: code})
					}
					return nil
				})
				require.NoError(t, err)
				require.Equal(t, 2, attempts)
				require.True(t, tb.tenantExists(ctx, t, id))
			})
		}
	})

	t.Run("GivesUpAfterMaxAttempts", func(t *testing.T) {
		t.Parallel()
		attempts := 0
		err := tb.db.InTenant(ctx, store.Scope{TenantID: store.NewID()}, func(tx *store.Tx) error {
			attempts++
			return &pgconn.PgError{Code: "40001"}
		})
		requirePgCode(t, err, "40001")
		require.Equal(t, 5, attempts)
	})

	t.Run("DoesNotRetryOtherErrors", func(t *testing.T) {
		t.Parallel()
		for _, fail := range []error{
			errors.New("boom"),
			&pgconn.PgError{Code: "23505"},
			store.Errorf(store.Conflict, "changed"),
		} {
			attempts := 0
			err := tb.db.InTenant(ctx, store.Scope{TenantID: store.NewID()}, func(tx *store.Tx) error {
				attempts++
				return fail
			})
			require.ErrorIs(t, err, fail)
			require.Equal(t, 1, attempts, fail.Error())
		}
	})

	t.Run("StopsRetryingWhenContextEnds", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		attempts := 0
		err := tb.db.InTenant(ctx, store.Scope{TenantID: store.NewID()}, func(tx *store.Tx) error {
			attempts++
			cancel()
			return &pgconn.PgError{Code: "40001"}
		})
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, 1, attempts)
	})
}

func TestInUser(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)

	// InUser never opens a tenant, even when the scope names one.
	scope := store.Scope{TenantID: store.NewID(), ActorID: store.NewID()}
	var tenant, actor string
	require.NoError(t, tb.db.InUser(ctx, scope, func(tx *store.Tx) error {
		require.Equal(t, store.ID{}, tx.Scope.TenantID)
		return tx.QueryRowxContext(ctx,
			`SELECT current_setting('app.tenant_id'), current_setting('app.actor_id')`).Scan(&tenant, &actor)
	}))
	require.Empty(t, tenant)
	require.Equal(t, scope.ActorID.String(), actor)
}

func TestTxSetTenant(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)

	a, b := store.NewID(), store.NewID()
	for _, id := range []store.ID{a, b} {
		require.NoError(t, tb.db.InTenant(ctx, store.Scope{TenantID: id}, func(tx *store.Tx) error {
			return tenantInsert(ctx, tx, id)
		}))
	}
	visible := func(tx *store.Tx) []store.ID {
		var ids []store.ID
		require.NoError(t, tx.SelectContext(ctx, &ids, `SELECT id FROM tenants`))
		return ids
	}
	require.NoError(t, tb.db.InTenant(ctx, store.Scope{TenantID: a}, func(tx *store.Tx) error {
		require.Equal(t, []store.ID{a}, visible(tx))
		require.NoError(t, tx.SetTenant(ctx, b))
		require.Equal(t, []store.ID{b}, visible(tx))
		require.Equal(t, a, tx.Scope.TenantID, "the scope is unchanged")
		require.NoError(t, tx.SetTenant(ctx, store.ID{}))
		require.Empty(t, visible(tx))
		return nil
	}))
}

// testJobArgs is a job kind of this test only, so counting rows of the kind counts this test's jobs.
type testJobArgs struct {
	Note string `json:"note"`
}

func (testJobArgs) Kind() string { return "store_test_job" }

func TestTxEnqueue(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)

	// river_job has no row-level security: count outside any tenant.
	jobs := func(note string) int {
		var n int
		require.NoError(t, tb.db.X.GetContext(ctx, &n,
			`SELECT count(*) FROM river_job WHERE kind = 'store_test_job' AND args->>'note' = $1`, note))
		return n
	}
	scope := store.Scope{TenantID: store.NewID()}

	require.NoError(t, tb.db.InTenant(ctx, scope, func(tx *store.Tx) error {
		return tx.Enqueue(ctx, testJobArgs{Note: "committed"}, nil)
	}))
	require.Equal(t, 1, jobs("committed"))

	boom := errors.New("boom")
	err := tb.db.InTenant(ctx, scope, func(tx *store.Tx) error {
		require.NoError(t, tx.Enqueue(ctx, testJobArgs{Note: "rolled-back"}, nil))
		return boom
	})
	require.ErrorIs(t, err, boom)
	require.Zero(t, jobs("rolled-back"))

	t.Run("WithoutJobClient", func(t *testing.T) {
		t.Parallel()
		db, err := store.Open(ctx, tb.appURL, store.OpenOpts{MaxConns: 2})
		require.NoError(t, err)
		t.Cleanup(db.Close)
		err = db.InTenant(ctx, scope, func(tx *store.Tx) error {
			return tx.Enqueue(ctx, testJobArgs{Note: "nowhere"}, nil)
		})
		require.ErrorContains(t, err, "no job client configured")
		require.Zero(t, jobs("nowhere"))
	})
}

func TestGet(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)

	var n int
	require.NoError(t, store.Get(ctx, tb.db.X, &n, "No such number.", `SELECT 7`))
	require.Equal(t, 7, n)

	err := store.Get(ctx, tb.db.X, &n, "No such number.", `SELECT 7 WHERE false`)
	require.Equal(t, store.NotFound, store.ErrorCode(err))
	require.Equal(t, "No such number.", store.ErrorMessage(err))

	err = store.Get(ctx, tb.db.X, &n, "No such number.", `SELECT 1/0`)
	require.Equal(t, store.Internal, store.ErrorCode(err))
}

func TestOpen(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	_, err := store.Open(ctx, "postgres://ledgerline_app:s3cret@127.0.0.1:1/nothing?sslmode=disable&connect_timeout=1", store.OpenOpts{})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "s3cret")

	require.NotContains(t, store.RedactURL("postgres://u:s3cret@host/db"), "s3cret")
}

func TestSealer(t *testing.T) {
	t.Parallel()

	sealer, err := store.NewSealer(storetest.TestKey)
	require.NoError(t, err)
	plain, ad := []byte("DE89 3704 0044 0532 0130 00"), []byte("row-1")

	sealed := sealer.Seal(plain, ad)
	require.False(t, bytes.Contains(sealed, plain), "sealed value holds the plaintext")
	require.NotEqual(t, sealed, sealer.Seal(plain, ad), "two seals of the same value differ")
	opened, err := sealer.Open(sealed, ad)
	require.NoError(t, err)
	require.Equal(t, plain, opened)

	t.Run("TamperDetected", func(t *testing.T) {
		t.Parallel()
		for i := range sealed { // nonce, ciphertext and tag alike
			tampered := bytes.Clone(sealed)
			tampered[i] ^= 0x01
			_, err := sealer.Open(tampered, ad)
			require.Error(t, err, "byte %d flipped", i)
		}
		for _, short := range [][]byte{nil, sealed[:12], sealed[:len(sealed)-1]} {
			_, err := sealer.Open(short, ad)
			require.Error(t, err)
		}
	})

	t.Run("BoundToAdditionalData", func(t *testing.T) {
		t.Parallel()
		_, err := sealer.Open(sealed, []byte("row-2"))
		require.Error(t, err)
	})

	t.Run("BoundToKey", func(t *testing.T) {
		t.Parallel()
		other, err := store.NewSealer(bytes.Repeat([]byte{7}, 32))
		require.NoError(t, err)
		_, err = other.Open(sealed, ad)
		require.Error(t, err)
	})

	t.Run("KeyMustBe32Bytes", func(t *testing.T) {
		t.Parallel()
		for _, n := range []int{0, 16, 31, 33, 64} {
			_, err := store.NewSealer(make([]byte, n))
			require.Error(t, err, "%d-byte key", n)
		}
	})
}

func TestFieldErrors(t *testing.T) {
	t.Parallel()

	var none store.FieldErrors
	require.NoError(t, none.Err())
	require.NoError(t, store.FieldErrors{}.Err())

	var f store.FieldErrors
	f.Add("email", "Enter an e-mail address.")
	f.Add("email", "Second problem.")
	f.Add("name", "Enter a name.")
	err := f.Err()
	require.Error(t, err)
	var appErr *store.Error
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, store.Invalid, appErr.Code)
	require.Equal(t, map[string]string{"email": "Enter an e-mail address.", "name": "Enter a name."}, appErr.Fields,
		"the first message of a field is kept")
}

func TestErrorCode(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		name string
		err  error
		code store.Code
	}{
		{"Nil", nil, ""},
		{"Plain", errors.New("boom"), store.Internal},
		{"AppError", store.Errorf(store.Forbidden, "No."), store.Forbidden},
		{"Wrapped", fmt.Errorf("error doing work: %w", store.Errorf(store.NotFound, "Gone.")), store.NotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.code, store.ErrorCode(tc.err))
		})
	}

	internal := errors.New("pq: relation secret_table does not exist")
	require.False(t, strings.Contains(store.ErrorMessage(internal), "secret_table"), "internal details stay out of messages")

	_, err := store.ParseID("not-a-uuid")
	require.Equal(t, store.NotFound, store.ErrorCode(err))
}

func TestConstraintViolations(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)

	id := store.NewID()
	err := tb.db.InTenant(ctx, store.Scope{TenantID: id}, func(tx *store.Tx) error {
		if err := tenantInsert(ctx, tx, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO tenants (id, name, slug) VALUES ($1, 'Again', 'again')`, id)
		return err
	})
	require.True(t, store.IsUniqueViolation(err, ""))
	require.True(t, store.IsUniqueViolation(err, "tenants_pkey"))
	require.False(t, store.IsUniqueViolation(err, "tenants_slug_key"))
	require.False(t, store.IsCheckViolation(err, ""))

	err = tb.db.InTenant(ctx, store.Scope{TenantID: id}, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tenants (id, name, slug) VALUES ($1, 'Bad', 'Not A Slug')`, id)
		return err
	})
	require.True(t, store.IsCheckViolation(err, ""))
	require.False(t, store.IsUniqueViolation(err, ""))
}

// TestPlanModes: WithGenericPlans and WithCustomPlans set plan_cache_mode for their transaction only (the
// scope statement sets it), and a transaction without either keeps the server's choice.
func TestPlanModes(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	scope := store.Scope{TenantID: store.NewID()}
	mode := func(ctx context.Context) string {
		t.Helper()
		var m string
		require.NoError(t, tb.db.InTenant(ctx, scope, func(tx *store.Tx) error {
			return tx.GetContext(ctx, &m, `SELECT current_setting('plan_cache_mode')`)
		}))
		return m
	}
	require.Equal(t, "force_generic_plan", mode(store.WithGenericPlans(ctx)))
	require.Equal(t, "force_custom_plan", mode(store.WithCustomPlans(ctx)))
	require.Equal(t, "force_custom_plan", mode(store.WithCustomPlans(store.WithGenericPlans(ctx))), "the innermost wins")
	require.Equal(t, "auto", mode(ctx))
}
