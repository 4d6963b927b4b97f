package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/views/pages"
)

// safeNext keeps only local paths, so ?next= cannot send a user to another site after sign-in.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

func (h *Handler) loginPage(c echo.Context) error {
	if actorFrom(c.Request().Context()) != nil {
		return redirect(c, "/")
	}
	form := pages.LoginForm{Next: safeNext(c.QueryParam("next"))}
	return render(c, http.StatusOK, pages.Login(h.shell(c, "Sign in"), form))
}

func (h *Handler) login(c echo.Context) error {
	ctx := c.Request().Context()
	email := strings.TrimSpace(c.FormValue("email"))
	form := pages.LoginForm{Email: email, Next: safeNext(c.FormValue("next"))}
	ip := c.RealIP()

	if err := h.loginAllowed(ctx, email, ip); err != nil {
		if store.ErrorCode(err) != store.Throttled {
			return err
		}
		form.Error = store.ErrorMessage(err)
		return render(c, http.StatusTooManyRequests, pages.Login(h.shell(c, "Sign in"), form))
	}
	if email == "" || c.FormValue("password") == "" {
		form.Error = "Enter your e-mail address and password."
		return render(c, http.StatusUnprocessableEntity, pages.Login(h.shell(c, "Sign in"), form))
	}
	res, err := identity.SignIn(ctx, h.db, identity.SignInParams{
		Email: email, Password: c.FormValue("password"), RequestID: requestIDFrom(ctx), ClientIP: ip,
	})
	if store.ErrorCode(err) == store.Unauthenticated {
		if ferr := h.loginFailed(ctx, email, ip); ferr != nil {
			return errSessionsUnavailable
		}
		form.Error = store.ErrorMessage(err)
		return render(c, http.StatusUnauthorized, pages.Login(h.shell(c, "Sign in"), form))
	}
	if err != nil {
		return err
	}
	if res.TwoFactorRequired {
		// Not signed in yet, and the account's failure counter stays: the code must be right too.
		if err := h.pendingSignInStart(c, res, email, form.Next); err != nil {
			return err
		}
		return redirect(c, loginTwoFactorPath)
	}
	h.loginSucceeded(ctx, email)
	h.pendingSignInClear(ctx) // an abandoned second step of someone else
	h.endPreviousSession(c)
	if err := h.signIn(c, res.UserID, res.TenantID); err != nil {
		return err
	}
	return redirect(c, form.Next)
}

func (h *Handler) logout(c echo.Context) error {
	ctx := c.Request().Context()
	if err := identity.SignOutRecord(ctx, h.db, scope(c)); err != nil {
		return err
	}
	if err := h.sessionEnd(ctx, actorFrom(ctx).UserID, h.sessions.GetString(ctx, sessSID)); err != nil {
		return err
	}
	if err := h.sessions.Destroy(ctx); err != nil {
		return errSessionsUnavailable
	}
	// A fresh, anonymous session (new token) carries the message to the sign-in page, once.
	h.flash(ctx, "You have signed out.")
	return redirect(c, "/login")
}

func (h *Handler) tenantSwitch(c echo.Context) error {
	ctx := c.Request().Context()
	tenantID, err := store.ParseID(c.FormValue("tenant_id"))
	if err != nil {
		return err
	}
	sc := scope(c)
	sc.TenantID = tenantID
	// An organization that signs in only with single sign-on is entered through its provider.
	if refused, err := h.ssoPasswordRefusedFor(ctx, sc.ActorID, tenantID); err != nil {
		return err
	} else if refused {
		return store.Errorf(store.Forbidden, "This organization signs in with single sign-on only. Sign out, then use “Sign in with single sign-on”.")
	}
	if err := identity.TenantSwitch(ctx, h.db, sc); err != nil {
		return err
	}
	if err := h.tenantSet(ctx, tenantID); err != nil {
		return err
	}
	for _, m := range actorFrom(ctx).Memberships {
		if m.TenantID == tenantID {
			h.flash(ctx, "You are now working in "+m.TenantName+".")
		}
	}
	return redirect(c, "/")
}

func (h *Handler) forgotPage(c echo.Context) error {
	return render(c, http.StatusOK, pages.ForgotPassword(h.shell(c, "Reset your password"), pages.ForgotForm{}))
}

func (h *Handler) forgot(c echo.Context) error {
	ctx := c.Request().Context()
	form := pages.ForgotForm{Email: strings.TrimSpace(c.FormValue("email"))}
	// The per-address throttle of sign-in keeps this from being used to flood someone's inbox. The
	// account's own counter is left alone: a locked-out person must still be able to ask for a link.
	if err := h.throttleCheck(ctx, h.addressCounter(c.RealIP())); err != nil {
		return err
	}
	err := identity.PasswordResetRequest(ctx, h.db, identity.PasswordResetRequestParams{
		Email:      form.Email,
		LinkPrefix: h.baseURL.String() + "/password/reset?token=",
		RequestID:  requestIDFrom(ctx),
		ClientIP:   c.RealIP(),
	})
	if store.ErrorCode(err) == store.Invalid {
		form.Errors = fieldErrors(err, "email")
		return render(c, http.StatusUnprocessableEntity, pages.ForgotPassword(h.shell(c, "Reset your password"), form))
	}
	if err != nil {
		return err
	}
	// Count the request against the address, so one address cannot ask for unlimited mail.
	if err := h.throttleCount(ctx, h.addressCounter(c.RealIP())); err != nil {
		return errSessionsUnavailable
	}
	form.Sent = true
	return render(c, http.StatusOK, pages.ForgotPassword(h.shell(c, "Reset your password"), form))
}

func (h *Handler) resetPage(c echo.Context) error {
	// The token is in this page's URL: never send it on as a referrer.
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	form := pages.ResetForm{Token: c.QueryParam("token")}
	if err := identity.PasswordResetCheck(c.Request().Context(), h.db, form.Token); err != nil {
		if store.ErrorCode(err) != store.NotFound {
			return err
		}
		form.Invalid = true
		return render(c, http.StatusNotFound, pages.ResetPassword(h.shell(c, "Choose a new password"), form))
	}
	return render(c, http.StatusOK, pages.ResetPassword(h.shell(c, "Choose a new password"), form))
}

func (h *Handler) reset(c echo.Context) error {
	ctx := c.Request().Context()
	form := pages.ResetForm{Token: c.FormValue("token")}
	userID, err := identity.PasswordResetComplete(ctx, h.db, identity.PasswordResetCompleteParams{
		Token: form.Token, Password: c.FormValue("password"), PasswordConfirm: c.FormValue("password_confirm"),
		RequestID: requestIDFrom(ctx), ClientIP: c.RealIP(),
	})
	switch store.ErrorCode(err) {
	case "":
	case store.Invalid:
		form.Errors = fieldErrors(err, "password", "password_confirm")
		return render(c, http.StatusUnprocessableEntity, pages.ResetPassword(h.shell(c, "Choose a new password"), form))
	case store.NotFound:
		form.Invalid = true
		return render(c, http.StatusNotFound, pages.ResetPassword(h.shell(c, "Choose a new password"), form))
	default:
		return err
	}
	// Whoever knew the old password is signed out everywhere; the reset itself does not sign in, the
	// person proves the new password once.
	if err := h.sessionsEndAll(ctx, userID, ""); err != nil {
		return err
	}
	h.flash(ctx, "Your password has been changed. Sign in with the new one.")
	return redirect(c, "/login")
}

// endPreviousSession removes the session index entry of whoever was signed in on this browser before a new
// sign-in replaces the session, so their session list does not keep a ghost.
func (h *Handler) endPreviousSession(c echo.Context) {
	ctx := c.Request().Context()
	userID, _, ok := h.sessionIdentity(ctx)
	if sid := h.sessions.GetString(ctx, sessSID); ok && sid != "" {
		_ = h.sessionEnd(ctx, userID, sid)
	}
}
