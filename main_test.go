package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
	"ledgerline/store/storetest"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig(envMap(nil))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", cfg.HTTPAddr)
	require.Len(t, cfg.DataKey, 32)
	require.Equal(t, "http://localhost:8080", cfg.BaseURL.String())
}

func TestLoadConfigNamesTheBadVariable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value string
	}{
		{"DATABASE_URL", "mysql://x"},
		{"REDIS_URL", "http://localhost"},
		{"HTTP_ADDR", "8080"},
		{"BASE_URL", "localhost:8080"},
		{"SMTP_URL", "smtp://localhost"},
		{"COOKIE_SECURE", "maybe"},
		{"DATA_KEY", "short"},
		{"TRUSTED_PROXIES", "10.0.0.0/33"},
		{"DB_MAX_CONNS", "0"},
		{"SESSION_IDLE_TIMEOUT", "soon"},
		{"LOG_LEVEL", "loud"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadConfig(envMap(map[string]string{tt.name: tt.value}))
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.name+":")
		})
	}
}

func TestRunUnreachableServicesNameTheURLWithoutPassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	err := run(ctx, []string{"serve"}, envMap(map[string]string{
		"DATABASE_URL": "postgres://ledgerline_app:s3cret@127.0.0.1:1/ledgerline?sslmode=disable",
	}), io.Discard, io.Discard)
	require.Error(t, err)
	require.Contains(t, err.Error(), "127.0.0.1:1")
	require.NotContains(t, err.Error(), "s3cret")

	b := storetest.New(t)
	err = run(ctx, []string{"serve"}, envMap(map[string]string{
		"DATABASE_URL": b.AppURL,
		"REDIS_URL":    "redis://:hunter2@127.0.0.1:1/0",
	}), io.Discard, io.Discard)
	require.Error(t, err)
	require.Contains(t, err.Error(), "Redis at redis://:xxxxx@127.0.0.1:1/0 is unreachable")
	require.NotContains(t, err.Error(), "hunter2")
}

func TestRunUnknownCommand(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"frobnicate"}, envMap(nil), io.Discard, io.Discard)
	require.ErrorContains(t, err, `unknown command "frobnicate"`)
}

// TestSeedAndAuditVerify seeds the demo data twice (idempotent), seals the audit chain, then changes an
// event behind the app's back and expects audit-verify to name it.
func TestSeedAndAuditVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := storetest.New(t)
	env := envMap(map[string]string{"DATABASE_URL": b.AppURL})

	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"seed"}, env, &out, io.Discard))
	require.Contains(t, out.String(), "created Acme Manufacturing")
	out.Reset()
	require.NoError(t, run(ctx, []string{"seed"}, env, &out, io.Discard))
	require.Contains(t, out.String(), "Acme Manufacturing exists")

	acme, err := identity.TenantIDBySlug(ctx, b.DB, "acme")
	require.NoError(t, err)
	_, err = audit.SealAll(ctx, b.DB)
	require.NoError(t, err)
	out.Reset()
	require.NoError(t, run(ctx, []string{"audit-verify"}, env, &out, io.Discard))
	require.Contains(t, out.String(), "tenant "+acme.String()+": ok")

	owner, err := pgx.Connect(ctx, b.OwnerURL)
	require.NoError(t, err)
	defer owner.Close(ctx)
	var victim store.ID
	require.NoError(t, owner.QueryRow(ctx, `
		SELECT e.id FROM audit_events e JOIN audit_seals s ON s.tenant_id = e.tenant_id AND s.event_id = e.id
		WHERE e.tenant_id = $1 ORDER BY s.seq OFFSET 3 LIMIT 1`, acme).Scan(&victim))
	_, err = owner.Exec(ctx, `UPDATE audit_events SET after = '{"name":"forged"}' WHERE tenant_id = $1 AND id = $2`, acme, victim)
	require.NoError(t, err)

	out.Reset()
	err = run(ctx, []string{"audit-verify"}, env, &out, io.Discard)
	require.ErrorContains(t, err, "audit chain broken in 1 tenant(s)")
	line := ""
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, acme.String()) {
			line = l
		}
	}
	require.Contains(t, line, "TAMPERED at seq 4")
	require.Contains(t, line, victim.String())
}
