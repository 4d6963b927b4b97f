// Package storetest gives each test its own PostgreSQL database, cloned from the migrated template that
// `make test` prepares, so tests run in parallel against the real server and start clean.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
)

// Default URLs match the services `make test` starts; TEST_DATABASE_URL (app role) and
// TEST_MIGRATE_DATABASE_URL (owner role) override them. Both name the migrated template database.
const (
	defaultAppURL   = "postgres://ledgerline_app:ledgerline_app@127.0.0.1:55432/ledgerline_test?sslmode=disable"     // #nosec G101 -- the local test services' public development password
	defaultOwnerURL = "postgres://ledgerline_owner:ledgerline_owner@127.0.0.1:55432/ledgerline_test?sslmode=disable" // #nosec G101 -- the same, for the owner role
)

// TestKey is the data key tests seal secrets with.
var TestKey = []byte("ledgerline-test-key-0123456789ab")

// Bundle is a fresh database for one test.
type Bundle struct {
	DB       *store.DB // connected as the app role, jobs inserted by an insert-only River client
	AppURL   string    // app role URL of the fresh database
	OwnerURL string    // owner role URL of the fresh database (for tests that tamper behind the app's back)
	Name     string    // database name
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// TemplateURLs returns the app and owner URLs of the migrated template database.
func TemplateURLs() (appURL, ownerURL string) {
	return env("TEST_DATABASE_URL", defaultAppURL), env("TEST_MIGRATE_DATABASE_URL", defaultOwnerURL)
}

// New clones the template into a new database, connects to it as the app role and drops it when t ends.
func New(t testing.TB) *Bundle {
	t.Helper()
	ctx := context.Background()
	appTemplate, ownerTemplate := TemplateURLs()

	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	name := "test_" + hex.EncodeToString(suffix)

	admin, err := pgx.Connect(ctx, withDatabase(t, ownerTemplate, "postgres"))
	require.NoError(t, err, "connect to PostgreSQL as the owner role (did `make test` start the services?)")
	template := databaseName(t, ownerTemplate)
	// CREATE DATABASE ... TEMPLATE fails while another session is connected to the template; retry briefly.
	for attempt := 0; ; attempt++ {
		_, err = admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`,
			pgx.Identifier{name}.Sanitize(), pgx.Identifier{template}.Sanitize()))
		if err == nil || attempt == 20 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, err, "clone template database")
	_ = admin.Close(ctx)

	sealer, err := store.NewSealer(TestKey)
	require.NoError(t, err)
	appURL := withDatabase(t, appTemplate, name)
	db, err := store.Open(ctx, appURL, store.OpenOpts{MaxConns: 10, Secrets: sealer, CountStatements: true})
	require.NoError(t, err)
	inserter, err := river.NewClient(riverdatabasesql.New(db.X.DB), &river.Config{})
	require.NoError(t, err)
	db.UseJobs(inserter)

	t.Cleanup(func() {
		db.Close()
		conn, err := pgx.Connect(context.Background(), withDatabase(t, ownerTemplate, "postgres"))
		if err != nil {
			t.Logf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		// The app role's backends may still be exiting after the pool closed, and the owner may not
		// terminate them (WITH (FORCE) fails with 42501), so wait for them instead.
		drop := fmt.Sprintf(`DROP DATABASE IF EXISTS %s`, pgx.Identifier{name}.Sanitize())
		for attempt := 0; ; attempt++ {
			_, err := conn.Exec(context.Background(), drop)
			if err == nil {
				return
			}
			if attempt == 100 {
				t.Logf("drop test database %s: %v", name, err)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	return &Bundle{DB: db, AppURL: appURL, OwnerURL: withDatabase(t, ownerTemplate, name), Name: name}
}

func withDatabase(t testing.TB, rawURL, db string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	u.Path = "/" + db
	return u.String()
}

func databaseName(t testing.TB, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	return u.Path[1:]
}
