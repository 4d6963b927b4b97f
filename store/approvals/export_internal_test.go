package approvals

// Small pages let the export tests cross page boundaries with a few rows.
var (
	RequestsEachPaged   = requestsEach
	InboxItemsEachPaged = inboxItemsEach
)
