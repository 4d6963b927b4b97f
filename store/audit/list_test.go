package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
)

// eventInsert writes an event at a chosen time, as the owner: the app role cannot choose occurred_at.
func (tb *testBundle) eventInsert(ctx context.Context, t *testing.T, tenant store.ID, at string, actor *store.ID, action, entityType, entityID string) store.ID {
	t.Helper()
	id := store.NewID()
	when, err := time.Parse(time.RFC3339, at)
	require.NoError(t, err)
	tb.ownerExec(ctx, t, `
		INSERT INTO audit_events (tenant_id, id, occurred_at, actor_id, action, entity_type, entity_id, before, after)
		VALUES ($1, $2, $3, $4, $5, $6, $7, '{"name":"a"}', '{"name":"b"}')`,
		tenant, id, when, actor, action, entityType, entityID)
	return id
}

func eventIDs(events []audit.ListedEvent) []store.ID {
	ids := []store.ID{}
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	return ids
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant, other := tb.tenantCreate(ctx, t), tb.tenantCreate(ctx, t)
	alice, bob := store.NewID(), store.NewID()
	e1 := tb.eventInsert(ctx, t, tenant, "2026-03-01T23:30:00Z", &alice, "department.create", "department", "d1")
	e2 := tb.eventInsert(ctx, t, tenant, "2026-03-02T00:30:00Z", &bob, "department.rename", "department", "d1")
	e3 := tb.eventInsert(ctx, t, tenant, "2026-03-02T12:00:00Z", &alice, "auth.sign_in", "user", "u1")
	e4 := tb.eventInsert(ctx, t, tenant, "2026-03-03T22:59:00Z", nil, "auth.sign_in_failed", "user", "u1")
	tb.eventInsert(ctx, t, other, "2026-03-02T12:00:00Z", &alice, "auth.sign_in", "user", "u1")
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)

	tests := []struct {
		name string
		p    audit.ListParams
		want []store.ID
	}{
		{"All", audit.ListParams{}, []store.ID{e4, e3, e2, e1}},
		{"ActionPrefix", audit.ListParams{Action: "auth"}, []store.ID{e4, e3}},
		{"ActionWhole", audit.ListParams{Action: "auth.sign_in"}, []store.ID{e3}},
		{"ActionTrailingDot", audit.ListParams{Action: " Department. "}, []store.ID{e2, e1}},
		{"ActionPartOfAWord", audit.ListParams{Action: "auth.sign"}, []store.ID{}},
		{"Actor", audit.ListParams{Actor: alice.String()}, []store.ID{e3, e1}},
		{"EntityType", audit.ListParams{EntityType: "user"}, []store.ID{e4, e3}},
		{"Entity", audit.ListParams{EntityType: "department", EntityID: "d1"}, []store.ID{e2, e1}},
		{"EntityOtherID", audit.ListParams{EntityType: "department", EntityID: "d2"}, []store.ID{}},
		// 2 March in Berlin (UTC+1) runs from 1 March 23:00 to 2 March 23:00 UTC.
		{"DayInTenantZone", audit.ListParams{From: "2026-03-02", To: "2026-03-02", Location: berlin}, []store.ID{e3, e2, e1}},
		{"DayInUTC", audit.ListParams{From: "2026-03-02", To: "2026-03-02"}, []store.ID{e3, e2}},
		{"FromOnly", audit.ListParams{From: "2026-03-03", Location: berlin}, []store.ID{e4}},
		{"ToOnly", audit.ListParams{To: "2026-03-01", Location: berlin}, []store.ID{}},
		{"Combined", audit.ListParams{Actor: alice.String(), Action: "department", From: "2026-03-02", Location: berlin}, []store.ID{e1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := audit.List(ctx, tb.db, store.Scope{TenantID: tenant}, tt.p)
			require.NoError(t, err)
			require.Equal(t, tt.want, eventIDs(res.Events))
		})
	}

	t.Run("PagesKeepFilters", func(t *testing.T) {
		p := audit.ListParams{Action: "department", Limit: 1}
		first, err := audit.List(ctx, tb.db, store.Scope{TenantID: tenant}, p)
		require.NoError(t, err)
		require.Equal(t, []store.ID{e2}, eventIDs(first.Events))
		require.NotEmpty(t, first.Next)
		p.After = first.Next
		second, err := audit.List(ctx, tb.db, store.Scope{TenantID: tenant}, p)
		require.NoError(t, err)
		require.Equal(t, []store.ID{e1}, eventIDs(second.Events))
		require.Empty(t, second.Next)
	})

	t.Run("InvalidFilters", func(t *testing.T) {
		for _, tt := range []struct {
			p     audit.ListParams
			field string
		}{
			{audit.ListParams{Actor: "someone"}, "actor"},
			{audit.ListParams{Action: "auth'; --"}, "action"},
			{audit.ListParams{From: "03/02/2026"}, "from"},
			{audit.ListParams{To: "2026-02-30"}, "to"},
			{audit.ListParams{From: "2026-03-03", To: "2026-03-02"}, "to"},
			{audit.ListParams{EntityID: "d1"}, "entity_type"},
		} {
			_, err := audit.List(ctx, tb.db, store.Scope{TenantID: tenant}, tt.p)
			var appErr *store.Error
			require.ErrorAs(t, err, &appErr, "%+v", tt.p)
			require.Equal(t, store.Invalid, appErr.Code)
			require.Contains(t, appErr.Fields, tt.field, "%+v", tt.p)
		}
		_, err := audit.List(ctx, tb.db, store.Scope{TenantID: tenant}, audit.ListParams{After: "???"})
		require.Equal(t, store.Invalid, store.ErrorCode(err))
	})
}

func TestGet(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant, other := tb.tenantCreate(ctx, t), tb.tenantCreate(ctx, t)
	actor := store.NewID()
	id := tb.eventInsert(ctx, t, tenant, "2026-03-01T10:00:00Z", &actor, "department.rename", "department", "d1")

	ev, err := audit.Get(ctx, tb.db, store.Scope{TenantID: tenant}, id)
	require.NoError(t, err)
	require.Equal(t, "department.rename", ev.Action)
	require.JSONEq(t, `{"name":"a"}`, string(ev.Before))
	require.Nil(t, ev.SealSeq)

	_, err = audit.Seal(ctx, tb.db, tenant)
	require.NoError(t, err)
	ev, err = audit.Get(ctx, tb.db, store.Scope{TenantID: tenant}, id)
	require.NoError(t, err)
	require.Equal(t, int64(1), *ev.SealSeq)
	require.NotNil(t, ev.SealedAt)

	_, err = audit.Get(ctx, tb.db, store.Scope{TenantID: other}, id)
	require.Equal(t, store.NotFound, store.ErrorCode(err))
	_, err = audit.Get(ctx, tb.db, store.Scope{TenantID: tenant}, store.NewID())
	require.Equal(t, store.NotFound, store.ErrorCode(err))
}

func TestActorChoices(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	acme, err := identity.TenantCreate(ctx, tb.db, store.Scope{}, identity.TenantCreateParams{Name: "Acme", Slug: "acme", TimeZone: "UTC", Currency: "EUR"})
	require.NoError(t, err)
	globex, err := identity.TenantCreate(ctx, tb.db, store.Scope{}, identity.TenantCreateParams{Name: "Globex", Slug: "globex", TimeZone: "UTC", Currency: "EUR"})
	require.NoError(t, err)
	member := func(tenant store.ID, email, name string) store.ID {
		u, err := identity.UserCreate(ctx, tb.db, store.Scope{TenantID: tenant}, identity.UserCreateParams{Email: email, Name: name, Password: "long enough passphrase"})
		require.NoError(t, err)
		require.NoError(t, identity.MemberAdd(ctx, tb.db, store.Scope{TenantID: tenant}, identity.MemberAddParams{UserID: u.ID, Role: identity.RoleEmployee}))
		return u.ID
	}
	zed := member(acme.ID, "zed@example.com", "Zed")
	amy := member(acme.ID, "amy@example.com", "amy")
	member(globex.ID, "gus@example.com", "Gus")

	choices, err := audit.ActorChoices(ctx, tb.db, store.Scope{TenantID: acme.ID})
	require.NoError(t, err)
	require.Len(t, choices, 2)
	require.Equal(t, []store.ID{amy, zed}, []store.ID{choices[0].ID, choices[1].ID})
	require.Equal(t, "zed@example.com", choices[1].Email)
}
