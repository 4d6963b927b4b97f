package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"ledgerline/jobs"
	"ledgerline/store"
	"ledgerline/store/events"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
	"ledgerline/store/storetest"
	"ledgerline/store/webhooks"
)

// receiver is a local webhook receiver that verifies every request like a real one would.
type receiver struct {
	srv      *httptest.Server
	secret   atomic.Value // string
	mu       sync.Mutex
	verified []bool
	ids      []string
	status   atomic.Int32
	handler  atomic.Value // optional http.HandlerFunc overriding the answer
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.status.Store(200)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if h, ok := r.handler.Load().(http.HandlerFunc); ok && h != nil {
			h(w, req)
			return
		}
		body, _ := io.ReadAll(req.Body)
		ts, _ := strconv.ParseInt(req.Header.Get("webhook-timestamp"), 10, 64)
		secret, _ := r.secret.Load().(string)
		ok := webhooks.Verify(secret, req.Header.Get("webhook-id"), time.Unix(ts, 0), body, req.Header.Get("webhook-signature"), time.Now(), 5*time.Minute)
		r.mu.Lock()
		r.verified = append(r.verified, ok)
		r.ids = append(r.ids, req.Header.Get("webhook-id"))
		r.mu.Unlock()
		w.WriteHeader(int(r.status.Load()))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

type webhookBundle struct {
	db     *store.DB
	tenant store.ID
	admin  store.Scope
	guard  *webhooks.Guard
	worker *jobs.WebhookDeliverWorker
}

func webhookSetup(t *testing.T) (*webhookBundle, context.Context) {
	t.Helper()
	ctx := context.Background()
	db := storetest.New(t).DB
	ten, err := identity.TenantCreate(ctx, db, store.Scope{}, identity.TenantCreateParams{Name: "Hooks", Slug: "hooks", TimeZone: "UTC", Currency: "EUR"})
	require.NoError(t, err)
	id := store.NewID()
	_, err = db.X.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, 'admin@hooks.example', 'Admin', 'x')`, id)
	require.NoError(t, err)
	require.NoError(t, identity.MemberAdd(ctx, db, store.Scope{TenantID: ten.ID}, identity.MemberAddParams{UserID: id, Role: identity.RoleAdmin}))
	guard := &webhooks.Guard{AllowHosts: []string{"127.0.0.1"}}
	client := jobs.NewWebhookClient(guard)
	client.Timeout = 500 * time.Millisecond
	return &webhookBundle{db: db, tenant: ten.ID, admin: store.Scope{TenantID: ten.ID, ActorID: id}, guard: guard,
		worker: &jobs.WebhookDeliverWorker{DB: db, Client: client}}, ctx
}

// delivery registers an endpoint at url, records an invoice.issued event and fans it out.
func (b *webhookBundle) delivery(ctx context.Context, t *testing.T, url string) (secret string, endpoint, delivery store.ID) {
	t.Helper()
	res, err := webhooks.EndpointCreate(ctx, b.db, b.admin, b.guard, webhooks.EndpointParams{URL: url, EventTypes: []events.Type{events.InvoiceIssued}})
	require.NoError(t, err)
	var ev store.ID
	require.NoError(t, b.db.InTenant(ctx, store.Scope{TenantID: b.tenant}, func(tx *store.Tx) error {
		ev, err = events.Record(ctx, tx, events.RecordParams{Type: events.InvoiceIssued, Data: map[string]string{"number": "INV-7"}})
		return err
	}))
	require.NoError(t, (&jobs.EventFanOutWorker{DB: b.db}).Work(ctx, &river.Job[events.FanOutArgs]{
		JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 25}, Args: events.FanOutArgs{TenantID: b.tenant, EventID: ev}}))
	list, err := webhooks.DeliveryList(ctx, b.db, b.admin, webhooks.DeliveryListParams{EndpointID: res.Endpoint.ID})
	require.NoError(t, err)
	require.Len(t, list.Deliveries, 1)
	return res.Secret, res.Endpoint.ID, list.Deliveries[0].ID
}

func (b *webhookBundle) work(ctx context.Context, d store.ID, attempt int) error {
	return b.worker.Work(ctx, &river.Job[webhooks.DeliverArgs]{
		JobRow: &rivertype.JobRow{Attempt: attempt, MaxAttempts: webhooks.MaxAttempts},
		Args:   webhooks.DeliverArgs{TenantID: b.tenant, DeliveryID: d}})
}

func (b *webhookBundle) get(ctx context.Context, t *testing.T, d store.ID) *webhooks.Delivery {
	t.Helper()
	got, err := webhooks.DeliveryGet(ctx, b.db, b.admin, d)
	require.NoError(t, err)
	return got
}

func TestWebhookDeliverySignedRetriedOnce(t *testing.T) {
	t.Parallel()
	b, ctx := webhookSetup(t)
	r := newReceiver(t)
	secret, _, d := b.delivery(ctx, t, r.srv.URL+"/hook")
	r.secret.Store(secret)

	// 500: recorded, and the worker asks River to retry on the back-off schedule.
	r.status.Store(500)
	require.Error(t, b.work(ctx, d, 1))
	got := b.get(ctx, t, d)
	require.Equal(t, webhooks.StateRetrying, got.State)
	require.Equal(t, 500, *got.ResponseStatus)
	next := b.worker.NextRetry(&river.Job[webhooks.DeliverArgs]{JobRow: &rivertype.JobRow{Attempt: 1}})
	require.WithinDuration(t, time.Now().Add(30*time.Second), next, 2*time.Second)

	// A receiver that hangs: the attempt times out and is retried.
	r.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { time.Sleep(2 * time.Second) }))
	start := time.Now()
	require.Error(t, b.work(ctx, d, 2))
	require.Less(t, time.Since(start), 1500*time.Millisecond)
	got = b.get(ctx, t, d)
	require.Equal(t, webhooks.StateRetrying, got.State)
	require.Contains(t, got.Error, "No answer within")
	r.handler.Store(http.HandlerFunc(nil))

	// 2xx: delivered, signature verified by the receiver.
	r.status.Store(202)
	require.NoError(t, b.work(ctx, d, 3))
	got = b.get(ctx, t, d)
	require.Equal(t, webhooks.StateSucceeded, got.State)
	require.Equal(t, 3, got.Attempts)

	// The job retried after a crash sends nothing more.
	require.NoError(t, b.work(ctx, d, 4))
	r.mu.Lock()
	defer r.mu.Unlock()
	require.Equal(t, []bool{true, true}, r.verified, "the 500 and the 202 attempt, both correctly signed")
	require.Equal(t, r.ids[0], r.ids[1], "the same webhook-id on every attempt")
}

func TestWebhookFinalFailure(t *testing.T) {
	t.Parallel()
	b, ctx := webhookSetup(t)
	r := newReceiver(t)
	secret, _, d := b.delivery(ctx, t, r.srv.URL+"/hook")
	r.secret.Store(secret)
	r.status.Store(410)
	require.NoError(t, b.work(ctx, d, webhooks.MaxAttempts), "the last attempt fails the delivery without another retry")
	require.Equal(t, webhooks.StateFailed, b.get(ctx, t, d).State)
}

// rebindingResolver answers with a public address first (the check when the endpoint is saved) and with a
// loopback address afterwards (the connection).
type rebindingResolver struct{ calls atomic.Int32 }

func (r *rebindingResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	if r.calls.Add(1) == 1 {
		return []net.IPAddr{{IP: net.ParseIP("93.184.216.34")}}, nil
	}
	return []net.IPAddr{{IP: net.ParseIP("127.0.0.2")}}, nil
}

func TestWebhookSSRF(t *testing.T) {
	t.Parallel()
	b, ctx := webhookSetup(t)
	r := newReceiver(t)
	_, port, _ := net.SplitHostPort(r.srv.Listener.Addr().String())
	send := func(guard *webhooks.Guard, url string) webhooks.AttemptResult {
		client := jobs.NewWebhookClient(guard)
		client.Timeout = 2 * time.Second
		return jobs.SendWebhook(ctx, client, &webhooks.Attempt{URL: url, MessageID: "m", Timestamp: time.Now(), Body: []byte("{}"), Signatures: "v1,x"})
	}

	for name, url := range map[string]string{
		"loopback not on the allow-list": "http://127.0.0.2:" + port + "/",
		"IPv6 loopback":                  "http://[::1]:" + port + "/",
		"link-local metadata":            "http://169.254.169.254/latest/meta-data",
		"unspecified":                    "http://0.0.0.0:" + port + "/",
	} {
		t.Run(name, func(t *testing.T) {
			res := send(b.guard, url)
			require.False(t, res.Succeeded())
			require.Contains(t, res.Err, "Refused: the address is in a private")
			require.Zero(t, res.Status)
		})
	}

	t.Run("redirect to another host", func(t *testing.T) {
		r.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			http.Redirect(w, req, "http://localhost:"+port+"/elsewhere", http.StatusFound)
		}))
		defer r.handler.Store(http.HandlerFunc(nil))
		res := send(b.guard, r.srv.URL+"/hook")
		require.False(t, res.Succeeded())
		require.Contains(t, res.Err, "redirect to another host refused")
	})

	t.Run("oversize response", func(t *testing.T) {
		r.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			_, _ = w.Write([]byte(strings.Repeat("x", jobs.WebhookResponseMax+10)))
		}))
		defer r.handler.Store(http.HandlerFunc(nil))
		res := send(b.guard, r.srv.URL+"/hook")
		require.False(t, res.Succeeded())
		require.Contains(t, res.Err, "larger than 64 KiB")
		require.Equal(t, 200, res.Status)
	})

	t.Run("DNS that changes between check and connect", func(t *testing.T) {
		guard := &webhooks.Guard{Resolver: &rebindingResolver{}}
		url, msg := guard.CheckURL(ctx, "http://rebind.example:"+port+"/hook")
		require.Empty(t, msg, "the first answer is public, so the endpoint is accepted")
		res := send(guard, url)
		require.False(t, res.Succeeded())
		require.Contains(t, res.Err, "127.0.0.2")
		require.Contains(t, res.Err, "Refused")
	})

	t.Run("allow-listed receiver works", func(t *testing.T) {
		res := send(b.guard, r.srv.URL+"/hook")
		require.True(t, res.Succeeded(), res.Err)
	})
}

func TestStockLowEvent(t *testing.T) {
	t.Parallel()
	b, ctx := webhookSetup(t)
	sys := store.Scope{TenantID: b.tenant}
	loc, err := inventory.LocationCreate(ctx, b.db, sys, inventory.LocationCreateParams{Code: "WH", Name: "Warehouse"})
	require.NoError(t, err)
	item, err := inventory.ItemCreate(ctx, b.db, sys, inventory.ItemFields{SKU: "LOW-9", Name: "Gasket", Unit: "ea",
		ReorderPoint: inventory.Units(10), ReorderQty: inventory.Units(40)})
	require.NoError(t, err)
	_, err = inventory.Receive(ctx, b.db, sys, inventory.ReceiveParams{ItemID: item.ID, LocationID: loc.ID, Quantity: inventory.Units(3), Currency: "EUR"})
	require.NoError(t, err)
	_, _, err = jobs.LowStockNotifyTenant(ctx, b.db, b.tenant)
	require.NoError(t, err)
	_, _, err = jobs.LowStockNotifyTenant(ctx, b.db, b.tenant)
	require.NoError(t, err)
	var data []string
	require.NoError(t, b.db.InTenant(ctx, sys, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &data, `SELECT data->>'sku' FROM events WHERE type = 'stock.low'`)
	}))
	require.Equal(t, []string{"LOW-9"}, data, "one event per crossing")
}

// TestWebhookThroughRiver runs the real River client: an event recorded in a committed change reaches the
// receiver through the fan-out and delivery jobs, signed; one recorded in a rolled-back change never does.
func TestWebhookThroughRiver(t *testing.T) {
	t.Parallel()
	b, ctx := webhookSetup(t)
	r := newReceiver(t)
	res, err := webhooks.EndpointCreate(ctx, b.db, b.admin, b.guard, webhooks.EndpointParams{URL: r.srv.URL + "/hook", EventTypes: []events.Type{events.InvoicePaid}})
	require.NoError(t, err)
	r.secret.Store(res.Secret)

	client, err := jobs.NewClient(jobs.Deps{DB: b.db, Webhooks: b.guard, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, jobs.ClientOpts{Workers: 2})
	require.NoError(t, err)
	b.db.UseJobs(client)
	runCtx, cancel := context.WithCancel(ctx)
	require.NoError(t, client.Start(runCtx))
	t.Cleanup(func() {
		cancel()
		stopCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		_ = client.Stop(stopCtx)
	})

	record := func(number string, fail bool) error {
		return b.db.InTenant(ctx, store.Scope{TenantID: b.tenant}, func(tx *store.Tx) error {
			if _, err := events.Record(ctx, tx, events.RecordParams{Type: events.InvoicePaid, Data: map[string]string{"number": number}}); err != nil {
				return err
			}
			if fail {
				return errRolledBack
			}
			return nil
		})
	}
	require.ErrorIs(t, record("INV-ROLLED-BACK", true), errRolledBack)
	require.NoError(t, record("INV-PAID", false))

	require.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.verified) >= 1
	}, 15*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool {
		list, err := webhooks.DeliveryList(ctx, b.db, b.admin, webhooks.DeliveryListParams{EndpointID: res.Endpoint.ID})
		return err == nil && len(list.Deliveries) == 1 && list.Deliveries[0].State == webhooks.StateSucceeded
	}, 10*time.Second, 50*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // room for a wrong second delivery to show up
	r.mu.Lock()
	defer r.mu.Unlock()
	require.Equal(t, []bool{true}, r.verified, "exactly one signed request: the committed event, never the rolled-back one")
}

var errRolledBack = errors.New("the change failed")

// TestWebhookHangingReceiverHoldsUpNobody: one receiver never answers; a delivery of the same event to
// another endpoint still arrives at once, and the hanging one is cut off by the request timeout.
func TestWebhookHangingReceiverHoldsUpNobody(t *testing.T) {
	t.Parallel()
	b, ctx := webhookSetup(t)
	fast := newReceiver(t)
	slow := newReceiver(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	for _, r := range []*receiver{slow, fast} {
		res, err := webhooks.EndpointCreate(ctx, b.db, b.admin, b.guard, webhooks.EndpointParams{URL: r.srv.URL + "/hook", EventTypes: []events.Type{events.ApprovalDecided}})
		require.NoError(t, err)
		r.secret.Store(res.Secret)
	}
	client, err := jobs.NewClient(jobs.Deps{DB: b.db, Webhooks: b.guard, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, jobs.ClientOpts{Workers: 2})
	require.NoError(t, err)
	b.db.UseJobs(client)
	runCtx, cancel := context.WithCancel(ctx)
	require.NoError(t, client.Start(runCtx))
	t.Cleanup(func() {
		cancel()
		stopCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		_ = client.Stop(stopCtx)
	})
	start := time.Now()
	require.NoError(t, b.db.InTenant(ctx, store.Scope{TenantID: b.tenant}, func(tx *store.Tx) error {
		_, err := events.Record(ctx, tx, events.RecordParams{Type: events.ApprovalDecided, Data: map[string]string{"decision": "approved"}})
		return err
	}))
	require.Eventually(t, func() bool {
		fast.mu.Lock()
		defer fast.mu.Unlock()
		return len(fast.verified) == 1 && fast.verified[0]
	}, 5*time.Second, 20*time.Millisecond)
	require.Less(t, time.Since(start), jobs.WebhookTimeout, "the fast receiver did not wait for the hanging one")
}
