package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
	"ledgerline/store/notify"
)

// RemindersEvery is the period of the reminder job.
const RemindersEvery = time.Hour

// RemindersArgs is the periodic job that reminds customers of overdue invoices in every tenant.
type RemindersArgs struct{}

// Kind is the River job kind.
func (RemindersArgs) Kind() string { return "billing_reminders" }

// InsertOpts makes the job unique per period: every instance schedules it, one runs.
func (RemindersArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: RemindersEvery}}
}

// Reminder is a stage of reminding on an invoice: Sent is false for stages a late run passed over.
type Reminder struct {
	Days      int       `db:"days" json:"days"`
	Sent      bool      `db:"sent" json:"sent"`
	Recipient string    `db:"recipient" json:"recipient"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// RemindersRun e-mails, in scope's tenant, the customers of open invoices that reached a reminder stage
// (days past due, from the tenant's settings) not yet recorded. Each stage happens once per invoice: the
// stage rows and the e-mail job are written in one transaction, and a stage already recorded (a second
// run, a concurrent instance) is skipped by the primary key. An invoice that passed several stages since
// the last run gets one e-mail, for the latest. Customers without an e-mail address are skipped and
// retried on later runs. It returns the number of e-mails queued. Jobs run it as the system.
func RemindersRun(ctx context.Context, db *store.DB, scope store.Scope) (int, error) {
	sent := 0
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingWrite); err != nil {
			return err
		}
		settings, err := settingsGetTx(ctx, tx)
		if err != nil {
			return err
		}
		if len(settings.ReminderDays) == 0 {
			return nil
		}
		var seller string
		if err := tx.GetContext(ctx, &seller, `SELECT name FROM tenants WHERE id = $1`, tx.Scope.TenantID); err != nil {
			return fmt.Errorf("error loading tenant name: %w", err)
		}
		var due []struct {
			Invoice
			Email string `db:"email"`
			Age   int    `db:"age"`
		}
		if err := tx.SelectContext(ctx, &due, `SELECT `+invoiceColumns+`, c.email, (`+todaySQL+` - i.due_date) AS age`+invoiceFrom+`
			WHERE i.tenant_id = $1 AND i.status IN ('issued', 'partially_paid') AND i.due_date + $2::int <= `+todaySQL+`
			AND c.email <> '' AND NOT EXISTS (SELECT 1 FROM billing_reminders r WHERE r.tenant_id = i.tenant_id
				AND r.invoice_id = i.id AND r.days = (SELECT max(d) FROM unnest($3::integer[]) d
					WHERE d <= `+todaySQL+` - i.due_date))
			ORDER BY i.due_date, i.id LIMIT 1000`, tx.Scope.TenantID, settings.ReminderDays[0], settings.ReminderDays); err != nil {
			return fmt.Errorf("error finding overdue invoices: %w", err)
		}
		for _, inv := range due {
			stage := 0
			for _, d := range settings.ReminderDays {
				if d <= inv.Age {
					stage = d
				}
			}
			// Record every reached stage; only the latest, if new, sends.
			var fresh bool
			for _, d := range settings.ReminderDays {
				if d > inv.Age {
					break
				}
				var inserted bool
				if err := tx.GetContext(ctx, &inserted, `INSERT INTO billing_reminders (invoice_id, days, sent, recipient)
					VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true`,
					inv.ID, d, d == stage, map[bool]string{true: inv.Email}[d == stage]); err != nil && !errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("error recording reminder of invoice %s: %w", inv.ID, err)
				}
				if d == stage {
					fresh = inserted
				}
			}
			if !fresh {
				continue
			}
			amount := inv.Currency + " " + store.FormatMinorUnits(inv.Balance, store.CurrencyDigits(inv.Currency))
			if err := notify.Email(ctx, tx, notify.EmailParams{To: inv.Email,
				Subject: fmt.Sprintf("Reminder: invoice %s is %d days overdue", *inv.Number, inv.Age),
				Text: fmt.Sprintf("Hello %s,\n\nour records show %s still open on invoice %s, due on %s (%d days ago).\n"+
					"If you have paid in the meantime, please ignore this message.\n\nKind regards,\n%s\n",
					inv.CustomerName, amount, *inv.Number, inv.DueDate.Format("2 January 2006"), inv.Age, seller)}); err != nil {
				return err
			}
			if err := audit.Record(ctx, tx, audit.RecordParams{Action: "billing.invoice_remind", EntityType: "billing_invoice",
				EntityID: inv.ID.String(), After: map[string]any{"days": stage, "to": inv.Email, "balance": inv.Balance}}); err != nil {
				return err
			}
			sent++
		}
		return nil
	})
	return sent, err
}
