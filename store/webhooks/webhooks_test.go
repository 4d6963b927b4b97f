package webhooks_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/events"
	"ledgerline/store/identity"
	"ledgerline/store/notify"
	"ledgerline/store/storetest"
	"ledgerline/store/webhooks"
)

type testBundle struct {
	db             *store.DB
	ownerURL       string
	a, b           store.ID
	adminA, adminB store.Scope
	employeeA      store.Scope
	guard          *webhooks.Guard
}

func setup(t *testing.T) (*testBundle, context.Context) {
	t.Helper()
	ctx := context.Background()
	b := storetest.New(t)
	tb := &testBundle{db: b.DB, ownerURL: b.OwnerURL, guard: &webhooks.Guard{AllowHosts: []string{"127.0.0.1"}}}
	member := func(tenant store.ID, email string, role identity.Role) store.Scope {
		id := store.NewID()
		_, err := tb.db.X.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, 'x')`, id, email, email)
		require.NoError(t, err)
		require.NoError(t, identity.MemberAdd(ctx, tb.db, store.Scope{TenantID: tenant}, identity.MemberAddParams{UserID: id, Role: role}))
		return store.Scope{TenantID: tenant, ActorID: id}
	}
	for i, slug := range []string{"wh-a", "wh-b"} {
		ten, err := identity.TenantCreate(ctx, tb.db, store.Scope{}, identity.TenantCreateParams{Name: slug, Slug: slug, TimeZone: "UTC", Currency: "EUR"})
		require.NoError(t, err)
		if i == 0 {
			tb.a = ten.ID
		} else {
			tb.b = ten.ID
		}
	}
	tb.adminA = member(tb.a, "admin@a.example", identity.RoleAdmin)
	tb.employeeA = member(tb.a, "employee@a.example", identity.RoleEmployee)
	tb.adminB = member(tb.b, "admin@b.example", identity.RoleAdmin)
	return tb, ctx
}

func (tb *testBundle) endpoint(ctx context.Context, t *testing.T, sc store.Scope, types ...events.Type) *webhooks.EndpointCreateResult {
	t.Helper()
	if len(types) == 0 {
		types = []events.Type{events.InvoiceIssued}
	}
	res, err := webhooks.EndpointCreate(ctx, tb.db, sc, tb.guard, webhooks.EndpointParams{
		URL: "http://127.0.0.1:9/hook", Description: "ERP", EventTypes: types})
	require.NoError(t, err)
	return res
}

// event records an event of the type in tenant and fans it out, returning the event id.
func (tb *testBundle) event(ctx context.Context, t *testing.T, tenant store.ID, typ events.Type) store.ID {
	t.Helper()
	var id store.ID
	require.NoError(t, tb.db.InTenant(ctx, store.Scope{TenantID: tenant}, func(tx *store.Tx) error {
		var err error
		id, err = events.Record(ctx, tx, events.RecordParams{Type: typ, Data: map[string]any{"number": "INV-1"}})
		return err
	}))
	_, err := webhooks.FanOut(ctx, tb.db, tenant, id)
	require.NoError(t, err)
	return id
}

func (tb *testBundle) deliveries(ctx context.Context, t *testing.T, sc store.Scope, endpoint store.ID) []webhooks.Delivery {
	t.Helper()
	res, err := webhooks.DeliveryList(ctx, tb.db, sc, webhooks.DeliveryListParams{EndpointID: endpoint})
	require.NoError(t, err)
	return res.Deliveries
}

func requireCode(t *testing.T, err error, code store.Code) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, store.ErrorCode(err), "%v", err)
}

func TestEndpointCreateValidation(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	strict := &webhooks.Guard{RequireHTTPS: true}
	for name, tc := range map[string]struct {
		guard *webhooks.Guard
		p     webhooks.EndpointParams
		field string
		msg   string
	}{
		"not a URL":       {tb.guard, webhooks.EndpointParams{URL: "erp", EventTypes: []events.Type{events.StockLow}}, "url", "full address"},
		"http in prod":    {strict, webhooks.EndpointParams{URL: "http://erp.example.com/h", EventTypes: []events.Type{events.StockLow}}, "url", "https://"},
		"credentials":     {tb.guard, webhooks.EndpointParams{URL: "http://u:p@127.0.0.1/h", EventTypes: []events.Type{events.StockLow}}, "url", "user name"},
		"private IP":      {strict, webhooks.EndpointParams{URL: "https://10.1.2.3/h", EventTypes: []events.Type{events.StockLow}}, "url", "private"},
		"loopback":        {strict, webhooks.EndpointParams{URL: "https://127.0.0.1/h", EventTypes: []events.Type{events.StockLow}}, "url", "private"},
		"localhost name":  {strict, webhooks.EndpointParams{URL: "https://localhost/h", EventTypes: []events.Type{events.StockLow}}, "url", "private"},
		"link-local":      {strict, webhooks.EndpointParams{URL: "https://169.254.169.254/latest", EventTypes: []events.Type{events.StockLow}}, "url", "private"},
		"IPv6 loopback":   {strict, webhooks.EndpointParams{URL: "https://[::1]/h", EventTypes: []events.Type{events.StockLow}}, "url", "private"},
		"mapped loopback": {strict, webhooks.EndpointParams{URL: "https://[::ffff:127.0.0.1]/h", EventTypes: []events.Type{events.StockLow}}, "url", "private"},
		"no events":       {tb.guard, webhooks.EndpointParams{URL: "http://127.0.0.1/h"}, "event_types", "at least one"},
		"unknown event":   {tb.guard, webhooks.EndpointParams{URL: "http://127.0.0.1/h", EventTypes: []events.Type{"nope.never"}}, "event_types", "from the list"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := webhooks.EndpointCreate(ctx, tb.db, tb.adminA, tc.guard, tc.p)
			requireCode(t, err, store.Invalid)
			var se *store.Error
			require.True(t, errors.As(err, &se))
			require.Contains(t, se.Fields[tc.field], tc.msg)
		})
	}
	_, err := webhooks.EndpointCreate(ctx, tb.db, tb.employeeA, tb.guard, webhooks.EndpointParams{
		URL: "http://127.0.0.1/h", EventTypes: []events.Type{events.StockLow}})
	requireCode(t, err, store.Forbidden)
}

func TestSecretShownOnceAndSealed(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	res := tb.endpoint(ctx, t, tb.adminA)
	require.True(t, strings.HasPrefix(res.Secret, webhooks.SecretPrefix))
	var sealed []byte
	require.NoError(t, tb.db.InTenant(ctx, store.Scope{TenantID: tb.a}, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &sealed, `SELECT secret_sealed FROM webhook_endpoints WHERE id = $1`, res.Endpoint.ID)
	}))
	require.NotContains(t, string(sealed), strings.TrimPrefix(res.Secret, webhooks.SecretPrefix))
	ep, err := webhooks.EndpointGet(ctx, tb.db, tb.adminA, res.Endpoint.ID)
	require.NoError(t, err)
	require.Equal(t, []string{string(events.InvoiceIssued)}, []string(ep.EventTypes))
}

func TestFanOutSignsAndIsIdempotent(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	sub := tb.endpoint(ctx, t, tb.adminA, events.InvoiceIssued)
	other := tb.endpoint(ctx, t, tb.adminA, events.StockLow)
	bEndpoint := tb.endpoint(ctx, t, tb.adminB, events.InvoiceIssued)
	evID := tb.event(ctx, t, tb.a, events.InvoiceIssued)

	n, err := webhooks.FanOut(ctx, tb.db, tb.a, evID)
	require.NoError(t, err)
	require.Zero(t, n, "a second fan-out of the same event adds nothing")
	ds := tb.deliveries(ctx, t, tb.adminA, sub.Endpoint.ID)
	require.Len(t, ds, 1)
	require.Empty(t, tb.deliveries(ctx, t, tb.adminA, other.Endpoint.ID))
	require.Empty(t, tb.deliveries(ctx, t, tb.adminB, bEndpoint.Endpoint.ID), "another tenant's endpoint never sees it")
	require.Contains(t, ds[0].RequestBody, `"type":"invoice.issued"`)
	require.Contains(t, ds[0].RequestBody, `"tenant_id":"`+tb.a.String()+`"`)
	require.Contains(t, ds[0].RequestBody, `"number":"INV-1"`)

	now := time.Now()
	a, err := webhooks.AttemptPrepare(ctx, tb.db, tb.a, ds[0].ID, now)
	require.NoError(t, err)
	require.False(t, a.Skip)
	require.Equal(t, evID.String(), a.MessageID)
	require.True(t, webhooks.Verify(sub.Secret, a.MessageID, a.Timestamp, a.Body, a.Signatures, now, 5*time.Minute))
	require.False(t, webhooks.Verify(other.Secret, a.MessageID, a.Timestamp, a.Body, a.Signatures, now, 5*time.Minute), "another endpoint's secret")
	require.False(t, webhooks.Verify(sub.Secret, a.MessageID, a.Timestamp, append(a.Body, ' '), a.Signatures, now, 5*time.Minute), "a changed body")
	require.False(t, webhooks.Verify(sub.Secret, a.MessageID, a.Timestamp, a.Body, a.Signatures, now.Add(10*time.Minute), 5*time.Minute), "a replay later")

	var jobs int
	require.NoError(t, tb.db.X.GetContext(ctx, &jobs, `SELECT count(*) FROM river_job WHERE kind = 'webhook_deliver' AND args->>'delivery_id' = $1`, ds[0].ID.String()))
	require.Equal(t, 1, jobs)
}

func TestRolledBackChangeRecordsNoEvent(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tb.endpoint(ctx, t, tb.adminA)
	boom := errors.New("the change failed")
	err := tb.db.InTenant(ctx, store.Scope{TenantID: tb.a}, func(tx *store.Tx) error {
		if _, err := events.Record(ctx, tx, events.RecordParams{Type: events.InvoiceIssued, Data: map[string]any{}}); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	var n int
	require.NoError(t, tb.db.X.GetContext(ctx, &n, `SELECT count(*) FROM river_job WHERE kind = 'event_fan_out'`))
	require.Zero(t, n, "no fan-out job, so nothing is ever sent")
	require.NoError(t, tb.db.InTenant(ctx, store.Scope{TenantID: tb.a}, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &n, `SELECT count(*) FROM events`)
	}))
	require.Zero(t, n)

	// A committed one has exactly one fan-out job.
	tb.event(ctx, t, tb.a, events.InvoiceIssued)
	require.NoError(t, tb.db.X.GetContext(ctx, &n, `SELECT count(*) FROM river_job WHERE kind = 'event_fan_out'`))
	require.Equal(t, 1, n)
}

func TestSecretRotationOverlap(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	res := tb.endpoint(ctx, t, tb.adminA)
	tb.event(ctx, t, tb.a, events.InvoiceIssued)
	d := tb.deliveries(ctx, t, tb.adminA, res.Endpoint.ID)[0]

	_, err := webhooks.SecretRotate(ctx, tb.db, tb.adminA, res.Endpoint.ID, webhooks.SecretRotateParams{Overlap: time.Hour, Version: res.Endpoint.Version + 5})
	requireCode(t, err, store.Conflict)
	_, err = webhooks.SecretRotate(ctx, tb.db, tb.adminA, res.Endpoint.ID, webhooks.SecretRotateParams{Overlap: 30 * 24 * time.Hour})
	requireCode(t, err, store.Invalid)

	newSecret, err := webhooks.SecretRotate(ctx, tb.db, tb.adminA, res.Endpoint.ID, webhooks.SecretRotateParams{Overlap: time.Hour, Version: res.Endpoint.Version})
	require.NoError(t, err)
	require.NotEqual(t, res.Secret, newSecret)
	now := time.Now()
	a, err := webhooks.AttemptPrepare(ctx, tb.db, tb.a, d.ID, now)
	require.NoError(t, err)
	require.Len(t, strings.Fields(a.Signatures), 2, "both secrets sign during the overlap")
	require.True(t, webhooks.Verify(res.Secret, a.MessageID, a.Timestamp, a.Body, a.Signatures, now, time.Minute))
	require.True(t, webhooks.Verify(newSecret, a.MessageID, a.Timestamp, a.Body, a.Signatures, now, time.Minute))

	// After the window only the new secret signs.
	later := now.Add(2 * time.Hour)
	a, err = webhooks.AttemptPrepare(ctx, tb.db, tb.a, d.ID, later)
	require.NoError(t, err)
	require.Len(t, strings.Fields(a.Signatures), 1)
	require.False(t, webhooks.Verify(res.Secret, a.MessageID, a.Timestamp, a.Body, a.Signatures, later, time.Minute))
	require.True(t, webhooks.Verify(newSecret, a.MessageID, a.Timestamp, a.Body, a.Signatures, later, time.Minute))

	// A rotation without overlap stops the old secret at once.
	ep, err := webhooks.EndpointGet(ctx, tb.db, tb.adminA, res.Endpoint.ID)
	require.NoError(t, err)
	third, err := webhooks.SecretRotate(ctx, tb.db, tb.adminA, res.Endpoint.ID, webhooks.SecretRotateParams{Version: ep.Version})
	require.NoError(t, err)
	a, err = webhooks.AttemptPrepare(ctx, tb.db, tb.a, d.ID, now)
	require.NoError(t, err)
	require.Len(t, strings.Fields(a.Signatures), 1)
	require.True(t, webhooks.Verify(third, a.MessageID, a.Timestamp, a.Body, a.Signatures, now, time.Minute))
	require.False(t, webhooks.Verify(newSecret, a.MessageID, a.Timestamp, a.Body, a.Signatures, now, time.Minute))
}

func TestBackoffSpansADay(t *testing.T) {
	t.Parallel()
	var total time.Duration
	prev := time.Duration(0)
	for n := 1; n < webhooks.MaxAttempts; n++ {
		d := webhooks.Backoff(n)
		require.GreaterOrEqual(t, d, prev, "waits never shrink")
		prev = d
		total += d
	}
	require.Equal(t, 30*time.Second, webhooks.Backoff(1))
	require.Equal(t, 90*time.Second, webhooks.Backoff(2))
	require.Equal(t, 8*time.Hour, webhooks.Backoff(9))
	require.Greater(t, total, 20*time.Hour)
	require.Less(t, total, 30*time.Hour)
}

func TestAttemptsRetriesAndDisable(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	res := tb.endpoint(ctx, t, tb.adminA)
	tb.event(ctx, t, tb.a, events.InvoiceIssued)
	d := tb.deliveries(ctx, t, tb.adminA, res.Endpoint.ID)[0]

	require.NoError(t, webhooks.AttemptRecord(ctx, tb.db, tb.a, d.ID, webhooks.AttemptResult{Status: 500, Body: "oops", Duration: 12 * time.Millisecond, Attempt: 1}))
	got := tb.deliveries(ctx, t, tb.adminA, res.Endpoint.ID)[0]
	require.Equal(t, webhooks.StateRetrying, got.State)
	require.Equal(t, 1, got.Attempts)
	require.Equal(t, 500, *got.ResponseStatus)
	require.Equal(t, "oops", got.ResponseBody)
	require.WithinDuration(t, time.Now().Add(webhooks.Backoff(1)), *got.NextAttemptAt, 10*time.Second)

	require.NoError(t, webhooks.AttemptRecord(ctx, tb.db, tb.a, d.ID, webhooks.AttemptResult{Err: "No answer within 10s.", Attempt: 2}))
	require.NoError(t, webhooks.AttemptRecord(ctx, tb.db, tb.a, d.ID, webhooks.AttemptResult{Status: 204, Attempt: 3}))
	got = tb.deliveries(ctx, t, tb.adminA, res.Endpoint.ID)[0]
	require.Equal(t, webhooks.StateSucceeded, got.State)
	require.Equal(t, 3, got.Attempts)
	require.NotNil(t, got.FinishedAt)

	// A retried job after a crash finds the delivery done and sends nothing.
	a, err := webhooks.AttemptPrepare(ctx, tb.db, tb.a, d.ID, time.Now())
	require.NoError(t, err)
	require.True(t, a.Skip)
	require.NoError(t, webhooks.AttemptRecord(ctx, tb.db, tb.a, d.ID, webhooks.AttemptResult{Status: 500, Final: true}))
	require.Equal(t, webhooks.StateSucceeded, tb.deliveries(ctx, t, tb.adminA, res.Endpoint.ID)[0].State)

	// DisableAfter deliveries failing for good in a row disable the endpoint and tell the admins.
	for i := 0; i < webhooks.DisableAfter; i++ {
		tb.event(ctx, t, tb.a, events.InvoiceIssued)
		last := tb.deliveries(ctx, t, tb.adminA, res.Endpoint.ID)[0]
		require.NoError(t, webhooks.AttemptRecord(ctx, tb.db, tb.a, last.ID, webhooks.AttemptResult{Status: 503, Final: true, Attempt: webhooks.MaxAttempts}))
		ep, err := webhooks.EndpointGet(ctx, tb.db, tb.adminA, res.Endpoint.ID)
		require.NoError(t, err)
		require.Equal(t, i < webhooks.DisableAfter-1, ep.Enabled, "after %d failures", i+1)
	}
	ep, err := webhooks.EndpointGet(ctx, tb.db, tb.adminA, res.Endpoint.ID)
	require.NoError(t, err)
	require.Contains(t, ep.DisabledReason, "in a row failed")
	list, err := notify.ListUnread(ctx, tb.db, tb.adminA, 0)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "Webhook endpoint disabled", list[0].Title)
	var mails int
	require.NoError(t, tb.db.X.GetContext(ctx, &mails, `SELECT count(*) FROM river_job WHERE kind = 'email_send' AND args->>'to' = 'admin@a.example'`))
	require.Equal(t, 1, mails)
	employeeNotes, err := notify.ListUnread(ctx, tb.db, tb.employeeA, 0)
	require.NoError(t, err)
	require.Empty(t, employeeNotes)

	// A disabled endpoint gets no new deliveries and pending ones are skipped.
	tb.event(ctx, t, tb.a, events.InvoiceIssued)
	require.Len(t, tb.deliveries(ctx, t, tb.adminA, res.Endpoint.ID), webhooks.DisableAfter+1)

	// Enabling it again starts the count afresh.
	_, err = webhooks.EndpointUpdate(ctx, tb.db, tb.adminA, tb.guard, res.Endpoint.ID, webhooks.EndpointUpdateParams{
		EndpointParams: webhooks.EndpointParams{URL: ep.URL, EventTypes: []events.Type{events.InvoiceIssued}}, Enabled: true, Version: ep.Version})
	require.NoError(t, err)
	ep, err = webhooks.EndpointGet(ctx, tb.db, tb.adminA, res.Endpoint.ID)
	require.NoError(t, err)
	require.True(t, ep.Enabled)
	require.Zero(t, ep.ConsecutiveFailures)
	require.Empty(t, ep.DisabledReason)
}

func TestResend(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	res := tb.endpoint(ctx, t, tb.adminA)
	evID := tb.event(ctx, t, tb.a, events.InvoiceIssued)
	d := tb.deliveries(ctx, t, tb.adminA, res.Endpoint.ID)[0]
	require.NoError(t, webhooks.AttemptRecord(ctx, tb.db, tb.a, d.ID, webhooks.AttemptResult{Status: 500, Final: true}))

	again, err := webhooks.Resend(ctx, tb.db, tb.adminA, d.ID)
	require.NoError(t, err)
	require.NotEqual(t, d.ID, again.ID)
	require.Equal(t, evID, again.EventID)
	require.Equal(t, d.ID, *again.ResendOf)
	require.Equal(t, d.RequestBody, again.RequestBody)
	require.Equal(t, webhooks.StatePending, again.State)
	a, err := webhooks.AttemptPrepare(ctx, tb.db, tb.a, again.ID, time.Now())
	require.NoError(t, err)
	require.Equal(t, evID.String(), a.MessageID, "the same webhook-id, so receivers can tell")
	require.Len(t, tb.deliveries(ctx, t, tb.adminA, res.Endpoint.ID), 2)

	_, err = webhooks.Resend(ctx, tb.db, tb.employeeA, d.ID)
	requireCode(t, err, store.Forbidden)

	require.NoError(t, webhooks.EndpointDelete(ctx, tb.db, tb.adminA, res.Endpoint.ID, 0))
	_, err = webhooks.Resend(ctx, tb.db, tb.adminA, d.ID)
	requireCode(t, err, store.Conflict)
	require.NoError(t, webhooks.EndpointRestore(ctx, tb.db, tb.adminA, res.Endpoint.ID, 0))
	_, err = webhooks.Resend(ctx, tb.db, tb.adminA, d.ID)
	require.NoError(t, err)
}

func TestDeliveryListPages(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	res := tb.endpoint(ctx, t, tb.adminA)
	for i := 0; i < 5; i++ {
		tb.event(ctx, t, tb.a, events.InvoiceIssued)
	}
	page, err := webhooks.DeliveryList(ctx, tb.db, tb.adminA, webhooks.DeliveryListParams{EndpointID: res.Endpoint.ID, Limit: 3})
	require.NoError(t, err)
	require.Len(t, page.Deliveries, 3)
	require.NotEmpty(t, page.Next)
	page2, err := webhooks.DeliveryList(ctx, tb.db, tb.adminA, webhooks.DeliveryListParams{EndpointID: res.Endpoint.ID, Limit: 3, After: page.Next})
	require.NoError(t, err)
	require.Len(t, page2.Deliveries, 2)
	require.Empty(t, page2.Next)
	require.Greater(t, page.Deliveries[2].ID.String(), page2.Deliveries[0].ID.String())
	_, err = webhooks.DeliveryList(ctx, tb.db, tb.adminA, webhooks.DeliveryListParams{EndpointID: res.Endpoint.ID, After: "junk"})
	requireCode(t, err, store.Invalid)
}

func TestCrossTenant(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	res := tb.endpoint(ctx, t, tb.adminA)
	tb.event(ctx, t, tb.a, events.InvoiceIssued)
	d := tb.deliveries(ctx, t, tb.adminA, res.Endpoint.ID)[0]
	id := res.Endpoint.ID

	_, err := webhooks.EndpointGet(ctx, tb.db, tb.adminB, id)
	requireCode(t, err, store.NotFound)
	_, err = webhooks.EndpointUpdate(ctx, tb.db, tb.adminB, tb.guard, id, webhooks.EndpointUpdateParams{
		EndpointParams: webhooks.EndpointParams{URL: "http://127.0.0.1/x", EventTypes: []events.Type{events.StockLow}}, Enabled: true, Version: 1})
	requireCode(t, err, store.NotFound)
	_, err = webhooks.SecretRotate(ctx, tb.db, tb.adminB, id, webhooks.SecretRotateParams{Version: 1})
	requireCode(t, err, store.NotFound)
	requireCode(t, webhooks.EndpointDelete(ctx, tb.db, tb.adminB, id, 1), store.NotFound)
	_, err = webhooks.DeliveryList(ctx, tb.db, tb.adminB, webhooks.DeliveryListParams{EndpointID: id})
	requireCode(t, err, store.NotFound)
	_, err = webhooks.DeliveryGet(ctx, tb.db, tb.adminB, d.ID)
	requireCode(t, err, store.NotFound)
	_, err = webhooks.Resend(ctx, tb.db, tb.adminB, d.ID)
	requireCode(t, err, store.NotFound)
	_, err = webhooks.AttemptPrepare(ctx, tb.db, tb.b, d.ID, time.Now())
	requireCode(t, err, store.NotFound)
	list, err := webhooks.EndpointList(ctx, tb.db, tb.adminB, true)
	require.NoError(t, err)
	require.Empty(t, list)
	// The fan-out of A's event in B's scope finds no event.
	_, err = webhooks.FanOut(ctx, tb.db, tb.b, d.EventID)
	requireCode(t, err, store.NotFound)
}

func TestUserDeactivatedEvent(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tb.endpoint(ctx, t, tb.adminA, events.UserDeactivated)
	_, err := identity.MemberDeactivate(ctx, tb.db, tb.adminA, tb.employeeA.ActorID)
	require.NoError(t, err)
	var data string
	require.NoError(t, tb.db.InTenant(ctx, store.Scope{TenantID: tb.a}, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &data, `SELECT data::text FROM events WHERE type = 'user.deactivated'`)
	}))
	require.Contains(t, data, `"email": "employee@a.example"`)
}
