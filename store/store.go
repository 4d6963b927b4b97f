package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// JobInserter inserts River jobs inside a caller's transaction. The River client satisfies it; the store
// defines it so that domains can enqueue follow-up work without importing the jobs package.
type JobInserter interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// DB is the application's handle on PostgreSQL: one pgx pool shared by sqlx and River, and optionally a
// second, read-only pool on a streaming replica for reads that may lag (see InTenantRead).
type DB struct {
	Pool    *pgxpool.Pool
	X       *sqlx.DB
	Secrets *Sealer
	// ReadPool and readX are the replica's pool (nil without a ReadURL).
	ReadPool *pgxpool.Pool
	readX    *sqlx.DB

	jobs JobInserter
	// reads holds a slot per request marked ForReads that has a transaction open (see gate.go); nil: no limit.
	reads chan struct{}
}

// OpenOpts configures Open.
type OpenOpts struct {
	MaxConns int32
	Secrets  *Sealer
	// CountStatements installs the pgx tracer that counts statements per context (see CountStatements).
	CountStatements bool
	// ReadURL, when set, names a read replica (READ_DATABASE_URL) for InTenantRead. It is connected lazily:
	// an unreachable replica never stops the start, its reads go to the primary instead.
	ReadURL string
	// ReadConcurrency, when positive, is how many requests marked ForReads may have a transaction open at
	// once (the read gate, gate.go).
	ReadConcurrency int
}

// Open connects to url and checks that the server answers. Errors name the URL with its password hidden.
func Open(ctx context.Context, dbURL string, opts OpenOpts) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("invalid database URL %s: %w", RedactURL(dbURL), err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.HealthCheckPeriod = 15 * time.Second
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	if opts.CountStatements {
		cfg.ConnConfig.Tracer = statementTracer{}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("error connecting to PostgreSQL at %s: %w", RedactURL(dbURL), err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("PostgreSQL at %s is unreachable: %w", RedactURL(dbURL), err)
	}
	db := &DB{
		Pool:    pool,
		X:       sqlx.NewDb(stdlib.OpenDBFromPool(pool), "pgx"),
		Secrets: opts.Secrets,
	}
	if opts.ReadConcurrency > 0 {
		db.reads = make(chan struct{}, opts.ReadConcurrency)
	}
	if opts.ReadURL != "" {
		rcfg, err := pgxpool.ParseConfig(opts.ReadURL)
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("invalid read replica URL %s: %w", RedactURL(opts.ReadURL), err)
		}
		rcfg.MaxConns = cfg.MaxConns
		rcfg.MaxConnIdleTime = cfg.MaxConnIdleTime
		rcfg.HealthCheckPeriod = cfg.HealthCheckPeriod
		// Short: when the replica is down, a report falls back to the primary after this long at most.
		rcfg.ConnConfig.ConnectTimeout = time.Second
		// pgxpool.NewWithConfig does not connect; the first InTenantRead does.
		if db.ReadPool, err = pgxpool.NewWithConfig(ctx, rcfg); err != nil {
			pool.Close()
			return nil, fmt.Errorf("error configuring the read replica at %s: %w", RedactURL(opts.ReadURL), err)
		}
		db.readX = sqlx.NewDb(stdlib.OpenDBFromPool(db.ReadPool), "pgx")
	}
	return db, nil
}

// Close closes the sql.DB wrappers and the pools.
func (db *DB) Close() {
	_ = db.X.Close()
	db.Pool.Close()
	if db.ReadPool != nil {
		_ = db.readX.Close()
		db.ReadPool.Close()
	}
}

// UseJobs sets where transactions enqueue their follow-up jobs. It is called once at start, after the
// River client (which itself needs the DB for its workers) exists.
func (db *DB) UseJobs(jobs JobInserter) {
	db.jobs = jobs
}

// RedactURL returns u with any password replaced, for messages and logs.
func RedactURL(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return "(unparseable URL)"
	}
	return parsed.Redacted()
}

// Scope says on whose behalf a transaction runs. TenantID selects the rows row-level security shows;
// ActorID is the signed-in user (uuid.Nil for the system). RequestID and ClientIP travel into audit events.
type Scope struct {
	TenantID  ID
	ActorID   ID
	RequestID string
	ClientIP  string
	// ClientID is set instead of ActorID when a machine (an OAuth client) calls the API; ClientScopes are
	// the permission names its token grants. With neither an actor nor a client, the caller is the
	// system itself (seed, jobs): requests always carry one of the two.
	ClientID     ID
	ClientScopes []string
}

// Tx is a transaction opened by InTenant or InUser, carrying its Scope.
type Tx struct {
	*sqlx.Tx
	Scope Scope

	db   *DB
	memo *txMemo
}

// txMemo holds what a shared transaction (InTenantShared: reads only) learned once and may reuse for its
// remaining statements. Other transactions have none, so writes always check afresh.
type txMemo struct {
	role string // the actor's role, as identity.Permit read it in this transaction
}

// ActorRole returns the actor's role that an earlier permission check in this shared read transaction read
// ("" if none did, or the transaction is not shared). A page's reads need not ask again within one
// transaction of one request.
func (tx *Tx) ActorRole() string {
	if tx.memo == nil {
		return ""
	}
	return tx.memo.role
}

// ActorRoleRemember records the actor's role read by a permission check, for ActorRole.
func (tx *Tx) ActorRoleRemember(role string) {
	if tx.memo != nil {
		tx.memo.role = role
	}
}

type sharedTxKey struct{}

// InTenantShared runs fn with a context in which every InTenant call for the same scope (tenant, actor
// and client) joins one transaction instead of opening its own: a page made of several store reads then
// costs one BEGIN, one scope, one permission check and one COMMIT instead of one of each per read. Row-level
// security is exactly as in InTenant (the same tenant and actor). Use it for reads that keep their scope
// (no SetTenant) and render after it returns; an error of any read fails the whole, as it would the page.
// Serialization failures retry fn as a whole.
func (db *DB) InTenantShared(ctx context.Context, scope Scope, fn func(ctx context.Context) error) error {
	return db.InTenantSharedAs(ctx, scope, "", fn) // no role known: the first permission check reads it
}

// InTenantSharedAs is InTenantShared for a request whose actor's role was read from the database at its
// start (identity.ActorLoad, a moment before): the shared reads take that role for their permission checks
// instead of reading it again. Each statement of a READ COMMITTED transaction sees the latest commits
// anyway, so a check one statement earlier in the same transaction is no more current than one at the
// start of the request. Writes (InTenant outside a shared transaction) still read the role themselves.
func (db *DB) InTenantSharedAs(ctx context.Context, scope Scope, role string, fn func(ctx context.Context) error) error {
	if db.sharedTx(ctx, scope) != nil {
		return fn(ctx) // already inside one for this scope: join it
	}
	return db.InTenant(ctx, scope, func(tx *Tx) error {
		tx.memo = &txMemo{role: role}
		return fn(context.WithValue(ctx, sharedTxKey{}, tx))
	})
}

type planModeKey struct{}

// WithGenericPlans returns ctx in which transactions plan their statements once per connection (the
// generic plan of each prepared statement, plan_cache_mode = force_generic_plan for the transaction)
// instead of anew on every execution with its parameters. The scope statement sets it, so it costs no
// extra round trip. It suits pages whose statements are short and keyed by ids, where planning costs more
// than running them (a 3-table join planned on each call: 0.1 ms to plan, 0.03 ms to run); it does not
// suit statements whose best plan depends on their values (a search term, a date range, a status with a
// skewed share of rows), which is why it is a choice per page and not a setting of the role.
func WithGenericPlans(ctx context.Context) context.Context {
	return context.WithValue(ctx, planModeKey{}, "force_generic_plan")
}

// WithCustomPlans returns ctx in which transactions plan every statement for its values
// (plan_cache_mode = force_custom_plan), set by the scope statement like WithGenericPlans. It suits
// statements whose best plan depends on the tenant: row-level security's app_tenant_id() is folded into
// PostgreSQL's estimates, so a generic plan kept on a connection has the shape that suited the tenant whose
// request built it, and one made for a tenant with a few hundred ledger lines sorts all of a large
// tenant's. Such statements must be cheap to plan (the ledger's read its recent months).
func WithCustomPlans(ctx context.Context) context.Context {
	return context.WithValue(ctx, planModeKey{}, "force_custom_plan")
}

// WithoutShared returns ctx without its shared read transaction, for work that outlives the request
// whose transaction it was (the transaction ends with the request): its reads open their own.
func WithoutShared(ctx context.Context) context.Context {
	return context.WithValue(ctx, sharedTxKey{}, (*Tx)(nil))
}

// sharedTx returns the transaction of an enclosing InTenantShared that scope may join.
func (db *DB) sharedTx(ctx context.Context, scope Scope) *Tx {
	tx, _ := ctx.Value(sharedTxKey{}).(*Tx)
	if tx == nil || tx.db != db || tx.Scope.TenantID != scope.TenantID || tx.Scope.ActorID != scope.ActorID ||
		tx.Scope.ClientID != scope.ClientID || !slices.Equal(tx.Scope.ClientScopes, scope.ClientScopes) {
		return nil
	}
	return tx
}

// Enqueue inserts a River job in this transaction: the job exists exactly when the transaction commits.
func (tx *Tx) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	if tx.db.jobs == nil {
		return fmt.Errorf("error enqueuing %s: no job client configured", args.Kind())
	}
	if _, err := tx.db.jobs.InsertTx(ctx, tx.Tx.Tx, args, opts); err != nil {
		return fmt.Errorf("error enqueuing %s: %w", args.Kind(), err)
	}
	return nil
}

// Secrets returns the sealer for application-level encryption.
func (tx *Tx) Secrets() *Sealer {
	return tx.db.Secrets
}

const maxAttempts = 5

// InTenant runs fn in one transaction scoped to scope.TenantID: row-level security shows and accepts only
// that tenant's rows. It commits when fn returns nil and retries the whole of fn on serialization failures
// and deadlocks, so fn must not have effects outside the transaction.
func (db *DB) InTenant(ctx context.Context, scope Scope, fn func(tx *Tx) error) error {
	if scope.TenantID == (ID{}) {
		return errors.New("error opening tenant transaction: no tenant in scope")
	}
	return db.inTx(ctx, scope, fn)
}

// InUser runs fn in one transaction that sees no tenant's rows, only the rows policies open to the user
// scope.ActorID (their memberships and tenants). Used before a tenant is chosen, e.g. at sign-in.
func (db *DB) InUser(ctx context.Context, scope Scope, fn func(tx *Tx) error) error {
	scope.TenantID = ID{}
	return db.inTx(ctx, scope, fn)
}

// InTenantRead is InTenant for reads that may be a little stale: reports, exports and long lists. With a
// read replica configured it runs fn in a read-only transaction on the replica (which lags the primary by
// the replication delay, usually milliseconds); when there is no replica, or it cannot be reached, fn runs
// on the primary, read-only too. fn must only read. Use InTenant when the reader must see its own writes.
func (db *DB) InTenantRead(ctx context.Context, scope Scope, fn func(tx *Tx) error) error {
	if scope.TenantID == (ID{}) {
		return errors.New("error opening tenant transaction: no tenant in scope")
	}
	if db.readX != nil {
		err := db.runTxOn(ctx, db.readX, readOnly, scope, fn)
		var begin *beginError
		if !errors.As(err, &begin) {
			return err
		}
		// The replica is unreachable: the primary answers instead.
	}
	return db.runTxOn(ctx, db.X, readOnly, scope, fn)
}

var readOnly = &sql.TxOptions{ReadOnly: true}

// beginError marks a failure to open the transaction at all (no connection), as opposed to fn's errors.
type beginError struct{ err error }

func (e *beginError) Error() string { return "error beginning transaction: " + e.err.Error() }
func (e *beginError) Unwrap() error { return e.err }

func (db *DB) inTx(ctx context.Context, scope Scope, fn func(tx *Tx) error) error {
	if shared := db.sharedTx(ctx, scope); shared != nil {
		return fn(&Tx{Tx: shared.Tx, Scope: scope, db: db, memo: shared.memo})
	}
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		err = db.runTx(ctx, scope, fn)
		if err == nil || !isRetryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
		}
	}
	return err
}

func (db *DB) runTx(ctx context.Context, scope Scope, fn func(tx *Tx) error) (err error) {
	return db.runTxOn(ctx, db.X, nil, scope, fn)
}

func (db *DB) runTxOn(ctx context.Context, x *sqlx.DB, opts *sql.TxOptions, scope Scope, fn func(tx *Tx) error) (err error) {
	release, err := db.Gate(ctx)
	if err != nil {
		return &beginError{err}
	}
	defer release()
	sqlTx, err := x.BeginTxx(ctx, opts)
	if err != nil {
		return &beginError{err}
	}
	defer func() {
		if err != nil {
			_ = sqlTx.Rollback()
		}
	}()
	tenant, actor := "", ""
	if scope.TenantID != (ID{}) {
		tenant = scope.TenantID.String()
	}
	if scope.ActorID != (ID{}) {
		actor = scope.ActorID.String()
	}
	scopeSQL, args := `SELECT set_config('app.tenant_id', $1, true), set_config('app.actor_id', $2, true)`, []any{tenant, actor}
	if mode, _ := ctx.Value(planModeKey{}).(string); mode != "" {
		scopeSQL += `, set_config('plan_cache_mode', $3, true)`
		args = append(args, mode)
	}
	if _, err = sqlTx.ExecContext(ctx, scopeSQL, args...); err != nil {
		return fmt.Errorf("error setting transaction scope: %w", err)
	}
	if err = fn(&Tx{Tx: sqlTx, Scope: scope, db: db}); err != nil {
		return err
	}
	// database/sql commits without the caller's context, so the tracer cannot see the COMMIT: count it here.
	countStatement(ctx, 1)
	if err = sqlTx.Commit(); err != nil {
		return fmt.Errorf("error committing transaction: %w", err)
	}
	return nil
}

// Get runs a single-row query into dest, translating "no rows" into a NotFound error with msg.
func Get(ctx context.Context, q sqlx.QueryerContext, dest any, msg, query string, args ...any) error {
	err := sqlx.GetContext(ctx, q, dest, query, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return Errorf(NotFound, "%s", msg)
	}
	return err
}

// SetTenant points row-level security at another tenant for the rest of the transaction (or at no tenant,
// for the zero ID). Only operations that span a user's organizations use it; the tx's Scope is unchanged.
func (tx *Tx) SetTenant(ctx context.Context, tenantID ID) error {
	v := ""
	if tenantID != (ID{}) {
		v = tenantID.String()
	}
	if _, err := tx.ExecContext(ctx, `SELECT set_config('app.tenant_id', $1, true)`, v); err != nil {
		return fmt.Errorf("error switching transaction tenant: %w", err)
	}
	return nil
}
