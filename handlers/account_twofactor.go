package handlers

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/pquerna/otp"

	"ledgerline/store"
	"ledgerline/store/identity"
	accountview "ledgerline/views/account"
	"ledgerline/views/ui"
)

// Two-factor authentication: enrolment on the account page, and the second step of signing in.
//
// A correct password of a user with TOTP does not sign in. It leaves a pending sign-in in the session
// (user, tenant, e-mail for the throttle, where to go next, and a deadline); the session has no user id
// yet, so every signed-in page stays closed and sends the visitor to the code page. The code page accepts
// a TOTP code or a recovery code and only then calls signIn, as a password alone does for other users.

// loginTwoFactorPath is where a sign-in waits for its second factor.
const loginTwoFactorPath = "/login/two-factor"

// pendingSignInTTL is how long the code page waits after the password was accepted.
const pendingSignInTTL = 5 * time.Minute

// Session keys of a pending sign-in.
const (
	sessPendingUserID   = "pending_user_id"
	sessPendingTenantID = "pending_tenant_id"
	sessPendingEmail    = "pending_email"
	sessPendingNext     = "pending_next"
	sessPendingUntil    = "pending_until"
)

// pendingSignIn is a sign-in whose password was right and whose second factor is still to come.
type pendingSignIn struct {
	UserID, TenantID store.ID
	Email, Next      string
}

// pendingSignInStart stores the pending sign-in under a new session token. Whoever was signed in with this
// session before is signed out: the session now belongs to the person typing the code.
func (h *Handler) pendingSignInStart(c echo.Context, res *identity.SignInResult, email, next string) error {
	ctx := c.Request().Context()
	if userID, _, ok := h.sessionIdentity(ctx); ok {
		if err := h.sessionEnd(ctx, userID, h.sessions.GetString(ctx, sessSID)); err != nil {
			return err
		}
	}
	for _, k := range []string{sessUserID, sessTenantID, sessSID} {
		h.sessions.Remove(ctx, k)
	}
	if err := h.sessions.RenewToken(ctx); err != nil {
		return errSessionsUnavailable
	}
	h.sessions.Put(ctx, sessPendingUserID, res.UserID.String())
	h.sessions.Put(ctx, sessPendingTenantID, res.TenantID.String())
	h.sessions.Put(ctx, sessPendingEmail, email)
	h.sessions.Put(ctx, sessPendingNext, next)
	h.sessions.Put(ctx, sessPendingUntil, time.Now().Add(pendingSignInTTL).Unix())
	return nil
}

// pendingSignInGet returns the session's pending sign-in; nil when there is none or when it has expired
// (expired tells which).
func (h *Handler) pendingSignInGet(ctx context.Context) (p *pendingSignIn, expired bool) {
	if loaded, _ := ctx.Value(keySessionLoaded).(bool); !loaded {
		return nil, false
	}
	u := h.sessions.GetString(ctx, sessPendingUserID)
	if u == "" {
		return nil, false
	}
	if time.Now().Unix() > h.sessions.GetInt64(ctx, sessPendingUntil) {
		return nil, true
	}
	userID, err1 := store.ParseID(u)
	tenantID, err2 := store.ParseID(h.sessions.GetString(ctx, sessPendingTenantID))
	if errors.Join(err1, err2) != nil {
		return nil, true
	}
	return &pendingSignIn{
		UserID: userID, TenantID: tenantID,
		Email: h.sessions.GetString(ctx, sessPendingEmail), Next: safeNext(h.sessions.GetString(ctx, sessPendingNext)),
	}, false
}

func (h *Handler) pendingSignInClear(ctx context.Context) {
	for _, k := range []string{sessPendingUserID, sessPendingTenantID, sessPendingEmail, sessPendingNext, sessPendingUntil} {
		h.sessions.Remove(ctx, k)
	}
}

// pendingSignInMissing sends a visitor without a (live) pending sign-in back to the sign-in page.
func (h *Handler) pendingSignInMissing(c echo.Context, expired bool) error {
	ctx := c.Request().Context()
	if actorFrom(ctx) != nil {
		return redirect(c, "/")
	}
	if expired {
		h.pendingSignInClear(ctx)
		h.flash(ctx, "Signing in took too long. Enter your e-mail address and password again.")
	}
	return redirect(c, "/login")
}

func (h *Handler) loginTwoFactorPage(c echo.Context) error {
	p, expired := h.pendingSignInGet(c.Request().Context())
	if p == nil {
		return h.pendingSignInMissing(c, expired)
	}
	return render(c, http.StatusOK, accountview.SignInCode(h.shell(c, "Enter your code"), accountview.SignInCodeForm{}))
}

func (h *Handler) loginTwoFactor(c echo.Context) error {
	ctx := c.Request().Context()
	p, expired := h.pendingSignInGet(ctx)
	if p == nil {
		return h.pendingSignInMissing(c, expired)
	}
	ip := c.RealIP()
	page := func(status int, msg string) error {
		return render(c, status, accountview.SignInCode(h.shell(c, "Enter your code"), accountview.SignInCodeForm{Error: msg}))
	}
	if err := h.loginAllowed(ctx, p.Email, ip); err != nil {
		if store.ErrorCode(err) != store.Throttled {
			return err
		}
		return page(http.StatusTooManyRequests, store.ErrorMessage(err))
	}
	code := strings.TrimSpace(c.FormValue("code"))
	if code == "" {
		return page(http.StatusUnprocessableEntity, "Enter the code from your authenticator app, or one of your recovery codes.")
	}
	res, err := identity.SignInComplete(ctx, h.db, identity.SignInCompleteParams{
		UserID: p.UserID, TenantID: p.TenantID, Code: code, RequestID: requestIDFrom(ctx), ClientIP: ip,
	})
	if errors.Is(err, identity.ErrTwoFactorCodeWrong) {
		if ferr := h.loginFailed(ctx, p.Email, ip); ferr != nil {
			return errSessionsUnavailable
		}
		return page(http.StatusUnauthorized, store.ErrorMessage(err))
	}
	if code := store.ErrorCode(err); code == store.Unauthenticated || code == store.NotFound {
		// Deactivated or removed from the organization since the password step.
		h.pendingSignInClear(ctx)
		h.flash(ctx, store.ErrorMessage(err))
		return redirect(c, "/login")
	}
	if err != nil {
		return err
	}
	h.pendingSignInClear(ctx)
	h.loginSucceeded(ctx, p.Email)
	if err := h.signIn(c, p.UserID, p.TenantID); err != nil {
		return err
	}
	if res.Method == "recovery" {
		h.flash(ctx, fmt.Sprintf("You signed in with a recovery code, which now no longer works. You have %d left.", res.RecoveryCodesLeft))
	}
	return redirect(c, p.Next)
}

// Account pages.

func (h *Handler) accountTwoFactorPage(c echo.Context) error {
	state, err := identity.TwoFactorGet(c.Request().Context(), h.db, scope(c))
	if err != nil {
		return err
	}
	view, err := twoFactorView(c, state)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, accountview.TwoFactor(h.shell(c, "Two-factor authentication"), view))
}

// twoFactorView shapes the two-factor screen from the stored state.
func twoFactorView(c echo.Context, state *identity.TwoFactorState) (accountview.TwoFactorView, error) {
	a := actorFrom(c.Request().Context())
	v := accountview.TwoFactorView{
		Step: accountview.TwoFactorOff, CodesLeft: state.RecoveryCodesLeft,
		Required: a.Role == identity.RoleAdmin && a.Tenant.RequireAdmin2FA,
	}
	switch {
	case state.Enabled():
		v.Step = accountview.TwoFactorOn
		v.EnabledAt = state.EnabledAt.In(a.Tenant.Location()).Format("2 January 2006")
	case state.Pending != nil:
		qr, err := qrDataURL(state.Pending.URL)
		if err != nil {
			return v, err
		}
		v.Step, v.QRCode, v.Secret = accountview.TwoFactorPending, qr, state.Pending.Secret
	}
	return v, nil
}

// qrDataURL draws the otpauth:// URI as a PNG QR code in a data: URL (the CSP allows data: images), so
// the secret never sits in a URL of ours or in a cache.
func qrDataURL(uri string) (string, error) {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return "", fmt.Errorf("error parsing TOTP key URI: %w", err)
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return "", fmt.Errorf("error drawing TOTP QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", fmt.Errorf("error encoding TOTP QR code: %w", err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

func (h *Handler) accountTwoFactorSetup(c echo.Context) error {
	if _, err := identity.TwoFactorBegin(c.Request().Context(), h.db, scope(c)); err != nil {
		return err
	}
	return redirect(c, accountTwoFactorPath)
}

func (h *Handler) accountTwoFactorEnable(c echo.Context) error {
	ctx := c.Request().Context()
	res, err := identity.TwoFactorEnable(ctx, h.db, scope(c), identity.TwoFactorEnableParams{Code: c.FormValue("code")})
	if store.ErrorCode(err) == store.Invalid {
		return h.accountTwoFactorInvalid(c, err, "code", "code")
	}
	if err != nil {
		return err
	}
	// The account just gained a privilege (admin pages behind the 2FA rule): a new session token.
	if err := h.sessions.RenewToken(ctx); err != nil {
		return errSessionsUnavailable
	}
	return render(c, http.StatusOK, accountview.TwoFactor(h.shell(c, "Save your recovery codes"), accountview.TwoFactorView{
		Step: accountview.TwoFactorCodes, RecoveryCodes: res.RecoveryCodes, Notice: "Two-factor authentication is on.",
	}))
}

func (h *Handler) accountTwoFactorDisable(c echo.Context) error {
	ctx := c.Request().Context()
	err := h.passwordConfirmed(c, accountview.FieldDisablePassword, func(password string) error {
		return identity.TwoFactorDisable(ctx, h.db, scope(c), identity.TwoFactorDisableParams{Password: password})
	})
	if store.ErrorCode(err) == store.Invalid {
		return h.accountTwoFactorInvalid(c, err, "password", accountview.FieldDisablePassword)
	}
	if err != nil {
		return err
	}
	h.flash(ctx, "Two-factor authentication is off. Signing in now needs only your password.")
	return redirect(c, accountTwoFactorPath)
}

func (h *Handler) accountRecoveryCodes(c echo.Context) error {
	ctx := c.Request().Context()
	var codes []string
	err := h.passwordConfirmed(c, accountview.FieldCodesPassword, func(password string) error {
		var err error
		codes, err = identity.RecoveryCodesRegenerate(ctx, h.db, scope(c), identity.RecoveryCodesRegenerateParams{Password: password})
		return err
	})
	if store.ErrorCode(err) == store.Invalid {
		return h.accountTwoFactorInvalid(c, err, "password", accountview.FieldCodesPassword)
	}
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, accountview.TwoFactor(h.shell(c, "Save your recovery codes"), accountview.TwoFactorView{
		Step: accountview.TwoFactorCodes, RecoveryCodes: codes, Notice: "You have new recovery codes. The old ones no longer work.",
	}))
}

// passwordConfirmed runs op with the password typed in field, under the sign-in throttle: a wrong password
// counts as a failed sign-in of the account.
func (h *Handler) passwordConfirmed(c echo.Context, field string, op func(password string) error) error {
	ctx := c.Request().Context()
	a := actorFrom(ctx)
	if err := h.loginAllowed(ctx, a.Email, c.RealIP()); err != nil {
		return err
	}
	err := op(c.FormValue(field))
	if errors.Is(err, identity.ErrPasswordWrong) {
		if ferr := h.loginFailed(ctx, a.Email, c.RealIP()); ferr != nil {
			return errSessionsUnavailable
		}
	}
	return err
}

// accountTwoFactorInvalid shows the two-factor screen again with the store's error on storeField shown
// next to the form field formField.
func (h *Handler) accountTwoFactorInvalid(c echo.Context, err error, storeField, formField string) error {
	state, serr := identity.TwoFactorGet(c.Request().Context(), h.db, scope(c))
	if serr != nil {
		return serr
	}
	view, verr := twoFactorView(c, state)
	if verr != nil {
		return verr
	}
	for _, fe := range fieldErrors(err, storeField) {
		view.Errors = append(view.Errors, ui.FieldError{Field: formField, Message: fe.Message})
	}
	return render(c, http.StatusUnprocessableEntity, accountview.TwoFactor(h.shell(c, "Two-factor authentication"), view))
}
