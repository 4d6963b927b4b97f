package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
)

// LocationKind is a warehouse or a bin inside one.
type LocationKind string

// The location kinds: two levels, a bin always belongs to a warehouse.
const (
	KindWarehouse LocationKind = "warehouse"
	KindBin       LocationKind = "bin"
)

// Location is a place that holds stock: a warehouse, or a bin in a warehouse (WarehouseID). Stock can be
// held in either. AllowNegative lets its levels go below zero. Version guards edits.
type Location struct {
	ID            store.ID     `db:"id" json:"id"`
	Kind          LocationKind `db:"kind" json:"kind"`
	WarehouseID   *store.ID    `db:"warehouse_id" json:"warehouse_id,omitempty"`
	Code          string       `db:"code" json:"code"`
	Name          string       `db:"name" json:"name"`
	AllowNegative bool         `db:"allow_negative" json:"allow_negative"`
	DeletedAt     *time.Time   `db:"deleted_at" json:"deleted_at,omitempty"`
	CreatedAt     time.Time    `db:"created_at" json:"created_at"`
	UpdatedAt     time.Time    `db:"updated_at" json:"updated_at"`
	Version       int          `db:"version" json:"version"`
}

const locationColumns = `l.id, l.kind, l.warehouse_id, l.code, l.name, l.allow_negative, l.deleted_at, l.created_at,
	l.updated_at, l.version`

var (
	errLocationNotFound = store.Errorf(store.NotFound, "No such location.")
	errLocationChanged  = store.Errorf(store.Conflict,
		"This location was changed by someone else while you were editing. Reload the page to see the changes, then try again.")
)

func codeTaken(code string) error {
	return &store.Error{Code: store.Conflict, Message: "A location with that code exists.",
		Fields: map[string]string{"code": "Choose another code; " + code + " is in use."}}
}

// LocationCreateParams describes a new location: a warehouse when WarehouseID is nil, else a bin in that
// warehouse. Code is unique among live locations (any case).
type LocationCreateParams struct {
	WarehouseID   *store.ID
	Code          string
	Name          string
	AllowNegative bool
}

func locationFieldsValid(code, name *string) store.FieldErrors {
	var f store.FieldErrors
	*code = textField(&f, "code", *code, 1, 32, "Enter a code (up to 32 characters).")
	*name = textField(&f, "name", *name, 1, 200, "Enter the location's name (up to 200 characters).")
	return f
}

func locationGetTx(ctx context.Context, tx *store.Tx, id store.ID, forUpdate bool) (*Location, error) {
	q := `SELECT ` + locationColumns + ` FROM inventory_locations l WHERE l.tenant_id = $1 AND l.id = $2`
	if forUpdate {
		q += ` FOR UPDATE`
	}
	var l Location
	err := tx.GetContext(ctx, &l, q, tx.Scope.TenantID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errLocationNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("error loading location %s: %w", id, err)
	}
	return &l, nil
}

// LocationCreate adds a warehouse or a bin. A bin's warehouse must be a live warehouse of the tenant. The
// actor needs InventoryAdjust.
func LocationCreate(ctx context.Context, db *store.DB, scope store.Scope, p LocationCreateParams) (*Location, error) {
	if err := locationFieldsValid(&p.Code, &p.Name).Err(); err != nil {
		return nil, err
	}
	var loc Location
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryAdjust); err != nil {
			return err
		}
		kind := KindWarehouse
		if p.WarehouseID != nil {
			kind = KindBin
			// Locked so that the warehouse cannot be deleted while its new bin is added.
			wh, err := locationGetTx(ctx, tx, *p.WarehouseID, true)
			if store.ErrorCode(err) == store.NotFound {
				return (store.FieldErrors{"warehouse_id": "Choose a warehouse from the list."}).Err()
			}
			if err != nil {
				return err
			}
			if wh.Kind != KindWarehouse || wh.DeletedAt != nil {
				return (store.FieldErrors{"warehouse_id": "Choose a warehouse from the list: bins go into live warehouses."}).Err()
			}
		}
		err := tx.GetContext(ctx, &loc, `
			INSERT INTO inventory_locations AS l (id, kind, warehouse_id, code, name, allow_negative)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+locationColumns,
			store.NewID(), kind, p.WarehouseID, p.Code, p.Name, p.AllowNegative)
		if store.IsUniqueViolation(err, "inventory_locations_code_key") {
			return codeTaken(p.Code)
		}
		if err != nil {
			return fmt.Errorf("error creating location %s: %w", p.Code, err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "inventory.location_create", EntityType: "inventory_location",
			EntityID: loc.ID.String(), After: loc})
	})
	if err != nil {
		return nil, err
	}
	return &loc, nil
}

// LocationGet returns one location of scope's tenant, deleted or not. The actor needs InventoryRead.
func LocationGet(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*Location, error) {
	var loc *Location
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryRead); err != nil {
			return err
		}
		var err error
		loc, err = locationGetTx(ctx, tx, id, false)
		return err
	})
	return loc, err
}

// LocationListMax bounds LocationList.
const LocationListMax = 5000

// LocationList returns the tenant's locations, each warehouse followed by its bins, by code. Deleted ones
// are included when includeDeleted is set. At most LocationListMax are returned. The actor needs
// InventoryRead.
func LocationList(ctx context.Context, db *store.DB, scope store.Scope, includeDeleted bool) ([]Location, error) {
	var out []Location
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryRead); err != nil {
			return err
		}
		q := `SELECT ` + locationColumns + ` FROM inventory_locations l
			LEFT JOIN inventory_locations w ON w.tenant_id = l.tenant_id AND w.id = l.warehouse_id
			WHERE l.tenant_id = $1`
		if !includeDeleted {
			q += ` AND l.deleted_at IS NULL`
		}
		q += ` ORDER BY lower(coalesce(w.code, l.code)), coalesce(w.id, l.id), l.warehouse_id NULLS FIRST, lower(l.code), l.id LIMIT $2`
		if err := tx.SelectContext(ctx, &out, q, tx.Scope.TenantID, LocationListMax); err != nil {
			return fmt.Errorf("error listing locations: %w", err)
		}
		return nil
	})
	return out, err
}

// LocationUpdateParams changes a location. Version is the version the editor saw.
type LocationUpdateParams struct {
	ID            store.ID
	Version       int
	Code          string
	Name          string
	AllowNegative bool
}

// LocationUpdate renames a location or changes whether its stock may go negative. Negative stock can be
// switched off only while no level there is negative. A stale Version is a Conflict. The actor needs
// InventoryAdjust.
func LocationUpdate(ctx context.Context, db *store.DB, scope store.Scope, p LocationUpdateParams) (*Location, error) {
	if err := locationFieldsValid(&p.Code, &p.Name).Err(); err != nil {
		return nil, err
	}
	var after Location
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryAdjust); err != nil {
			return err
		}
		before, err := locationGetTx(ctx, tx, p.ID, true)
		if err != nil {
			return err
		}
		if before.Version != p.Version {
			return errLocationChanged
		}
		if before.DeletedAt != nil {
			return store.Errorf(store.Invalid, "%s is deleted. Restore it before changing it.", before.Code)
		}
		err = tx.GetContext(ctx, &after, `
			UPDATE inventory_locations l SET code = $3, name = $4, allow_negative = $5, version = version + 1, updated_at = now()
			WHERE tenant_id = $1 AND id = $2 RETURNING `+locationColumns,
			tx.Scope.TenantID, p.ID, p.Code, p.Name, p.AllowNegative)
		if store.IsUniqueViolation(err, "inventory_locations_code_key") {
			return codeTaken(p.Code)
		}
		if err != nil {
			return fmt.Errorf("error updating location %s: %w", p.ID, err)
		}
		if before.AllowNegative != p.AllowNegative {
			_, err := tx.ExecContext(ctx, `UPDATE stock_levels SET allow_negative = $3 WHERE tenant_id = $1 AND location_id = $2`,
				tx.Scope.TenantID, p.ID, p.AllowNegative)
			if store.IsCheckViolation(err, "") {
				return (store.FieldErrors{"allow_negative": "Some stock here is below zero (or reserved beyond what is on hand). Correct it before refusing negative stock."}).Err()
			}
			if err != nil {
				return fmt.Errorf("error updating stock levels of location %s: %w", p.ID, err)
			}
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "inventory.location_update", EntityType: "inventory_location",
			EntityID: p.ID.String(), Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	return &after, nil
}

// LocationDelete soft-deletes an empty location: nothing on hand or reserved there, and for a warehouse
// no live bins. A stale version is a Conflict. The actor needs InventoryAdjust.
func LocationDelete(ctx context.Context, db *store.DB, scope store.Scope, id store.ID, version int) (*Location, error) {
	return locationDeleteOrRestore(ctx, db, scope, id, version, true)
}

// LocationRestore brings back a deleted location. Its code must be free among live locations, and a bin's
// warehouse must be live. A stale version is a Conflict. The actor needs InventoryAdjust.
func LocationRestore(ctx context.Context, db *store.DB, scope store.Scope, id store.ID, version int) (*Location, error) {
	return locationDeleteOrRestore(ctx, db, scope, id, version, false)
}

func locationDeleteOrRestore(ctx context.Context, db *store.DB, scope store.Scope, id store.ID, version int, del bool) (*Location, error) {
	var after Location
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryAdjust); err != nil {
			return err
		}
		before, err := locationGetTx(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if before.Version != version {
			return errLocationChanged
		}
		action := "inventory.location_restore"
		if del {
			action = "inventory.location_delete"
			if before.DeletedAt != nil {
				return store.Errorf(store.Invalid, "%s is already deleted.", before.Code)
			}
			if err := locationEmpty(ctx, tx, before); err != nil {
				return err
			}
		} else {
			if before.DeletedAt == nil {
				return store.Errorf(store.Invalid, "%s is not deleted.", before.Code)
			}
			if before.WarehouseID != nil {
				wh, err := locationGetTx(ctx, tx, *before.WarehouseID, true)
				if err != nil {
					return err
				}
				if wh.DeletedAt != nil {
					return store.Errorf(store.Invalid, "The warehouse %s of this bin is deleted. Restore the warehouse first.", wh.Code)
				}
			}
		}
		err = tx.GetContext(ctx, &after, `
			UPDATE inventory_locations l SET deleted_at = CASE WHEN $3 THEN now() END, version = version + 1, updated_at = now()
			WHERE tenant_id = $1 AND id = $2 RETURNING `+locationColumns, tx.Scope.TenantID, id, del)
		if store.IsUniqueViolation(err, "inventory_locations_code_key") {
			return store.Errorf(store.Conflict, "Another location has the code %s now. Change one of the codes first, then restore this one.", before.Code)
		}
		if err != nil {
			return fmt.Errorf("error changing location %s: %w", id, err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: action, EntityType: "inventory_location",
			EntityID: id.String(), Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	return &after, nil
}

// locationEmpty refuses to delete a location with stock on hand or reserved, or a warehouse with live
// bins. The level rows are locked (FOR SHARE) so a movement cannot slip in between check and delete; a
// movement into a location checks that it is live under the location's lock as well.
func locationEmpty(ctx context.Context, tx *store.Tx, loc *Location) error {
	var bins []string
	if err := tx.SelectContext(ctx, &bins, `
		SELECT code FROM inventory_locations WHERE tenant_id = $1 AND warehouse_id = $2 AND deleted_at IS NULL
		ORDER BY lower(code) LIMIT 5`, tx.Scope.TenantID, loc.ID); err != nil {
		return fmt.Errorf("error listing bins of %s: %w", loc.ID, err)
	}
	if len(bins) > 0 {
		return store.Errorf(store.Invalid, "%s still has bins (%s). Delete its bins first.", loc.Code, strings.Join(bins, ", "))
	}
	var held []string
	if err := tx.SelectContext(ctx, &held, `
		SELECT i.sku FROM stock_levels s JOIN inventory_items i ON i.tenant_id = s.tenant_id AND i.id = s.item_id
		WHERE s.tenant_id = $1 AND s.location_id = $2 AND (s.on_hand <> 0 OR s.reserved <> 0)
		ORDER BY lower(i.sku) LIMIT 5 FOR SHARE OF s`, tx.Scope.TenantID, loc.ID); err != nil {
		return fmt.Errorf("error checking stock at %s: %w", loc.ID, err)
	}
	if len(held) > 0 {
		return store.Errorf(store.Invalid, "%s still holds stock (%s). Move or adjust it to zero first.", loc.Code, strings.Join(held, ", "))
	}
	return nil
}
