package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humaecho"
	"github.com/gomodule/redigo/redis"
	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/apiauth"
	"ledgerline/store/identity"
)

// API v1 lives under apiV1: JSON only, bearer tokens (no session cookie, no CSRF), problem details for
// every error. Operations are registered with huma, so the OpenAPI document is generated from the same Go
// types that decode requests and encode responses. Each operation names the scope it needs (apiOperation).
const (
	apiRoot    = "/api"
	apiV1      = apiRoot + "/v1"
	apiVersion = "1.0.0"
)

// apiPublicRoutes need no bearer token: the token endpoint itself and the documentation.
var apiPublicRoutes = map[string]bool{
	apiV1 + "/oauth/token":  true,
	apiV1 + "/openapi.json": true,
	apiV1 + "/docs":         true,
}

// isAPIPath reports whether a request path belongs to the API, whose errors are problem details.
func isAPIPath(path string) bool {
	return path == apiRoot || strings.HasPrefix(path, apiRoot+"/")
}

// apiCtxKey keys the API's request-scoped values; its own type, so it cannot collide with ctxKey.
type apiCtxKey int

const (
	keyPrincipal apiCtxKey = iota
	keyAPIRequest
	keyClientIP // Echo's RealIP, for operations, which see only a context
)

// apiRequest is what error mapping needs to know about the request (huma hands operations only a context).
type apiRequest struct {
	method, path string
}

func principalFrom(ctx context.Context) *apiauth.Principal {
	p, _ := ctx.Value(keyPrincipal).(*apiauth.Principal)
	return p
}

func apiRequestFrom(ctx context.Context) apiRequest {
	r, _ := ctx.Value(keyAPIRequest).(apiRequest)
	return r
}

// apiScope is the store scope of an API call: the token's tenant, and its member as actor (none for a
// client), so row-level security and the audit trail work as for pages.
func apiScope(ctx context.Context) store.Scope {
	return principalFrom(ctx).Scope(requestIDFrom(ctx), clientIPFrom(ctx))
}

// apiRoutes mounts API v1 on e: the middleware chain (authentication, rate limit, idempotency), every
// operation, the OpenAPI document and the documentation page.
func (h *Handler) apiRoutes(e *echo.Echo) {
	configureHumaErrors()
	// Anything under /api that no route matches is a 404 problem, without a session or a page.
	e.RouteNotFound(apiRoot+"/*", func(c echo.Context) error { return echo.ErrNotFound })
	e.RouteNotFound(apiRoot, func(c echo.Context) error { return echo.ErrNotFound })

	g := e.Group(apiV1, h.apiAuthenticate, h.apiRateLimit, h.apiIdempotency)
	api := humaecho.NewWithGroup(e, g, h.apiConfig())
	h.apiMeRoutes(api)
	h.apiAuditRoutes(api)
	h.apiUserRoutes(api)
	h.apiDepartmentRoutes(api)
	h.apiInventoryRoutes(api)
	h.apiBillingRoutes(api)
	h.apiApprovalsRoutes(api)
	h.apiExportsRoutes(api)
	h.apiWebhookRoutes(api)
	h.apiOAuthRoutes(api)

	g.GET("/openapi.json", h.apiOpenAPIDocument(api))
	g.GET("/docs", h.apiDocs(api))
}

// apiConfig is huma's configuration: our own document, docs and error model, none of huma's extras (its
// docs page loads scripts from a CDN, which our Content-Security-Policy forbids).
func (h *Handler) apiConfig() huma.Config {
	cfg := huma.DefaultConfig("Ledgerline API", apiVersion)
	cfg.Components.Schemas = huma.NewMapRegistry("#/components/schemas/", apiSchemaName)
	cfg.CreateHooks = nil // no $schema links in responses
	cfg.OpenAPIPath, cfg.DocsPath, cfg.SchemasPath = "", "", ""
	cfg.Info.Description = "The Ledgerline API v1. Authenticate with a personal access token (created under " +
		"Account → API tokens) or an OAuth 2.0 client-credentials access token from POST /oauth/token. " +
		"Errors are RFC 9457 problem details. Lists page by cursor: pass next_cursor back as cursor. " +
		"POST requests accept an Idempotency-Key header. Every authenticated response carries RateLimit-Limit, " +
		"RateLimit-Remaining and RateLimit-Reset."
	cfg.Servers = []*huma.Server{{URL: strings.TrimSuffix(h.baseURL.String(), "/") + apiV1, Description: "This server"}}
	scopes := map[string]string{}
	for _, p := range apiauth.Permissions() {
		scopes[string(p)] = p.Label()
	}
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		securityBearer: {
			Type: "http", Scheme: "bearer",
			Description: "A personal access token (llp_…) or an access token issued by POST /oauth/token.",
		},
		securityOAuth: {
			Type:        "oauth2",
			Description: "OAuth 2.0 client credentials: a registered client exchanges its id and secret for a 15-minute access token.",
			Flows: &huma.OAuthFlows{ClientCredentials: &huma.OAuthFlow{
				TokenURL: strings.TrimSuffix(h.baseURL.String(), "/") + apiV1 + "/oauth/token", Scopes: scopes,
			}},
		},
	}
	return cfg
}

// apiSchemaName names the document's schemas after our Go types without their "api" prefix
// (apiAuditEvent → AuditEvent, apiList[apiUser] → ListUser).
func apiSchemaName(t reflect.Type, hint string) string {
	return strings.ReplaceAll(huma.DefaultSchemaNamer(t, hint), "Api", "")
}

// The security schemes of the OpenAPI document.
const (
	securityBearer = "bearerToken"
	securityOAuth  = "clientCredentials"
)

// apiOperation registers one operation. scope is the permission the caller's token must carry ("" for
// any valid token); it is documented as the operation's security requirement and checked before the
// request is even decoded (403 problem). Errors the operation returns become problem details.
func apiOperation[I, O any](h *Handler, api huma.API, op huma.Operation, scope identity.Permission,
	fn func(ctx context.Context, in *I) (*O, error)) {
	var scopes []string
	if scope != "" {
		scopes = []string{string(scope)}
	}
	op.Security = []map[string][]string{{securityBearer: scopes}, {securityOAuth: scopes}}
	if op.Metadata == nil {
		op.Metadata = map[string]any{}
	}
	op.Metadata["scope"] = string(scope)
	errs := []int{http.StatusUnauthorized, http.StatusTooManyRequests}
	if scope != "" {
		errs = append(errs, http.StatusForbidden)
	}
	if op.Method == http.MethodPost {
		errs = append(errs, http.StatusConflict, http.StatusUnprocessableEntity)
	}
	for _, s := range errs {
		if !slices.Contains(op.Errors, s) {
			op.Errors = append(op.Errors, s)
		}
	}
	slices.Sort(op.Errors)
	op.Middlewares = append(op.Middlewares, func(ctx huma.Context, next func(huma.Context)) {
		p := principalFrom(ctx.Context())
		if scope != "" && !p.Can(scope) {
			ctx.SetHeader("WWW-Authenticate", fmt.Sprintf(`Bearer realm="ledgerline", error="insufficient_scope", scope=%q`, scope))
			_ = huma.WriteErr(api, ctx, http.StatusForbidden, "This token does not carry the scope "+string(scope)+".")
			return
		}
		next(ctx)
	})
	huma.Register(api, op, func(ctx context.Context, in *I) (*O, error) {
		out, err := fn(ctx, in)
		if err != nil {
			return nil, h.problemFromError(ctx, err)
		}
		return out, nil
	})
}

// APIPage are the paging parameters every list takes: ?limit=&cursor=, answered by apiList.
type APIPage struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50" doc:"How many items to return (1 to 200)."`
	Cursor string `query:"cursor" maxLength:"500" doc:"The next_cursor of the previous page; empty for the first page."`
}

// apiList is one page of a list: the items and the cursor of the next page (null on the last page).
type apiList[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor" doc:"Pass as cursor to get the next page; null on the last page."`
}

func newAPIList[T any](data []T, next string) apiList[T] {
	l := apiList[T]{Data: data}
	if l.Data == nil {
		l.Data = []T{}
	}
	if next != "" {
		l.NextCursor = &next
	}
	return l
}

// APIIdempotencyKey documents the Idempotency-Key header that every POST accepts (apiIdempotency
// handles it before the operation runs).
type APIIdempotencyKey struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes the request safe to retry: the first response is stored for 24 hours and replayed for the same key and the same request."`
}

// apiAuthenticate resolves the bearer token into a Principal for every API route except the public ones.
// A missing, unknown, expired or revoked token is 401 with a WWW-Authenticate challenge (RFC 6750).
func (h *Handler) apiAuthenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		ctx = context.WithValue(ctx, keyAPIRequest, apiRequest{method: c.Request().Method, path: c.Request().URL.Path})
		ctx = context.WithValue(ctx, keyClientIP, c.RealIP())
		c.SetRequest(c.Request().WithContext(ctx))
		c.Response().Header().Set("Cache-Control", "no-store")
		if apiPublicRoutes[c.Path()] {
			return next(c)
		}
		raw, ok := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
		if !ok {
			return problemUnauthorized(`Bearer realm="ledgerline"`,
				"Send an access token in the Authorization header: Authorization: Bearer <token>.")
		}
		p, err := apiauth.Authenticate(ctx, h.db, raw)
		if store.ErrorCode(err) == store.Unauthenticated {
			return problemUnauthorized(`Bearer realm="ledgerline", error="invalid_token", error_description="The access token is unknown, expired or revoked"`,
				store.ErrorMessage(err))
		}
		if err != nil {
			return err
		}
		c.SetRequest(c.Request().WithContext(context.WithValue(ctx, keyPrincipal, p)))
		return next(c)
	}
}

// bearerToken extracts the token of an "Authorization: Bearer <token>" header.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func problemUnauthorized(challenge, detail string) *Problem {
	p := newProblem(http.StatusUnauthorized, detail)
	p.header("WWW-Authenticate", challenge)
	return p
}

// Problem is an RFC 9457 problem details object, the body of every API error. Type is a stable URI per
// kind of error; Errors names each invalid field by location ("body.name", "query.limit").
type Problem struct {
	Type      string         `json:"type" format:"uri" doc:"A stable URI identifying the kind of problem." example:"https://ledgerline.dev/problems/validation"`
	Title     string         `json:"title" doc:"A short summary of the kind of problem; the same for every occurrence."`
	Status    int            `json:"status" doc:"The HTTP status code."`
	Detail    string         `json:"detail,omitempty" doc:"What went wrong this time, in words for people."`
	Instance  string         `json:"instance,omitempty" doc:"The request path."`
	RequestID string         `json:"request_id,omitempty" doc:"The request id (X-Request-ID), to quote when asking for help."`
	Errors    []ProblemField `json:"errors,omitempty" doc:"The invalid fields, for validation problems."`
	// OAuthError is the OAuth 2.0 error code (RFC 6749 section 5.2) on the token endpoint's errors.
	OAuthError string `json:"error,omitempty" doc:"OAuth 2.0 error code; only on POST /oauth/token." example:"invalid_client"`

	headers http.Header
}

// ProblemField is one invalid field of a request.
type ProblemField struct {
	Location string `json:"location" doc:"Where the field is: body.<field>, query.<param>, path.<param> or header.<name>." example:"body.name"`
	Message  string `json:"message" doc:"What is wrong with it."`
	Value    any    `json:"value,omitempty" doc:"The value that was sent, when it helps."`
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Type, p.Detail) }

// GetStatus makes a Problem a huma.StatusError.
func (p *Problem) GetStatus() int { return p.Status }

// GetHeaders makes a Problem a huma.HeadersError (WWW-Authenticate, Retry-After).
func (p *Problem) GetHeaders() http.Header {
	if p.headers == nil {
		p.headers = http.Header{}
	}
	return p.headers
}

// ContentType makes huma send problems as application/problem+json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

func (p *Problem) header(name, value string) *Problem {
	p.GetHeaders().Set(name, value)
	return p
}

// ProblemBase is the base URI of the problem types; the types are documented in the README.
const ProblemBase = "https://ledgerline.dev/problems/"

// The problem types beyond the one-per-status ones of problemKinds.
const (
	problemIdempotencyMismatch   = "idempotency-mismatch"
	problemIdempotencyInProgress = "idempotency-in-progress"
)

type problemKind struct{ slug, title string }

// problemKinds maps a status to its problem type and title, in one place.
var problemKinds = map[int]problemKind{
	http.StatusBadRequest:            {"bad-request", "The request could not be understood"},
	http.StatusUnauthorized:          {"unauthorized", "Authentication required"},
	http.StatusForbidden:             {"forbidden", "Not allowed"},
	http.StatusNotFound:              {"not-found", "Not found"},
	http.StatusMethodNotAllowed:      {"method-not-allowed", "Method not allowed"},
	http.StatusNotAcceptable:         {"not-acceptable", "Not acceptable"},
	http.StatusConflict:              {"conflict", "Conflict"},
	http.StatusRequestEntityTooLarge: {"payload-too-large", "Request body too large"},
	http.StatusUnsupportedMediaType:  {"unsupported-media-type", "Unsupported media type"},
	http.StatusUnprocessableEntity:   {"validation", "Invalid request"},
	http.StatusTooManyRequests:       {"rate-limited", "Too many requests"},
	http.StatusInternalServerError:   {"internal", "Internal error"},
	http.StatusServiceUnavailable:    {"unavailable", "Service unavailable"},
}

var problemSpecialTitles = map[string]string{
	problemIdempotencyMismatch:   "Idempotency key reused for a different request",
	problemIdempotencyInProgress: "A request with this idempotency key is in progress",
}

// newProblem makes the problem for status; detail is shown to the caller.
func newProblem(status int, detail string) *Problem {
	k, ok := problemKinds[status]
	if !ok {
		if status >= 500 {
			k = problemKinds[http.StatusInternalServerError]
		} else {
			k = problemKind{"about:blank", http.StatusText(status)}
		}
	}
	typ := ProblemBase + k.slug
	if k.slug == "about:blank" {
		typ = k.slug
	}
	return &Problem{Type: typ, Title: k.title, Status: status, Detail: detail}
}

// newProblemOfType makes a problem of one of the special types (idempotency).
func newProblemOfType(status int, slug, detail string) *Problem {
	return &Problem{Type: ProblemBase + slug, Title: problemSpecialTitles[slug], Status: status, Detail: detail}
}

// problemFromError maps any error to a problem: store error codes through statusOf (the one mapping of
// codes to statuses), field errors to body or query locations. Internal errors are logged with the request
// id and never shown.
func (h *Handler) problemFromError(ctx context.Context, err error) *Problem {
	req := apiRequestFrom(ctx)
	var p *Problem
	if !errors.As(err, &p) {
		status := statusOf(err)
		var he *echo.HTTPError
		switch {
		case status >= 500:
			detail := "Something went wrong on our side. The error was logged; quote the request id when asking for help."
			if status == http.StatusServiceUnavailable {
				detail = "Ledgerline is briefly unavailable. Try again in a few seconds."
			}
			p = newProblem(status, detail)
		case errors.As(err, &he):
			p = newProblem(status, publicAPIMessage(he))
		default:
			p = newProblem(status, store.ErrorMessage(err))
		}
		var se *store.Error
		if errors.As(err, &se) && len(se.Fields) > 0 {
			where := "body."
			if req.method == http.MethodGet || req.method == http.MethodDelete {
				where = "query."
			}
			names := make([]string, 0, len(se.Fields))
			for f := range se.Fields {
				names = append(names, f)
			}
			slices.Sort(names)
			for _, f := range names {
				p.Errors = append(p.Errors, ProblemField{Location: where + f, Message: se.Fields[f]})
			}
		}
		if status == http.StatusServiceUnavailable {
			p.header("Retry-After", "5")
		}
	}
	if p.Status >= 500 && !errors.Is(err, errSessionsUnavailable) {
		h.logger.LogAttrs(ctx, slog.LevelError, "API request failed",
			slog.String("request_id", requestIDFrom(ctx)), slog.String("path", req.path), slog.String("error", err.Error()))
	}
	if p.Instance == "" {
		p.Instance = req.path
	}
	if p.RequestID == "" {
		p.RequestID = requestIDFrom(ctx)
	}
	return p
}

// publicAPIMessage words Echo's own errors (unknown route, wrong method, body too large) for API callers.
func publicAPIMessage(he *echo.HTTPError) string {
	switch he.Code {
	case http.StatusNotFound:
		return "There is no such resource, or it belongs to another organization."
	case http.StatusMethodNotAllowed:
		return "This resource does not support that method."
	case http.StatusRequestEntityTooLarge:
		return "The request body is too large."
	}
	if msg, ok := he.Message.(string); ok && he.Code < 500 {
		return msg
	}
	return http.StatusText(he.Code)
}

// apiError is the API's branch of Echo's error handler (handleError): every error under /api/ that
// reaches Echo (authentication, rate limit, idempotency, unknown routes) is written as a problem.
func (h *Handler) apiError(err error, c echo.Context) {
	p := h.problemFromError(c.Request().Context(), err)
	p.Instance = c.Request().URL.Path
	hdr := c.Response().Header()
	for k, vs := range p.headers {
		for _, v := range vs {
			hdr.Add(k, v)
		}
	}
	hdr.Set("Cache-Control", "no-store")
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	hdr.Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(p.Status)
	_ = jsonEncode(c.Response(), p)
}

// humaErrorsOnce installs our problem type as huma's error model. huma keeps it in package variables, so
// it is set once per process; the functions depend on nothing but their arguments.
var humaErrorsOnce sync.Once

func configureHumaErrors() {
	humaErrorsOnce.Do(func() {
		huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
			return problemFromHuma(status, msg, errs)
		}
		huma.NewErrorWithContext = func(hctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
			p := problemFromHuma(status, msg, errs)
			if hctx != nil {
				p.Instance = hctx.URL().Path
				p.RequestID = requestIDFrom(hctx.Context())
			}
			return p
		}
	})
}

// requiredProperty matches huma's message for a missing property (validation.MsgExpectedRequiredProperty).
var requiredProperty = regexp.MustCompile(`^expected required property (\S+) to be present$`)

// problemFromHuma turns huma's own errors (request validation, unreadable bodies) into problems.
func problemFromHuma(status int, msg string, errs []error) *Problem {
	if status == 0 { // huma asks for an example error to document the schema
		return &Problem{}
	}
	detail := msg
	switch {
	case status >= 500:
		detail = "Something went wrong on our side. The error was logged; quote the request id when asking for help."
	case status == http.StatusUnprocessableEntity || status == http.StatusBadRequest:
		if detail == "" || detail == "validation failed" {
			detail = "Some fields of the request are invalid; see errors."
		}
	}
	p := newProblem(status, detail)
	if status >= 500 {
		return p
	}
	for _, e := range errs {
		if e == nil {
			continue
		}
		var d huma.ErrorDetailer
		if errors.As(e, &d) {
			ed := d.ErrorDetail()
			loc := ed.Location
			// huma reports a missing property at its object ("body"); name the property itself.
			if m := requiredProperty.FindStringSubmatch(ed.Message); m != nil {
				loc += "." + m[1]
			}
			p.Errors = append(p.Errors, ProblemField{Location: loc, Message: ed.Message, Value: ed.Value})
			continue
		}
		p.Errors = append(p.Errors, ProblemField{Message: e.Error()})
	}
	return p
}

func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// errAPIUnavailable answers when Redis (rate limits, idempotency) cannot be reached: the API fails closed.
var errAPIUnavailable = echo.NewHTTPError(http.StatusServiceUnavailable, "The API is briefly unavailable. Try again in a few seconds.")

// Rate limits: fixed windows of apiRateWindow in Redis, shared by every instance. A credential (personal
// token, or OAuth client) may make tenants.api_rate_limit requests per window, the whole tenant ten times
// that. Both counters are checked and counted in one Lua script, so concurrent requests on any number of
// instances never exceed either limit; a refused request counts against neither.
const apiRateWindow = time.Minute

// apiRateScript: KEYS = credential counter, tenant counter; ARGV = their limits and the window in ms.
// Returns allowed (0/1), then count and milliseconds to reset for each counter. Both keys carry the tenant
// as hash tag, so they live in one Redis Cluster slot.
var apiRateScript = redis.NewScript(2, `
local window = tonumber(ARGV[3])
local counts, ttls, allowed = {}, {}, 1
for i = 1, 2 do
  counts[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  ttls[i] = redis.call('PTTL', KEYS[i])
  if ttls[i] < 0 then ttls[i] = window end
  if counts[i] >= tonumber(ARGV[i]) then allowed = 0 end
end
if allowed == 1 then
  for i = 1, 2 do
    counts[i] = redis.call('INCR', KEYS[i])
    if counts[i] == 1 or redis.call('PTTL', KEYS[i]) < 0 then
      redis.call('PEXPIRE', KEYS[i], window)
      ttls[i] = window
    end
  end
end
return {allowed, counts[1], ttls[1], counts[2], ttls[2]}
`)

// rateDecision is the outcome of one rate-limit check, as the RateLimit-* headers report it: the limit
// closest to running out.
type rateDecision struct {
	allowed          bool
	limit, remaining int
	reset            int // seconds until the window resets
}

func (h *Handler) rateTake(ctx context.Context, p *apiauth.Principal) (rateDecision, error) {
	conn, err := h.redis.GetContext(ctx)
	if err != nil {
		return rateDecision{}, err
	}
	defer conn.Close()
	tag := "{" + p.TenantID.String() + "}"
	limits := [2]int{p.RateLimit, 10 * p.RateLimit}
	vals, err := redis.Ints(apiRateScript.Do(conn,
		h.prefix+"api:rate:"+tag+":credential:"+p.CredentialID.String(), h.prefix+"api:rate:"+tag+":tenant",
		limits[0], limits[1], apiRateWindow.Milliseconds()))
	if err != nil {
		return rateDecision{}, err
	}
	if len(vals) != 5 {
		return rateDecision{}, fmt.Errorf("rate limit script returned %d values", len(vals))
	}
	d := rateDecision{allowed: vals[0] == 1, remaining: -1}
	for i := range 2 {
		count, ttl := vals[1+2*i], vals[2+2*i]
		remaining := max(limits[i]-count, 0)
		reset := (ttl + 999) / 1000
		exhausted := count >= limits[i]
		if d.remaining == -1 || remaining < d.remaining || (remaining == d.remaining && reset > d.reset) ||
			(!d.allowed && exhausted && reset > d.reset) {
			d.limit, d.remaining, d.reset = limits[i], remaining, reset
		}
	}
	return d, nil
}

// apiRateLimit counts the request against its credential and tenant, reports the budget on every response
// and refuses with 429 and Retry-After when it is spent.
func (h *Handler) apiRateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := principalFrom(c.Request().Context())
		if p == nil {
			return next(c)
		}
		d, err := h.rateTake(c.Request().Context(), p)
		if err != nil {
			h.logger.Warn("API rate limit unavailable", "request_id", requestIDFrom(c.Request().Context()), "error", err)
			return errAPIUnavailable
		}
		hdr := c.Response().Header()
		hdr.Set("RateLimit-Limit", strconv.Itoa(d.limit))
		hdr.Set("RateLimit-Remaining", strconv.Itoa(d.remaining))
		hdr.Set("RateLimit-Reset", strconv.Itoa(d.reset))
		if !d.allowed {
			return newProblem(http.StatusTooManyRequests,
				fmt.Sprintf("The rate limit of %d requests per minute is used up. Try again in %d seconds.", d.limit, d.reset)).
				header("Retry-After", strconv.Itoa(max(d.reset, 1)))
		}
		return next(c)
	}
}

// Idempotency: a POST with an Idempotency-Key header runs once per credential and key. The first request
// claims the key in Redis (SET NX) with an in-progress marker and the request's fingerprint; its response
// (status and body) is stored for idempotencyTTL and replayed, with Idempotent-Replayed: true, to every
// later request with the same key and the same fingerprint. The same key with another request is 422; a
// duplicate arriving while the first is running waits for its response, up to idempotencyWait, then gets
// 409. Server errors (5xx) are not stored: the key is released so the client can retry.
const (
	idempotencyTTL      = 24 * time.Hour
	idempotencyClaimTTL = 2 * time.Minute
	idempotencyWait     = 5 * time.Second
	idempotencyPoll     = 20 * time.Millisecond
	idempotencyKeyMax   = 255
	apiBodyMax          = 1 << 20
)

// idempotencyRecord is what Redis holds under a key: first the claim, then the response.
type idempotencyRecord struct {
	Done        bool   `json:"done"`
	Owner       string `json:"owner,omitempty"`
	Fingerprint string `json:"fingerprint"`
	Status      int    `json:"status,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Location    string `json:"location,omitempty"`
	Body        []byte `json:"body,omitempty"`
}

// idempotencyFinish replaces the claim (ARGV[1], compared exactly) with the response (ARGV[2]) for
// ARGV[3] ms, or deletes it when ARGV[2] is empty. A claim that expired and was taken by another request
// is left alone.
var idempotencyFinish = redis.NewScript(1, `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
`)

func (h *Handler) apiIdempotency(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		key := req.Header.Get("Idempotency-Key")
		p := principalFrom(req.Context())
		if req.Method != http.MethodPost || key == "" || p == nil {
			return next(c)
		}
		if len(key) > idempotencyKeyMax || strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
			pr := newProblem(http.StatusUnprocessableEntity, "The Idempotency-Key header must be 1 to 255 printable ASCII characters.")
			pr.Errors = []ProblemField{{Location: "header.Idempotency-Key", Message: "Use 1 to 255 printable ASCII characters, e.g. a UUID."}}
			return pr
		}
		body, err := io.ReadAll(io.LimitReader(req.Body, apiBodyMax+1))
		if err != nil {
			return newProblem(http.StatusBadRequest, "The request body could not be read.")
		}
		if len(body) > apiBodyMax {
			return echo.ErrStatusRequestEntityTooLarge
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.New()
		for _, part := range []string{req.Method, req.URL.Path, req.URL.RawQuery, p.CredentialID.String(), string(body)} {
			sum.Write([]byte(part))
			sum.Write([]byte{0})
		}
		fingerprint := hex.EncodeToString(sum.Sum(nil))
		keySum := sha256.Sum256([]byte(key))
		rkey := h.prefix + "api:idempotency:{" + p.TenantID.String() + "}:" + p.CredentialID.String() + ":" + hex.EncodeToString(keySum[:])

		claim, err := json.Marshal(idempotencyRecord{Owner: randomToken(12), Fingerprint: fingerprint})
		if err != nil {
			return err
		}
		ctx := req.Context()
		deadline := time.Now().Add(idempotencyWait)
		for {
			claimed, existing, err := h.idempotencyClaim(ctx, rkey, claim)
			if err != nil {
				h.logger.Warn("API idempotency unavailable", "request_id", requestIDFrom(ctx), "error", err)
				return errAPIUnavailable
			}
			if claimed {
				return h.idempotencyRun(c, next, rkey, claim, fingerprint)
			}
			if existing == nil { // released or expired between SET and GET: try to claim again
				continue
			}
			if existing.Fingerprint != fingerprint {
				return newProblemOfType(http.StatusUnprocessableEntity, problemIdempotencyMismatch,
					"This Idempotency-Key was already used for a different request. Use a new key for a new request.")
			}
			if existing.Done {
				return idempotencyReplay(c, existing)
			}
			if time.Now().After(deadline) {
				return newProblemOfType(http.StatusConflict, problemIdempotencyInProgress,
					"A request with this Idempotency-Key is still being processed. Retry in a moment to get its response.").
					header("Retry-After", "1")
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(idempotencyPoll):
			}
		}
	}
}

// idempotencyClaim tries to claim rkey; when it is taken, it returns what is stored there (nil if the key
// vanished in between).
func (h *Handler) idempotencyClaim(ctx context.Context, rkey string, claim []byte) (bool, *idempotencyRecord, error) {
	conn, err := h.redis.GetContext(ctx)
	if err != nil {
		return false, nil, err
	}
	defer conn.Close()
	_, err = redis.String(conn.Do("SET", rkey, claim, "NX", "PX", idempotencyClaimTTL.Milliseconds()))
	if err == nil {
		return true, nil, nil
	}
	if err != redis.ErrNil {
		return false, nil, err
	}
	raw, err := redis.Bytes(conn.Do("GET", rkey))
	if err == redis.ErrNil {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	var rec idempotencyRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return false, nil, fmt.Errorf("error decoding idempotency record: %w", err)
	}
	return false, &rec, nil
}

// idempotencyRun runs the request that holds the claim, captures its response and stores it (or releases
// the key after a server error).
func (h *Handler) idempotencyRun(c echo.Context, next echo.HandlerFunc, rkey string, claim []byte, fingerprint string) error {
	res := c.Response()
	capture := &captureWriter{ResponseWriter: res.Writer}
	res.Writer = capture
	err := next(c)
	if err != nil {
		// Written here, through the capture, so the stored reply is exactly what the client got.
		c.Error(err)
	}
	res.Writer = capture.ResponseWriter

	stored := ""
	if res.Status < 500 {
		b, err := json.Marshal(idempotencyRecord{
			Done: true, Fingerprint: fingerprint, Status: res.Status,
			ContentType: res.Header().Get(echo.HeaderContentType), Location: res.Header().Get(echo.HeaderLocation),
			Body: capture.body.Bytes(),
		})
		if err != nil {
			return nil
		}
		stored = string(b)
	}
	conn, cerr := h.redis.GetContext(context.WithoutCancel(c.Request().Context()))
	if cerr != nil {
		h.logger.Warn("API idempotency: response not stored", "request_id", requestIDFrom(c.Request().Context()), "error", cerr)
		return nil
	}
	defer conn.Close()
	if _, err := idempotencyFinish.Do(conn, rkey, claim, stored, idempotencyTTL.Milliseconds()); err != nil {
		h.logger.Warn("API idempotency: response not stored", "request_id", requestIDFrom(c.Request().Context()), "error", err)
	}
	return nil
}

// idempotencyReplay sends a stored response again.
func idempotencyReplay(c echo.Context, rec *idempotencyRecord) error {
	hdr := c.Response().Header()
	hdr.Set("Idempotent-Replayed", "true")
	if rec.Location != "" {
		hdr.Set(echo.HeaderLocation, rec.Location)
	}
	ct := rec.ContentType
	if ct == "" {
		ct = echo.MIMEApplicationJSON
	}
	return c.Blob(rec.Status, ct, rec.Body)
}

// captureWriter keeps a copy of what is written through it.
type captureWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (w *captureWriter) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *captureWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
