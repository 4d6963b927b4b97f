package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/exports"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
)

// ExportCatalog maps every exportable list to its source: the domain's streaming iterator for the list,
// with the same filter and sort parameters its list page uses (the handler stores them as JSON), and the
// cells of one row. Billing and approvals add their sources in jobs/exports_<module>.go and list the
// function here.
func ExportCatalog() exports.Catalog {
	catalog := exports.Catalog{}
	for _, add := range []func(exports.Catalog){inventoryExportSources, auditExportSources, peopleExportSources,
		approvalsExportSources, billingExportSources} {
		add(catalog)
	}
	return catalog
}

// decodeFilter reads an export's stored filter into the list's parameters.
func decodeFilter(filter json.RawMessage, into any) error {
	if len(filter) == 0 {
		return nil
	}
	if err := json.Unmarshal(filter, into); err != nil {
		return store.Errorf(store.Invalid, "The filter of this export cannot be read any more. Export the list again from its page.")
	}
	return nil
}

// amount writes minor units as a plain decimal number for a spreadsheet (no thousands separators).
func amount(v int64, currency string) exports.Number {
	return exports.Number(strings.ReplaceAll(store.FormatMinorUnits(v, store.CurrencyDigits(currency)), ",", ""))
}

func qty(q inventory.Qty) exports.Number { return exports.Number(q.String()) }

func inventoryExportSources(c exports.Catalog) {
	c[exports.KindInventoryItems] = exports.Source{
		Columns: []string{"SKU", "Name", "Category", "Unit", "Status", "Tracking", "On hand", "Reorder point",
			"Reorder quantity", "Currency", "Average cost", "Stock value", "Barcode", "Updated at"},
		Count: func(ctx context.Context, tx *store.Tx, filter json.RawMessage) (int64, error) {
			var p inventory.ItemListParams
			if err := decodeFilter(filter, &p); err != nil {
				return 0, err
			}
			return inventory.ItemsCount(ctx, tx, p)
		},
		Each: func(ctx context.Context, tx *store.Tx, filter json.RawMessage, emit func([]any) error) error {
			var p inventory.ItemListParams
			if err := decodeFilter(filter, &p); err != nil {
				return err
			}
			return inventory.ItemsEach(ctx, tx, p, func(it inventory.Item) error {
				return emit([]any{it.SKU, it.Name, it.Category, string(it.Unit), string(it.Status), string(it.Tracking),
					qty(it.OnHand), qty(it.ReorderPoint), qty(it.ReorderQty), it.Currency, amount(it.AvgCost, it.Currency),
					amount(it.StockValue, it.Currency), it.Barcode, it.UpdatedAt})
			})
		},
	}
	c[exports.KindInventoryLevels] = exports.Source{
		Columns: []string{"SKU", "Item", "Unit", "Location", "Location name", "Batch", "On hand", "Reserved", "Available"},
		Each: func(ctx context.Context, tx *store.Tx, filter json.RawMessage, emit func([]any) error) error {
			var p inventory.StockLevelParams
			if err := decodeFilter(filter, &p); err != nil {
				return err
			}
			return inventory.LevelsEach(ctx, tx, p, func(l inventory.StockLevel) error {
				return emit([]any{l.SKU, l.ItemName, string(l.Unit), l.LocationCode, l.LocationName, l.Batch,
					qty(l.OnHand), qty(l.Reserved), qty(l.Available)})
			})
		},
	}
	c[exports.KindInventoryMovements] = exports.Source{
		Columns: []string{"Occurred at", "Kind", "SKU", "Item", "Location", "Batch", "Quantity", "Unit cost", "Currency",
			"Reason", "Reference", "Note", "Movement", "Line"},
		Count: func(ctx context.Context, tx *store.Tx, filter json.RawMessage) (int64, error) {
			var p inventory.MovementListParams
			if err := decodeFilter(filter, &p); err != nil {
				return 0, err
			}
			return inventory.MovementsCount(ctx, tx, p)
		},
		Each: func(ctx context.Context, tx *store.Tx, filter json.RawMessage, emit func([]any) error) error {
			var p inventory.MovementListParams
			if err := decodeFilter(filter, &p); err != nil {
				return err
			}
			return inventory.MovementsEach(ctx, tx, p, func(l inventory.MovementExportLine) error {
				var cost any
				cur := ""
				if l.Currency != nil {
					cur = *l.Currency
				}
				if l.UnitCost != nil {
					cost = amount(*l.UnitCost, cur)
				}
				return emit([]any{l.OccurredAt, string(l.Kind), l.SKU, l.ItemName, l.LocationCode, l.Batch, qty(l.Quantity),
					cost, cur, l.Reason, l.Reference, l.Note, l.MovementID.String(), l.ID.String()})
			})
		},
	}
}

// tenantZone is the time zone the audit log's date filters are read in, as on its page.
func tenantZone(ctx context.Context, tx *store.Tx) (*time.Location, error) {
	var tz string
	if err := tx.GetContext(ctx, &tz, `SELECT time_zone FROM tenants WHERE id = $1`, tx.Scope.TenantID); err != nil {
		return nil, fmt.Errorf("error loading time zone: %w", err)
	}
	loc, err := store.LoadLocation(tz)
	if err != nil {
		return time.UTC, nil
	}
	return loc, nil
}

func auditExportSources(c exports.Catalog) {
	params := func(ctx context.Context, tx *store.Tx, filter json.RawMessage) (audit.ListParams, error) {
		var p audit.ListParams
		if err := decodeFilter(filter, &p); err != nil {
			return p, err
		}
		// The audit package sits below identity: the permission is checked here, as its page does.
		if err := identity.Permit(ctx, tx, identity.AuditRead); err != nil {
			return p, err
		}
		loc, err := tenantZone(ctx, tx)
		p.Location = loc
		return p, err
	}
	c[exports.KindAuditEvents] = exports.Source{
		Columns: []string{"Occurred at", "Action", "Actor", "Actor e-mail", "Entity type", "Entity id", "Before", "After",
			"Request id", "Client address", "Event id"},
		Count: func(ctx context.Context, tx *store.Tx, filter json.RawMessage) (int64, error) {
			p, err := params(ctx, tx, filter)
			if err != nil {
				return 0, err
			}
			return audit.EventsCount(ctx, tx, p)
		},
		Each: func(ctx context.Context, tx *store.Tx, filter json.RawMessage, emit func([]any) error) error {
			p, err := params(ctx, tx, filter)
			if err != nil {
				return err
			}
			return audit.EventsEach(ctx, tx, p, func(e audit.ListedEvent) error {
				deref := func(s *string) string {
					if s == nil {
						return ""
					}
					return *s
				}
				return emit([]any{e.OccurredAt, e.Action, deref(e.ActorName), deref(e.ActorEmail), e.EntityType, e.EntityID,
					string(e.Before), string(e.After), e.RequestID, e.ClientIP, e.ID.String()})
			})
		},
	}
}

func peopleExportSources(c exports.Catalog) {
	c[exports.KindPeople] = exports.Source{
		Columns: []string{"Name", "E-mail", "Role", "Department", "Status", "Member since"},
		Count: func(ctx context.Context, tx *store.Tx, filter json.RawMessage) (int64, error) {
			var p identity.MemberListParams
			if err := decodeFilter(filter, &p); err != nil {
				return 0, err
			}
			return identity.MembersCount(ctx, tx, p)
		},
		Each: func(ctx context.Context, tx *store.Tx, filter json.RawMessage, emit func([]any) error) error {
			var p identity.MemberListParams
			if err := decodeFilter(filter, &p); err != nil {
				return err
			}
			return identity.MembersEach(ctx, tx, p, func(m identity.Member) error {
				dept := ""
				if m.DepartmentName != nil {
					dept = *m.DepartmentName
				}
				return emit([]any{m.Name, m.Email, m.Role.Label(), dept, m.Status().Label(), m.CreatedAt})
			})
		},
	}
}
