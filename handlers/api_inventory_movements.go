package handlers

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
)

// apiMovementLine is one row of the stock ledger: a signed change of on hand at one item, location and
// batch, with the movement it belongs to.
type apiMovementLine struct {
	ID            string    `json:"id" format:"uuid"`
	MovementID    string    `json:"movement_id" format:"uuid"`
	Kind          string    `json:"kind" enum:"receipt,issue,transfer,adjustment,stocktake,reversal"`
	OccurredAt    time.Time `json:"occurred_at"`
	RecordedAt    time.Time `json:"recorded_at"`
	ItemID        string    `json:"item_id" format:"uuid"`
	LocationID    string    `json:"location_id" format:"uuid"`
	Batch         string    `json:"batch" doc:"Batch or serial number; empty for untracked items."`
	Quantity      apiQty    `json:"quantity" doc:"The change of on hand: positive in, negative out."`
	UnitCost      *apiMoney `json:"unit_cost" doc:"Cost per unit of a receipt (and its reversal); null otherwise."`
	Reason        string    `json:"reason"`
	Reference     string    `json:"reference"`
	Note          string    `json:"note"`
	ReservationID *string   `json:"reservation_id" format:"uuid" doc:"The reservation an issue consumed; null otherwise."`
	ReversesID    *string   `json:"reverses_id" format:"uuid" doc:"The movement a reversal undoes; null otherwise."`
	ActorID       *string   `json:"actor_id" format:"uuid" doc:"The member (or OAuth client) who posted it."`
}

func optIDString(id *store.ID) *string {
	if id == nil {
		return nil
	}
	s := id.String()
	return &s
}

func apiMovementLineOf(l *inventory.MovementLine) apiMovementLine {
	out := apiMovementLine{
		ID: l.ID.String(), MovementID: l.MovementID.String(), Kind: string(l.Kind), OccurredAt: l.OccurredAt.UTC(),
		RecordedAt: l.RecordedAt.UTC(), ItemID: l.ItemID.String(), LocationID: l.LocationID.String(), Batch: l.Batch,
		Quantity: apiQty(l.Quantity), Reason: l.Reason, Reference: l.Reference, Note: l.Note,
		ReservationID: optIDString(l.ReservationID), ReversesID: optIDString(l.ReversesID), ActorID: optIDString(l.ActorID),
	}
	if l.UnitCost != nil {
		m := apiMoney{Amount: *l.UnitCost}
		if l.Currency != nil {
			m.Currency = *l.Currency
		}
		out.UnitCost = &m
	}
	return out
}

// apiMovement is one posted movement with its ledger lines (a transfer has two, a stocktake one per
// difference). Movements are never edited; POST /movements/{id}/reverse undoes one.
type apiMovement struct {
	ID         string            `json:"id" format:"uuid"`
	Kind       string            `json:"kind" enum:"receipt,issue,transfer,adjustment,stocktake,reversal"`
	OccurredAt time.Time         `json:"occurred_at"`
	Reason     string            `json:"reason"`
	Reference  string            `json:"reference"`
	Note       string            `json:"note"`
	ReversesID *string           `json:"reverses_id" format:"uuid" doc:"The movement this reversal undoes; null otherwise."`
	ActorID    *string           `json:"actor_id" format:"uuid"`
	Lines      []apiMovementLine `json:"lines"`
}

func apiMovementOf(m *inventory.Movement) apiMovement {
	out := apiMovement{ID: m.ID.String(), Kind: string(m.Kind), OccurredAt: m.OccurredAt.UTC(), Reason: m.Reason,
		Reference: m.Reference, Note: m.Note, ReversesID: optIDString(m.ReversesID), ActorID: optIDString(m.ActorID),
		Lines: make([]apiMovementLine, len(m.Lines))}
	for i := range m.Lines {
		out.Lines[i] = apiMovementLineOf(&m.Lines[i])
	}
	return out
}

type apiMovementOutput struct {
	Body apiMovement
}

type apiMovementListInput struct {
	APIPage
	ItemID     string `query:"item_id" format:"uuid" doc:"Only lines of this item."`
	LocationID string `query:"location_id" format:"uuid" doc:"Only lines at this location."`
	Kind       string `query:"kind" enum:"receipt,issue,transfer,adjustment,stocktake,reversal" doc:"Only this kind of movement."`
	From       string `query:"from" maxLength:"40" doc:"Only lines that occurred at or after this time (RFC 3339) or day (UTC, e.g. 2026-03-01)."`
	To         string `query:"to" maxLength:"40" doc:"Only lines that occurred before this time (RFC 3339), or on or before this day (UTC)."`
}

type apiMovementListOutput struct {
	Body apiList[apiMovementLine]
}

type apiMovementIDInput struct {
	ID string `path:"id" format:"uuid" doc:"The movement's id."`
}

// APIMovementInfo is what every posted movement may carry (exported: huma flattens only exported
// embedded structs).
type APIMovementInfo struct {
	OccurredAt *time.Time `json:"occurred_at,omitempty" doc:"When it happened; absent for now. Not in the future."`
	Reference  string     `json:"reference,omitempty" maxLength:"200" doc:"E.g. a purchase request or an order number."`
	Note       string     `json:"note,omitempty" maxLength:"2000"`
}

func (i APIMovementInfo) info() inventory.MovementInfo {
	out := inventory.MovementInfo{Reference: i.Reference, Note: i.Note}
	if i.OccurredAt != nil {
		out.OccurredAt = *i.OccurredAt
	}
	return out
}

type apiReceiptInput struct {
	APIIdempotencyKey
	Body struct {
		ItemID     string   `json:"item_id" format:"uuid"`
		LocationID string   `json:"location_id" format:"uuid"`
		Batch      string   `json:"batch,omitempty" maxLength:"64" doc:"Batch or serial number of a tracked item."`
		Quantity   apiQty   `json:"quantity" doc:"Above zero."`
		UnitCost   apiMoney `json:"unit_cost" doc:"Cost per unit in the item's currency; updates the moving average cost."`
		APIMovementInfo
	}
}

type apiIssueInput struct {
	APIIdempotencyKey
	Body struct {
		ItemID        string  `json:"item_id" format:"uuid"`
		LocationID    string  `json:"location_id,omitempty" format:"uuid" doc:"Required unless reservation_id is given."`
		Batch         string  `json:"batch,omitempty" maxLength:"64"`
		Quantity      apiQty  `json:"quantity" doc:"Above zero; at most what is available (on hand less reserved)."`
		ReservationID *string `json:"reservation_id,omitempty" format:"uuid" doc:"Consume this reservation (location and batch are taken from it)."`
		APIMovementInfo
	}
}

type apiTransferInput struct {
	APIIdempotencyKey
	Body struct {
		ItemID         string `json:"item_id" format:"uuid"`
		FromLocationID string `json:"from_location_id" format:"uuid"`
		ToLocationID   string `json:"to_location_id" format:"uuid"`
		Batch          string `json:"batch,omitempty" maxLength:"64"`
		Quantity       apiQty `json:"quantity" doc:"Above zero; at most what is available at the source."`
		APIMovementInfo
	}
}

type apiAdjustmentInput struct {
	APIIdempotencyKey
	Body struct {
		ItemID     string `json:"item_id" format:"uuid"`
		LocationID string `json:"location_id" format:"uuid"`
		Batch      string `json:"batch,omitempty" maxLength:"64"`
		Quantity   apiQty `json:"quantity" doc:"The change: positive adds stock, negative removes it."`
		Reason     string `json:"reason" maxLength:"200" doc:"Why, e.g. damaged, lost, found."`
		APIMovementInfo
	}
}

// apiStocktakeLine is one counted item (and batch) of a stocktake.
type apiStocktakeLine struct {
	ItemID  string `json:"item_id" format:"uuid"`
	Batch   string `json:"batch,omitempty" maxLength:"64"`
	Counted apiQty `json:"counted" doc:"The quantity counted, zero or more."`
}

type apiStocktakeInput struct {
	APIIdempotencyKey
	Body struct {
		LocationID string             `json:"location_id" format:"uuid" doc:"The location counted."`
		Lines      []apiStocktakeLine `json:"lines" maxItems:"10000"`
		Full       bool               `json:"full,omitempty" doc:"The whole location was counted: stock not in lines counts as zero."`
		Reason     string             `json:"reason,omitempty" maxLength:"200" doc:"Default Stocktake."`
		APIMovementInfo
	}
}

type apiReverseInput struct {
	APIIdempotencyKey
	ID   string `path:"id" format:"uuid" doc:"The movement to reverse."`
	Body *struct {
		Note string `json:"note,omitempty" maxLength:"2000" doc:"Why it is reversed."`
	}
}

// apiStockLevel is the stock of an item at one location and batch.
type apiStockLevel struct {
	ItemID       string `json:"item_id" format:"uuid"`
	SKU          string `json:"sku"`
	ItemName     string `json:"item_name"`
	Unit         string `json:"unit"`
	LocationID   string `json:"location_id" format:"uuid"`
	LocationCode string `json:"location_code"`
	LocationName string `json:"location_name"`
	Batch        string `json:"batch"`
	OnHand       apiQty `json:"on_hand"`
	Reserved     apiQty `json:"reserved"`
	Available    apiQty `json:"available" doc:"On hand less reserved."`
}

type apiStockLevelInput struct {
	ItemID       string `query:"item_id" format:"uuid" doc:"Levels of this item (item_id or location_id is required)."`
	LocationID   string `query:"location_id" format:"uuid" doc:"Levels at this location; a warehouse includes its bins."`
	IncludeEmpty bool   `query:"include_empty" doc:"Also list levels with nothing on hand or reserved."`
}

type apiStockLevelOutput struct {
	Body apiList[apiStockLevel]
}

// apiLocationValue is the value of the stock at one location.
type apiLocationValue struct {
	LocationID string   `json:"location_id" format:"uuid"`
	Code       string   `json:"code"`
	Name       string   `json:"name"`
	Value      apiMoney `json:"value"`
}

// apiStockValue is the organization's stock valued at moving average cost.
type apiStockValue struct {
	Total     apiMoney           `json:"total" doc:"Rounded once; the locations may differ from it by a minor unit each."`
	Locations []apiLocationValue `json:"locations"`
}

type apiStockValueOutput struct {
	Body apiStockValue
}

// apiReservation holds stock for a reference.
type apiReservation struct {
	ID         string     `json:"id" format:"uuid"`
	ItemID     string     `json:"item_id" format:"uuid"`
	LocationID string     `json:"location_id" format:"uuid"`
	Batch      string     `json:"batch"`
	Quantity   apiQty     `json:"quantity"`
	Consumed   apiQty     `json:"consumed" doc:"What issues took of it."`
	Remaining  apiQty     `json:"remaining" doc:"What it still holds (zero once released or consumed)."`
	Reference  string     `json:"reference"`
	Status     string     `json:"status" enum:"open,released,consumed"`
	ActorID    *string    `json:"actor_id" format:"uuid"`
	CreatedAt  time.Time  `json:"created_at"`
	ClosedAt   *time.Time `json:"closed_at"`
	Version    int        `json:"version"`
}

func apiReservationOf(r *inventory.Reservation) apiReservation {
	out := apiReservation{ID: r.ID.String(), ItemID: r.ItemID.String(), LocationID: r.LocationID.String(), Batch: r.Batch,
		Quantity: apiQty(r.Quantity), Consumed: apiQty(r.Consumed), Remaining: apiQty(r.Remaining()), Reference: r.Reference,
		Status: string(r.Status), ActorID: optIDString(r.ActorID), CreatedAt: r.CreatedAt.UTC(), Version: r.Version}
	if r.ClosedAt != nil {
		t := r.ClosedAt.UTC()
		out.ClosedAt = &t
	}
	return out
}

type apiReservationListInput struct {
	ItemID string `query:"item_id" format:"uuid" required:"true" doc:"The item whose open reservations to list."`
}

type apiReservationListOutput struct {
	Body apiList[apiReservation]
}

type apiReservationOutput struct {
	Body apiReservation
}

type apiReserveInput struct {
	APIIdempotencyKey
	Body struct {
		ItemID     string `json:"item_id" format:"uuid"`
		LocationID string `json:"location_id" format:"uuid"`
		Batch      string `json:"batch,omitempty" maxLength:"64"`
		Quantity   apiQty `json:"quantity" doc:"Above zero; at most what is available."`
		Reference  string `json:"reference" maxLength:"200" doc:"What the stock is reserved for."`
	}
}

type apiReservationReleaseInput struct {
	APIIdempotencyKey
	ID string `path:"id" format:"uuid" doc:"The reservation's id."`
}

func (h *Handler) apiMovementRoutes(api huma.API) {
	tags := []string{"Stock movements"}
	posted := "Posts in one transaction; stock levels, on hand and valuation change with it. Safe to retry with an Idempotency-Key."
	short := " Taking more than is available is a 422 problem naming body.quantity (insufficient stock)."
	apiOperation(h, api, huma.Operation{
		OperationID: "listMovements", Method: http.MethodGet, Path: "/movements", Tags: tags,
		Summary: "List the stock ledger", Description: "Ledger lines, newest first, filtered by the query parameters.",
	}, identity.InventoryRead, h.apiMovementList)
	apiOperation(h, api, huma.Operation{
		OperationID: "getMovement", Method: http.MethodGet, Path: "/movements/{id}", Tags: tags,
		Summary: "Get a movement", Description: "One movement with all its ledger lines.", Errors: []int{http.StatusNotFound},
	}, identity.InventoryRead, h.apiMovementGet)
	apiOperation(h, api, huma.Operation{
		OperationID: "createReceipt", Method: http.MethodPost, Path: "/movements/receipts", Tags: tags,
		Summary: "Receive stock", Description: "Receives stock at a unit cost, which updates the item's moving average cost. " + posted,
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound},
	}, identity.InventoryWrite, h.apiReceiptCreate)
	apiOperation(h, api, huma.Operation{
		OperationID: "createIssue", Method: http.MethodPost, Path: "/movements/issues", Tags: tags,
		Summary: "Issue stock", Description: "Takes stock out of a location, optionally consuming a reservation. " + posted + short,
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound},
	}, identity.InventoryWrite, h.apiIssueCreate)
	apiOperation(h, api, huma.Operation{
		OperationID: "createTransfer", Method: http.MethodPost, Path: "/movements/transfers", Tags: tags,
		Summary: "Transfer stock", Description: "Moves stock between two locations: both legs in one transaction. " + posted + short,
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound},
	}, identity.InventoryWrite, h.apiTransferCreate)
	apiOperation(h, api, huma.Operation{
		OperationID: "createAdjustment", Method: http.MethodPost, Path: "/movements/adjustments", Tags: tags,
		Summary: "Adjust stock", Description: "Corrects stock up or down for a reason. " + posted + short,
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound},
	}, identity.InventoryAdjust, h.apiAdjustmentCreate)
	apiOperation(h, api, huma.Operation{
		OperationID: "createStocktake", Method: http.MethodPost, Path: "/stocktakes", Tags: tags,
		Summary: "Post a stocktake",
		Description: "Posts the differences between the counted and the recorded quantities at a location as one movement, " +
			"a line per difference. " + posted,
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound},
	}, identity.InventoryAdjust, h.apiStocktakeCreate)
	apiOperation(h, api, huma.Operation{
		OperationID: "reverseMovement", Method: http.MethodPost, Path: "/movements/{id}/reverse", Tags: tags,
		Summary: "Reverse a movement",
		Description: "Posts the opposite of a movement, now. A movement is reversed at most once; a reversal cannot be " +
			"reversed. Fails like any movement when the stock it takes back is gone. " + posted,
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound},
	}, identity.InventoryAdjust, h.apiMovementReverse)
}

func (h *Handler) apiStockRoutes(api huma.API) {
	tags := []string{"Stock levels and reservations"}
	apiOperation(h, api, huma.Operation{
		OperationID: "listStockLevels", Method: http.MethodGet, Path: "/stock-levels", Tags: tags,
		Summary: "List stock levels",
		Description: "On hand, reserved and available per item, location and batch, for an item or a location (or both); " +
			"at most 1,000 in one page (next_cursor is always null).",
	}, identity.InventoryRead, h.apiStockLevelList)
	apiOperation(h, api, huma.Operation{
		OperationID: "getStockValue", Method: http.MethodGet, Path: "/stock-value", Tags: tags,
		Summary: "Get the stock value", Description: "The stock valued at each item's moving average cost, per location and in total.",
	}, identity.InventoryRead, h.apiStockValueGet)
	apiOperation(h, api, huma.Operation{
		OperationID: "listReservations", Method: http.MethodGet, Path: "/reservations", Tags: tags,
		Summary: "List open reservations", Description: "An item's open reservations, oldest first; at most 1,000 (next_cursor is always null).",
	}, identity.InventoryRead, h.apiReservationList)
	apiOperation(h, api, huma.Operation{
		OperationID: "createReservation", Method: http.MethodPost, Path: "/reservations", Tags: tags,
		Summary:       "Reserve stock",
		Description:   "Holds available stock for a reference until it is released or consumed by an issue. Reserving more than is available is a 422 problem naming body.quantity.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound},
	}, identity.InventoryWrite, h.apiReservationCreate)
	apiOperation(h, api, huma.Operation{
		OperationID: "releaseReservation", Method: http.MethodPost, Path: "/reservations/{id}/release", Tags: tags,
		Summary: "Release a reservation", Description: "Gives back what remains of an open reservation.",
		Errors: []int{http.StatusNotFound},
	}, identity.InventoryWrite, h.apiReservationRelease)
}

// apiInsufficientStock names the field of a movement's "insufficient stock" error, which the store
// reports without one (the CHECK constraint on the level does not know which input it came from).
func apiInsufficientStock(err error, field string) error {
	if inventory.IsInsufficientStock(err) {
		msg := store.ErrorMessage(err)
		return &store.Error{Code: store.Invalid, Message: msg, Fields: map[string]string{field: msg}}
	}
	return err
}

// apiBodyID parses a required id of the body; the schema has checked its format already.
func apiBodyID(field, s string) (store.ID, error) {
	id, err := store.ParseID(s)
	if err != nil {
		return store.ID{}, (store.FieldErrors{field: "Enter a valid id."}).Err()
	}
	return id, nil
}

// apiTimeParam reads a from/to filter: an RFC 3339 time, or a day in UTC (for to, the end of that day).
func apiTimeParam(field, s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, (store.FieldErrors{field: "Enter a time like 2026-03-01T09:00:00Z or a day like 2026-03-01."}).Err()
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}

func (h *Handler) apiMovementList(ctx context.Context, in *apiMovementListInput) (*apiMovementListOutput, error) {
	p := inventory.MovementListParams{Kind: inventory.MovementKind(in.Kind), After: in.Cursor, Limit: in.Limit}
	var err error
	if p.ItemID, err = apiOptionalID("item_id", in.ItemID); err != nil {
		return nil, err
	}
	if p.LocationID, err = apiOptionalID("location_id", in.LocationID); err != nil {
		return nil, err
	}
	if p.From, err = apiTimeParam("from", in.From, false); err != nil {
		return nil, err
	}
	if p.To, err = apiTimeParam("to", in.To, true); err != nil {
		return nil, err
	}
	res, err := inventory.MovementList(ctx, h.db, apiScope(ctx), p)
	if err != nil {
		return nil, err
	}
	data := make([]apiMovementLine, len(res.Lines))
	for i := range res.Lines {
		data[i] = apiMovementLineOf(&res.Lines[i])
	}
	return &apiMovementListOutput{Body: newAPIList(data, res.Next)}, nil
}

func (h *Handler) apiMovementGet(ctx context.Context, in *apiMovementIDInput) (*apiMovementOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	m, err := inventory.MovementGet(ctx, h.db, apiScope(ctx), id)
	if err != nil {
		return nil, err
	}
	return &apiMovementOutput{Body: apiMovementOf(m)}, nil
}

// apiPosted answers a posting: the movement, or the error with insufficient stock named at quantity.
func apiPosted(m *inventory.Movement, err error) (*apiMovementOutput, error) {
	if err != nil {
		return nil, apiInsufficientStock(err, "quantity")
	}
	return &apiMovementOutput{Body: apiMovementOf(m)}, nil
}

func (h *Handler) apiReceiptCreate(ctx context.Context, in *apiReceiptInput) (*apiMovementOutput, error) {
	b := in.Body
	item, err := apiBodyID("item_id", b.ItemID)
	if err != nil {
		return nil, err
	}
	loc, err := apiBodyID("location_id", b.LocationID)
	if err != nil {
		return nil, err
	}
	return apiPosted(inventory.Receive(ctx, h.db, apiScope(ctx), inventory.ReceiveParams{
		ItemID: item, LocationID: loc, Batch: b.Batch, Quantity: inventory.Qty(b.Quantity),
		UnitCost: b.UnitCost.Amount, Currency: b.UnitCost.Currency, MovementInfo: b.info(),
	}))
}

func (h *Handler) apiIssueCreate(ctx context.Context, in *apiIssueInput) (*apiMovementOutput, error) {
	b := in.Body
	item, err := apiBodyID("item_id", b.ItemID)
	if err != nil {
		return nil, err
	}
	p := inventory.IssueParams{ItemID: item, Batch: b.Batch, Quantity: inventory.Qty(b.Quantity), MovementInfo: b.info()}
	if b.LocationID != "" {
		if p.LocationID, err = apiBodyID("location_id", b.LocationID); err != nil {
			return nil, err
		}
	}
	if b.ReservationID != nil {
		if p.ReservationID, err = apiOptionalID("reservation_id", *b.ReservationID); err != nil {
			return nil, err
		}
	}
	return apiPosted(inventory.Issue(ctx, h.db, apiScope(ctx), p))
}

func (h *Handler) apiTransferCreate(ctx context.Context, in *apiTransferInput) (*apiMovementOutput, error) {
	b := in.Body
	item, err := apiBodyID("item_id", b.ItemID)
	if err != nil {
		return nil, err
	}
	from, err := apiBodyID("from_location_id", b.FromLocationID)
	if err != nil {
		return nil, err
	}
	to, err := apiBodyID("to_location_id", b.ToLocationID)
	if err != nil {
		return nil, err
	}
	return apiPosted(inventory.Transfer(ctx, h.db, apiScope(ctx), inventory.TransferParams{
		ItemID: item, FromLocationID: from, ToLocationID: to, Batch: b.Batch, Quantity: inventory.Qty(b.Quantity),
		MovementInfo: b.info(),
	}))
}

func (h *Handler) apiAdjustmentCreate(ctx context.Context, in *apiAdjustmentInput) (*apiMovementOutput, error) {
	b := in.Body
	item, err := apiBodyID("item_id", b.ItemID)
	if err != nil {
		return nil, err
	}
	loc, err := apiBodyID("location_id", b.LocationID)
	if err != nil {
		return nil, err
	}
	return apiPosted(inventory.Adjust(ctx, h.db, apiScope(ctx), inventory.AdjustParams{
		ItemID: item, LocationID: loc, Batch: b.Batch, Quantity: inventory.Qty(b.Quantity), Reason: b.Reason,
		MovementInfo: b.info(),
	}))
}

func (h *Handler) apiStocktakeCreate(ctx context.Context, in *apiStocktakeInput) (*apiMovementOutput, error) {
	b := in.Body
	loc, err := apiBodyID("location_id", b.LocationID)
	if err != nil {
		return nil, err
	}
	p := inventory.StocktakeParams{LocationID: loc, Full: b.Full, Reason: b.Reason, MovementInfo: b.info(),
		Lines: make([]inventory.StocktakeLine, len(b.Lines))}
	for i, l := range b.Lines {
		id, err := apiBodyID("lines."+strconv.Itoa(i)+".item_id", l.ItemID)
		if err != nil {
			return nil, err
		}
		p.Lines[i] = inventory.StocktakeLine{ItemID: id, Batch: l.Batch, Counted: inventory.Qty(l.Counted)}
	}
	m, err := inventory.Stocktake(ctx, h.db, apiScope(ctx), p)
	if err != nil {
		// Counting less than is reserved is the only shortfall a stocktake can meet.
		return nil, apiInsufficientStock(err, "lines")
	}
	return &apiMovementOutput{Body: apiMovementOf(m)}, nil
}

func (h *Handler) apiMovementReverse(ctx context.Context, in *apiReverseInput) (*apiMovementOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	p := inventory.MovementReverseParams{MovementID: id}
	if in.Body != nil {
		p.Note = in.Body.Note
	}
	m, err := inventory.MovementReverse(ctx, h.db, apiScope(ctx), p)
	if err != nil {
		// A reversal has no quantity of its own: its shortfall is about the movement as a whole.
		return nil, err
	}
	return &apiMovementOutput{Body: apiMovementOf(m)}, nil
}

func (h *Handler) apiStockLevelList(ctx context.Context, in *apiStockLevelInput) (*apiStockLevelOutput, error) {
	p := inventory.StockLevelParams{IncludeEmpty: in.IncludeEmpty}
	var err error
	if p.ItemID, err = apiOptionalID("item_id", in.ItemID); err != nil {
		return nil, err
	}
	if p.LocationID, err = apiOptionalID("location_id", in.LocationID); err != nil {
		return nil, err
	}
	if p.ItemID == nil && p.LocationID == nil {
		return nil, (store.FieldErrors{"item_id": "Choose an item or a location (location_id)."}).Err()
	}
	levels, err := inventory.StockLevels(ctx, h.db, apiScope(ctx), p)
	if err != nil {
		return nil, err
	}
	data := make([]apiStockLevel, len(levels))
	for i, l := range levels {
		data[i] = apiStockLevel{ItemID: l.ItemID.String(), SKU: l.SKU, ItemName: l.ItemName, Unit: string(l.Unit),
			LocationID: l.LocationID.String(), LocationCode: l.LocationCode, LocationName: l.LocationName, Batch: l.Batch,
			OnHand: apiQty(l.OnHand), Reserved: apiQty(l.Reserved), Available: apiQty(l.Available)}
	}
	return &apiStockLevelOutput{Body: newAPIList(data, "")}, nil
}

func (h *Handler) apiStockValueGet(ctx context.Context, _ *struct{}) (*apiStockValueOutput, error) {
	res, err := inventory.StockValue(ctx, h.db, apiScope(ctx))
	if err != nil {
		return nil, err
	}
	out := apiStockValue{Total: apiMoney{Amount: res.Total, Currency: res.Currency},
		Locations: make([]apiLocationValue, len(res.Locations))}
	for i, l := range res.Locations {
		out.Locations[i] = apiLocationValue{LocationID: l.LocationID.String(), Code: l.Code, Name: l.Name,
			Value: apiMoney{Amount: l.Value, Currency: res.Currency}}
	}
	return &apiStockValueOutput{Body: out}, nil
}

func (h *Handler) apiReservationList(ctx context.Context, in *apiReservationListInput) (*apiReservationListOutput, error) {
	item, err := apiOptionalID("item_id", in.ItemID)
	if err != nil {
		return nil, err
	}
	if item == nil {
		return nil, (store.FieldErrors{"item_id": "Choose an item."}).Err()
	}
	rs, err := inventory.ReservationList(ctx, h.db, apiScope(ctx), *item)
	if err != nil {
		return nil, err
	}
	data := make([]apiReservation, len(rs))
	for i := range rs {
		data[i] = apiReservationOf(&rs[i])
	}
	return &apiReservationListOutput{Body: newAPIList(data, "")}, nil
}

func (h *Handler) apiReservationCreate(ctx context.Context, in *apiReserveInput) (*apiReservationOutput, error) {
	b := in.Body
	item, err := apiBodyID("item_id", b.ItemID)
	if err != nil {
		return nil, err
	}
	loc, err := apiBodyID("location_id", b.LocationID)
	if err != nil {
		return nil, err
	}
	r, err := inventory.Reserve(ctx, h.db, apiScope(ctx), inventory.ReserveParams{
		ItemID: item, LocationID: loc, Batch: b.Batch, Quantity: inventory.Qty(b.Quantity), Reference: b.Reference,
	})
	if err != nil {
		return nil, apiInsufficientStock(err, "quantity")
	}
	return &apiReservationOutput{Body: apiReservationOf(r)}, nil
}

func (h *Handler) apiReservationRelease(ctx context.Context, in *apiReservationReleaseInput) (*apiReservationOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	r, err := inventory.ReservationRelease(ctx, h.db, apiScope(ctx), id)
	if err != nil {
		return nil, err
	}
	return &apiReservationOutput{Body: apiReservationOf(r)}, nil
}
