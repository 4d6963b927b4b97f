package handlers

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/views/admin"
)

// The invitation link's page. A person without an account chooses their name and password and is signed
// in; a person who has an account signs in with it first (so every sign-in rule, second factor included,
// applies) and then joins with one click. The link never sets the password of an existing account.

func inviteAcceptPath(token string) string {
	return "/invite/accept?token=" + url.QueryEscape(token)
}

// inviteAcceptView describes the acceptance page for token and the current visitor; Invalid when the
// link cannot be used.
func (h *Handler) inviteAcceptView(c echo.Context, token string) (admin.InviteAcceptView, error) {
	ctx := c.Request().Context()
	v := admin.InviteAcceptView{Token: token}
	pv, err := identity.InvitationCheck(ctx, h.db, token)
	if store.ErrorCode(err) == store.NotFound {
		v.Invalid = true
		return v, nil
	}
	if err != nil {
		return v, err
	}
	v.TenantName, v.Email, v.RoleName, v.Name = pv.TenantName, pv.Email, pv.Role.Label(), pv.Name
	a := actorFrom(ctx)
	if pv.ExistingUserID != nil {
		v.ExistingAccount = true
		v.SignedInAsInvitee = a != nil && a.UserID == *pv.ExistingUserID
	}
	if a != nil && !v.SignedInAsInvitee {
		v.SignedInAs = a.Email
	}
	if a == nil {
		v.SignInURL = "/login?next=" + url.QueryEscape(inviteAcceptPath(token))
	}
	return v, nil
}

func (h *Handler) inviteAcceptPage(c echo.Context) error {
	// The token is in this page's URL: never send it on as a referrer.
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	v, err := h.inviteAcceptView(c, c.QueryParam("token"))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if v.Invalid {
		status = http.StatusNotFound
	}
	return render(c, status, admin.InviteAccept(h.shell(c, "Accept invitation"), v))
}

func (h *Handler) inviteAccept(c echo.Context) error {
	ctx := c.Request().Context()
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	token := c.FormValue("token")
	a := actorFrom(ctx)
	var signedIn *store.ID
	if a != nil {
		signedIn = &a.UserID
	}
	res, err := identity.InvitationAccept(ctx, h.db, identity.InvitationAcceptParams{
		Token: token, Name: c.FormValue("name"), Password: c.FormValue("password"),
		PasswordConfirm: c.FormValue("password_confirm"), SignedInUserID: signedIn,
		RequestID: requestIDFrom(ctx), ClientIP: c.RealIP(),
	})
	switch code := store.ErrorCode(err); code {
	case "":
	case store.NotFound, store.Invalid, store.Unauthenticated, store.Conflict:
		if code == store.NotFound && c.Request().Header.Get("HX-Request") == "true" {
			// Used up a moment ago (a second click): show the page that says so.
			return redirect(c, inviteAcceptPath(token))
		}
		if code != store.Invalid && code != store.NotFound && c.Request().Header.Get("HX-Request") == "true" {
			return err // a toast with the message
		}
		v, verr := h.inviteAcceptView(c, token)
		if verr != nil {
			return verr
		}
		if code == store.Invalid {
			v.Name = c.FormValue("name")
			v.Errors = fieldErrors(err, "name", "password", "password_confirm")
		} else if !v.Invalid {
			v.Message = store.ErrorMessage(err)
		}
		return render(c, statusOf(err), admin.InviteAccept(h.shell(c, "Accept invitation"), v))
	default:
		return err
	}
	if res.NewAccount {
		// Someone else was signed in in this browser: their session ends here, the new account's begins.
		if a != nil {
			if err := h.sessionEnd(ctx, a.UserID, h.sessions.GetString(ctx, sessSID)); err != nil {
				return err
			}
		}
		if err := h.signIn(c, res.UserID, res.TenantID); err != nil {
			return err
		}
		h.flash(ctx, "Welcome to "+res.TenantName+". Your account is ready.")
	} else {
		if err := h.tenantSet(ctx, res.TenantID); err != nil {
			return err
		}
		h.flash(ctx, "You have joined "+res.TenantName+".")
	}
	return redirect(c, "/")
}
