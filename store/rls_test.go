package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
)

// tenantTables are the tenant tables of the foundation migration. The catalog test finds every tenant table by
// its tenant_id column; this list only makes sure the search is not vacuous.
var tenantTables = []string{"audit_events", "audit_seals", "departments", "memberships"}

// TestRLSCatalog reads the catalog as the app role and checks the rules that make row-level security hold no
// matter what a query forgets: every tenant table is protected and forced, the app role cannot step around
// it, and keys cannot point from one tenant into another.
func TestRLSCatalog(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)

	t.Run("TenantTablesForceRowLevelSecurity", func(t *testing.T) {
		t.Parallel()
		var tables []struct {
			Name           string `db:"name"`
			Kind           string `db:"kind"`
			RLS            bool   `db:"rls"`
			Forced         bool   `db:"forced"`
			SecurityInvoke bool   `db:"security_invoker"`
			TenantPolicies int    `db:"tenant_policies"`
			OpenPolicies   int    `db:"open_policies"`
		}
		err := tb.db.X.SelectContext(ctx, &tables, `
			SELECT c.relname::text AS name, c.relkind::text AS kind,
			       c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
			       EXISTS (SELECT 1 FROM unnest(coalesce(c.reloptions, '{}')) o
			               WHERE lower(o) IN ('security_invoker=true', 'security_invoker=on', 'security_invoker=1')) AS security_invoker,
			       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid
			         AND coalesce(pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)) LIKE '%app_tenant_id()%') AS tenant_policies,
			       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid
			         AND coalesce(pg_get_expr(p.polqual, p.polrelid), '') NOT LIKE '%app_tenant_id()%'
			         AND coalesce(pg_get_expr(p.polqual, p.polrelid), '') NOT LIKE '%app_actor_id()%'
			         AND coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') NOT LIKE '%app_tenant_id()%'
			         AND coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') NOT LIKE '%app_actor_id()%') AS open_policies
			FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
			  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
			ORDER BY c.relname`)
		require.NoError(t, err)

		var names, offending []string
		for _, tbl := range tables {
			names = append(names, tbl.Name)
			switch tbl.Kind {
			case "r", "p": // tables and partitioned tables (a partition can be queried directly, so it counts too)
				if !tbl.RLS {
					offending = append(offending, tbl.Name+": row level security not enabled")
				}
				if !tbl.Forced {
					offending = append(offending, tbl.Name+": row level security not forced")
				}
				if tbl.TenantPolicies == 0 {
					offending = append(offending, tbl.Name+": no policy on app_tenant_id()")
				}
				if tbl.OpenPolicies > 0 {
					offending = append(offending, tbl.Name+": a policy names neither app_tenant_id() nor app_actor_id()")
				}
			case "v": // a view runs with its owner's rights, which bypass RLS, unless it is security_invoker
				if !tbl.SecurityInvoke {
					offending = append(offending, tbl.Name+": view without security_invoker=true")
				}
			default: // materialized views and foreign tables cannot have row-level security
				offending = append(offending, tbl.Name+": relation kind "+tbl.Kind+" cannot have row-level security")
			}
		}
		for _, want := range tenantTables {
			require.Contains(t, names, want, "tenant tables found by their tenant_id column")
		}
		require.Empty(t, offending, "tenant tables without forced row-level security")

		// tenants is keyed by id, not tenant_id, and holds the tenants themselves.
		var forced bool
		require.NoError(t, tb.db.X.GetContext(ctx, &forced,
			`SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = 'public.tenants'::regclass`))
		require.True(t, forced, "tenants: row level security enabled and forced")
	})

	t.Run("AppRoleCannotBypass", func(t *testing.T) {
		t.Parallel()
		var role struct {
			Name       string `db:"rolname"`
			Super      bool   `db:"rolsuper"`
			BypassRLS  bool   `db:"rolbypassrls"`
			CreateRole bool   `db:"rolcreaterole"`
		}
		require.NoError(t, tb.db.X.GetContext(ctx, &role,
			`SELECT rolname, rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = current_user`))
		require.Equal(t, "ledgerline_app", role.Name)
		require.False(t, role.Super, "app role is superuser")
		require.False(t, role.BypassRLS, "app role has BYPASSRLS")
		// CREATEROLE lets a role grant itself membership in any non-superuser role, the owner included.
		require.False(t, role.CreateRole, "app role has CREATEROLE")

		// Membership in a role that may bypass RLS (the owner role has BYPASSRLS) would be one SET ROLE away.
		var powerful []string
		require.NoError(t, tb.db.X.SelectContext(ctx, &powerful, `
			SELECT rolname::text FROM pg_roles
			WHERE (rolsuper OR rolbypassrls) AND pg_has_role(current_user, oid, 'MEMBER')
			ORDER BY rolname`))
		require.Empty(t, powerful, "app role is a member of roles that bypass row-level security")

		// A table's owner (or a member of the owner role) can ALTER TABLE ... NO FORCE ROW LEVEL SECURITY.
		var owned []string
		require.NoError(t, tb.db.X.SelectContext(ctx, &owned, `
			SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
			  AND pg_has_role(current_user, c.relowner, 'MEMBER')
			ORDER BY c.relname`))
		require.Empty(t, owned, "relations in public the app role owns or can act as owner of")

		// The schema's owner may drop any object in it.
		var ownsSchema bool
		require.NoError(t, tb.db.X.GetContext(ctx, &ownsSchema,
			`SELECT pg_has_role(current_user, nspowner, 'MEMBER') FROM pg_namespace WHERE nspname = 'public'`))
		require.False(t, ownsSchema, "app role owns schema public")
	})

	t.Run("PrimaryAndUniqueKeysIncludeTenant", func(t *testing.T) {
		t.Parallel()
		var noPK []string
		require.NoError(t, tb.db.X.SelectContext(ctx, &noPK, `
			SELECT c.relname::text FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace
			JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
			WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
			  AND NOT EXISTS (SELECT 1 FROM pg_constraint k
			                  WHERE k.conrelid = c.oid AND k.contype = 'p' AND a.attnum = ANY (k.conkey))
			ORDER BY c.relname`))
		require.Empty(t, noPK, "tenant tables whose primary key does not include tenant_id")

		// A unique index across tenants lets one tenant learn of (and collide with) another's values, and
		// cannot be kept when the tables are distributed by tenant_id. The exceptions are keys looked up before
		// any tenant is known, whose values are random and chosen by the server, never by a user.
		globallyUnique := []string{
			"api_tokens.api_tokens_token_hash_key",   // bearer token → tenant (api_token_by_hash)
			"invitations.invitations_token_hash_key", // invitation link → tenant (invitation_by_token)
			"oauth_clients.oauth_clients_id_key",     // OAuth client id → tenant (oauth_client_by_id)
		}
		var unique []string
		require.NoError(t, tb.db.X.SelectContext(ctx, &unique, `
			SELECT c.relname || '.' || ic.relname FROM pg_index i
			JOIN pg_class c ON c.oid = i.indrelid
			JOIN pg_class ic ON ic.oid = i.indexrelid
			JOIN pg_namespace n ON n.oid = c.relnamespace
			JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
			WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND i.indisunique
			  AND NOT (a.attnum = ANY (i.indkey::int2[]))
			  AND NOT (c.relname || '.' || ic.relname = ANY ($1))
			ORDER BY 1`, globallyUnique))
		require.Empty(t, unique, "unique indexes of tenant tables that do not include tenant_id")
	})

	t.Run("ForeignKeysCarryTenant", func(t *testing.T) {
		t.Parallel()
		// Between two tenant tables the key must pair tenant_id with tenant_id, so a row can only point
		// into its own tenant.
		var crossing []string
		require.NoError(t, tb.db.X.SelectContext(ctx, &crossing, `
			SELECT c.relname || ' -> ' || r.relname || ' (' || k.conname || ')'
			FROM pg_constraint k
			JOIN pg_class c ON c.oid = k.conrelid
			JOIN pg_namespace n ON n.oid = c.relnamespace
			JOIN pg_class r ON r.oid = k.confrelid
			JOIN pg_attribute ca ON ca.attrelid = c.oid AND ca.attname = 'tenant_id' AND NOT ca.attisdropped
			JOIN pg_attribute ra ON ra.attrelid = r.oid AND ra.attname = 'tenant_id' AND NOT ra.attisdropped
			WHERE k.contype = 'f' AND n.nspname = 'public' AND k.conparentid = 0
			  AND NOT EXISTS (SELECT 1 FROM generate_subscripts(k.conkey, 1) s
			                  WHERE k.conkey[s] = ca.attnum AND k.confkey[s] = ra.attnum)
			ORDER BY 1`))
		require.Empty(t, crossing, "foreign keys between tenant tables that do not pair tenant_id")

		// A table without tenant_id has no tenant policy: it must not hang off tenant rows.
		var global []string
		require.NoError(t, tb.db.X.SelectContext(ctx, &global, `
			SELECT c.relname || ' -> ' || r.relname || ' (' || k.conname || ')'
			FROM pg_constraint k
			JOIN pg_class c ON c.oid = k.conrelid
			JOIN pg_namespace n ON n.oid = c.relnamespace
			JOIN pg_class r ON r.oid = k.confrelid
			WHERE k.contype = 'f' AND n.nspname = 'public' AND k.conparentid = 0
			  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = r.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
			  AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
			ORDER BY 1`))
		require.Empty(t, global, "tables without tenant_id that reference tenant tables")
	})
}

// twoTenants is tenant A and tenant B, each with departments, members and sealed audit events. One user
// belongs to both.
type twoTenants struct {
	a, b       store.ID
	aDepts     []store.ID
	bDepts     []store.ID
	aOnly      store.ID // member of A only
	bOnly      store.ID // member of B only
	shared     store.ID // member of both
	aEmails    []string // every member of A
	bOnlyEmail string
}

func (tb *testBundle) twoTenantsCreate(ctx context.Context, t *testing.T) *twoTenants {
	t.Helper()
	tt := &twoTenants{}
	tenant := func(slug string) store.ID {
		ten, err := identity.TenantCreate(ctx, tb.db, store.Scope{}, identity.TenantCreateParams{
			Name: "Tenant " + slug, Slug: slug, TimeZone: "UTC", Currency: "EUR"})
		require.NoError(t, err)
		return ten.ID
	}
	tt.a, tt.b = tenant("tenant-a"), tenant("tenant-b")
	for _, name := range []string{"Sales", "Warehouse"} {
		for _, x := range []struct {
			tenant store.ID
			depts  *[]store.ID
		}{{tt.a, &tt.aDepts}, {tt.b, &tt.bDepts}} {
			d, err := identity.DepartmentCreate(ctx, tb.db, store.Scope{TenantID: x.tenant}, name)
			require.NoError(t, err)
			*x.depts = append(*x.depts, d.ID)
		}
	}
	tt.aOnly = tb.userInsert(ctx, t, "a-only@example.com")
	tt.bOnly = tb.userInsert(ctx, t, "b-only@example.com")
	tt.shared = tb.userInsert(ctx, t, "shared@example.com")
	tt.aEmails = []string{"a-only@example.com", "shared@example.com"}
	tt.bOnlyEmail = "b-only@example.com"
	member := func(tenant, user, dept store.ID) {
		require.NoError(t, identity.MemberAdd(ctx, tb.db, store.Scope{TenantID: tenant},
			identity.MemberAddParams{UserID: user, Role: identity.RoleEmployee, DepartmentID: &dept}))
	}
	member(tt.a, tt.aOnly, tt.aDepts[0])
	member(tt.a, tt.shared, tt.aDepts[1])
	member(tt.b, tt.bOnly, tt.bDepts[0])
	member(tt.b, tt.shared, tt.bDepts[1])
	for _, ten := range []store.ID{tt.a, tt.b} {
		n, err := audit.Seal(ctx, tb.db, ten)
		require.NoError(t, err)
		require.Positive(t, n)
	}
	return tt
}

// userInsert creates a user without hashing a password: these tests never sign in.
func (tb *testBundle) userInsert(ctx context.Context, t *testing.T, email string) store.ID {
	t.Helper()
	id := store.NewID()
	_, err := tb.db.X.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, 'x')`,
		id, email, email)
	require.NoError(t, err)
	return id
}

// tenantIDs runs query in scope and returns the tenant ids of the rows it returns.
func tenantIDs(ctx context.Context, t *testing.T, db *store.DB, scope store.Scope, query string) []store.ID {
	t.Helper()
	var ids []store.ID
	require.NoError(t, db.InTenant(ctx, scope, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &ids, query)
	}))
	return ids
}

func requirePgCode(t *testing.T, err error, code string) {
	t.Helper()
	var pgErr *pgconn.PgError
	require.True(t, errors.As(err, &pgErr), "want PostgreSQL error %s, got %v", code, err)
	require.Equal(t, code, pgErr.Code, pgErr.Message)
}

// TestRLSBehaviour runs queries that forget their tenant filter and checks that row-level security adds it.
func TestRLSBehaviour(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tt := tb.twoTenantsCreate(ctx, t)
	scopeA, scopeB := store.Scope{TenantID: tt.a}, store.Scope{TenantID: tt.b}

	t.Run("SelectWithoutWhereSeesOwnTenant", func(t *testing.T) {
		t.Parallel()
		for _, query := range []string{
			`SELECT tenant_id FROM departments`,
			`SELECT tenant_id FROM memberships`,
			`SELECT tenant_id FROM audit_events`,
			`SELECT tenant_id FROM audit_seals`,
			`SELECT id FROM tenants`,
		} {
			ids := tenantIDs(ctx, t, tb.db, scopeA, query)
			require.NotEmpty(t, ids, query)
			for _, id := range ids {
				require.Equal(t, tt.a, id, query)
			}
		}
	})

	t.Run("UsersOfOtherTenantsHidden", func(t *testing.T) {
		t.Parallel()
		var emails []string
		err := tb.db.InTenant(ctx, scopeA, func(tx *store.Tx) error {
			if err := tx.SelectContext(ctx, &emails, `SELECT email FROM users ORDER BY email`); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `UPDATE users SET name = 'Taken over' WHERE id = $1`, tt.bOnly)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			require.NoError(t, err)
			require.Zero(t, n, "tenant A updated a user of tenant B only")
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, tt.aEmails, emails)
		require.NotContains(t, emails, tt.bOnlyEmail)
	})

	t.Run("WritesStayInOwnTenant", func(t *testing.T) {
		t.Parallel()
		// Runs alone on its own pair of tenants, so the other subtests' reads are undisturbed.
		tb, ctx := setup(t)
		tt := tb.twoTenantsCreate(ctx, t)
		scopeA, scopeB := store.Scope{TenantID: tt.a}, store.Scope{TenantID: tt.b}
		namesOf := func(scope store.Scope) []string {
			var names []string
			require.NoError(t, tb.db.InTenant(ctx, scope, func(tx *store.Tx) error {
				return tx.SelectContext(ctx, &names, `SELECT name FROM departments ORDER BY name`)
			}))
			return names
		}
		bBefore := namesOf(scopeB)

		var updated, deleted int64
		require.NoError(t, tb.db.InTenant(ctx, scopeA, func(tx *store.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE departments SET name = name || 'x'`)
			if err != nil {
				return err
			}
			if updated, err = res.RowsAffected(); err != nil {
				return err
			}
			res, err = tx.ExecContext(ctx, `DELETE FROM memberships WHERE tenant_id = $1`, tt.b)
			if err != nil {
				return err
			}
			deleted, err = res.RowsAffected()
			return err
		}))
		require.Equal(t, int64(len(tt.aDepts)), updated)
		require.Zero(t, deleted)
		require.Equal(t, []string{"Salesx", "Warehousex"}, namesOf(scopeA))
		require.Equal(t, bBefore, namesOf(scopeB))
		require.Len(t, tenantIDs(ctx, t, tb.db, scopeB, `SELECT tenant_id FROM memberships`), 2)
	})

	t.Run("WritesIntoOtherTenantRefused", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name  string
			query string
			args  []any
		}{
			{"InsertDepartment", `INSERT INTO departments (tenant_id, id, name) VALUES ($1, $2, 'Intruder')`, []any{tt.b, store.NewID()}},
			{"MoveDepartment", `UPDATE departments SET tenant_id = $1 WHERE id = $2`, []any{tt.b, tt.aDepts[0]}},
			{"InsertMembership", `INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'admin')`, []any{tt.b, tt.aOnly}},
			{"InsertAuditEvent", `INSERT INTO audit_events (tenant_id, id, action, entity_type) VALUES ($1, $2, 'x.forged', 'x')`, []any{tt.b, store.NewID()}},
			{"InsertTenant", `INSERT INTO tenants (id, name, slug) VALUES ($1, 'Other', 'other')`, []any{store.NewID()}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				err := tb.db.InTenant(ctx, scopeA, func(tx *store.Tx) error {
					_, err := tx.ExecContext(ctx, tc.query, tc.args...)
					return err
				})
				requirePgCode(t, err, "42501")
			})
		}
	})

	t.Run("AuditTrailAppendOnly", func(t *testing.T) {
		t.Parallel()
		for _, query := range []string{
			`UPDATE audit_events SET action = 'x.changed'`,
			`DELETE FROM audit_events`,
			`TRUNCATE audit_events`,
			`UPDATE audit_seals SET hash = prev_hash`,
			`DELETE FROM audit_seals`,
			`TRUNCATE audit_seals`,
		} {
			err := tb.db.InTenant(ctx, scopeA, func(tx *store.Tx) error {
				_, err := tx.ExecContext(ctx, query)
				return err
			})
			requirePgCode(t, err, "42501")
		}
	})

	t.Run("NoTenantSeesNothing", func(t *testing.T) {
		t.Parallel()
		tables := append(slices.Clone(tenantTables), "tenants", "users", "password_resets")
		for _, table := range tables {
			query := fmt.Sprintf(`SELECT count(*) FROM %s`, table) // table names from the list above
			var n int
			require.NoError(t, tb.db.X.GetContext(ctx, &n, query), table)
			require.Zero(t, n, "%s outside any transaction", table)

			tx, err := tb.db.X.BeginTxx(ctx, nil)
			require.NoError(t, err)
			err = tx.GetContext(ctx, &n, query)
			require.NoError(t, tx.Rollback())
			require.NoError(t, err, table)
			require.Zero(t, n, "%s in a transaction without tenant", table)

			// InUser with no actor is the same: no tenant, nobody's rows.
			require.NoError(t, tb.db.InUser(ctx, store.Scope{}, func(tx *store.Tx) error {
				return tx.GetContext(ctx, &n, query)
			}))
			require.Zero(t, n, "%s in InUser without actor", table)
		}
	})

	t.Run("PooledConnectionForgetsTenant", func(t *testing.T) {
		t.Parallel()
		// One connection, so the plain query surely runs on the connection that just had the tenant set.
		db, err := store.Open(ctx, tb.appURL, store.OpenOpts{MaxConns: 1, Secrets: tb.db.Secrets})
		require.NoError(t, err)
		t.Cleanup(db.Close)
		db.X.SetMaxOpenConns(1)
		for range 20 {
			var inPID, outPID, inRows, outRows int
			require.NoError(t, db.InTenant(ctx, scopeA, func(tx *store.Tx) error {
				return tx.QueryRowxContext(ctx, `SELECT pg_backend_pid(), (SELECT count(*) FROM departments)`).
					Scan(&inPID, &inRows)
			}))
			require.Equal(t, len(tt.aDepts), inRows)
			require.NoError(t, db.X.QueryRowxContext(ctx,
				`SELECT pg_backend_pid(), (SELECT count(*) FROM departments) + (SELECT count(*) FROM memberships)
				 + (SELECT count(*) FROM tenants) + (SELECT count(*) FROM audit_events)`).Scan(&outPID, &outRows))
			require.Equal(t, inPID, outPID, "same pooled connection")
			require.Zero(t, outRows, "rows visible after the tenant transaction ended")
		}
	})

	t.Run("TenantBSeesOnlyB", func(t *testing.T) {
		t.Parallel()
		for _, id := range tenantIDs(ctx, t, tb.db, scopeB, `SELECT tenant_id FROM departments`) {
			require.Equal(t, tt.b, id)
		}
	})
}
