package jobs

import (
	"context"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/approvals"
	"ledgerline/store/inventory"
)

// ApprovalsRequestApprovedWorker hands an approved purchase request to inventory: the item lines become
// expected receipts under the request's number. inventory.ExpectGoods is idempotent per reference and
// line, so a retried job expects nothing twice.
type ApprovalsRequestApprovedWorker struct {
	river.WorkerDefaults[approvals.RequestApprovedArgs]
	DB *store.DB
}

// Work calls inventory.ExpectGoods as the system in the request's tenant.
func (w *ApprovalsRequestApprovedWorker) Work(ctx context.Context, job *river.Job[approvals.RequestApprovedArgs]) error {
	return ApprovalsExpectGoods(ctx, w.DB, job.Args)
}

// ApprovalsExpectGoods turns an approved purchase request's item lines into expected receipts.
func ApprovalsExpectGoods(ctx context.Context, db *store.DB, args approvals.RequestApprovedArgs) error {
	p := inventory.ExpectGoodsParams{Reference: args.Reference, Note: "Approved purchase request " + args.Reference}
	for _, l := range args.Lines {
		p.Lines = append(p.Lines, inventory.ExpectedLine{LineNo: l.LineNo, ItemID: l.ItemID, Quantity: inventory.Qty(l.Quantity)})
	}
	_, err := inventory.ExpectGoods(ctx, db, store.Scope{TenantID: args.TenantID}, p)
	return err
}
