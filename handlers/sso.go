package handlers

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/store/sso"
	ssoviews "ledgerline/views/sso"
)

// Session keys of a single sign-on in progress (state, nonce and PKCE verifier bind the provider's answer
// to this browser), and of a session signed in through SSO.
const (
	sessSSOState    = "sso_state"
	sessSSONonce    = "sso_nonce"
	sessSSOVerifier = "sso_verifier"
	sessSSOTenant   = "sso_tenant"
	sessSSONext     = "sso_next"
	// sessSSOSignedIn is the tenant whose provider signed this session in.
	sessSSOSignedIn = "sso_signed_in"
)

// ssoCallbackPath is where providers send the browser back.
const ssoCallbackPath = "/sso/callback"

func (h *Handler) ssoRedirectURL() string {
	return strings.TrimSuffix(h.baseURL.String(), "/") + ssoCallbackPath
}

// ssoSettings shows the tenant's provider settings.
func (h *Handler) ssoSettings(c echo.Context) error {
	ctx := c.Request().Context()
	cfg, err := sso.ConfigGet(ctx, h.db, scope(c))
	if err != nil && store.ErrorCode(err) != store.NotFound {
		return err
	}
	f := ssoviews.SettingsForm{CSRFToken: csrfToken(c), RedirectURL: h.ssoRedirectURL(), Enabled: true, PasswordAllowed: true}
	role := identity.RoleEmployee
	if cfg != nil {
		f.Exists, f.Enabled, f.IssuerURL, f.ClientID = true, cfg.Enabled, cfg.IssuerURL, cfg.ClientID
		f.AllowedDomains, f.PasswordAllowed, f.Version = strings.Join(cfg.AllowedDomains, ", "), cfg.PasswordAllowed, cfg.Version
		role = cfg.DefaultRole
	}
	f.Roles = roleChoices(role)
	return render(c, http.StatusOK, ssoviews.Settings(h.shell(c, "Single sign-on"), f))
}

func roleChoices(selected identity.Role) []ssoviews.RoleChoice {
	var out []ssoviews.RoleChoice
	for _, r := range identity.Roles {
		out = append(out, ssoviews.RoleChoice{Name: string(r), Label: r.Label(), Selected: r == selected})
	}
	return out
}

// ssoSettingsSave saves the provider settings.
func (h *Handler) ssoSettingsSave(c echo.Context) error {
	ctx := c.Request().Context()
	p := sso.ConfigSaveParams{
		Enabled: c.FormValue("enabled") == "true", IssuerURL: c.FormValue("issuer_url"), ClientID: c.FormValue("client_id"),
		ClientSecret: c.FormValue("client_secret"), AllowedDomains: c.FormValue("allowed_domains"),
		DefaultRole: identity.Role(c.FormValue("default_role")), PasswordAllowed: c.FormValue("password_allowed") == "true",
	}
	// Version 0 means "creating": the first save has no version to compare.
	if v := c.FormValue("version"); v != "" && v != "0" {
		version, err := formVersion(c)
		if err != nil {
			return err
		}
		p.Version = version
	}
	res, err := sso.ConfigSave(ctx, h.db, scope(c), p)
	if store.ErrorCode(err) == store.Invalid {
		f := ssoviews.SettingsForm{CSRFToken: csrfToken(c), RedirectURL: h.ssoRedirectURL(), Exists: p.Version > 0,
			Enabled: p.Enabled, IssuerURL: p.IssuerURL, ClientID: p.ClientID, AllowedDomains: p.AllowedDomains,
			PasswordAllowed: p.PasswordAllowed, Version: p.Version, Roles: roleChoices(p.DefaultRole),
			Errors: fieldErrors(err, "issuer_url", "client_id", "client_secret", "allowed_domains", "default_role", "password_allowed")}
		return render(c, http.StatusUnprocessableEntity, ssoviews.Settings(h.shell(c, "Single sign-on"), f))
	}
	if err != nil {
		return err
	}
	// Password sign-in was just turned off: the members' sessions end everywhere (the saving admin's own
	// current one aside, so they can finish and test), and they come back through the provider.
	me := actorFrom(ctx).UserID
	for _, uid := range res.SignOut {
		keep := ""
		if uid == me {
			keep = h.sessions.GetString(ctx, sessSID)
		}
		if err := h.sessionsEndAll(ctx, uid, keep); err != nil {
			return err
		}
	}
	if len(res.SignOut) > 0 {
		h.flash(ctx, fmt.Sprintf("Single sign-on settings are saved. Password sign-in is off: %d members were signed out and come back through your provider.", len(res.SignOut)))
		return redirect(c, "/admin/sso")
	}
	h.flash(ctx, "Single sign-on settings are saved.")
	return redirect(c, "/admin/sso")
}

// ssoStartPage asks for the e-mail address or organization.
func (h *Handler) ssoStartPage(c echo.Context) error {
	if actorFrom(c.Request().Context()) != nil {
		return redirect(c, "/")
	}
	f := ssoviews.StartForm{CSRFToken: csrfToken(c), Next: safeNext(c.QueryParam("next"))}
	return render(c, http.StatusOK, ssoviews.Start(h.shell(c, "Sign in with single sign-on"), f))
}

// oidcContext makes go-oidc and oauth2 use the handler's HTTP client (with its timeout).
func (h *Handler) oidcContext(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, h.oidcClient)
}

func (h *Handler) oauthConfig(ctx context.Context, prov *sso.Provider) (*oidc.Provider, *oauth2.Config, error) {
	op, err := oidc.NewProvider(h.oidcContext(ctx), prov.IssuerURL)
	if err != nil {
		return nil, nil, err
	}
	return op, &oauth2.Config{
		ClientID: prov.ClientID, ClientSecret: prov.ClientSecret, Endpoint: op.Endpoint(),
		RedirectURL: h.ssoRedirectURL(), Scopes: []string{oidc.ScopeOpenID, "email", "profile"},
	}, nil
}

// ssoStart finds the organization, then sends the browser to its provider with state, nonce and a PKCE
// challenge kept in the session.
func (h *Handler) ssoStart(c echo.Context) error {
	ctx := c.Request().Context()
	f := ssoviews.StartForm{CSRFToken: csrfToken(c), Identifier: strings.TrimSpace(c.FormValue("identifier")), Next: safeNext(c.FormValue("next"))}
	page := func(status int, msg string) error {
		f.Error = msg
		return render(c, status, ssoviews.Start(h.shell(c, "Sign in with single sign-on"), f))
	}
	if f.Identifier == "" {
		return page(http.StatusUnprocessableEntity, "Enter your work e-mail address or your organization's short name.")
	}
	tenantID, err := sso.TenantLookup(ctx, h.db, f.Identifier)
	if store.ErrorCode(err) == store.NotFound {
		f.PasswordAllowed = true
		return page(http.StatusUnprocessableEntity, store.ErrorMessage(err))
	}
	if err != nil {
		return err
	}
	prov, err := sso.ProviderGet(ctx, h.db, tenantID)
	if err != nil {
		return err
	}
	_, cfg, err := h.oauthConfig(ctx, prov)
	if err != nil {
		h.logger.WarnContext(ctx, "SSO provider unreachable", "tenant", tenantID, "issuer", prov.IssuerURL, "err", err)
		f.PasswordAllowed = prov.PasswordAllowed
		return page(http.StatusBadGateway, "The sign-in service of "+prov.TenantName+" cannot be reached right now. Try again in a few minutes.")
	}
	state, nonce, verifier := randomToken(32), randomToken(32), oauth2.GenerateVerifier()
	h.sessions.Put(ctx, sessSSOState, state)
	h.sessions.Put(ctx, sessSSONonce, nonce)
	h.sessions.Put(ctx, sessSSOVerifier, verifier)
	h.sessions.Put(ctx, sessSSOTenant, tenantID.String())
	h.sessions.Put(ctx, sessSSONext, f.Next)
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	if strings.Contains(f.Identifier, "@") {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", f.Identifier))
	}
	authURL := cfg.AuthCodeURL(state, opts...)
	c.Response().Header().Set("Refresh", "0; url="+authURL)
	return render(c, http.StatusOK, ssoviews.Continue(h.shell(c, "Signing in with single sign-on"), authURL, prov.TenantName))
}

// ssoCallback completes the sign-in: the state must be this browser's, the code is exchanged with the
// PKCE verifier, the ID token's signature, issuer, audience, expiry and nonce are verified, and the
// verified identity is matched or created.
func (h *Handler) ssoCallback(c echo.Context) error {
	ctx := c.Request().Context()
	state := h.sessions.PopString(ctx, sessSSOState)
	nonce := h.sessions.PopString(ctx, sessSSONonce)
	verifier := h.sessions.PopString(ctx, sessSSOVerifier)
	tenantRaw := h.sessions.PopString(ctx, sessSSOTenant)
	next := safeNext(h.sessions.PopString(ctx, sessSSONext))
	f := ssoviews.StartForm{CSRFToken: csrfToken(c), Next: next}
	fail := func(status int, msg string) error {
		f.Error = msg
		return render(c, status, ssoviews.Start(h.shell(c, "Sign in with single sign-on"), f))
	}
	got := c.QueryParam("state")
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(got)) != 1 {
		return fail(http.StatusBadRequest, "This sign-in link has expired or belongs to another browser window. Start again.")
	}
	tenantID, err := store.ParseID(tenantRaw)
	if err != nil {
		return fail(http.StatusBadRequest, "This sign-in link has expired. Start again.")
	}
	prov, err := sso.ProviderGet(ctx, h.db, tenantID)
	if err != nil {
		return err
	}
	f.PasswordAllowed = prov.PasswordAllowed
	if e := c.QueryParam("error"); e != "" {
		return fail(http.StatusUnauthorized, "Your identity provider did not sign you in ("+truncateText(e, 80)+").")
	}
	op, cfg, err := h.oauthConfig(ctx, prov)
	if err != nil {
		h.logger.WarnContext(ctx, "SSO provider unreachable", "tenant", tenantID, "issuer", prov.IssuerURL, "err", err)
		return fail(http.StatusBadGateway, "The sign-in service of "+prov.TenantName+" cannot be reached right now. Try again in a few minutes.")
	}
	tok, err := cfg.Exchange(h.oidcContext(ctx), c.QueryParam("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		h.logger.WarnContext(ctx, "SSO code exchange failed", "tenant", tenantID, "err", err)
		return fail(http.StatusUnauthorized, "The sign-in could not be completed with your identity provider. Start again.")
	}
	raw, _ := tok.Extra("id_token").(string)
	idToken, err := op.Verifier(&oidc.Config{ClientID: prov.ClientID}).Verify(h.oidcContext(ctx), raw)
	if err == nil && subtle.ConstantTimeCompare([]byte(idToken.Nonce), []byte(nonce)) != 1 {
		err = errBadNonce
	}
	if err != nil {
		h.logger.WarnContext(ctx, "SSO ID token refused", "tenant", tenantID, "err", err)
		if aerr := h.ssoAuditRefusal(ctx, c, tenantID, err.Error()); aerr != nil {
			return aerr
		}
		return fail(http.StatusUnauthorized, "The answer of your identity provider could not be verified, so you are not signed in. Start again.")
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified *bool  `json:"email_verified"`
		Name          string `json:"name"`
	}
	if err := idToken.Claims(&claims); err != nil {
		return fail(http.StatusUnauthorized, "The answer of your identity provider could not be read. Start again.")
	}
	if claims.Email == "" {
		// Some providers put the e-mail only in the userinfo answer; it must be about the same subject.
		info, err := op.UserInfo(h.oidcContext(ctx), oauth2.StaticTokenSource(tok))
		if err != nil || info.Subject != idToken.Subject {
			h.logger.WarnContext(ctx, "SSO userinfo failed", "tenant", tenantID, "err", err)
			return fail(http.StatusUnauthorized, "Your identity provider did not tell Ledgerline your e-mail address. Ask your administrator.")
		}
		claims.Email, claims.Name = info.Email, ""
		claims.EmailVerified = &info.EmailVerified
	}
	res, err := sso.SignIn(ctx, h.db, sso.SignInParams{
		TenantID: tenantID, Subject: idToken.Subject, Email: claims.Email,
		EmailVerified: claims.EmailVerified != nil && *claims.EmailVerified, Name: claims.Name,
		RequestID: requestIDFrom(ctx), ClientIP: c.RealIP(),
	})
	if store.ErrorCode(err) == store.Unauthenticated {
		return fail(http.StatusForbidden, store.ErrorMessage(err))
	}
	if err != nil {
		return err
	}
	h.pendingSignInClear(ctx)
	h.endPreviousSession(c)
	if err := h.signIn(c, res.UserID, tenantID); err != nil {
		return err
	}
	h.sessions.Put(ctx, sessSSOSignedIn, tenantID.String())
	return redirect(c, next)
}

// errBadNonce is an ID token whose nonce is not the one this browser's sign-in sent.
var errBadNonce = store.Errorf(store.Unauthenticated, "ID token nonce does not match")

// ssoAuditRefusal records an ID token that failed verification in the tenant's audit log.
func (h *Handler) ssoAuditRefusal(ctx context.Context, c echo.Context, tenantID store.ID, reason string) error {
	return sso.RecordRefusal(ctx, h.db, store.Scope{TenantID: tenantID, RequestID: requestIDFrom(ctx), ClientIP: c.RealIP()}, truncateText(reason, 300))
}

func truncateText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// ssoPasswordRefusedFor reports whether tenantID refuses password sign-in and this session did not come
// through that tenant's provider: a tenant switch into it is then refused.
func (h *Handler) ssoPasswordRefusedFor(ctx context.Context, userID, tenantID store.ID) (bool, error) {
	if h.sessions.GetString(ctx, sessSSOSignedIn) == tenantID.String() {
		return false, nil
	}
	refused, err := sso.PasswordRefused(ctx, h.db, userID)
	if err != nil {
		return false, err
	}
	for _, t := range refused {
		if t == tenantID {
			return true, nil
		}
	}
	return false, nil
}
