package handlers

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/apiauth"
	"ledgerline/store/identity"
	"ledgerline/views/apiadmin"
	"ledgerline/views/ui"
)

// adminAPIClients lists the tenant's OAuth clients with the form to register one.
func (h *Handler) adminAPIClients(c echo.Context) error {
	return h.adminAPIClientsPage(c, http.StatusOK, h.clientForm(c, "", nil), nil, "")
}

// adminAPIClientCreate registers a client and shows its id and secret once.
func (h *Handler) adminAPIClientCreate(c echo.Context) error {
	if err := c.Request().ParseForm(); err != nil {
		return store.Errorf(store.Invalid, "The form could not be read.")
	}
	form := c.Request().PostForm
	var scopes []identity.Permission
	for _, s := range form["scopes"] {
		scopes = append(scopes, identity.Permission(s))
	}
	res, err := apiauth.ClientCreate(c.Request().Context(), h.db, scope(c), apiauth.ClientCreateParams{
		Name: form.Get("name"), Scopes: scopes,
	})
	var se *store.Error
	if errors.As(err, &se) && se.Code == store.Invalid {
		f := h.clientForm(c, form.Get("name"), scopes)
		f.Errors = fieldErrors(err, "name", "scopes")
		return h.adminAPIClientsPage(c, http.StatusUnprocessableEntity, f, nil, "")
	}
	if err != nil {
		return err
	}
	return h.adminAPIClientsPage(c, http.StatusCreated, h.clientForm(c, "", nil), res.Client, res.Secret)
}

// adminAPIClientRevoke revokes a client.
func (h *Handler) adminAPIClientRevoke(c echo.Context) error {
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	if err := apiauth.ClientRevoke(c.Request().Context(), h.db, scope(c), id); err != nil {
		return err
	}
	h.flash(c.Request().Context(), "The client is revoked; its access tokens stop working at once.")
	return redirect(c, "/admin/api-clients")
}

func (h *Handler) clientForm(c echo.Context, name string, checked []identity.Permission) apiadmin.ClientForm {
	a := actorFrom(c.Request().Context())
	f := apiadmin.ClientForm{CSRFToken: csrfToken(c), Name: name}
	for _, p := range a.Role.Permissions() {
		f.Scopes = append(f.Scopes, apiadmin.TokenScope{Name: string(p), Label: p.Label(), Checked: slices.Contains(checked, p)})
	}
	return f
}

func (h *Handler) adminAPIClientsPage(c echo.Context, status int, form apiadmin.ClientForm, created *apiauth.Client, secret string) error {
	ctx := c.Request().Context()
	a := actorFrom(ctx)
	clients, err := apiauth.ClientList(ctx, h.db, scope(c))
	if err != nil {
		return err
	}
	loc := a.Tenant.Location()
	v := apiadmin.ClientsView{Form: form, TokenURL: strings.TrimSuffix(h.baseURL.String(), "/") + apiV1 + "/oauth/token"}
	if created != nil {
		v.NewID, v.NewName, v.NewSecret = created.ID.String(), created.Name, secret
	}
	for _, cl := range clients {
		r := apiadmin.ClientRow{
			ID: cl.ID.String(), Name: cl.Name, CreatedBy: "someone", Created: cl.CreatedAt.In(loc).Format("2 Jan 2006"),
			LastUsed: "Never", Status: "Active", StatusKind: ui.BadgeApproved, Revocable: true,
		}
		if cl.CreatedByName != nil {
			r.CreatedBy = *cl.CreatedByName
		}
		for _, s := range cl.Scopes {
			r.Scopes = append(r.Scopes, string(s))
		}
		if cl.LastUsedAt != nil {
			r.LastUsed = cl.LastUsedAt.In(loc).Format("2 Jan 2006 15:04")
		}
		if cl.RevokedAt != nil {
			r.Status, r.StatusKind, r.Revocable = "Revoked", ui.BadgeRejected, false
		}
		v.Clients = append(v.Clients, r)
	}
	return render(c, status, apiadmin.Clients(h.shell(c, "API clients"), v))
}
