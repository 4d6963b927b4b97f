package handlers

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/store/storetest"
)

// A recomputation slower than dashboardFreshWait does not hold the page: the view shows the last value at
// once, the computation finishes on its own and stores the new one, which the next view shows.
func TestDashboardAggregateServesLastWhileRecomputing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb := storetest.New(t)
	ten, err := identity.TenantCreate(ctx, sb.DB, store.Scope{}, identity.TenantCreateParams{
		Name: "Slow", Slug: "slow-dashboard", TimeZone: "UTC", Currency: "EUR"})
	require.NoError(t, err)
	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		redisURL = "redis://127.0.0.1:56379/1"
	}
	pool := &redis.Pool{MaxActive: 8, Wait: true,
		DialContext: func(ctx context.Context) (redis.Conn, error) { return redis.DialURLContext(ctx, redisURL) }}
	t.Cleanup(func() { _ = pool.Close() })
	base, _ := url.Parse("http://localhost")
	h, _, err := newServer(Deps{DB: sb.DB, Redis: pool, BaseURL: base, RedisPrefix: "dashtest:" + ten.ID.String() + ":",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	sc := store.Scope{TenantID: ten.ID}
	change := func() { // an inventory change as the audit log records it: a new cache version
		conn, err := pgx.Connect(ctx, sb.OwnerURL)
		require.NoError(t, err)
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, `INSERT INTO audit_events (tenant_id, id, occurred_at, action, entity_type, entity_id)
			VALUES ($1, $2, now(), 'inventory.receipt', 'inventory_item', 'x')`, ten.ID, store.NewID())
		require.NoError(t, err)
	}
	get := func(compute func(context.Context) (any, error)) (int, time.Duration) {
		var n int
		start := time.Now()
		require.NoError(t, h.dashboardAggregate(ctx, sc, "inventory.", "slow", &n, compute))
		return n, time.Since(start)
	}
	value := func(n int, wait time.Duration) func(context.Context) (any, error) {
		return func(ctx context.Context) (any, error) {
			select {
			case <-time.After(wait):
				return n, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}

	n, _ := get(value(1, 0))
	require.Equal(t, 1, n, "the first value is computed in the request")
	change()
	n, _ = get(value(2, 10*time.Millisecond))
	require.Equal(t, 2, n, "a quick recomputation is shown at once")

	change()
	n, took := get(value(3, dashboardFreshWait+time.Second))
	require.Equal(t, 2, n, "a slow recomputation: the last value meanwhile")
	require.Less(t, took, dashboardFreshWait+500*time.Millisecond)
	n, _ = get(value(99, 0)) // another view while it runs: the lock is held, the last value again
	require.Equal(t, 2, n)
	require.Eventually(t, func() bool {
		n, _ := get(func(context.Context) (any, error) { return 98, nil })
		return n == 3
	}, 5*time.Second, 100*time.Millisecond, "the finished recomputation is stored for the version")

	// That computation was slow, so the aggregate rests: the next change is not recomputed until the rest
	// is over (10 x 3 s here), and the views show the value just computed.
	change()
	n, _ = get(value(4, 0))
	require.Equal(t, 3, n, "resting after a slow computation")
	conn, err := pool.GetContext(ctx)
	require.NoError(t, err)
	defer conn.Close()
	ttl, err := redis.Int64(conn.Do("PTTL", h.prefix+"dash:"+ten.ID.String()+":slow:rest"))
	require.NoError(t, err)
	require.InDelta(t, 10*(dashboardFreshWait+time.Second).Milliseconds(), ttl, 3000)
	_, err = conn.Do("DEL", h.prefix+"dash:"+ten.ID.String()+":slow:rest")
	require.NoError(t, err)
	n, _ = get(value(4, 0))
	require.Equal(t, 4, n, "after the rest the next view recomputes")
}

func TestDashboardRest(t *testing.T) {
	for took, want := range map[time.Duration]time.Duration{
		10 * time.Millisecond: 0, 249 * time.Millisecond: 0, 250 * time.Millisecond: 2500 * time.Millisecond,
		2 * time.Second: 20 * time.Second, time.Minute: 5 * time.Minute,
	} {
		require.Equal(t, want, dashboardRest(took), "after %s", took)
	}
}
