package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"ledgerline/store"
	"ledgerline/store/apiauth"
)

// The token endpoint (RFC 6749 section 4.4, client credentials grant). Clients authenticate with HTTP Basic
// (client id and secret, form-encoded first, as section 2.3.1 says) or with client_id and client_secret in
// the form. Errors are problem details that also carry the OAuth error code in "error".

type apiTokenInput struct {
	Authorization string `header:"Authorization" hidden:"true"`
	RawBody       []byte `contentType:"application/x-www-form-urlencoded"`
}

type apiAccessToken struct {
	AccessToken string `json:"access_token" doc:"Send it as Authorization: Bearer <access_token>."`
	TokenType   string `json:"token_type" enum:"Bearer"`
	ExpiresIn   int    `json:"expires_in" doc:"Seconds until the token expires."`
	Scope       string `json:"scope" doc:"The granted scopes, space-separated."`
}

type apiTokenOutput struct {
	CacheControl string `header:"Cache-Control"`
	Pragma       string `header:"Pragma"`
	Body         apiAccessToken
}

func (h *Handler) apiOAuthRoutes(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID: "createAccessToken", Method: http.MethodPost, Path: "/oauth/token", Tags: []string{"OAuth"},
		Summary: "Get an access token (client credentials)",
		Description: "Exchanges a registered client's id and secret for an access token valid for 15 minutes. " +
			"Authenticate with HTTP Basic or with client_id and client_secret in the form. " +
			"No bearer token, rate limit or idempotency key applies here.",
		Security: []map[string][]string{{}},
		Errors:   []int{http.StatusBadRequest, http.StatusUnauthorized},
	}, h.apiToken)
	// huma documents a raw body as binary; say what the form holds.
	op := api.OpenAPI().Paths["/oauth/token"].Post
	op.RequestBody.Required = true
	op.RequestBody.Content = map[string]*huma.MediaType{"application/x-www-form-urlencoded": {Schema: &huma.Schema{
		Type: huma.TypeObject, Required: []string{"grant_type"},
		Properties: map[string]*huma.Schema{
			"grant_type":    {Type: huma.TypeString, Enum: []any{"client_credentials"}},
			"client_id":     {Type: huma.TypeString, Format: "uuid", Description: "Unless sent with HTTP Basic."},
			"client_secret": {Type: huma.TypeString, Description: "Unless sent with HTTP Basic."},
			"scope":         {Type: huma.TypeString, Description: "Optional: some of the client's scopes, space-separated. Default: all of them."},
		},
	}}}
}

func oauthProblem(status int, code, detail string) *Problem {
	p := newProblem(status, detail)
	p.OAuthError = code
	return p
}

func (h *Handler) apiToken(ctx context.Context, in *apiTokenInput) (*apiTokenOutput, error) {
	form, err := url.ParseQuery(string(in.RawBody))
	if err != nil {
		return nil, h.oauthFailure(ctx, oauthProblem(http.StatusBadRequest, "invalid_request", "Send the parameters form-encoded (application/x-www-form-urlencoded)."))
	}
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		return nil, h.oauthFailure(ctx, oauthProblem(http.StatusBadRequest, "unsupported_grant_type", "Only grant_type=client_credentials is supported."))
	}
	id, secret := form.Get("client_id"), form.Get("client_secret")
	basic := false
	if u, p, ok := basicAuth(in.Authorization); ok {
		if id != "" || secret != "" {
			return nil, h.oauthFailure(ctx, oauthProblem(http.StatusBadRequest, "invalid_request", "Authenticate the client one way only: HTTP Basic or form fields."))
		}
		id, secret, basic = u, p, true
	}
	if id == "" || secret == "" {
		pr := oauthProblem(http.StatusUnauthorized, "invalid_client", "Authenticate the client with HTTP Basic or client_id and client_secret.")
		return nil, h.oauthFailure(ctx, pr.header("WWW-Authenticate", `Basic realm="ledgerline"`))
	}
	at, err := apiauth.AccessTokenIssue(ctx, h.db, apiauth.AccessTokenIssueParams{
		ClientID: id, ClientSecret: secret, Scope: form.Get("scope"),
		RequestID: requestIDFrom(ctx), ClientIP: clientIPFrom(ctx),
	})
	switch {
	case err == apiauth.ErrInvalidClient:
		pr := oauthProblem(http.StatusUnauthorized, "invalid_client", store.ErrorMessage(err))
		if basic {
			pr.header("WWW-Authenticate", `Basic realm="ledgerline"`)
		}
		return nil, h.oauthFailure(ctx, pr)
	case err == apiauth.ErrInvalidScope:
		return nil, h.oauthFailure(ctx, oauthProblem(http.StatusBadRequest, "invalid_scope", store.ErrorMessage(err)))
	case err != nil:
		return nil, h.problemFromError(ctx, err)
	}
	scopes := make([]string, len(at.Scopes))
	for i, s := range at.Scopes {
		scopes[i] = string(s)
	}
	return &apiTokenOutput{CacheControl: "no-store", Pragma: "no-cache", Body: apiAccessToken{
		AccessToken: at.Token, TokenType: "Bearer", ExpiresIn: int(apiauth.AccessTokenLifetime.Seconds()),
		Scope: strings.Join(scopes, " "),
	}}, nil
}

// oauthFailure fills in the request fields of a token endpoint problem.
func (h *Handler) oauthFailure(ctx context.Context, p *Problem) *Problem {
	return h.problemFromError(ctx, p)
}

// basicAuth decodes HTTP Basic credentials; RFC 6749 form-encodes id and secret before Base64.
func basicAuth(header string) (id, secret string, ok bool) {
	r := http.Request{Header: http.Header{"Authorization": {header}}}
	u, p, ok := r.BasicAuth()
	if !ok {
		return "", "", false
	}
	if du, err := url.QueryUnescape(u); err == nil {
		u = du
	}
	if dp, err := url.QueryUnescape(p); err == nil {
		p = dp
	}
	return u, p, true
}

func clientIPFrom(ctx context.Context) string {
	s, _ := ctx.Value(keyClientIP).(string)
	return s
}
