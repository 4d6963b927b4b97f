// Package ssotest runs a real OpenID Provider for tests: zitadel's OpenID Provider package (pkg/op) with
// its in-memory example storage, on a local port. A test chooses who signs in next and can make the
// provider misbehave the ways a broken or hostile provider would (another audience, an expired ID token,
// a different nonce), so the relying party's checks are tested against real tokens.
package ssotest

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// User is a person at the provider.
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// Provider is a running OpenID Provider with one registered web client.
type Provider struct {
	Issuer       string
	ClientID     string
	ClientSecret string

	server *httptest.Server
	store  *storage.Storage
	mu     sync.Mutex
	users  map[string]*storage.User
	next   string // subject of who signs in at the next authorization request
	// Misbehaviour for the next token responses.
	audience []string
	lifetime time.Duration
	nonce    *string
}

// Start runs a provider that accepts redirectURI for its client and stops it when t ends.
func Start(t testing.TB, redirectURI string) *Provider {
	t.Helper()
	p := &Provider{ClientID: "ledgerline-test", ClientSecret: "client-secret-for-tests", users: map[string]*storage.User{}}
	p.server = httptest.NewUnstartedServer(nil)
	p.Issuer = "http://" + p.server.Listener.Addr().String()
	client := storage.WebClient(p.ClientID, p.ClientSecret, redirectURI)
	p.store = storage.NewStorageWithClients(userStore{p}, map[string]*storage.Client{p.ClientID: client})
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:          sha256.Sum256([]byte("ssotest")),
		CodeMethodS256:     true,
		AuthMethodPost:     true,
		SupportedUILocales: []language.Tag{language.English},
	}, testStorage{Storage: p.store, p: p}, op.StaticIssuer(p.Issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatalf("start OpenID provider: %v", err)
	}
	interceptor := op.NewIssuerInterceptor(provider.IssuerFromRequest)
	callback := op.AuthCallbackURL(provider)
	mux := http.NewServeMux()
	// The client's login URL: this provider signs in whoever the test chose, without a form.
	mux.Handle("/login/username", interceptor.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("authRequestID")
		p.mu.Lock()
		u := p.users[p.next]
		p.mu.Unlock()
		if u == nil {
			http.Error(w, "no user chosen", http.StatusBadRequest)
			return
		}
		if err := p.store.CheckUsernamePassword(u.Username, u.Password, id); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, callback(r.Context(), id), http.StatusFound)
	}))
	mux.Handle("/", provider)
	p.server.Config.Handler = mux
	p.server.Start()
	t.Cleanup(p.server.Close)
	return p
}

// Close stops the provider (a provider that is down).
func (p *Provider) Close() { p.server.Close() }

// SignInAs adds u if new and makes them the person who signs in next.
func (p *Provider) SignInAs(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users[u.Subject] = &storage.User{ID: u.Subject, Username: u.Subject, Password: "pw", FirstName: u.Name,
		Email: u.Email, EmailVerified: u.EmailVerified, PreferredLanguage: language.English}
	p.next = u.Subject
}

// Misbehave makes the next ID tokens carry another audience, a lifetime (negative: already expired) or
// another nonce; zero values restore normal behaviour.
func (p *Provider) Misbehave(audience []string, lifetime time.Duration, nonce *string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.audience, p.lifetime, p.nonce = audience, lifetime, nonce
}

type userStore struct{ p *Provider }

func (s userStore) GetUserByID(id string) *storage.User {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	return s.p.users[id]
}

func (s userStore) GetUserByUsername(name string) *storage.User { return s.GetUserByID(name) }

func (s userStore) ExampleClientID() string { return "service" }

// testStorage is the example storage with the misbehaviour switches applied to what the token endpoint
// reads.
type testStorage struct {
	*storage.Storage
	p *Provider
}

func (s testStorage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	ar, err := s.Storage.AuthRequestByCode(ctx, code)
	if err != nil {
		return nil, err
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	return authRequest{AuthRequest: ar, audience: s.p.audience, nonce: s.p.nonce}, nil
}

func (s testStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	return client{Client: c, lifetime: s.p.lifetime, audience: s.p.audience}, nil
}

type authRequest struct {
	op.AuthRequest
	audience []string
	nonce    *string
}

func (a authRequest) GetAudience() []string {
	if a.audience != nil {
		return a.audience
	}
	return a.AuthRequest.GetAudience()
}

func (a authRequest) GetNonce() string {
	if a.nonce != nil {
		return *a.nonce
	}
	return a.AuthRequest.GetNonce()
}

// With another audience the provider behaves as if the code had been issued to that client: the ID token
// is addressed to it (aud and azp), as in a token mix-up between relying parties.
func (a authRequest) GetClientID() string {
	if a.audience != nil {
		return a.audience[0]
	}
	return a.AuthRequest.GetClientID()
}

type client struct {
	op.Client
	lifetime time.Duration
	audience []string
}

func (c client) GetID() string {
	if c.audience != nil {
		return c.audience[0]
	}
	return c.Client.GetID()
}

func (c client) IDTokenLifetime() time.Duration {
	if c.lifetime != 0 {
		return c.lifetime
	}
	return time.Hour
}

// Claims of the profile and e-mail scopes go into the ID token, as most providers do.
func (c client) IDTokenUserinfoClaimsAssertion() bool { return true }
