package approvals

import (
	"context"

	"ledgerline/store"
)

// Small pages let the export tests cross page boundaries with a few rows.
var (
	RequestsEachPaged   = requestsEach
	InboxItemsEachPaged = inboxItemsEach
)

// The inbox's queries and principals, for the tests that compare it with a reference and read its plans.
var (
	PrincipalsOf    = principalsOf
	InboxPageQuery  = inboxPageQuery
	InboxCountQuery = inboxCountQuery
)

// InboxBothWays reads the actor's first inbox page with the explicit scan the store uses and with sqlx's
// reflection, for TestListScansMatchReflection.
func InboxBothWays(ctx context.Context, db *store.DB, scope store.Scope) (explicit, reflected []InboxItem, err error) {
	err = db.InTenant(ctx, scope, func(tx *store.Tx) error {
		principals, err := principalsOf(ctx, tx, scope.ActorID)
		if err != nil {
			return err
		}
		res, err := inboxPageTx(ctx, tx, principals, InboxParams{Limit: 50})
		if err != nil {
			return err
		}
		explicit = res.Items
		return tx.SelectContext(ctx, &reflected, inboxPageQuery(""), scope.TenantID, idStrings(principals), scope.ActorID, 51)
	})
	return explicit, reflected, err
}

// RequestsBothWays is InboxBothWays for the first page of all requests.
func RequestsBothWays(ctx context.Context, db *store.DB, scope store.Scope) (explicit, reflected []Request, err error) {
	err = db.InTenant(ctx, scope, func(tx *store.Tx) error {
		res, err := requestPageTx(ctx, tx, RequestListParams{Limit: 50})
		if err != nil {
			return err
		}
		explicit = res.Requests
		q, args, err := requestListQuery(tx, RequestListParams{Limit: 50}, false)
		if err != nil {
			return err
		}
		return tx.SelectContext(ctx, &reflected, q+` LIMIT 51`, args...)
	})
	return explicit, reflected, err
}
