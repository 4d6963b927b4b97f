package store

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// Statement counting: the query budget of a request. A request (or any caller) puts a StatementCount in its
// context with CountStatements; every statement pgx sends with that context, and every commit InTenant and
// InUser make for it, adds one. Handlers report the count per route, and tests fail a page that issues
// more statements than its budget, which is how an N+1 query shows up before it reaches production.

// StatementCount is the number of statements sent to PostgreSQL on behalf of one context.
type StatementCount struct{ n atomic.Int64 }

// Load returns the count so far.
func (c *StatementCount) Load() int64 { return c.n.Load() }

type statementCountKey struct{}

// CountStatements returns ctx carrying a fresh counter, or ctx itself when it already carries one (an
// outer caller, such as a test, is counting already).
func CountStatements(ctx context.Context) (context.Context, *StatementCount) {
	if c := StatementCountFrom(ctx); c != nil {
		return ctx, c
	}
	c := &StatementCount{}
	return context.WithValue(ctx, statementCountKey{}, c), c
}

// StatementCountFrom returns the counter in ctx, or nil.
func StatementCountFrom(ctx context.Context) *StatementCount {
	c, _ := ctx.Value(statementCountKey{}).(*StatementCount)
	return c
}

func countStatement(ctx context.Context, n int64) {
	if c := StatementCountFrom(ctx); c != nil {
		c.n.Add(n)
	}
}

// statementTracer is the pgx tracer that Open installs when OpenOpts.CountStatements is set. A batch counts
// its statements (they share one round trip, which the batch's name for it says anyway).
type statementTracer struct{}

func (statementTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	countStatement(ctx, 1)
	return ctx
}

func (statementTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (statementTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	if d.Batch != nil {
		countStatement(ctx, int64(d.Batch.Len()))
	}
	return ctx
}

func (statementTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (statementTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (statementTracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	countStatement(ctx, 1)
	return ctx
}

func (statementTracer) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}
