package handlers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/identity"
	accountview "ledgerline/views/account"
)

// The signed-in person's own account: profile, password and sessions. Two-factor authentication and the
// second step of signing in are in account_twofactor.go.

func (h *Handler) accountPage(c echo.Context) error {
	p, err := identity.ProfileGet(c.Request().Context(), h.db, scope(c))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, accountview.Profile(h.shell(c, "Your account"), profileView(c, p)))
}

func profileView(c echo.Context, p *identity.Profile) accountview.ProfileView {
	a := actorFrom(c.Request().Context())
	return accountview.ProfileView{
		Name: p.Name, Email: p.Email, Role: a.Role.Label(), TenantName: a.Tenant.Name, Department: a.DepartmentName,
		Version: p.Version, TwoFactorOn: p.TwoFactorEnabledAt != nil,
	}
}

func (h *Handler) accountUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	name := c.FormValue("name")
	version, _ := strconv.Atoi(c.FormValue("version"))
	_, err := identity.ProfileUpdate(ctx, h.db, scope(c), identity.ProfileUpdateParams{Name: name, Version: version})
	if store.ErrorCode(err) == store.Invalid {
		p, perr := identity.ProfileGet(ctx, h.db, scope(c))
		if perr != nil {
			return perr
		}
		view := profileView(c, p)
		view.Name, view.Version, view.Errors = name, version, fieldErrors(err, "name")
		return render(c, http.StatusUnprocessableEntity, accountview.Profile(h.shell(c, "Your account"), view))
	}
	if err != nil {
		return err // a version conflict says "reload" in a toast or on the 409 page
	}
	h.flash(ctx, "Your name has been saved.")
	return redirect(c, "/account")
}

func (h *Handler) accountPasswordPage(c echo.Context) error {
	return render(c, http.StatusOK, accountview.Password(h.shell(c, "Change your password"),
		accountview.PasswordForm{SignOutOthers: true}))
}

func (h *Handler) accountPasswordChange(c echo.Context) error {
	ctx := c.Request().Context()
	a := actorFrom(ctx)
	ip := c.RealIP()
	form := accountview.PasswordForm{SignOutOthers: c.FormValue("sign_out_others") != ""}
	// Guesses of the current password count against the same throttle as sign-in: a session left open on
	// someone else's screen must not become a way to find the password.
	if err := h.loginAllowed(ctx, a.Email, ip); err != nil {
		return err
	}
	err := identity.PasswordChange(ctx, h.db, scope(c), identity.PasswordChangeParams{
		Current: c.FormValue("current_password"), New: c.FormValue("password"), Confirm: c.FormValue("password_confirm"),
		EndOtherSessions: form.SignOutOthers,
	})
	if errors.Is(err, identity.ErrPasswordWrong) {
		if ferr := h.loginFailed(ctx, a.Email, ip); ferr != nil {
			return errSessionsUnavailable
		}
	}
	if store.ErrorCode(err) == store.Invalid {
		form.Errors = fieldErrors(err, "current_password", "password", "password_confirm")
		return render(c, http.StatusUnprocessableEntity, accountview.Password(h.shell(c, "Change your password"), form))
	}
	if err != nil {
		return err
	}
	// A new token for the session that changed the password; the others end if asked.
	if err := h.sessions.RenewToken(ctx); err != nil {
		return errSessionsUnavailable
	}
	msg := "Your password has been changed."
	if form.SignOutOthers {
		if err := h.sessionsEndAll(ctx, a.UserID, h.sessions.GetString(ctx, sessSID)); err != nil {
			return err
		}
		msg += " Your other sessions have been signed out."
	}
	h.flash(ctx, msg)
	return redirect(c, "/account")
}

func (h *Handler) accountSessions(c echo.Context) error {
	ctx := c.Request().Context()
	a := actorFrom(ctx)
	list, err := h.sessionsList(ctx, a.UserID)
	if err != nil {
		return err
	}
	current := h.sessions.GetString(ctx, sessSID)
	loc := a.Tenant.Location()
	view := accountview.SessionsView{Zone: a.Tenant.TimeZone}
	for _, s := range list {
		seen, created := s.LastSeen.In(loc), s.CreatedAt.In(loc)
		view.Rows = append(view.Rows, accountview.SessionRow{
			ID: s.ID, Device: s.Device, ClientIP: s.ClientIP,
			LastSeen: seen.Format("2 Jan 2006 15:04"), LastSeenExact: seen.Format("2006-01-02 15:04:05 MST"),
			SignedIn: created.Format("2 Jan 2006 15:04"), SignedInExact: created.Format("2006-01-02 15:04:05 MST"),
			Current: s.ID == current,
		})
	}
	return render(c, http.StatusOK, accountview.Sessions(h.shell(c, "Your sessions"), view))
}

func (h *Handler) accountSessionEnd(c echo.Context) error {
	ctx := c.Request().Context()
	a := actorFrom(ctx)
	sid := c.FormValue("sid")
	if sid != "" && sid == h.sessions.GetString(ctx, sessSID) {
		return h.logout(c)
	}
	list, err := h.sessionsList(ctx, a.UserID)
	if err != nil {
		return err
	}
	for _, s := range list {
		if s.ID != sid {
			continue
		}
		// The index is per user, so only the user's own sessions can be named here.
		if err := h.sessionEnd(ctx, a.UserID, sid); err != nil {
			return err
		}
		if err := identity.SessionEndRecord(ctx, h.db, scope(c), identity.SessionEndRecordParams{
			Device: s.Device, ClientIP: s.ClientIP}); err != nil {
			return err
		}
		h.flash(ctx, "Signed out "+s.Device+" ("+s.ClientIP+").")
		return redirect(c, "/account/sessions")
	}
	return store.Errorf(store.NotFound, "That session has already ended.")
}

func (h *Handler) accountSessionsEndOthers(c echo.Context) error {
	ctx := c.Request().Context()
	a := actorFrom(ctx)
	if err := h.sessionsEndAll(ctx, a.UserID, h.sessions.GetString(ctx, sessSID)); err != nil {
		return err
	}
	if err := identity.SessionEndRecord(ctx, h.db, scope(c), identity.SessionEndRecordParams{AllOthers: true}); err != nil {
		return err
	}
	h.flash(ctx, "Your other sessions have been signed out.")
	return redirect(c, "/account/sessions")
}
