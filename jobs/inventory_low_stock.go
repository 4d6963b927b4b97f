package jobs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
	"ledgerline/store/notify"
)

// LowStockEvery is the period of the low-stock notification job.
const LowStockEvery = 15 * time.Minute

// lowStockDigestAfter is how many crossings of one run are told one by one; beyond it (after an import,
// say) managers get one message listing them, not hundreds.
const lowStockDigestAfter = 20

// LowStockNotifyArgs is the periodic job that tells every tenant's managers and admins about items that
// fell to or below their reorder point since the last run.
type LowStockNotifyArgs struct{}

// Kind names the job in River's tables.
func (LowStockNotifyArgs) Kind() string { return "inventory_low_stock" }

// InsertOpts makes the job unique per period: every instance schedules it, only one lands.
func (LowStockNotifyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: LowStockEvery}}
}

// LowStockNotifyWorker works LowStockNotifyArgs. Each crossing is told once: inventory.LowStockCrossings
// marks what it returns, so a second run finds nothing new.
type LowStockNotifyWorker struct {
	river.WorkerDefaults[LowStockNotifyArgs]
	DB *store.DB
}

type lowStockOutput struct {
	Crossings     int `json:"crossings"`
	Notifications int `json:"notifications"`
}

// Work visits every tenant.
func (w *LowStockNotifyWorker) Work(ctx context.Context, job *river.Job[LowStockNotifyArgs]) error {
	var tenants []store.ID
	if err := w.DB.X.SelectContext(ctx, &tenants, `SELECT all_tenant_ids()`); err != nil {
		return fmt.Errorf("error listing tenants: %w", err)
	}
	var out lowStockOutput
	for _, t := range tenants {
		c, n, err := LowStockNotifyTenant(ctx, w.DB, t)
		if err != nil {
			return err
		}
		out.Crossings += c
		out.Notifications += n
	}
	return river.RecordOutput(ctx, out)
}

// LowStockNotifyTenant tells one tenant's managers and admins about its new low-stock crossings, in the
// app and by e-mail, and returns the number of crossings and of notifications written.
func LowStockNotifyTenant(ctx context.Context, db *store.DB, tenantID store.ID) (int, int, error) {
	crossings, written := 0, 0
	// The marks and the notifications commit together: a failure leaves the crossings unmarked, so the
	// next run tells them, and a success never tells them again.
	err := db.InTenant(ctx, store.Scope{TenantID: tenantID}, func(tx *store.Tx) error {
		crossings, written = 0, 0
		items, err := inventory.LowStockCrossingsTx(ctx, tx)
		if err != nil || len(items) == 0 {
			return err
		}
		crossings = len(items)
		to, err := notify.RecipientsTx(ctx, tx, string(identity.RoleAdmin), string(identity.RoleManager))
		if err != nil {
			return err
		}
		for _, r := range to {
			for _, m := range lowStockMessages(items) {
				if err := notify.InApp(ctx, tx, notify.InAppParams{UserID: r.UserID, Kind: "inventory.low_stock",
					Title: m.title, Body: m.body, Link: m.link}); err != nil {
					return err
				}
				if err := notify.Email(ctx, tx, notify.EmailParams{To: r.Email, Subject: m.title,
					Text: "Hello " + r.Name + ",\n\n" + m.body + "\n\nReorder in time, or change the reorder point of the item.\n"}); err != nil {
					return err
				}
				written++
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return crossings, written, nil
}

type lowStockMessage struct{ title, body, link string }

// lowStockMessages tells each crossing in a message of its own, or all of them in one digest when there
// are many.
func lowStockMessages(items []inventory.Item) []lowStockMessage {
	line := func(it inventory.Item) string {
		return fmt.Sprintf("%s %s: %s %s on hand, reorder point %s, reorder quantity %s.", it.SKU, it.Name,
			it.OnHand, it.Unit, it.ReorderPoint, it.ReorderQty)
	}
	if len(items) <= lowStockDigestAfter {
		msgs := make([]lowStockMessage, 0, len(items))
		for _, it := range items {
			msgs = append(msgs, lowStockMessage{title: "Low stock: " + it.SKU + " " + it.Name, body: line(it),
				link: "/inventory/items/" + it.ID.String()})
		}
		return msgs
	}
	var b strings.Builder
	for _, it := range items[:lowStockDigestAfter] {
		b.WriteString(line(it) + "\n")
	}
	fmt.Fprintf(&b, "…and %d more. See the low stock list.", len(items)-lowStockDigestAfter)
	return []lowStockMessage{{title: fmt.Sprintf("Low stock: %d items at or below their reorder point", len(items)),
		body: b.String(), link: "/inventory/low-stock"}}
}
