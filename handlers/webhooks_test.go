package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"ledgerline/store"
	"ledgerline/store/events"
	"ledgerline/store/identity"
	"ledgerline/store/webhooks"
)

// webhooksB makes a webhook endpoint of tenant B with one delivery, for cross-tenant probes.
func (b *testBundle) webhooksB(t *testing.T) (endpoint, delivery store.ID) {
	t.Helper()
	ctx := context.Background()
	adminB := store.Scope{TenantID: b.tenantB.ID, ActorID: b.usersB[identity.RoleAdmin].ID}
	res, err := webhooks.EndpointCreate(ctx, b.db, adminB, &webhooks.Guard{AllowHosts: []string{"127.0.0.1"}},
		webhooks.EndpointParams{URL: "http://127.0.0.1:9/b", EventTypes: []events.Type{events.StockLow}})
	require.NoError(t, err)
	var ev store.ID
	require.NoError(t, b.db.InTenant(ctx, store.Scope{TenantID: b.tenantB.ID}, func(tx *store.Tx) error {
		ev, err = events.Record(ctx, tx, events.RecordParams{Type: events.StockLow, Data: map[string]string{"sku": "B-1"}})
		return err
	}))
	_, err = webhooks.FanOut(ctx, b.db, b.tenantB.ID, ev)
	require.NoError(t, err)
	list, err := webhooks.DeliveryList(ctx, b.db, adminB, webhooks.DeliveryListParams{EndpointID: res.Endpoint.ID})
	require.NoError(t, err)
	require.Len(t, list.Deliveries, 1)
	return res.Endpoint.ID, list.Deliveries[0].ID
}

func TestWebhookAdminPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(receiver.Close)
	admin := b.signedIn(t, b.usersA[identity.RoleAdmin])
	page := admin.get("/admin/webhooks")
	require.Equal(t, http.StatusOK, page.status)

	// Refused input comes back with 422, every value kept and the error next to the field. The test server
	// has no allow-list, so the local receiver is a forbidden address.
	res := admin.post("/admin/webhooks", url.Values{"url": {receiver.URL + "/hook"}, "description": {"ERP"}, "event_types": {"invoice.issued"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, testID(t, res, "error-summary"), "private, loopback or link-local")
	require.Equal(t, receiver.URL+"/hook", inputValue(res.doc, "url"))
	require.Equal(t, "ERP", inputValue(res.doc, "description"))

	// Registered directly (as if on the allow-list); the page lists it and its log.
	ctx := context.Background()
	adminA := store.Scope{TenantID: b.tenantA.ID, ActorID: b.usersA[identity.RoleAdmin].ID}
	ep, err := webhooks.EndpointCreate(ctx, b.db, adminA, &webhooks.Guard{AllowHosts: []string{"127.0.0.1"}},
		webhooks.EndpointParams{URL: receiver.URL + "/hook", EventTypes: []events.Type{events.UserDeactivated}})
	require.NoError(t, err)
	// Deactivating a member through the admin page emits user.deactivated, which reaches the endpoint.
	dev := admin.get("/admin/users/" + b.usersA[identity.RoleEmployee].ID.String())
	require.Equal(t, http.StatusOK, dev.status)
	res = admin.post("/admin/users/"+b.usersA[identity.RoleEmployee].ID.String()+"/deactivate", url.Values{})
	require.Less(t, res.status, 400, textOf(res.doc))
	var eventID store.ID
	require.NoError(t, b.db.InTenant(ctx, store.Scope{TenantID: b.tenantA.ID}, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &eventID, `SELECT id FROM events WHERE type = 'user.deactivated'`)
	}))
	_, err = webhooks.FanOut(ctx, b.db, b.tenantA.ID, eventID)
	require.NoError(t, err)

	show := admin.get("/admin/webhooks/" + ep.Endpoint.ID.String())
	require.Equal(t, http.StatusOK, show.status)
	require.Contains(t, testID(t, show, "deliveries"), "user.deactivated")
	require.Len(t, findAll(show.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "delivery-row" }), 1)

	// Rotation shows the new secret once, and the overlap.
	res = admin.post("/admin/webhooks/"+ep.Endpoint.ID.String()+"/rotate", url.Values{"overlap": {"24h"}, "version": {"1"}})
	require.Equal(t, http.StatusOK, res.status, textOf(res.doc))
	secret := testID(t, res, "webhook-secret")
	require.True(t, strings.HasPrefix(secret, webhooks.SecretPrefix))
	require.NotEqual(t, ep.Secret, secret)
	require.Contains(t, testID(t, res, "rotation-overlap"), "still signs until")
	// A stale version is a conflict.
	res = admin.post("/admin/webhooks/"+ep.Endpoint.ID.String()+"/rotate", url.Values{"overlap": {"0"}, "version": {"1"}})
	require.Equal(t, http.StatusConflict, res.status)

	// Resend puts a second delivery at the top of the log.
	list, err := webhooks.DeliveryList(ctx, b.db, adminA, webhooks.DeliveryListParams{EndpointID: ep.Endpoint.ID})
	require.NoError(t, err)
	res = admin.post("/admin/webhooks/deliveries/"+list.Deliveries[0].ID.String()+"/resend", url.Values{})
	require.Equal(t, http.StatusSeeOther, res.status)
	show = admin.get(res.location())
	require.Len(t, findAll(show.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "delivery-row" }), 2)
	require.Contains(t, testID(t, show, "deliveries"), "(resend)")

	// Tenant B's admin sees none of it.
	bAdmin := b.signedIn(t, b.usersB[identity.RoleAdmin])
	require.Equal(t, http.StatusNotFound, bAdmin.get("/admin/webhooks/"+ep.Endpoint.ID.String()).status)
	require.Equal(t, http.StatusNotFound, bAdmin.post("/admin/webhooks/deliveries/"+list.Deliveries[0].ID.String()+"/resend", url.Values{}).status)
	require.NotContains(t, bAdmin.get("/admin/webhooks").body, receiver.URL)
}

func TestWebhookAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.pat(t, b.tenantA.ID, b.usersA[identity.RoleAdmin], identity.AdminSettings)

	// A private address is refused with a field error (the test server has no allow-list).
	res := b.api(t, http.MethodPost, "/webhook-endpoints", token, map[string]any{"url": "http://10.0.0.7/hook", "event_types": []string{"invoice.issued"}})
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	require.Contains(t, string(res.body), "private")
	res = b.api(t, http.MethodPost, "/webhook-endpoints", token, map[string]any{"url": "http://127.0.0.1/hook", "event_types": []string{"nope.never"}})
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")

	endpointB, deliveryB := b.webhooksB(t)
	requireProblem(t, b.api(t, http.MethodGet, "/webhook-endpoints/"+endpointB.String(), token, nil), http.StatusNotFound, "not-found")
	requireProblem(t, b.api(t, http.MethodGet, "/webhook-endpoints/"+endpointB.String()+"/deliveries", token, nil), http.StatusNotFound, "not-found")
	requireProblem(t, b.api(t, http.MethodPost, "/webhook-deliveries/"+deliveryB.String()+"/resend", token, nil), http.StatusNotFound, "not-found")
	requireProblem(t, b.api(t, http.MethodPost, "/webhook-endpoints/"+endpointB.String()+"/rotate-secret", token,
		map[string]any{"overlap_seconds": 0, "version": 1}), http.StatusNotFound, "not-found")
	list := b.api(t, http.MethodGet, "/webhook-endpoints", token, nil)
	require.Equal(t, http.StatusOK, list.status)
	require.Empty(t, list.json["data"])

	// B's admin through the API: list, log, rotate (secret once), resend, disable.
	tokenB := b.pat(t, b.tenantB.ID, b.usersB[identity.RoleAdmin], identity.AdminSettings)
	list = b.api(t, http.MethodGet, "/webhook-endpoints", tokenB, nil)
	require.Len(t, list.json["data"], 1)
	log := b.api(t, http.MethodGet, "/webhook-endpoints/"+endpointB.String()+"/deliveries?limit=10", tokenB, nil)
	require.Equal(t, http.StatusOK, log.status)
	require.Len(t, log.json["data"], 1)
	rot := b.api(t, http.MethodPost, "/webhook-endpoints/"+endpointB.String()+"/rotate-secret", tokenB, map[string]any{"overlap_seconds": 3600, "version": 1})
	require.Equal(t, http.StatusOK, rot.status, string(rot.body))
	require.True(t, strings.HasPrefix(rot.json["secret"].(string), webhooks.SecretPrefix))
	got := b.api(t, http.MethodGet, "/webhook-endpoints/"+endpointB.String(), tokenB, nil)
	require.NotContains(t, string(got.body), rot.json["secret"].(string))
	require.NotNil(t, got.json["previous_secret_until"])
	again := b.api(t, http.MethodPost, "/webhook-deliveries/"+deliveryB.String()+"/resend", tokenB, nil)
	require.Equal(t, http.StatusCreated, again.status, string(again.body))
	require.Equal(t, deliveryB.String(), again.json["resend_of"])
	stale := b.api(t, http.MethodPatch, "/webhook-endpoints/"+endpointB.String(), tokenB,
		map[string]any{"url": "https://93.184.216.34/b", "event_types": []string{"stock.low"}, "enabled": false, "version": 1})
	requireProblem(t, stale, http.StatusConflict, "conflict")
	ok := b.api(t, http.MethodPatch, "/webhook-endpoints/"+endpointB.String(), tokenB,
		map[string]any{"url": "https://93.184.216.34/b", "event_types": []string{"stock.low"}, "enabled": false, "version": got.json["version"]})
	require.Equal(t, http.StatusOK, ok.status, string(ok.body))
	require.Equal(t, false, ok.json["enabled"])
	require.Equal(t, "Disabled by an administrator.", ok.json["disabled_reason"])
	// A token without admin.settings is refused.
	weak := b.pat(t, b.tenantB.ID, b.usersB[identity.RoleAdmin], identity.AdminUsers)
	requireProblem(t, b.api(t, http.MethodGet, "/webhook-endpoints", weak, nil), http.StatusForbidden, "forbidden")
}
