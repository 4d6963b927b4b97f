// Package inventory renders the inventory screens: the item list, an item's page with its stock and
// history, the movement forms, locations, stocktake, the ledger and low stock. Components take the
// layout.Shell and a view model shaped like the screen; they know nothing about handlers or the store.
package inventory

import "ledgerline/views/ui"

// Element ids that HTMX targets; the handlers use the same constants.
const (
	// ItemResultsID holds the item table and its paging: the filters and sort buttons swap it.
	ItemResultsID = "inventory-results"
	// ItemTableWrapID is the scrolling table frame, dimmed while a request runs.
	ItemTableWrapID = "inventory-table-wrap"
	// ItemFormID is the item form (new and edit); a failed save swaps it.
	ItemFormID = "inventory-item-form"
	// MovementFormID is the movement form; a failed post swaps it.
	MovementFormID = "inventory-movement-form"
	// HistoryID holds an item's movement history and its paging.
	HistoryID = "inventory-history"
	// LedgerResultsID holds the ledger table and its paging.
	LedgerResultsID = "inventory-ledger-results"
	// ItemDeleteDialogID is the confirmation dialog of an item's deletion.
	ItemDeleteDialogID = "inventory-item-delete-dialog"
	// LocationFormID is the new-location form.
	LocationFormID = "inventory-location-form"
	// StocktakeFormID is the count form.
	StocktakeFormID = "inventory-stocktake-form"
	// ReserveFormID is the reserve form on an item's page; a failed reservation swaps it.
	ReserveFormID = "inventory-reserve-form"
	// LocationEditFormID is the form of a location's edit page; a failed save swaps it.
	LocationEditFormID = "inventory-location-edit-form"
)

// Option is one choice of a select.
type Option struct {
	Value, Label string
	Selected     bool
}

// SortHeader is a sortable column header: a button that asks for the sort it names.
type SortHeader struct {
	Label string
	// AriaSort is "ascending", "descending" or "none".
	AriaSort string
	// Href is the list with this column's next sort order.
	Href    string
	Numeric bool
}

// ListView is the item list: filters as typed, the sortable headers, one page of items and paging.
type ListView struct {
	Search, Category, LocationID string
	LowStock, Deleted            bool
	Sort, Dir                    string
	Locations                    []Option
	Headers                      []SortHeader
	Rows                         []ItemRow
	Showing                      string
	NextURL, FirstURL            string
	Filtered                     bool
	CanCreate                    bool
	// ImportHref is the CSV import page ("" for people who may not import).
	ImportHref string
	// Export is the Export button of the list with its current filter and sort (nil: may not export).
	Export *ui.ExportProps
}

// ItemRow is one item as the tables show it.
type ItemRow struct {
	Href, SKU, Name, Category, Unit string
	OnHand, ReorderPoint, Value     string
	Low, Inactive                   bool
}

// ItemView is an item's page.
type ItemView struct {
	ID, SKU, Name, Description, Category, Unit, Barcode string
	Tracking, Status                                    string
	OnHand, ReorderPoint, ReorderQty, AvgCost, Value    string
	Low, Deleted, Inactive                              bool
	Levels                                              []LevelRow
	// LevelsExport exports the item's stock levels (nil: may not export).
	LevelsExport            *ui.ExportProps
	Reservations            []ReservationRow
	History                 HistoryView
	Form                    ItemForm
	Problems                []ui.FieldError
	CanWrite, CanAdjust     bool
	CSRFToken               string
	DeletePath, RestorePath string
	Version                 int
	MovementLinks           []Link
	// Reserve is the reserve form (shown to people who may write inventory).
	Reserve ReserveForm
}

// ReserveForm holds stock of the item for a reference, with the values as typed.
type ReserveForm struct {
	Action, CSRFToken                      string
	LocationID, Batch, Quantity, Reference string
	Locations                              []Option
	UnitHint                               string
	Errors                                 []ui.FieldError
}

// Link is a labelled URL.
type Link struct {
	Label, Href, TestID string
}

// LevelRow is the stock of an item at one location (and batch).
type LevelRow struct {
	Location, Batch, OnHand, Reserved, Available string
}

// HistoryView is a page of ledger lines.
type HistoryView struct {
	Rows              []MovementRow
	NextURL, FirstURL string
	// Target is the id the paging links swap.
	Target string
	// ShowItem adds the item column (the ledger page).
	ShowItem bool
	// CanReverse offers a reversal of each movement (managers and admins).
	CanReverse bool
	CSRFToken  string
	// Problems are filter errors (an unknown SKU), shown above the table.
	Problems []ui.FieldError
	// Export is the Export button of the ledger with its current filter (nil: none).
	Export *ui.ExportProps
}

// MovementRow is one ledger line.
type MovementRow struct {
	When, WhenExact, Kind, KindBadge, ItemHref, Item, Location, Batch string
	Quantity, UnitCost, Reason, Reference, Note                       string
	Negative                                                          bool
	// MovementID and ReversePath are set on the first line of each movement that may be reversed.
	MovementID, ReversePath string
}

// ItemForm is the item form (new or edit) with the values as typed.
type ItemForm struct {
	Action, CSRFToken, Submit                   string
	SKU, Name, Description, Category, Unit      string
	Barcode, ReorderPoint, ReorderQty, Tracking string
	Status                                      string
	Version                                     int
	Units, Trackings, Statuses                  []Option
	Errors                                      []ui.FieldError
	Conflict                                    string
}

// FormPage is a page with a single form and breadcrumbs.
type FormPage struct {
	Title, Subtitle string
	Crumbs          []Link
}

// MovementForm is a movement form of one kind with the values as typed.
type MovementForm struct {
	CSRFToken                                string
	Kind, KindLabel                          string
	ItemID, ItemLabel                        string
	LocationID, FromLocationID, ToLocationID string
	Batch, Quantity, UnitCost, Currency      string
	Reason, Reference, Note                  string
	Items, Locations, FromLocations          []Option
	ToLocations                              []Option
	Kinds                                    []Link
	Errors                                   []ui.FieldError
	UnitHint                                 string
}

// LocationsView is the locations page: warehouses with their bins, and the new-location form.
type LocationsView struct {
	Rows        []LocationRow
	Form        LocationForm
	CanAdjust   bool
	ShowDeleted bool
	Problems    []ui.FieldError
	CSRFToken   string
	ValueTotal  string
}

// LocationRow is one warehouse or bin.
type LocationRow struct {
	ID, Code, Name, Kind, Value string
	Bin, Deleted                bool
	Version                     int
	DeletePath, RestorePath     string
	StocktakeHref, LedgerHref   string
	AllowNegative               bool
	// EditHref is the location's edit page.
	EditHref string
}

// DialogID is the id of the row's delete confirmation.
func (r LocationRow) DialogID() string { return "location-delete-" + r.ID }

// LocationForm creates a warehouse or a bin.
type LocationForm struct {
	CSRFToken, Code, Name, WarehouseID string
	AllowNegative                      bool
	Warehouses                         []Option
	Errors                             []ui.FieldError
}

// StocktakeView counts one location.
type StocktakeView struct {
	CSRFToken, LocationID, LocationLabel string
	Locations                            []Option
	Lines                                []StocktakeLine
	Reason, Note                         string
	Errors                               []ui.FieldError
}

// StocktakeLine is one level to count.
type StocktakeLine struct {
	Index                                    int
	ItemID, SKU, Name, Batch, Recorded, Unit string
	Counted, Error                           string
}

// LedgerView is the ledger page with its filters.
type LedgerView struct {
	ItemID, LocationID, Kind, From, To string
	Items, Locations, Kinds            []Option
	History                            HistoryView
	Filtered                           bool
}

// LowStockView is the low-stock page.
type LowStockView struct {
	Search            string
	Rows              []ItemRow
	NextURL, FirstURL string
}

// ReservationRow is an open reservation of the item.
type ReservationRow struct {
	ID, Reference, Location, Batch, Remaining, Since, SinceExact string
	// ReleasePath gives back what the reservation holds.
	ReleasePath string
}

// ReleaseDialogID is the id of the confirmation dialog of the reservation's release.
func (r ReservationRow) ReleaseDialogID() string { return "reservation-release-" + r.ID }

// LocationEditView is a location's edit page.
type LocationEditView struct {
	Code, Kind string
	Deleted    bool
	Form       LocationEditForm
}

// LocationEditForm renames a location or changes whether its stock may go negative, with the values as
// typed.
type LocationEditForm struct {
	Action, CSRFToken string
	Code, Name        string
	AllowNegative     bool
	Version           int
	Errors            []ui.FieldError
	// Conflict says the location changed since the form was rendered, or why it cannot change.
	Conflict string
}

// ReverseDialogID is the id of the confirmation dialog of the row's reversal.
func (r MovementRow) ReverseDialogID() string { return "movement-reverse-" + r.MovementID }
