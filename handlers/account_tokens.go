package handlers

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/apiauth"
	"ledgerline/store/identity"
	"ledgerline/views/apiadmin"
	"ledgerline/views/ui"
)

// tokenExpiryDays are the lifetimes offered for a personal access token; the longest is the maximum.
var tokenExpiryDays = []struct {
	days  int
	label string
}{{7, "In 7 days"}, {30, "In 30 days"}, {90, "In 90 days"}, {365, "In one year"}}

const tokenExpiryDefault = 30

// accountTokens shows the member's personal access tokens and the form to create one.
func (h *Handler) accountTokens(c echo.Context) error {
	return h.accountTokensPage(c, http.StatusOK, h.tokenForm(c, "", nil, tokenExpiryDefault), "", "")
}

// accountTokenCreate creates a token and shows its secret once, on the page itself (no redirect: the
// secret must not travel through the session or a URL).
func (h *Handler) accountTokenCreate(c echo.Context) error {
	if err := c.Request().ParseForm(); err != nil {
		return store.Errorf(store.Invalid, "The form could not be read.")
	}
	form := c.Request().PostForm
	var scopes []identity.Permission
	for _, s := range form["scopes"] {
		scopes = append(scopes, identity.Permission(s))
	}
	days, _ := strconv.Atoi(form.Get("expires_in_days"))
	var expires time.Time
	if slices.ContainsFunc(tokenExpiryDays, func(e struct {
		days  int
		label string
	}) bool {
		return e.days == days
	}) {
		expires = time.Now().Add(time.Duration(days) * 24 * time.Hour)
	}
	res, err := apiauth.TokenCreate(c.Request().Context(), h.db, scope(c), apiauth.TokenCreateParams{
		Name: form.Get("name"), Scopes: scopes, ExpiresAt: expires,
	})
	var se *store.Error
	if errors.As(err, &se) && se.Code == store.Invalid {
		f := h.tokenForm(c, form.Get("name"), scopes, days)
		f.Errors = fieldErrors(err, "name", "scopes", "expires_at")
		return h.accountTokensPage(c, http.StatusUnprocessableEntity, f, "", "")
	}
	if err != nil {
		return err
	}
	return h.accountTokensPage(c, http.StatusCreated, h.tokenForm(c, "", nil, tokenExpiryDefault), res.Token.Name, res.Secret)
}

// accountTokenRevoke revokes one of the member's own tokens.
func (h *Handler) accountTokenRevoke(c echo.Context) error {
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	if err := apiauth.TokenRevoke(c.Request().Context(), h.db, scope(c), id); err != nil {
		return err
	}
	h.flash(c.Request().Context(), "The token is revoked; scripts using it stop working at once.")
	return redirect(c, "/account/tokens")
}

// tokenForm offers the scopes of the member's current role.
func (h *Handler) tokenForm(c echo.Context, name string, checked []identity.Permission, days int) apiadmin.TokenForm {
	a := actorFrom(c.Request().Context())
	f := apiadmin.TokenForm{CSRFToken: csrfToken(c), Name: name}
	for _, p := range a.Role.Permissions() {
		f.Scopes = append(f.Scopes, apiadmin.TokenScope{Name: string(p), Label: p.Label(), Checked: slices.Contains(checked, p)})
	}
	for _, e := range tokenExpiryDays {
		f.Expiry = append(f.Expiry, apiadmin.ExpiryChoice{Days: strconv.Itoa(e.days), Label: e.label, Selected: e.days == days})
	}
	return f
}

func (h *Handler) accountTokensPage(c echo.Context, status int, form apiadmin.TokenForm, newName, newSecret string) error {
	ctx := c.Request().Context()
	a := actorFrom(ctx)
	tokens, err := apiauth.TokenList(ctx, h.db, scope(c))
	if err != nil {
		return err
	}
	loc := a.Tenant.Location()
	now := time.Now()
	v := apiadmin.TokensView{Form: form, NewName: newName, NewSecret: newSecret}
	for _, t := range tokens {
		r := apiadmin.TokenRow{
			ID: t.ID.String(), Name: t.Name, Created: t.CreatedAt.In(loc).Format("2 Jan 2006"),
			Expires: t.ExpiresAt.In(loc).Format("2 Jan 2006 15:04"), LastUsed: "Never",
			Status: "Active", StatusKind: ui.BadgeApproved, Revocable: true,
		}
		for _, s := range t.Scopes {
			r.Scopes = append(r.Scopes, string(s))
		}
		if t.LastUsedAt != nil {
			r.LastUsed = t.LastUsedAt.In(loc).Format("2 Jan 2006 15:04")
		}
		switch {
		case t.RevokedAt != nil:
			r.Status, r.StatusKind, r.Revocable = "Revoked", ui.BadgeRejected, false
		case !t.Active(now):
			r.Status, r.StatusKind, r.Revocable = "Expired", ui.BadgeDraft, false
		}
		v.Tokens = append(v.Tokens, r)
	}
	return render(c, status, apiadmin.Tokens(h.shell(c, "API tokens"), v))
}
