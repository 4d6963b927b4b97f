package approvals

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
