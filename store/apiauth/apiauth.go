// Package apiauth owns the API's credentials: members' personal access tokens, tenants' OAuth 2.0 clients
// (client credentials grant) and the rotating keys that sign the clients' short-lived access tokens. It
// turns a bearer token into a Principal: the tenant, the user (none for a client) and the scopes a call
// may use, which are never more than the member's current role grants.
//
// Secrets are stored only as SHA-256 hashes (tokens and client secrets are 256-bit random values, so a
// fast hash is enough); signing keys are sealed with the data key. Nothing here imports HTTP code.
package apiauth

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// Kind tells the two kinds of credential apart.
type Kind string

// The credential kinds.
const (
	KindPersonal Kind = "personal" // a member's personal access token
	KindClient   Kind = "client"   // an OAuth client's access token (client credentials grant)
)

// Principal is who calls the API, resolved once per request from the bearer token.
type Principal struct {
	Kind       Kind
	TenantID   store.ID
	TenantName string
	// UserID is the member a personal token belongs to; zero for a client.
	UserID store.ID
	Name   string // the member's or the client's name
	Email  string // the member's e-mail address; empty for a client
	// Role is the member's current role; empty for a client.
	Role identity.Role
	// ClientID is the OAuth client; zero for a personal token.
	ClientID store.ID
	// CredentialID names the credential for rate limits and idempotency keys: the personal token's id,
	// or the client's id (all access tokens of one client share its budget).
	CredentialID store.ID
	// Scopes are what the call may do: the token's scopes intersected with the member's current role.
	Scopes    []identity.Permission
	ExpiresAt time.Time
	// RateLimit is the tenant's API requests per minute per credential (tenants.api_rate_limit).
	RateLimit int
}

// Can reports whether the principal's scopes include p.
func (p *Principal) Can(perm identity.Permission) bool {
	return p != nil && slices.Contains(p.Scopes, perm)
}

// Scope returns the transaction scope for calls made by p: its tenant, and the member as actor (no actor
// for a client), so row-level security and the audit trail apply exactly as for pages.
func (p *Principal) Scope(requestID, clientIP string) store.Scope {
	s := store.Scope{TenantID: p.TenantID, ActorID: p.UserID, RequestID: requestID, ClientIP: clientIP}
	if p.Kind == KindClient {
		s.ClientID = p.ClientID
		for _, perm := range p.Scopes {
			s.ClientScopes = append(s.ClientScopes, string(perm))
		}
	}
	return s
}

// errInvalidToken is the one answer for every unusable token (unknown, expired, revoked, member gone), so
// a caller learns nothing about which.
var errInvalidToken = store.Errorf(store.Unauthenticated, "The access token is unknown, expired or revoked.")

// Authenticate resolves a bearer token of either kind: a personal access token (TokenPrefix) or a client's
// signed access token.
func Authenticate(ctx context.Context, db *store.DB, bearer string) (*Principal, error) {
	if strings.HasPrefix(bearer, TokenPrefix) {
		return TokenAuthenticate(ctx, db, bearer)
	}
	return AccessTokenAuthenticate(ctx, db, bearer)
}

// Permissions lists every permission a token or client may carry, in the permission table's order.
func Permissions() []identity.Permission {
	// The administrator role holds every permission (roles_test checks the table).
	return identity.RoleAdmin.Permissions()
}

// PermissionValid reports whether p names a permission.
func PermissionValid(p identity.Permission) bool {
	return slices.Contains(Permissions(), p)
}

// scopesValidate checks requested scopes against what the grantor holds, returning them de-duplicated in
// table order.
func scopesValidate(requested, allowed []identity.Permission, f *store.FieldErrors) []identity.Permission {
	if len(requested) == 0 {
		f.Add("scopes", "Choose at least one scope.")
		return nil
	}
	var out []identity.Permission
	for _, p := range Permissions() {
		if slices.Contains(requested, p) {
			out = append(out, p)
		}
	}
	for _, p := range requested {
		if !PermissionValid(p) {
			f.Add("scopes", "Choose scopes from the list.")
			return nil
		}
		if !slices.Contains(allowed, p) {
			f.Add("scopes", "You can only grant scopes your own role has ("+string(p)+" is not one of them).")
			return nil
		}
	}
	return out
}

// intersect returns the scopes in both lists, in the order of a.
func intersect(a, b []identity.Permission) []identity.Permission {
	out := []identity.Permission{}
	for _, p := range a {
		if slices.Contains(b, p) {
			out = append(out, p)
		}
	}
	return out
}

// scopeList is a text[] column read through array_to_string(..., ' '): permission names hold no spaces.
type scopeList string

func (s scopeList) permissions() []identity.Permission {
	var out []identity.Permission
	for _, f := range strings.Fields(string(s)) {
		out = append(out, identity.Permission(f))
	}
	return out
}

func scopeStrings(ps []identity.Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

// actorRole reads the actor's current role in the transaction's tenant; NotFound when the actor is not an
// active member. The role is read in the transaction so that a change made a moment ago counts.
func actorRole(ctx context.Context, tx *store.Tx) (identity.Role, error) {
	var role identity.Role
	if tx.Scope.ActorID == (store.ID{}) {
		return "", store.Errorf(store.Forbidden, "Only a signed-in member can do this.")
	}
	err := store.Get(ctx, tx, &role, "You are not an active member of this organization.", `
		SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.tenant_id = $1 AND m.user_id = $2 AND m.deactivated_at IS NULL AND u.disabled_at IS NULL`,
		tx.Scope.TenantID, tx.Scope.ActorID)
	switch store.ErrorCode(err) {
	case "":
		return role, nil
	case store.NotFound:
		return "", store.Errorf(store.Forbidden, "You are not an active member of this organization.")
	}
	return "", fmt.Errorf("error loading role of user %s: %w", tx.Scope.ActorID, err)
}
