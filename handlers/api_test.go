package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"ledgerline/handlers"
	"ledgerline/store"
	"ledgerline/store/apiauth"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
)

// apiResponse is a finished API response with its body read and, when JSON, decoded.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

// apiDo sends one API request to base with token (none when empty). body is encoded as JSON unless it is
// a string (sent as is).
func apiDo(t *testing.T, base, method, path, token string, body any, header http.Header) *apiResponse {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		require.NoError(t, err)
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, base+path, r)
	require.NoError(t, err)
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	res, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer res.Body.Close()
	out := &apiResponse{status: res.StatusCode, header: res.Header}
	out.body, err = io.ReadAll(res.Body)
	require.NoError(t, err)
	if ct := res.Header.Get("Content-Type"); strings.Contains(ct, "json") && len(out.body) > 0 && out.body[0] == '{' {
		require.NoError(t, json.Unmarshal(out.body, &out.json), "%s %s: %s", method, path, out.body)
	}
	return out
}

func (b *testBundle) api(t *testing.T, method, path, token string, body any) *apiResponse {
	t.Helper()
	return apiDo(t, b.server.URL, method, "/api/v1"+path, token, body, nil)
}

// pat creates a personal access token for u in tenant with scopes (through the store, as the account
// page does).
func (b *testBundle) pat(t *testing.T, tenant store.ID, u testUser, scopes ...identity.Permission) string {
	t.Helper()
	res, err := apiauth.TokenCreate(context.Background(), b.db, store.Scope{TenantID: tenant, ActorID: u.ID},
		apiauth.TokenCreateParams{Name: "test", Scopes: scopes, ExpiresAt: time.Now().Add(24 * time.Hour)})
	require.NoError(t, err)
	return res.Secret
}

// requireProblem checks the problem details shape: content type, status, a stable type URI and a title.
func requireProblem(t *testing.T, res *apiResponse, status int, kind string) {
	t.Helper()
	require.Equal(t, status, res.status, "body: %s", res.body)
	require.Equal(t, "application/problem+json", res.header.Get("Content-Type"), "body: %s", res.body)
	require.Equal(t, handlers.ProblemBase+kind, res.json["type"], "body: %s", res.body)
	require.NotEmpty(t, res.json["title"])
	require.EqualValues(t, status, res.json["status"])
	require.NotEmpty(t, res.json["detail"])
	require.NotEmpty(t, res.json["request_id"])
	require.Equal(t, res.header.Get("X-Request-Id"), res.json["request_id"])
}

// problemLocations lists the locations of a problem's field errors.
func problemLocations(res *apiResponse) []string {
	var out []string
	errs, _ := res.json["errors"].([]any)
	for _, e := range errs {
		m, _ := e.(map[string]any)
		loc, _ := m["location"].(string)
		out = append(out, loc)
	}
	return out
}

func TestAPIAuthentication(t *testing.T) {
	t.Parallel()
	b := setup(t)

	res := b.api(t, http.MethodGet, "/me", "", nil)
	requireProblem(t, res, http.StatusUnauthorized, "unauthorized")
	require.Equal(t, `Bearer realm="ledgerline"`, res.header.Get("WWW-Authenticate"))

	for _, bad := range []string{"llp_nope", "eyJhbGciOiJIUzI1NiJ9.e30.x", "garbage"} {
		res := b.api(t, http.MethodGet, "/me", bad, nil)
		requireProblem(t, res, http.StatusUnauthorized, "unauthorized")
		require.Contains(t, res.header.Get("WWW-Authenticate"), `error="invalid_token"`)
		require.True(t, strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer "))
	}
	res = apiDo(t, b.server.URL, http.MethodGet, "/api/v1/me", "", nil, http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}})
	requireProblem(t, res, http.StatusUnauthorized, "unauthorized")

	u := b.usersA[identity.RoleFinance]
	token := b.pat(t, b.tenantA.ID, u, identity.BillingRead, identity.BillingIssue)
	res = b.api(t, http.MethodGet, "/me", token, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Equal(t, "application/json", res.header.Get("Content-Type"))
	require.Equal(t, "personal", res.json["kind"])
	require.Equal(t, b.tenantA.ID.String(), res.json["tenant"].(map[string]any)["id"])
	require.Equal(t, u.Email, res.json["user"].(map[string]any)["email"])
	require.Equal(t, "finance", res.json["user"].(map[string]any)["role"])
	require.Nil(t, res.json["client"])
	require.Equal(t, []any{"billing.read", "billing.issue"}, res.json["scopes"])
	require.Equal(t, "600", res.header.Get("RateLimit-Limit"))
	require.Equal(t, "599", res.header.Get("RateLimit-Remaining"))
	require.NotEmpty(t, res.header.Get("RateLimit-Reset"))
	require.Equal(t, "no-store", res.header.Get("Cache-Control"))
	// No session cookie and no CSRF cookie on the API.
	require.Empty(t, res.header.Values("Set-Cookie"))

	// A revoked token is refused at once.
	tokens, err := apiauth.TokenList(context.Background(), b.db, store.Scope{TenantID: b.tenantA.ID, ActorID: u.ID})
	require.NoError(t, err)
	require.NoError(t, apiauth.TokenRevoke(context.Background(), b.db, store.Scope{TenantID: b.tenantA.ID, ActorID: u.ID}, tokens[0].ID))
	res = b.api(t, http.MethodGet, "/me", token, nil)
	requireProblem(t, res, http.StatusUnauthorized, "unauthorized")
	require.Contains(t, res.header.Get("WWW-Authenticate"), `error="invalid_token"`)
}

func TestAPIScopeAndTenant(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	admin := b.usersA[identity.RoleAdmin]

	// Missing scope: 403, even for an admin whose role would allow it.
	narrow := b.pat(t, b.tenantA.ID, admin, identity.InventoryRead)
	res := b.api(t, http.MethodGet, "/audit-events", narrow, nil)
	requireProblem(t, res, http.StatusForbidden, "forbidden")
	require.Contains(t, res.header.Get("WWW-Authenticate"), `error="insufficient_scope"`)
	require.Contains(t, res.header.Get("WWW-Authenticate"), `scope="audit.read"`)
	res = b.api(t, http.MethodPost, "/departments", narrow, map[string]any{"name": "X"})
	requireProblem(t, res, http.StatusForbidden, "forbidden")

	// Another tenant's ids are 404, exactly like ids that do not exist.
	token := b.pat(t, b.tenantA.ID, admin, identity.AdminUsers, identity.AuditRead)
	other := b.usersB[identity.RoleEmployee]
	res = b.api(t, http.MethodGet, "/users/"+other.ID.String(), token, nil)
	requireProblem(t, res, http.StatusNotFound, "not-found")
	res = b.api(t, http.MethodGet, "/users/"+store.NewID().String(), token, nil)
	requireProblem(t, res, http.StatusNotFound, "not-found")
	res = b.api(t, http.MethodPatch, "/users/"+other.ID.String(), token, map[string]any{"role": "admin", "version": 1})
	requireProblem(t, res, http.StatusNotFound, "not-found")
	res = b.api(t, http.MethodPost, "/users/"+other.ID.String()+"/deactivate", token, nil)
	requireProblem(t, res, http.StatusNotFound, "not-found")
	eventsB, err := audit.List(ctx, b.db, store.Scope{TenantID: b.tenantB.ID}, audit.ListParams{Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, eventsB.Events)
	res = b.api(t, http.MethodGet, "/audit-events/"+eventsB.Events[0].ID.String(), token, nil)
	requireProblem(t, res, http.StatusNotFound, "not-found")
	depsB, err := identity.DepartmentList(ctx, b.db, store.Scope{TenantID: b.tenantB.ID}, identity.DepartmentListParams{})
	require.NoError(t, err)
	res = b.api(t, http.MethodGet, "/departments/"+depsB.Departments[0].ID.String(), token, nil)
	requireProblem(t, res, http.StatusNotFound, "not-found")

	// Lists show only the token's tenant.
	res = b.api(t, http.MethodGet, "/users?limit=200", token, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	for _, u := range res.json["data"].([]any) {
		id := u.(map[string]any)["id"].(string)
		for _, ub := range b.usersB {
			if ub.ID != admin.ID {
				require.NotEqual(t, ub.ID.String(), id)
			}
		}
	}
	res = b.api(t, http.MethodGet, "/audit-events?limit=200", token, nil)
	require.Equal(t, http.StatusOK, res.status)
	for _, e := range res.json["data"].([]any) {
		require.NotEqual(t, eventsB.Events[0].ID.String(), e.(map[string]any)["id"])
	}

	// The same person's token in tenant B works in B only, with B's role (auditor).
	tokenB := b.pat(t, b.tenantB.ID, admin, identity.AuditRead)
	res = b.api(t, http.MethodGet, "/audit-events/"+eventsB.Events[0].ID.String(), tokenB, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	res = b.api(t, http.MethodGet, "/me", tokenB, nil)
	require.Equal(t, "auditor", res.json["user"].(map[string]any)["role"])
}

func TestAPIProblems(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.pat(t, b.tenantA.ID, b.usersA[identity.RoleAdmin], identity.AdminUsers, identity.AuditRead)

	// Validation by the schema: each field named by its location.
	res := b.api(t, http.MethodPost, "/departments", token, map[string]any{})
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	require.Contains(t, problemLocations(res), "body.name")
	res = b.api(t, http.MethodPost, "/departments", token, map[string]any{"name": 5, "colour": "red"})
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	require.Contains(t, problemLocations(res), "body.name")
	require.Contains(t, problemLocations(res), "body.colour")
	res = b.api(t, http.MethodGet, "/audit-events?limit=500", token, nil)
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	require.Equal(t, []string{"query.limit"}, problemLocations(res))
	res = b.api(t, http.MethodPost, "/departments", token, "{not json")
	require.Contains(t, []int{http.StatusBadRequest, http.StatusUnprocessableEntity}, res.status)
	require.Equal(t, "application/problem+json", res.header.Get("Content-Type"))

	// Validation by the store: the same shape.
	res = b.api(t, http.MethodPost, "/departments", token, map[string]any{"name": "   "})
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	require.Equal(t, []string{"body.name"}, problemLocations(res))
	res = b.api(t, http.MethodPost, "/invitations", token, map[string]any{"email": "not-an-address", "name": "N", "role": "employee"})
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	require.Equal(t, []string{"body.email"}, problemLocations(res))
	res = b.api(t, http.MethodGet, "/audit-events?from=yesterday", token, nil)
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	require.Contains(t, problemLocations(res), "query.from")
	res = b.api(t, http.MethodGet, "/audit-events?cursor=bogus", token, nil)
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")

	// Conflicts.
	res = b.api(t, http.MethodPost, "/departments", token, map[string]any{"name": "Operations"})
	requireProblem(t, res, http.StatusConflict, "conflict")
	require.Equal(t, []string{"body.name"}, problemLocations(res))

	// Unknown routes and methods, inside and outside v1.
	res = b.api(t, http.MethodGet, "/nope", token, nil)
	requireProblem(t, res, http.StatusNotFound, "not-found")
	res = apiDo(t, b.server.URL, http.MethodGet, "/api/v2/me", "", nil, nil)
	requireProblem(t, res, http.StatusNotFound, "not-found")
	require.Empty(t, res.header.Values("Set-Cookie"))
	res = b.api(t, http.MethodDelete, "/me", token, nil)
	require.Contains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed}, res.status)
	require.Equal(t, "application/problem+json", res.header.Get("Content-Type"))
}

func TestAPIUsersAndDepartments(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.usersA[identity.RoleAdmin]
	token := b.pat(t, b.tenantA.ID, admin, identity.AdminUsers)

	// Departments: create, rename, manager, delete, restore.
	res := b.api(t, http.MethodPost, "/departments", token, map[string]any{"name": "Research"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	id := res.json["id"].(string)
	res = b.api(t, http.MethodPatch, "/departments/"+id, token, map[string]any{"name": "R&D", "version": 1})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Equal(t, "R&D", res.json["name"])
	res = b.api(t, http.MethodPatch, "/departments/"+id, token, map[string]any{"name": "Stale", "version": 1})
	requireProblem(t, res, http.StatusConflict, "conflict")
	res = b.api(t, http.MethodPut, "/departments/"+id+"/manager", token, map[string]any{"manager_id": admin.ID.String(), "version": 2})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Equal(t, admin.Name, res.json["manager"].(map[string]any)["name"])
	res = b.api(t, http.MethodPut, "/departments/"+id+"/manager", token, map[string]any{"manager_id": nil, "version": 3})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Nil(t, res.json["manager"])
	res = b.api(t, http.MethodDelete, "/departments/"+id+"?version=4", token, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.NotNil(t, res.json["deleted_at"])
	res = b.api(t, http.MethodPost, "/departments/"+id+"/restore", token, map[string]any{"version": 5})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Nil(t, res.json["deleted_at"])
	res = b.api(t, http.MethodGet, "/departments?limit=1", token, nil)
	require.Equal(t, http.StatusOK, res.status)
	require.Len(t, res.json["data"], 1)
	next, _ := res.json["next_cursor"].(string)
	require.NotEmpty(t, next)
	res = b.api(t, http.MethodGet, "/departments?limit=1&cursor="+url.QueryEscape(next), token, nil)
	require.Equal(t, http.StatusOK, res.status)
	require.Len(t, res.json["data"], 1)
	require.Nil(t, res.json["next_cursor"])

	// Users: list with filters and pages, get, update (role change ends sessions), deactivate, reactivate.
	res = b.api(t, http.MethodGet, "/users?role=employee", token, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Len(t, res.json["data"], 1)
	emp := b.usersA[identity.RoleEmployee]
	require.Equal(t, emp.ID.String(), res.json["data"].([]any)[0].(map[string]any)["id"])
	res = b.api(t, http.MethodGet, "/users?limit=2", token, nil)
	require.Len(t, res.json["data"], 2)
	require.NotNil(t, res.json["next_cursor"])

	browser := b.signedIn(t, emp)
	res = b.api(t, http.MethodGet, "/users/"+emp.ID.String(), token, nil)
	require.Equal(t, http.StatusOK, res.status)
	version := res.json["version"]
	res = b.api(t, http.MethodPatch, "/users/"+emp.ID.String(), token, map[string]any{"role": "finance", "version": version})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Equal(t, "finance", res.json["role"])
	require.Equal(t, "Operations", res.json["department"].(map[string]any)["name"], "absent fields keep their values")
	require.Equal(t, http.StatusSeeOther, browser.get("/").status, "a role change ends the member's sessions")
	res = b.api(t, http.MethodPatch, "/users/"+emp.ID.String(), token, map[string]any{"department_id": nil, "version": res.json["version"]})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Nil(t, res.json["department"])
	require.Equal(t, "finance", res.json["role"])

	empToken := b.pat(t, b.tenantA.ID, emp, identity.InventoryRead)
	res = b.api(t, http.MethodPost, "/users/"+emp.ID.String()+"/deactivate", token, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Equal(t, "deactivated", res.json["status"])
	requireProblem(t, b.api(t, http.MethodGet, "/me", empToken, nil), http.StatusUnauthorized, "unauthorized")
	res = b.api(t, http.MethodPost, "/users/"+emp.ID.String()+"/reactivate", token, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Equal(t, "active", res.json["status"])
	requireProblem(t, b.api(t, http.MethodGet, "/me", empToken, nil), http.StatusUnauthorized, "unauthorized")

	// The last admin stays an admin.
	res = b.api(t, http.MethodGet, "/users/"+admin.ID.String(), token, nil)
	res = b.api(t, http.MethodPatch, "/users/"+admin.ID.String(), token, map[string]any{"role": "auditor", "version": res.json["version"]})
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	require.Equal(t, []string{"body.role"}, problemLocations(res))

	// Invitations.
	res = b.api(t, http.MethodPost, "/invitations", token, map[string]any{"email": "new@acme.example", "name": "New Person", "role": "employee"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	require.Equal(t, "new@acme.example", res.json["email"])
}

// secondServer is another instance of the application on the same database and Redis (same key prefix),
// as behind a load balancer.
func (b *testBundle) secondServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base, err := url.Parse("http://" + srv.Listener.Addr().String())
	require.NoError(t, err)
	e, err := handlers.New(handlers.Deps{
		DB: b.db, Redis: b.redis, RedisPrefix: b.prefix, BaseURL: base,
		Logger: slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	require.NoError(t, err)
	srv.Config.Handler = e
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func (b *testBundle) setRateLimit(t *testing.T, tenant store.ID, perMinute int) {
	t.Helper()
	require.NoError(t, b.db.InTenant(context.Background(), store.Scope{TenantID: tenant}, func(tx *store.Tx) error {
		_, err := tx.ExecContext(context.Background(), `UPDATE tenants SET api_rate_limit = $1 WHERE id = $2`, perMinute, tenant)
		return err
	}))
}

func TestAPIRateLimitAcrossInstances(t *testing.T) {
	t.Parallel()
	b := setup(t)
	servers := []string{b.server.URL, b.secondServer(t)}
	b.setRateLimit(t, b.tenantA.ID, 5)
	token := b.pat(t, b.tenantA.ID, b.usersA[identity.RoleAuditor], identity.AuditRead)

	// 16 concurrent requests spread over both instances: exactly the limit get through.
	statuses := make([]*apiResponse, 16)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Go(func() {
			statuses[i] = apiDo(t, servers[i%2], http.MethodGet, "/api/v1/me", token, nil, nil)
		})
	}
	wg.Wait()
	ok, limited := 0, 0
	for _, res := range statuses {
		require.Equal(t, "5", res.header.Get("RateLimit-Limit"))
		switch res.status {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			limited++
			requireProblem(t, res, http.StatusTooManyRequests, "rate-limited")
			require.Equal(t, "0", res.header.Get("RateLimit-Remaining"))
			require.Regexp(t, `^[1-9][0-9]*$`, res.header.Get("Retry-After"))
		default:
			t.Fatalf("unexpected status %d: %s", res.status, res.body)
		}
	}
	require.Equal(t, 5, ok)
	require.Equal(t, 11, limited)

	// The tenant's limit (10 × the per-token limit) binds all its tokens together, on both instances.
	b.setRateLimit(t, b.tenantB.ID, 1)
	var tokens []string
	for _, role := range []identity.Role{identity.RoleAdmin, identity.RoleManager, identity.RoleFinance, identity.RoleEmployee} {
		for range 3 {
			tokens = append(tokens, b.pat(t, b.tenantB.ID, b.usersB[role], identity.InventoryRead))
		}
	}
	results := make([]int, len(tokens))
	for i, tok := range tokens {
		wg.Go(func() { results[i] = apiDo(t, servers[i%2], http.MethodGet, "/api/v1/me", tok, nil, nil).status })
	}
	wg.Wait()
	ok = 0
	for _, s := range results {
		require.Contains(t, []int{http.StatusOK, http.StatusTooManyRequests}, s)
		if s == http.StatusOK {
			ok++
		}
	}
	require.Equal(t, 10, ok, "statuses %v", results)
	// Tenant A's budget is its own.
	other := b.pat(t, b.tenantA.ID, b.usersA[identity.RoleAdmin], identity.AuditRead)
	require.Equal(t, http.StatusOK, b.api(t, http.MethodGet, "/me", other, nil).status)
}

func TestAPIIdempotency(t *testing.T) {
	t.Parallel()
	b := setup(t)
	servers := []string{b.server.URL, b.secondServer(t)}
	token := b.pat(t, b.tenantA.ID, b.usersA[identity.RoleAdmin], identity.AdminUsers)
	key := http.Header{"Idempotency-Key": {"create-research-" + randomHex(4)}}

	// 50 concurrent POSTs with one key, on two instances: one department, 50 identical replies.
	results := make([]*apiResponse, 50)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			results[i] = apiDo(t, servers[i%2], http.MethodPost, "/api/v1/departments", token, map[string]any{"name": "Research"}, key)
		})
	}
	wg.Wait()
	replayed := 0
	for _, res := range results {
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		require.Equal(t, string(results[0].body), string(res.body))
		if res.header.Get("Idempotent-Replayed") == "true" {
			replayed++
		}
	}
	require.Equal(t, len(results)-1, replayed)
	deps, err := identity.DepartmentList(context.Background(), b.db, store.Scope{TenantID: b.tenantA.ID}, identity.DepartmentListParams{})
	require.NoError(t, err)
	n := 0
	for _, d := range deps.Departments {
		if d.Name == "Research" {
			n++
		}
	}
	require.Equal(t, 1, n)

	// The same key with another body is refused; a new key runs anew (and meets the taken name).
	res := apiDo(t, b.server.URL, http.MethodPost, "/api/v1/departments", token, map[string]any{"name": "Other"}, key)
	requireProblem(t, res, http.StatusUnprocessableEntity, "idempotency-mismatch")
	res = apiDo(t, b.server.URL, http.MethodPost, "/api/v1/departments", token, map[string]any{"name": "Research"},
		http.Header{"Idempotency-Key": {"another"}})
	requireProblem(t, res, http.StatusConflict, "conflict")
	require.Empty(t, res.header.Get("Idempotent-Replayed"))
	// Errors are replayed too.
	res2 := apiDo(t, b.server.URL, http.MethodPost, "/api/v1/departments", token, map[string]any{"name": "Research"},
		http.Header{"Idempotency-Key": {"another"}})
	require.Equal(t, http.StatusConflict, res2.status)
	require.Equal(t, "true", res2.header.Get("Idempotent-Replayed"))
	// Keys are per credential: another token's same key is a new request.
	token2 := b.pat(t, b.tenantA.ID, b.usersA[identity.RoleAdmin], identity.AdminUsers)
	res = apiDo(t, b.server.URL, http.MethodPost, "/api/v1/departments", token2, map[string]any{"name": "Other"}, key)
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	require.Empty(t, res.header.Get("Idempotent-Replayed"))
	// A malformed key is a validation problem naming the header.
	res = apiDo(t, b.server.URL, http.MethodPost, "/api/v1/departments", token, map[string]any{"name": "X"},
		http.Header{"Idempotency-Key": {strings.Repeat("k", 256)}})
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	require.Equal(t, []string{"header.Idempotency-Key"}, problemLocations(res))
}

func TestAPIOAuthClientCredentials(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	cl, err := apiauth.ClientCreate(ctx, b.db, store.Scope{TenantID: b.tenantA.ID, ActorID: b.usersA[identity.RoleAdmin].ID},
		apiauth.ClientCreateParams{Name: "ERP", Scopes: []identity.Permission{identity.AuditRead, identity.AdminUsers}})
	require.NoError(t, err)
	tokenURL := b.server.URL + "/api/v1/oauth/token"
	post := func(form url.Values, user, pass string) *apiResponse {
		req, err := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if user != "" {
			req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		out := &apiResponse{status: res.StatusCode, header: res.Header}
		out.body, _ = io.ReadAll(res.Body)
		require.NoError(t, json.Unmarshal(out.body, &out.json), "%s", out.body)
		return out
	}

	// HTTP Basic.
	res := post(url.Values{"grant_type": {"client_credentials"}}, cl.Client.ID.String(), cl.Secret)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Equal(t, "Bearer", res.json["token_type"])
	require.EqualValues(t, 900, res.json["expires_in"])
	require.Equal(t, "admin.users audit.read", res.json["scope"])
	require.Equal(t, "no-store", res.header.Get("Cache-Control"))
	access := res.json["access_token"].(string)
	me := b.api(t, http.MethodGet, "/me", access, nil)
	require.Equal(t, http.StatusOK, me.status, "%s", me.body)
	require.Equal(t, "client", me.json["kind"])
	require.Equal(t, cl.Client.ID.String(), me.json["client"].(map[string]any)["id"])
	require.Nil(t, me.json["user"])
	require.Equal(t, http.StatusOK, b.api(t, http.MethodGet, "/audit-events", access, nil).status)
	require.Equal(t, http.StatusOK, b.api(t, http.MethodGet, "/departments", access, nil).status)

	// Form fields, narrowed scope.
	res = post(url.Values{"grant_type": {"client_credentials"}, "client_id": {cl.Client.ID.String()},
		"client_secret": {cl.Secret}, "scope": {"audit.read"}}, "", "")
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	narrow := res.json["access_token"].(string)
	requireProblem(t, b.api(t, http.MethodGet, "/departments", narrow, nil), http.StatusForbidden, "forbidden")

	// Failures: problem details with the OAuth error code.
	res = post(url.Values{"grant_type": {"client_credentials"}}, cl.Client.ID.String(), "wrong")
	requireProblem(t, res, http.StatusUnauthorized, "unauthorized")
	require.Equal(t, "invalid_client", res.json["error"])
	require.Equal(t, `Basic realm="ledgerline"`, res.header.Get("WWW-Authenticate"))
	res = post(url.Values{"grant_type": {"password"}}, cl.Client.ID.String(), cl.Secret)
	requireProblem(t, res, http.StatusBadRequest, "bad-request")
	require.Equal(t, "unsupported_grant_type", res.json["error"])
	res = post(url.Values{"grant_type": {"client_credentials"}, "scope": {"billing.issue"}}, cl.Client.ID.String(), cl.Secret)
	requireProblem(t, res, http.StatusBadRequest, "bad-request")
	require.Equal(t, "invalid_scope", res.json["error"])
	res = post(url.Values{"grant_type": {"client_credentials"}}, "", "")
	require.Equal(t, http.StatusUnauthorized, res.status)
	require.Equal(t, "invalid_client", res.json["error"])

	// The admin page revokes the client: its tokens stop at once.
	require.NoError(t, apiauth.ClientRevoke(ctx, b.db, store.Scope{TenantID: b.tenantA.ID, ActorID: b.usersA[identity.RoleAdmin].ID}, cl.Client.ID))
	requireProblem(t, b.api(t, http.MethodGet, "/me", access, nil), http.StatusUnauthorized, "unauthorized")
}

// apiScopeMatrix is every API route with the scope it needs ("" for any valid token, "public" for none).
// A route added without a row here, or a row without a route, fails TestAPIScopeMatrix.
type apiScopeRow struct{ method, path, scope string }

var apiScopeMatrix = []apiScopeRow{
	{"GET", "/api/v1/openapi.json", "public"},
	{"GET", "/api/v1/docs", "public"},
	{"POST", "/api/v1/oauth/token", "public"},
	{"GET", "/api/v1/me", ""},
	{"GET", "/api/v1/audit-events", "audit.read"},
	{"GET", "/api/v1/audit-events/:id", "audit.read"},
	{"GET", "/api/v1/users", "admin.users"},
	{"GET", "/api/v1/users/:id", "admin.users"},
	{"PATCH", "/api/v1/users/:id", "admin.users"},
	{"POST", "/api/v1/users/:id/deactivate", "admin.users"},
	{"POST", "/api/v1/users/:id/reactivate", "admin.users"},
	{"POST", "/api/v1/invitations", "admin.users"},
	{"GET", "/api/v1/departments", "admin.users"},
	{"GET", "/api/v1/departments/:id", "admin.users"},
	{"POST", "/api/v1/departments", "admin.users"},
	{"PATCH", "/api/v1/departments/:id", "admin.users"},
	{"PUT", "/api/v1/departments/:id/manager", "admin.users"},
	{"DELETE", "/api/v1/departments/:id", "admin.users"},
	{"POST", "/api/v1/departments/:id/restore", "admin.users"},
	{"GET", "/api/v1/items", "inventory.read"},
	{"GET", "/api/v1/items/:id", "inventory.read"},
	{"POST", "/api/v1/items", "inventory.adjust"},
	{"PATCH", "/api/v1/items/:id", "inventory.adjust"},
	{"DELETE", "/api/v1/items/:id", "inventory.adjust"},
	{"POST", "/api/v1/items/:id/restore", "inventory.adjust"},
	{"GET", "/api/v1/locations", "inventory.read"},
	{"GET", "/api/v1/locations/:id", "inventory.read"},
	{"POST", "/api/v1/locations", "inventory.adjust"},
	{"PATCH", "/api/v1/locations/:id", "inventory.adjust"},
	{"DELETE", "/api/v1/locations/:id", "inventory.adjust"},
	{"POST", "/api/v1/locations/:id/restore", "inventory.adjust"},
	{"GET", "/api/v1/movements", "inventory.read"},
	{"GET", "/api/v1/movements/:id", "inventory.read"},
	{"POST", "/api/v1/movements/receipts", "inventory.write"},
	{"POST", "/api/v1/movements/issues", "inventory.write"},
	{"POST", "/api/v1/movements/transfers", "inventory.write"},
	{"POST", "/api/v1/movements/adjustments", "inventory.adjust"},
	{"POST", "/api/v1/stocktakes", "inventory.adjust"},
	{"POST", "/api/v1/movements/:id/reverse", "inventory.adjust"},
	{"GET", "/api/v1/stock-levels", "inventory.read"},
	{"GET", "/api/v1/stock-value", "inventory.read"},
	{"GET", "/api/v1/reservations", "inventory.read"},
	{"POST", "/api/v1/reservations", "inventory.write"},
	{"POST", "/api/v1/reservations/:id/release", "inventory.write"},
}

// The modules' API routes, one table each, in the same shape as apiScopeMatrix.

var apiBillingScopes = []apiScopeRow{
	{"GET", "/api/v1/customers", "billing.read"},
	{"GET", "/api/v1/customers/:id", "billing.read"},
	{"POST", "/api/v1/customers", "billing.write"},
	{"GET", "/api/v1/invoices", "billing.read"},
	{"GET", "/api/v1/invoices/:id", "billing.read"},
	{"GET", "/api/v1/invoices/:id/pdf", "billing.read"},
	{"POST", "/api/v1/invoices", "billing.write"},
	{"POST", "/api/v1/invoices/:id/lines", "billing.write"},
	{"POST", "/api/v1/invoices/:id/issue", "billing.issue"},
	{"POST", "/api/v1/invoices/:id/void", "billing.issue"},
	{"POST", "/api/v1/invoices/:id/credit-notes", "billing.issue"},
	{"GET", "/api/v1/payments", "billing.read"},
	{"GET", "/api/v1/payments/:id", "billing.read"},
	{"POST", "/api/v1/payments", "billing.write"},
	{"POST", "/api/v1/payments/:id/reverse", "billing.issue"},
	{"GET", "/api/v1/recurring-invoices", "billing.read"},
	{"POST", "/api/v1/recurring-invoices", "billing.write"},
	{"POST", "/api/v1/recurring-invoices/:id/stop", "billing.write"},
	{"GET", "/api/v1/reports/aging", "billing.read"},
	{"GET", "/api/v1/reports/revenue", "billing.read"},
}

var apiApprovalsScopes = []apiScopeRow{
	{"GET", "/api/v1/approval-requests", "approvals.read"},
	{"GET", "/api/v1/my/approval-requests", "approvals.submit"},
	{"GET", "/api/v1/approval-requests/:id", ""},
	{"POST", "/api/v1/approval-requests", "approvals.submit"},
	{"POST", "/api/v1/approval-requests/:id/submit", "approvals.submit"},
	{"POST", "/api/v1/approval-requests/:id/withdraw", "approvals.submit"},
	{"POST", "/api/v1/approval-requests/:id/decisions", "approvals.decide"},
	{"GET", "/api/v1/approval-inbox", "approvals.decide"},
	{"GET", "/api/v1/approval-delegations", "approvals.decide"},
	{"POST", "/api/v1/approval-delegations", "approvals.decide"},
	{"POST", "/api/v1/approval-delegations/:id/revoke", "approvals.decide"},
	{"GET", "/api/v1/approval-policies/:type", "approvals.read"},
	{"PUT", "/api/v1/approval-policies/:type", "admin.settings"},
}

var apiExportsScopes = []apiScopeRow{
	{"POST", "/api/v1/exports", "exports.run"},
	{"GET", "/api/v1/exports/:id", "exports.run"},
	{"GET", "/api/v1/exports/:id/download", "exports.run"},
}

var apiIntegrationsScopes = []apiScopeRow{
	{"GET", "/api/v1/webhook-endpoints", "admin.settings"},
	{"POST", "/api/v1/webhook-endpoints", "admin.settings"},
	{"GET", "/api/v1/webhook-endpoints/:id", "admin.settings"},
	{"PATCH", "/api/v1/webhook-endpoints/:id", "admin.settings"},
	{"DELETE", "/api/v1/webhook-endpoints/:id", "admin.settings"},
	{"POST", "/api/v1/webhook-endpoints/:id/rotate-secret", "admin.settings"},
	{"GET", "/api/v1/webhook-endpoints/:id/deliveries", "admin.settings"},
	{"POST", "/api/v1/webhook-deliveries/:id/resend", "admin.settings"},
}

// apiScopes is every API route's row.
func apiScopes() []apiScopeRow {
	return slices.Concat(apiScopeMatrix, apiBillingScopes, apiApprovalsScopes, apiExportsScopes, apiIntegrationsScopes)
}

// TestAPIScopeMatrix checks every API route with a token of every role carrying all its role's
// permissions, and with a token lacking the route's scope: a token gets through exactly when it carries
// the scope and the member's role grants it (401/403 otherwise).
func TestAPIScopeMatrix(t *testing.T) {
	t.Parallel()
	b := setup(t)

	var registered, tabled []string
	for _, r := range b.echo.Routes() {
		if r.Method != echo.RouteNotFound && strings.HasPrefix(r.Path, "/api/") {
			registered = append(registered, r.Method+" "+r.Path)
		}
	}
	for _, row := range apiScopes() {
		tabled = append(tabled, row.method+" "+row.path)
	}
	require.ElementsMatch(t, registered, tabled, "apiScopeMatrix must list every API route, and only those")

	tokens := map[identity.Role]string{}
	for _, role := range identity.Roles {
		tokens[role] = b.pat(t, b.tenantA.ID, b.usersA[role], role.Permissions()...)
	}
	// An admin's token that carries none of the scopes the routes need (for the inventory.read routes,
	// one that carries another scope).
	noScope := b.pat(t, b.tenantA.ID, b.usersA[identity.RoleAdmin], identity.InventoryRead)
	noScopeInventory := b.pat(t, b.tenantA.ID, b.usersA[identity.RoleAdmin], identity.AuditRead)
	id := store.NewID().String()
	for _, row := range apiScopes() {
		path := strings.ReplaceAll(strings.TrimPrefix(row.path, "/api/v1"), ":id", id)
		for _, role := range identity.Roles {
			res := b.api(t, row.method, path, tokens[role], nil)
			allowed := row.scope == "public" || row.scope == "" || role.Can(identity.Permission(row.scope))
			if allowed {
				require.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, res.status,
					"%s %s as %s: %s", row.method, row.path, role, res.body)
			} else {
				require.Equal(t, http.StatusForbidden, res.status, "%s %s as %s: %s", row.method, row.path, role, res.body)
			}
		}
		if row.scope != "public" && row.scope != "" {
			lacking := noScope
			if row.scope == string(identity.InventoryRead) {
				lacking = noScopeInventory
			}
			require.Equal(t, http.StatusForbidden, b.api(t, row.method, path, lacking, nil).status, "%s %s without scope", row.method, row.path)
		}
		if row.scope != "public" {
			require.Equal(t, http.StatusUnauthorized, b.api(t, row.method, path, "", nil).status, "%s %s without token", row.method, row.path)
		}
	}
}

// TestOpenAPIDocument validates the document and compares its operations with the router, both ways.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := apiDo(t, b.server.URL, http.MethodGet, "/api/v1/openapi.json", "", nil, nil)
	require.Equal(t, http.StatusOK, res.status)

	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(res.body)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	require.Len(t, doc.Servers, 1)
	base, err := url.Parse(doc.Servers[0].URL)
	require.NoError(t, err)
	require.Equal(t, "/api/v1", base.Path)

	param := regexp.MustCompile(`\{([^}]+)\}`)
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+base.Path+param.ReplaceAllString(path, ":$1"))
		}
	}
	var routed []string
	for _, r := range b.echo.Routes() {
		if r.Method == echo.RouteNotFound || !strings.HasPrefix(r.Path, "/api/v1/") {
			continue
		}
		if r.Path == "/api/v1/openapi.json" || r.Path == "/api/v1/docs" {
			continue // the document and its rendering describe the API; they are not part of it
		}
		routed = append(routed, r.Method+" "+r.Path)
	}
	slices.Sort(documented)
	slices.Sort(routed)
	require.Equal(t, routed, documented, "every API route is documented, and every documented operation is routed")

	// Every operation but the token endpoint declares the scope it needs and the errors it can give.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			require.NotEmpty(t, op.OperationID, "%s %s", method, path)
			require.NotNil(t, op.Security, "%s %s", method, path)
			if path == "/oauth/token" {
				continue
			}
			require.NotNil(t, op.Responses.Value("401"), "%s %s", method, path)
			require.NotNil(t, op.Responses.Value("429"), "%s %s", method, path)
		}
	}
	require.NotNil(t, doc.Components.Schemas["Problem"])
}

func TestAPIDocsPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.newClient(t)
	res := c.get("/api/v1/docs")
	require.Equal(t, http.StatusOK, res.status)
	require.Contains(t, res.header.Get("Content-Security-Policy"), "script-src 'self' 'nonce-")
	require.Empty(t, elements(res.doc, "script"), "the docs page runs no script")
	for _, l := range elements(res.doc, "link") {
		require.True(t, strings.HasPrefix(attr(l, "href"), "/static/"), "nothing from elsewhere: %s", attr(l, "href"))
	}
	ops := findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "api-docs-operation" })
	require.Len(t, ops, len(apiScopes())-2)
	require.Contains(t, res.body, "GET /audit-events")
	require.Contains(t, res.body, "audit.read")
	require.Contains(t, res.body, "Problem")
}

func TestAccountTokensPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.usersA[identity.RoleEmployee]
	c := b.signedIn(t, u)

	page := c.get("/account/tokens")
	require.Equal(t, http.StatusOK, page.status)
	var offered []string
	for _, n := range findAll(page.doc, func(n *html.Node) bool { return n.Data == "input" && attr(n, "name") == "scopes" }) {
		offered = append(offered, attr(n, "value"))
	}
	var want []string
	for _, p := range identity.RoleEmployee.Permissions() {
		want = append(want, string(p))
	}
	require.Equal(t, want, offered, "only the role's own permissions")
	require.NotContains(t, offered, string(identity.AdminUsers))

	res := c.post("/account/tokens", url.Values{"name": {"report"}, "scopes": {"admin.users"}, "expires_in_days": {"30"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	testID(t, res, "error-summary")
	res = c.post("/account/tokens", url.Values{"name": {"report"}, "scopes": {"inventory.read"}, "expires_in_days": {"400"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)

	res = c.post("/account/tokens", url.Values{"name": {"report"}, "scopes": {"inventory.read"}, "expires_in_days": {"30"}})
	require.Equal(t, http.StatusCreated, res.status, "%s", textOf(res.doc))
	secret := testID(t, res, "new-token-secret")
	require.True(t, strings.HasPrefix(secret, "llp_"))
	require.Equal(t, "Never", testID(t, res, "token-last-used"))

	me := b.api(t, http.MethodGet, "/me", secret, nil)
	require.Equal(t, http.StatusOK, me.status)
	require.Equal(t, []any{"inventory.read"}, me.json["scopes"])

	page = c.get("/account/tokens")
	_, shown := byTestID(page.doc, "new-token-secret")
	require.False(t, shown, "the secret is shown once")
	require.NotContains(t, page.body, secret)
	require.NotEqual(t, "Never", testID(t, page, "token-last-used"))

	// Revoke through the page.
	forms := findAll(page.doc, func(n *html.Node) bool {
		return n.Data == "form" && strings.HasSuffix(attr(n, "action"), "/revoke")
	})
	require.Len(t, forms, 1)
	res = c.post(attr(forms[0], "action"), nil)
	require.Equal(t, http.StatusSeeOther, res.status)
	requireProblem(t, b.api(t, http.MethodGet, "/me", secret, nil), http.StatusUnauthorized, "unauthorized")

	// Another person cannot revoke it (nor see it).
	other := b.signedIn(t, b.usersA[identity.RoleAdmin])
	require.Equal(t, http.StatusNotFound, other.post(attr(forms[0], "action"), nil).status)
}

func TestAdminAPIClientsPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.signedIn(t, b.usersA[identity.RoleAdmin])
	require.Equal(t, http.StatusOK, c.get("/admin/api-clients").status)
	res := c.post("/admin/api-clients", url.Values{"name": {"ERP sync"}, "scopes": {"audit.read"}})
	require.Equal(t, http.StatusCreated, res.status, "%s", textOf(res.doc))
	secret := testID(t, res, "new-client-secret")
	var clientID string
	for _, n := range findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "client-row" }) {
		clientID = textOf(findAll(n, func(n *html.Node) bool { return n.Data == "code" })[0])
	}
	require.NotEmpty(t, clientID)

	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}}
	tokenRes, err := http.PostForm(b.server.URL+"/api/v1/oauth/token", form)
	require.NoError(t, err)
	tokenRes.Body.Close()
	require.Equal(t, http.StatusOK, tokenRes.StatusCode)

	page := c.get("/admin/api-clients")
	require.NotContains(t, page.body, secret)
	forms := findAll(page.doc, func(n *html.Node) bool {
		return n.Data == "form" && strings.HasSuffix(attr(n, "action"), "/revoke")
	})
	require.Len(t, forms, 1)
	require.Equal(t, http.StatusSeeOther, c.post(attr(forms[0], "action"), nil).status)
	tokenRes, err = http.PostForm(b.server.URL+"/api/v1/oauth/token", form)
	require.NoError(t, err)
	tokenRes.Body.Close()
	require.Equal(t, http.StatusUnauthorized, tokenRes.StatusCode)
}
