package identity_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/identity"
)

const inviteLinkPrefix = "https://ledgerline.test/invite/accept?token="

// invite creates an invitation as acme's admin and returns it with the token read back out of the sealed
// e-mail, the only place the token exists in clear.
func (tb *testBundle) invite(ctx context.Context, t *testing.T, sc store.Scope, p identity.InvitationCreateParams) (*identity.Invitation, string) {
	t.Helper()
	to := strings.TrimSpace(p.Email)
	before := len(tb.emails(ctx, t, to))
	p.LinkPrefix = inviteLinkPrefix
	inv, err := identity.InvitationCreate(ctx, tb.db, sc, p)
	require.NoError(t, err)
	emails := tb.emails(ctx, t, to)
	require.Len(t, emails, before+1, "one e-mail queued to %s", to)
	text, err := emails[len(emails)-1].Open(tb.db.Secrets)
	require.NoError(t, err)
	_, rest, ok := strings.Cut(text, inviteLinkPrefix)
	require.True(t, ok, "invitation link in %q", text)
	token := strings.Fields(rest)[0]
	require.NotEmpty(t, token)
	return inv, token
}

// invitationExpire moves an invitation's expiry into the past.
func (tb *testBundle) invitationExpire(ctx context.Context, t *testing.T, tenant, id store.ID) {
	t.Helper()
	require.NoError(t, tb.db.InTenant(ctx, store.Scope{TenantID: tenant}, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE invitations SET expires_at = now() - interval '1 second' WHERE id = $1`, id)
		return err
	}))
}

func TestInvitationCreate(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)
	admin := scopeOf(f.acme, f.ada)

	t.Run("StoresHashAndQueuesEmail", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		inv, token := tb.invite(ctx, t, admin, identity.InvitationCreateParams{
			Email: " new.person@example.com ", Name: " New Person ", Role: identity.RoleFinance, DepartmentID: &f.fin})
		require.Equal(t, "new.person@example.com", inv.Email)
		require.Equal(t, "New Person", inv.Name)
		require.Equal(t, identity.RoleFinance, inv.Role)
		require.Equal(t, "Finance", *inv.DepartmentName)
		require.Equal(t, &f.ada, inv.InvitedBy)
		require.Equal(t, "Ada Admin", *inv.InvitedByName)
		require.WithinDuration(t, start.Add(identity.InvitationTTL), inv.ExpiresAt, time.Minute)
		require.False(t, inv.Expired(time.Now()))

		// Only the hash is stored.
		sum := sha256.Sum256([]byte(token))
		var stored []byte
		require.NoError(t, tb.db.InTenant(ctx, store.Scope{TenantID: f.acme}, func(tx *store.Tx) error {
			return tx.GetContext(ctx, &stored, `SELECT token_hash FROM invitations WHERE id = $1`, inv.ID)
		}))
		require.Equal(t, sum[:], stored)

		mail := tb.emails(ctx, t, "new.person@example.com")
		require.Len(t, mail, 1)
		require.Equal(t, "You are invited to join Acme on Ledgerline", mail[0].Subject)
		require.NotContains(t, string(mail[0].SealedText), token, "body sealed")
		text, err := mail[0].Open(tb.db.Secrets)
		require.NoError(t, err)
		require.Contains(t, text, "Ada Admin invited you to join Acme on Ledgerline as Finance")
		require.Contains(t, text, "expires in 7 days")

		events := tb.events(ctx, t, f.acme, "invitation.create")
		var mine []string
		for _, ev := range events {
			if ev.EntityID == inv.ID.String() {
				require.Equal(t, &f.ada, ev.ActorID)
				require.NotContains(t, string(ev.After), token)
				mine = append(mine, ev.EntityID)
			}
		}
		require.Len(t, mine, 1)

		// A second invitation to the same address, while this one is open, is refused.
		_, err = identity.InvitationCreate(ctx, tb.db, admin, identity.InvitationCreateParams{
			Email: "NEW.person@example.com", Name: "Again", Role: identity.RoleEmployee, LinkPrefix: inviteLinkPrefix})
		requireCode(t, store.Conflict, err)
		var appErr *store.Error
		require.ErrorAs(t, err, &appErr)
		require.Contains(t, appErr.Fields["email"], "still open")
		require.Len(t, tb.emails(ctx, t, "NEW.person@example.com"), 0)
	})

	t.Run("ExpiredInvitationIsReplaced", func(t *testing.T) {
		t.Parallel()
		old, oldToken := tb.invite(ctx, t, admin, identity.InvitationCreateParams{
			Email: "late@example.com", Name: "Late", Role: identity.RoleEmployee})
		tb.invitationExpire(ctx, t, f.acme, old.ID)
		_, newToken := tb.invite(ctx, t, admin, identity.InvitationCreateParams{
			Email: "late@example.com", Name: "Late", Role: identity.RoleEmployee})
		_, err := identity.InvitationCheck(ctx, tb.db, oldToken)
		requireCode(t, store.NotFound, err)
		_, err = identity.InvitationCheck(ctx, tb.db, newToken)
		require.NoError(t, err)
	})

	t.Run("BadInput", func(t *testing.T) {
		t.Parallel()
		_, err := identity.InvitationCreate(ctx, tb.db, admin, identity.InvitationCreateParams{
			Email: "Pat <pat@example.com>", Name: " ", Role: "boss"})
		requireFields(t, err, "email", "name", "role")
		_, err = identity.InvitationCreate(ctx, tb.db, admin, identity.InvitationCreateParams{
			Email: "pat@example.com", Name: "Pat", Role: identity.RoleEmployee, DepartmentID: &f.stores})
		requireFields(t, err, "department_id")
	})

	t.Run("MembersAreNotInvited", func(t *testing.T) {
		t.Parallel()
		_, err := identity.InvitationCreate(ctx, tb.db, admin, identity.InvitationCreateParams{
			Email: "MAX@acme.example", Name: "Max", Role: identity.RoleEmployee})
		requireCode(t, store.Conflict, err)
		require.Contains(t, store.ErrorMessage(err), "already a member")

		// Globex's member is a stranger to acme: they may be invited.
		_, _ = tb.invite(ctx, t, admin, identity.InvitationCreateParams{
			Email: "gwen@globex.example", Name: "Gwen", Role: identity.RoleAuditor})
	})

	t.Run("NeedsAdminUsers", func(t *testing.T) {
		t.Parallel()
		noScope := store.Scope{TenantID: f.acme, ClientID: store.NewID(), ClientScopes: []string{string(identity.AuditRead)}}
		for _, sc := range []store.Scope{scopeOf(f.acme, f.max), noScope, scopeOf(f.globex, f.ada)} {
			_, err := identity.InvitationCreate(ctx, tb.db, sc, identity.InvitationCreateParams{
				Email: "nobody@example.com", Name: "Nobody", Role: identity.RoleAdmin, LinkPrefix: inviteLinkPrefix})
			requireCode(t, store.Forbidden, err)
		}
		require.Empty(t, tb.emails(ctx, t, "nobody@example.com"))
	})
}

func TestInvitationCreateDeactivatedMember(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)
	admin := scopeOf(f.acme, f.ada)
	_, err := identity.MemberDeactivate(ctx, tb.db, admin, f.eli)
	require.NoError(t, err)
	_, err = identity.InvitationCreate(ctx, tb.db, admin, identity.InvitationCreateParams{
		Email: "eli@acme.example", Name: "Eli", Role: identity.RoleEmployee})
	requireCode(t, store.Conflict, err)
	require.Contains(t, store.ErrorMessage(err), "Reactivate them")
}

func TestInvitationListRevoke(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)
	admin := scopeOf(f.acme, f.ada)

	var ids []store.ID
	tokens := map[store.ID]string{}
	for _, email := range []string{"one@example.com", "two@example.com", "three@example.com"} {
		inv, token := tb.invite(ctx, t, admin, identity.InvitationCreateParams{Email: email, Name: "Person", Role: identity.RoleEmployee})
		ids = append(ids, inv.ID)
		tokens[inv.ID] = token
	}
	gInv, gToken := tb.invite(ctx, t, scopeOf(f.globex, f.gus), identity.InvitationCreateParams{
		Email: "g@example.com", Name: "G", Role: identity.RoleEmployee})
	tb.invitationExpire(ctx, t, f.acme, ids[0])

	first, err := identity.InvitationList(ctx, tb.db, admin, identity.InvitationListParams{Limit: 2})
	require.NoError(t, err)
	require.Len(t, first.Invitations, 2)
	require.Equal(t, ids[2], first.Invitations[0].ID, "newest first")
	require.Equal(t, ids[1], first.Invitations[1].ID)
	require.NotEmpty(t, first.Next)
	second, err := identity.InvitationList(ctx, tb.db, admin, identity.InvitationListParams{Limit: 2, After: first.Next})
	require.NoError(t, err)
	require.Len(t, second.Invitations, 1)
	require.Equal(t, ids[0], second.Invitations[0].ID)
	require.True(t, second.Invitations[0].Expired(time.Now()), "expired invitations stay listed")
	require.Empty(t, second.Next)
	_, err = identity.InvitationList(ctx, tb.db, admin, identity.InvitationListParams{After: "garbage"})
	requireCode(t, store.Invalid, err)

	// Revoking: the link stops working, the list forgets it, a second revoke finds nothing.
	require.NoError(t, identity.InvitationRevoke(ctx, tb.db, admin, ids[1]))
	_, err = identity.InvitationCheck(ctx, tb.db, tokens[ids[1]])
	requireCode(t, store.NotFound, err)
	all, err := identity.InvitationList(ctx, tb.db, admin, identity.InvitationListParams{})
	require.NoError(t, err)
	require.Len(t, all.Invitations, 2)
	requireCode(t, store.NotFound, identity.InvitationRevoke(ctx, tb.db, admin, ids[1]))
	events := tb.events(ctx, t, f.acme, "invitation.revoke")
	require.Len(t, events, 1)
	var before, after identity.Invitation
	require.NoError(t, json.Unmarshal(events[0].Before, &before))
	require.NoError(t, json.Unmarshal(events[0].After, &after))
	require.Nil(t, before.RevokedAt)
	require.NotNil(t, after.RevokedAt)

	// Tenant A's admin can neither see nor revoke tenant B's invitation.
	for _, inv := range all.Invitations {
		require.NotEqual(t, gInv.ID, inv.ID)
	}
	requireCode(t, store.NotFound, identity.InvitationRevoke(ctx, tb.db, admin, gInv.ID))
	_, err = identity.InvitationCheck(ctx, tb.db, gToken)
	require.NoError(t, err, "globex's invitation still works")

	// Only admins.
	_, err = identity.InvitationList(ctx, tb.db, scopeOf(f.acme, f.max), identity.InvitationListParams{})
	requireCode(t, store.Forbidden, err)
	requireCode(t, store.Forbidden, identity.InvitationRevoke(ctx, tb.db, scopeOf(f.acme, f.max), ids[2]))
	_, err = identity.InvitationList(ctx, tb.db, scopeOf(f.globex, f.ada), identity.InvitationListParams{})
	requireCode(t, store.Forbidden, err)
}

func TestInvitationAcceptNewAccount(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)
	admin := scopeOf(f.acme, f.ada)
	inv, token := tb.invite(ctx, t, admin, identity.InvitationCreateParams{
		Email: "Nora@Example.com", Name: "Nora N", Role: identity.RoleManager, DepartmentID: &f.ops})

	pv, err := identity.InvitationCheck(ctx, tb.db, token)
	require.NoError(t, err)
	require.Equal(t, f.acme, pv.TenantID)
	require.Equal(t, "Acme", pv.TenantName)
	require.Equal(t, "Nora@Example.com", pv.Email)
	require.Equal(t, "Nora N", pv.Name)
	require.Equal(t, identity.RoleManager, pv.Role)
	require.Equal(t, "Operations", *pv.DepartmentName)
	require.Nil(t, pv.ExistingUserID)

	accept := func(name, pw, confirm string) (*identity.InvitationAcceptResult, error) {
		return identity.InvitationAccept(ctx, tb.db, identity.InvitationAcceptParams{
			Token: token, Name: name, Password: pw, PasswordConfirm: confirm, RequestID: "req-accept", ClientIP: "192.0.2.8"})
	}
	_, err = accept(" ", "short", "other")
	requireFields(t, err, "name", "password", "password_confirm")
	_, err = accept("Nora", password, password+"x")
	requireFields(t, err, "password_confirm")

	res, err := accept(" Nora Newcomer ", password, password)
	require.NoError(t, err)
	require.True(t, res.NewAccount)
	require.Equal(t, f.acme, res.TenantID)

	// The account signs in with the chosen password and works in acme with the invited role.
	signed, err := identity.SignIn(ctx, tb.db, identity.SignInParams{Email: "nora@example.com", Password: password})
	require.NoError(t, err)
	require.Equal(t, res.UserID, signed.UserID)
	a, err := identity.ActorLoad(ctx, tb.db, res.UserID, f.acme)
	require.NoError(t, err)
	require.Equal(t, "Nora Newcomer", a.Name)
	require.Equal(t, "Nora@Example.com", a.Email)
	require.Equal(t, identity.RoleManager, a.Role)
	require.Equal(t, &f.ops, a.DepartmentID)

	for _, action := range []string{"user.create", "membership.create", "invitation.accept"} {
		events := eventsOfRequest(tb.events(ctx, t, f.acme, action), "req-accept")
		require.Len(t, events, 1, action)
		require.Equal(t, &res.UserID, events[0].ActorID, action)
		require.Equal(t, "192.0.2.8", events[0].ClientIP, action)
	}
	accepted := eventsOfRequest(tb.events(ctx, t, f.acme, "invitation.accept"), "req-accept")[0]
	require.Equal(t, inv.ID.String(), accepted.EntityID)

	// The link is used up.
	_, err = accept("Nora", password, password)
	requireCode(t, store.NotFound, err)
	_, err = identity.InvitationCheck(ctx, tb.db, token)
	requireCode(t, store.NotFound, err)
	list, err := identity.InvitationList(ctx, tb.db, admin, identity.InvitationListParams{})
	require.NoError(t, err)
	require.Empty(t, list.Invitations)
}

func TestInvitationAcceptExistingAccount(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)
	// Globex invites acme's Max, who has an account.
	_, token := tb.invite(ctx, t, scopeOf(f.globex, f.gus), identity.InvitationCreateParams{
		Email: "max@ACME.example", Name: "Max", Role: identity.RoleAuditor, DepartmentID: &f.stores})
	pv, err := identity.InvitationCheck(ctx, tb.db, token)
	require.NoError(t, err)
	require.Equal(t, &f.max, pv.ExistingUserID)

	// Not signed in, or signed in as someone else: refused, whatever password is typed; the link still works.
	for _, signedIn := range []*store.ID{nil, &f.eli} {
		_, err = identity.InvitationAccept(ctx, tb.db, identity.InvitationAcceptParams{
			Token: token, Name: "Mallory", Password: "a new password for max", PasswordConfirm: "a new password for max",
			SignedInUserID: signedIn})
		requireCode(t, store.Unauthenticated, err)
		require.Contains(t, store.ErrorMessage(err), "Sign in")
	}
	_, err = identity.InvitationCheck(ctx, tb.db, token)
	require.NoError(t, err)

	res, err := identity.InvitationAccept(ctx, tb.db, identity.InvitationAcceptParams{Token: token, SignedInUserID: &f.max})
	require.NoError(t, err)
	require.False(t, res.NewAccount)
	require.Equal(t, f.max, res.UserID)
	require.Equal(t, f.globex, res.TenantID)
	a, err := identity.ActorLoad(ctx, tb.db, f.max, f.globex)
	require.NoError(t, err)
	require.Equal(t, identity.RoleAuditor, a.Role)
	require.Len(t, a.Memberships, 2)
	// The password and name are unchanged.
	_, err = identity.SignIn(ctx, tb.db, identity.SignInParams{Email: "max@acme.example", Password: password})
	require.NoError(t, err)
	require.Equal(t, "Max Manager", a.Name)
}

func TestInvitationAcceptUnusableLinks(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)
	admin := scopeOf(f.acme, f.ada)

	expired, expiredToken := tb.invite(ctx, t, admin, identity.InvitationCreateParams{Email: "x@example.com", Name: "X", Role: identity.RoleEmployee})
	tb.invitationExpire(ctx, t, f.acme, expired.ID)
	revoked, revokedToken := tb.invite(ctx, t, admin, identity.InvitationCreateParams{Email: "y@example.com", Name: "Y", Role: identity.RoleEmployee})
	require.NoError(t, identity.InvitationRevoke(ctx, tb.db, admin, revoked.ID))

	for name, token := range map[string]string{
		"Expired": expiredToken, "Revoked": revokedToken, "Unknown": "bm90LWEtdG9rZW4", "Empty": "",
		"TooLong": strings.Repeat("a", 300),
	} {
		_, err := identity.InvitationCheck(ctx, tb.db, token)
		requireCode(t, store.NotFound, err)
		_, err = identity.InvitationAccept(ctx, tb.db, identity.InvitationAcceptParams{
			Token: token, Name: "Z", Password: password, PasswordConfirm: password})
		requireCode(t, store.NotFound, err)
		require.Contains(t, store.ErrorMessage(err), "expired, was revoked or was already used", name)
	}
	for _, email := range []string{"x@example.com", "y@example.com"} {
		_, err := identity.UserIDByEmail(ctx, tb.db, email)
		requireCode(t, store.NotFound, err)
	}
}

func TestInvitationAcceptDeletedDepartment(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)
	_, token := tb.invite(ctx, t, scopeOf(f.acme, f.ada), identity.InvitationCreateParams{
		Email: "d@example.com", Name: "D", Role: identity.RoleEmployee, DepartmentID: &f.fin})
	require.NoError(t, tb.db.InTenant(ctx, store.Scope{TenantID: f.acme}, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE departments SET deleted_at = now() WHERE id = $1`, f.fin)
		return err
	}))
	res, err := identity.InvitationAccept(ctx, tb.db, identity.InvitationAcceptParams{
		Token: token, Name: "D", Password: password, PasswordConfirm: password})
	require.NoError(t, err)
	a, err := identity.ActorLoad(ctx, tb.db, res.UserID, f.acme)
	require.NoError(t, err)
	require.Nil(t, a.DepartmentID, "joined without the deleted department")
}

// TestInvitationAcceptOnce submits the same link many times at once: one account, one membership, one
// acceptance; every other submit finds the link used.
func TestInvitationAcceptOnce(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)
	_, token := tb.invite(ctx, t, scopeOf(f.acme, f.ada), identity.InvitationCreateParams{
		Email: "twice@example.com", Name: "Twice", Role: identity.RoleEmployee})
	_, tokenExisting := tb.invite(ctx, t, scopeOf(f.globex, f.gus), identity.InvitationCreateParams{
		Email: "eli@acme.example", Name: "Eli", Role: identity.RoleEmployee})

	for name, params := range map[string]identity.InvitationAcceptParams{
		"NewAccount":      {Token: token, Name: "Twice", Password: password, PasswordConfirm: password},
		"ExistingAccount": {Token: tokenExisting, SignedInUserID: &f.eli},
	} {
		const n = 8
		start := make(chan struct{})
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = identity.InvitationAccept(ctx, tb.db, params)
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				requireCode(t, store.NotFound, err)
			}
		}
		require.Equal(t, 1, ok, "%s: exactly one accept succeeds (%v)", name, errs)
	}
	for tenant, want := range map[store.ID]int{f.acme: 1, f.globex: 1} {
		require.Len(t, tb.events(ctx, t, tenant, "invitation.accept"), want)
	}
	require.Len(t, tb.events(ctx, t, f.acme, "membership.create"), 5, "four from the fixture, one accepted")
	_, err := identity.UserIDByEmail(ctx, tb.db, "twice@example.com")
	require.NoError(t, err)
}
