package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"ledgerline/store/apiauth"
)

// apiMe describes the caller: the organization the token belongs to, the member or client behind
// it, and what it may do.
type apiMe struct {
	Kind      apiauth.Kind `json:"kind" enum:"personal,client" doc:"personal: a member's personal access token; client: an OAuth client's access token."`
	Tenant    apiTenant    `json:"tenant"`
	User      *apiMeUser   `json:"user" doc:"The member a personal token belongs to; null for a client."`
	Client    *apiMeClient `json:"client" doc:"The OAuth client; null for a personal token."`
	Scopes    []string     `json:"scopes" doc:"What this token may do: its scopes, cut to the member's current role."`
	ExpiresAt time.Time    `json:"expires_at" doc:"When the token stops working."`
}

type apiTenant struct {
	ID   string `json:"id" format:"uuid"`
	Name string `json:"name"`
}

type apiMeUser struct {
	ID    string `json:"id" format:"uuid"`
	Name  string `json:"name"`
	Email string `json:"email" format:"email"`
	Role  string `json:"role" enum:"admin,manager,finance,employee,auditor"`
}

type apiMeClient struct {
	ID   string `json:"id" format:"uuid"`
	Name string `json:"name"`
}

type apiMeOutput struct {
	Body apiMe
}

func (h *Handler) apiMeRoutes(api huma.API) {
	apiOperation(h, api, huma.Operation{
		OperationID: "getMe", Method: http.MethodGet, Path: "/me", Tags: []string{"Identity"},
		Summary:     "Who am I",
		Description: "The organization, member or client, and scopes of the token that makes the call.",
	}, "", h.apiMe)
}

func (h *Handler) apiMe(ctx context.Context, _ *struct{}) (*apiMeOutput, error) {
	p := principalFrom(ctx)
	out := &apiMeOutput{Body: apiMe{
		Kind:      p.Kind,
		Tenant:    apiTenant{ID: p.TenantID.String(), Name: p.TenantName},
		Scopes:    make([]string, 0, len(p.Scopes)),
		ExpiresAt: p.ExpiresAt.UTC(),
	}}
	for _, s := range p.Scopes {
		out.Body.Scopes = append(out.Body.Scopes, string(s))
	}
	if p.Kind == apiauth.KindPersonal {
		out.Body.User = &apiMeUser{ID: p.UserID.String(), Name: p.Name, Email: p.Email, Role: string(p.Role)}
	} else {
		out.Body.Client = &apiMeClient{ID: p.ClientID.String(), Name: p.Name}
	}
	return out, nil
}
