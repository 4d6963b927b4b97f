package handlers

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"ledgerline/store"
	"ledgerline/store/billing"
	"ledgerline/store/files"
	"ledgerline/store/identity"
)

// Billing in API v1: customers, invoices (draft, lines, issue, void), credit notes, payments and the
// receivables reports. Amounts are integer minor units of the document's currency; quantities are decimal
// strings. Scopes mirror the store's permissions: billing.read to look, billing.write to prepare drafts,
// customers and payments, billing.issue to issue, void, credit and reverse. Every POST takes an
// Idempotency-Key, so a retried payment POST records one payment.

type apiCustomer struct {
	ID        string     `json:"id" format:"uuid"`
	Name      string     `json:"name"`
	Email     string     `json:"email"`
	Address   string     `json:"address"`
	TaxID     string     `json:"tax_id_masked" doc:"The tax id masked (•••• 1234); empty when none. The clear value is never returned."`
	Bank      string     `json:"bank_masked" doc:"The bank details masked; empty when none."`
	Currency  string     `json:"currency"`
	TermsDays int        `json:"terms_days"`
	Notes     string     `json:"notes"`
	DeletedAt *time.Time `json:"deleted_at"`
	CreatedAt time.Time  `json:"created_at"`
	Version   int        `json:"version"`
}

func apiCustomerOf(c *billing.Customer) apiCustomer {
	return apiCustomer{ID: c.ID.String(), Name: c.Name, Email: c.Email, Address: c.Address, TaxID: c.TaxIDMasked(),
		Bank: c.BankMasked(), Currency: c.Currency, TermsDays: c.TermsDays, Notes: c.Notes, DeletedAt: c.DeletedAt,
		CreatedAt: c.CreatedAt.UTC(), Version: c.Version}
}

type apiIDInput struct {
	ID string `path:"id" format:"uuid"`
}

type apiCustomerOutput struct{ Body apiCustomer }

type apiCustomerListInput struct {
	APIPage
	Search string `query:"search" maxLength:"100" doc:"Part of the name or e-mail."`
}

type apiCustomerCreateInput struct {
	APIIdempotencyKey
	Body struct {
		Name      string  `json:"name" maxLength:"200"`
		Email     string  `json:"email,omitempty" maxLength:"254"`
		Address   string  `json:"address,omitempty" maxLength:"1000"`
		TaxID     *string `json:"tax_id,omitempty" maxLength:"64" doc:"Stored encrypted; answers show it masked."`
		Bank      *string `json:"bank,omitempty" maxLength:"200" doc:"Stored encrypted; answers show it masked."`
		Currency  string  `json:"currency" minLength:"3" maxLength:"3"`
		TermsDays int     `json:"terms_days,omitempty" minimum:"0" maximum:"365" doc:"Default 0 (due on issue)."`
		Notes     string  `json:"notes,omitempty" maxLength:"4000"`
	}
}

type apiLine struct {
	ID          string  `json:"id" format:"uuid"`
	Description string  `json:"description"`
	Quantity    apiQty  `json:"quantity"`
	UnitPrice   int64   `json:"unit_price" doc:"Minor units."`
	TaxRateID   string  `json:"tax_rate_id" format:"uuid"`
	TaxName     string  `json:"tax_name"`
	TaxRateBP   int     `json:"tax_rate_bp" doc:"Basis points: 1900 is 19 %."`
	ItemID      *string `json:"item_id" format:"uuid"`
	Net         int64   `json:"net"`
	Tax         int64   `json:"tax"`
	Gross       int64   `json:"gross"`
}

type apiInvoice struct {
	ID               string     `json:"id" format:"uuid"`
	Number           *string    `json:"number" doc:"Null while a draft."`
	Status           string     `json:"status" enum:"draft,issued,partially_paid,paid,void"`
	Overdue          bool       `json:"overdue"`
	CustomerID       string     `json:"customer_id" format:"uuid"`
	CustomerName     string     `json:"customer_name"`
	Currency         string     `json:"currency"`
	PricesIncludeTax bool       `json:"prices_include_tax"`
	IssueDate        *string    `json:"issue_date" format:"date"`
	DueDate          *string    `json:"due_date" format:"date"`
	Subtotal         int64      `json:"subtotal"`
	TaxTotal         int64      `json:"tax_total"`
	Total            int64      `json:"total"`
	Paid             int64      `json:"paid"`
	Credited         int64      `json:"credited"`
	Balance          int64      `json:"balance" doc:"Always total − paid − credited."`
	VoidReason       string     `json:"void_reason"`
	Lines            []apiLine  `json:"lines,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
	IssuedAt         *time.Time `json:"issued_at"`
	Version          int        `json:"version"`
}

func dateStr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.Format("2006-01-02")
	return &s
}

func apiInvoiceOf(i *billing.Invoice, lines []billing.Line) apiInvoice {
	out := apiInvoice{ID: i.ID.String(), Number: i.Number, Status: string(i.Status), Overdue: i.Overdue, CustomerID: i.CustomerID.String(),
		CustomerName: i.CustomerName, Currency: i.Currency, PricesIncludeTax: i.PricesIncludeTax, IssueDate: dateStr(i.IssueDate),
		DueDate: dateStr(i.DueDate), Subtotal: i.Subtotal, TaxTotal: i.TaxTotal, Total: i.Total, Paid: i.Paid, Credited: i.Credited,
		Balance: i.Balance, VoidReason: i.VoidReason, CreatedAt: i.CreatedAt.UTC(), IssuedAt: i.IssuedAt, Version: i.Version}
	for _, l := range lines {
		al := apiLine{ID: l.ID.String(), Description: l.Description, Quantity: apiQty(l.Quantity), UnitPrice: l.UnitPrice,
			TaxRateID: l.TaxRateID.String(), TaxName: l.TaxName, TaxRateBP: l.TaxRateBP, Net: l.Net, Tax: l.Tax, Gross: l.Gross}
		if l.ItemID != nil {
			s := l.ItemID.String()
			al.ItemID = &s
		}
		out.Lines = append(out.Lines, al)
	}
	return out
}

type apiInvoiceOutput struct{ Body apiInvoice }

type apiInvoiceListInput struct {
	APIPage
	Status     string `query:"status" enum:"draft,issued,partially_paid,paid,void" doc:"Only invoices in this status."`
	CustomerID string `query:"customer_id" format:"uuid"`
	Overdue    bool   `query:"overdue" doc:"Only open invoices past their due date."`
	Search     string `query:"search" maxLength:"100" doc:"Part of the number or the customer's name."`
}

type apiInvoiceListOutput struct {
	Body struct {
		apiList[apiInvoice]
		Totals []billing.CurrencyTotal `json:"totals" doc:"Totals of the whole filtered set, one per currency."`
	}
}

type apiLineBody struct {
	Description string  `json:"description" maxLength:"500"`
	Quantity    apiQty  `json:"quantity" doc:"Greater than zero: give money back with a credit note."`
	UnitPrice   int64   `json:"unit_price" minimum:"0" doc:"Minor units of the invoice's currency (net or gross per the invoice's prices_include_tax)."`
	TaxRateID   string  `json:"tax_rate_id" format:"uuid"`
	ItemID      *string `json:"item_id,omitempty" format:"uuid" doc:"An inventory item of the organization; billing records the link, the price is yours."`
}

type apiInvoiceCreateInput struct {
	APIIdempotencyKey
	Body struct {
		CustomerID string        `json:"customer_id" format:"uuid"`
		TermsDays  *int          `json:"terms_days,omitempty" minimum:"0" maximum:"365" doc:"Default: the customer's terms."`
		Notes      string        `json:"notes,omitempty" maxLength:"4000"`
		Lines      []apiLineBody `json:"lines,omitempty" maxItems:"500"`
	}
}

type apiLineAddInput struct {
	APIIdempotencyKey
	ID   string `path:"id" format:"uuid"`
	Body apiLineBody
}

type apiInvoiceIssueInput struct {
	APIIdempotencyKey
	ID   string `path:"id" format:"uuid"`
	Body struct {
		Version int `json:"version,omitempty" doc:"The version you read; a stale one is a 409 conflict. 0 skips the check."`
	}
}

type apiVoidInput struct {
	APIIdempotencyKey
	ID   string `path:"id" format:"uuid"`
	Body struct {
		Reason  string `json:"reason" maxLength:"500"`
		Version int    `json:"version,omitempty"`
	}
}

type apiCreditNoteInput struct {
	APIIdempotencyKey
	ID   string `path:"id" format:"uuid"`
	Body struct {
		Amount *int64 `json:"amount,omitempty" minimum:"1" doc:"Minor units; absent credits the whole open balance."`
		Reason string `json:"reason" maxLength:"500"`
	}
}

type apiCreditNoteOutput struct{ Body billing.CreditNote }

type apiPayment struct {
	billing.Payment
	Unallocated int64                   `json:"unallocated" doc:"Customer credit left from this payment."`
	Allocations []billing.AllocationRow `json:"allocations"`
}

type apiPaymentOutput struct{ Body apiPayment }

func apiPaymentOf(p *billing.PaymentDetail) apiPayment {
	return apiPayment{Payment: p.Payment, Unallocated: p.Unallocated(), Allocations: p.Allocations}
}

// apiAllocationBody applies part of a payment to one invoice.
type apiAllocationBody struct {
	InvoiceID string `json:"invoice_id" format:"uuid"`
	Amount    int64  `json:"amount" minimum:"1" doc:"Minor units."`
}

type apiPaymentCreateInput struct {
	APIIdempotencyKey
	Body struct {
		CustomerID  string              `json:"customer_id" format:"uuid"`
		Amount      int64               `json:"amount" minimum:"1" doc:"Minor units."`
		Currency    string              `json:"currency,omitempty" doc:"Must be the customer's currency (default)."`
		ReceivedOn  string              `json:"received_on" format:"date"`
		Method      string              `json:"method" enum:"bank_transfer,card,cash,cheque,other"`
		Reference   string              `json:"reference,omitempty" maxLength:"200"`
		KeepCredit  bool                `json:"keep_credit,omitempty" doc:"Keep what is not allocated as customer credit; without it, an unallocated rest is refused."`
		Allocations []apiAllocationBody `json:"allocations,omitempty" maxItems:"200"`
	}
}

type apiPaymentListInput struct {
	APIPage
	CustomerID string `query:"customer_id" format:"uuid"`
}

type apiPaymentListOutput struct{ Body apiList[apiPayment] }

type apiPaymentReverseInput struct {
	APIIdempotencyKey
	ID   string `path:"id" format:"uuid"`
	Body struct {
		Reason string `json:"reason" maxLength:"500"`
	}
}

type apiAgingInput struct {
	AsOf string `query:"as_of" format:"date" doc:"Default: today in the organization's time zone."`
}

type apiAgingOutput struct {
	Body struct {
		AsOf   string             `json:"as_of" format:"date"`
		Rows   []billing.AgingRow `json:"rows"`
		Totals []billing.AgingRow `json:"totals" doc:"One per currency; never summed across currencies."`
	}
}

type apiRevenueInput struct {
	From string `query:"from" format:"date" doc:"Any day of the first month (default: 11 months before to)."`
	To   string `query:"to" format:"date" doc:"Any day of the last month (default: this month)."`
}

type apiRevenueOutput struct {
	Body struct {
		Months []billing.RevenueMonth `json:"months"`
	}
}

func parseOptionalUUID(s string) (*store.ID, error) {
	if s == "" {
		return nil, nil
	}
	id, err := store.ParseID(s)
	if err != nil {
		return nil, err
	}
	return &id, nil
}

func lineParamsOf(b apiLineBody) (billing.LineParams, error) {
	rate, err := store.ParseID(b.TaxRateID)
	if err != nil {
		return billing.LineParams{}, (store.FieldErrors{"tax_rate_id": "Choose a tax rate of the organization."}).Err()
	}
	item, err := parseOptionalUUID(derefString(b.ItemID))
	if err != nil {
		return billing.LineParams{}, (store.FieldErrors{"item_id": "Give an item id of the organization."}).Err()
	}
	return billing.LineParams{Description: b.Description, Quantity: billing.Qty(b.Quantity), UnitPrice: b.UnitPrice, TaxRateID: rate, ItemID: item}, nil
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (h *Handler) apiInvoiceDetail(ctx context.Context, id store.ID) (*apiInvoiceOutput, error) {
	d, err := billing.InvoiceGet(ctx, h.db, apiScope(ctx), id)
	if err != nil {
		return nil, err
	}
	return &apiInvoiceOutput{Body: apiInvoiceOf(&d.Invoice, d.Lines)}, nil
}

type apiRecurringLineBody struct {
	Description string `json:"description" maxLength:"500"`
	Quantity    apiQty `json:"quantity"`
	UnitPrice   int64  `json:"unit_price" minimum:"0" doc:"Minor units of the customer's currency."`
	TaxRateID   string `json:"tax_rate_id" format:"uuid"`
}

type apiRecurringCreateInput struct {
	APIIdempotencyKey
	Body struct {
		CustomerID string                 `json:"customer_id" format:"uuid"`
		Name       string                 `json:"name" maxLength:"200"`
		Schedule   string                 `json:"schedule" enum:"monthly,quarterly,yearly"`
		StartDate  string                 `json:"start_date" format:"date" doc:"The first occurrence."`
		EndDate    string                 `json:"end_date,omitempty" format:"date" doc:"No occurrence after this date; absent: until stopped."`
		AutoIssue  bool                   `json:"auto_issue,omitempty" doc:"Issue each invoice at once (needs billing.issue); otherwise drafts."`
		Notes      string                 `json:"notes,omitempty" maxLength:"4000"`
		Lines      []apiRecurringLineBody `json:"lines" minItems:"1" maxItems:"100"`
	}
}

type apiRecurringOutput struct{ Body billing.Recurring }

type apiInvoicePDFOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

type apiRecurringStopInput struct {
	APIIdempotencyKey
	ID string `path:"id" format:"uuid"`
}

// apiBillingRoutes registers the API operations for customers, invoices, credit notes and payments.
func (h *Handler) apiBillingRoutes(api huma.API) {
	tags := []string{"Billing"}
	apiOperation(h, api, huma.Operation{OperationID: "listCustomers", Method: http.MethodGet, Path: "/customers", Tags: tags,
		Summary: "List customers", Description: "Live customers by name; pages by cursor."},
		identity.BillingRead, func(ctx context.Context, in *apiCustomerListInput) (*struct{ Body apiList[apiCustomer] }, error) {
			res, err := billing.CustomerList(ctx, h.db, apiScope(ctx), billing.CustomerListParams{Search: in.Search, After: in.Cursor, Limit: in.Limit})
			if err != nil {
				return nil, err
			}
			var out []apiCustomer
			for i := range res.Customers {
				out = append(out, apiCustomerOf(&res.Customers[i]))
			}
			return &struct{ Body apiList[apiCustomer] }{Body: newAPIList(out, res.Next)}, nil
		})
	apiOperation(h, api, huma.Operation{OperationID: "getCustomer", Method: http.MethodGet, Path: "/customers/{id}", Tags: tags,
		Summary: "Get a customer", Errors: []int{http.StatusNotFound}},
		identity.BillingRead, func(ctx context.Context, in *apiIDInput) (*apiCustomerOutput, error) {
			id, err := store.ParseID(in.ID)
			if err != nil {
				return nil, err
			}
			c, err := billing.CustomerGet(ctx, h.db, apiScope(ctx), id)
			if err != nil {
				return nil, err
			}
			return &apiCustomerOutput{Body: apiCustomerOf(c)}, nil
		})
	apiOperation(h, api, huma.Operation{OperationID: "createCustomer", Method: http.MethodPost, Path: "/customers", Tags: tags,
		Summary: "Create a customer", Description: "Tax id and bank details are stored encrypted and answered masked.", DefaultStatus: http.StatusCreated},
		identity.BillingWrite, func(ctx context.Context, in *apiCustomerCreateInput) (*apiCustomerOutput, error) {
			b := in.Body
			c, err := billing.CustomerCreate(ctx, h.db, apiScope(ctx), billing.CustomerFields{Name: b.Name, Email: b.Email, Address: b.Address,
				TaxID: b.TaxID, Bank: b.Bank, Currency: b.Currency, TermsDays: b.TermsDays, Notes: b.Notes})
			if err != nil {
				return nil, err
			}
			return &apiCustomerOutput{Body: apiCustomerOf(c)}, nil
		})

	apiOperation(h, api, huma.Operation{OperationID: "listInvoices", Method: http.MethodGet, Path: "/invoices", Tags: tags,
		Summary: "List invoices", Description: "Newest first, with the filtered set's totals per currency; pages by cursor."},
		identity.BillingRead, func(ctx context.Context, in *apiInvoiceListInput) (*apiInvoiceListOutput, error) {
			cust, err := parseOptionalUUID(in.CustomerID)
			if err != nil {
				return nil, err
			}
			res, err := billing.InvoiceList(ctx, h.db, apiScope(ctx), billing.InvoiceListParams{Status: billing.Status(in.Status), CustomerID: cust,
				Overdue: in.Overdue, Search: in.Search, After: in.Cursor, Limit: in.Limit, WithTotals: true})
			if err != nil {
				return nil, err
			}
			out := &apiInvoiceListOutput{}
			var data []apiInvoice
			for i := range res.Invoices {
				data = append(data, apiInvoiceOf(&res.Invoices[i], nil))
			}
			out.Body.apiList = newAPIList(data, res.Next)
			out.Body.Totals = res.Totals
			if out.Body.Totals == nil {
				out.Body.Totals = []billing.CurrencyTotal{}
			}
			return out, nil
		})
	apiOperation(h, api, huma.Operation{OperationID: "getInvoice", Method: http.MethodGet, Path: "/invoices/{id}", Tags: tags,
		Summary: "Get an invoice with its lines", Errors: []int{http.StatusNotFound}},
		identity.BillingRead, func(ctx context.Context, in *apiIDInput) (*apiInvoiceOutput, error) {
			id, err := store.ParseID(in.ID)
			if err != nil {
				return nil, err
			}
			return h.apiInvoiceDetail(ctx, id)
		})
	apiOperation(h, api, huma.Operation{OperationID: "getInvoicePDF", Method: http.MethodGet, Path: "/invoices/{id}/pdf", Tags: tags,
		Summary: "Download an invoice's PDF", Description: "The PDF rendered when the invoice was issued (never changed afterwards). " +
			"A 404 right after issuing means it is still being rendered: retry in a moment.",
		Errors: []int{http.StatusNotFound},
		Responses: map[string]*huma.Response{"200": {Description: "The PDF.", Content: map[string]*huma.MediaType{
			"application/pdf": {Schema: &huma.Schema{Type: huma.TypeString, Format: "binary"}}}}}},
		identity.BillingRead, func(ctx context.Context, in *apiIDInput) (*apiInvoicePDFOutput, error) {
			id, err := store.ParseID(in.ID)
			if err != nil {
				return nil, err
			}
			r, err := billing.InvoicePDFOpen(ctx, h.db, apiScope(ctx), id)
			if err != nil {
				return nil, err
			}
			b, err := io.ReadAll(io.LimitReader(r, files.MaxSize))
			if err != nil {
				return nil, fmt.Errorf("error reading PDF of invoice %s: %w", id, err)
			}
			return &apiInvoicePDFOutput{ContentType: "application/pdf", ContentDisposition: `attachment; filename="` + r.Name + `"`, Body: b}, nil
		})
	apiOperation(h, api, huma.Operation{OperationID: "createInvoice", Method: http.MethodPost, Path: "/invoices", Tags: tags,
		Summary: "Create a draft invoice", Description: "A draft in the customer's currency, optionally with lines. Drafts have no number.",
		DefaultStatus: http.StatusCreated},
		identity.BillingWrite, func(ctx context.Context, in *apiInvoiceCreateInput) (*apiInvoiceOutput, error) {
			cust, err := store.ParseID(in.Body.CustomerID)
			if err != nil {
				return nil, (store.FieldErrors{"customer_id": "Give a customer id of the organization."}).Err()
			}
			lines := make([]billing.LineParams, 0, len(in.Body.Lines))
			for _, l := range in.Body.Lines {
				p, err := lineParamsOf(l)
				if err != nil {
					return nil, err
				}
				lines = append(lines, p)
			}
			inv, err := billing.InvoiceCreate(ctx, h.db, apiScope(ctx), billing.InvoiceCreateParams{CustomerID: cust, TermsDays: in.Body.TermsDays, Notes: in.Body.Notes})
			if err != nil {
				return nil, err
			}
			for _, p := range lines {
				if _, err := billing.InvoiceLineAdd(ctx, h.db, apiScope(ctx), inv.ID, 0, p); err != nil {
					return nil, err
				}
			}
			return h.apiInvoiceDetail(ctx, inv.ID)
		})
	apiOperation(h, api, huma.Operation{OperationID: "addInvoiceLine", Method: http.MethodPost, Path: "/invoices/{id}/lines", Tags: tags,
		Summary: "Add a line to a draft", Description: "Totals are recomputed (round half-even per line). An issued invoice is a 422.",
		Errors: []int{http.StatusNotFound}, DefaultStatus: http.StatusCreated},
		identity.BillingWrite, func(ctx context.Context, in *apiLineAddInput) (*apiInvoiceOutput, error) {
			id, err := store.ParseID(in.ID)
			if err != nil {
				return nil, err
			}
			p, err := lineParamsOf(in.Body)
			if err != nil {
				return nil, err
			}
			if _, err := billing.InvoiceLineAdd(ctx, h.db, apiScope(ctx), id, 0, p); err != nil {
				return nil, err
			}
			return h.apiInvoiceDetail(ctx, id)
		})
	apiOperation(h, api, huma.Operation{OperationID: "issueInvoice", Method: http.MethodPost, Path: "/invoices/{id}/issue", Tags: tags,
		Summary: "Issue a draft", Description: "Assigns the next gapless number of the series and year and freezes the invoice.",
		Errors: []int{http.StatusNotFound}},
		identity.BillingIssue, func(ctx context.Context, in *apiInvoiceIssueInput) (*apiInvoiceOutput, error) {
			id, err := store.ParseID(in.ID)
			if err != nil {
				return nil, err
			}
			if _, err := billing.InvoiceIssue(ctx, h.db, apiScope(ctx), billing.InvoiceIssueParams{ID: id, Version: in.Body.Version}); err != nil {
				return nil, err
			}
			return h.apiInvoiceDetail(ctx, id)
		})
	apiOperation(h, api, huma.Operation{OperationID: "voidInvoice", Method: http.MethodPost, Path: "/invoices/{id}/void", Tags: tags,
		Summary: "Void an issued invoice", Description: "Only without payments or credit notes; the number stays used.",
		Errors: []int{http.StatusNotFound}},
		identity.BillingIssue, func(ctx context.Context, in *apiVoidInput) (*apiInvoiceOutput, error) {
			id, err := store.ParseID(in.ID)
			if err != nil {
				return nil, err
			}
			if _, err := billing.InvoiceVoid(ctx, h.db, apiScope(ctx), billing.InvoiceVoidParams{ID: id, Reason: in.Body.Reason, Version: in.Body.Version}); err != nil {
				return nil, err
			}
			return h.apiInvoiceDetail(ctx, id)
		})
	apiOperation(h, api, huma.Operation{OperationID: "createCreditNote", Method: http.MethodPost, Path: "/invoices/{id}/credit-notes", Tags: tags,
		Summary: "Credit an issued invoice", Description: "A credit note of its own gapless series; reduces the balance.",
		Errors: []int{http.StatusNotFound}, DefaultStatus: http.StatusCreated},
		identity.BillingIssue, func(ctx context.Context, in *apiCreditNoteInput) (*apiCreditNoteOutput, error) {
			id, err := store.ParseID(in.ID)
			if err != nil {
				return nil, err
			}
			cn, err := billing.CreditNoteIssue(ctx, h.db, apiScope(ctx), billing.CreditNoteParams{InvoiceID: id, Amount: in.Body.Amount, Reason: in.Body.Reason})
			if err != nil {
				return nil, err
			}
			return &apiCreditNoteOutput{Body: *cn}, nil
		})

	apiOperation(h, api, huma.Operation{OperationID: "listPayments", Method: http.MethodGet, Path: "/payments", Tags: tags,
		Summary: "List payments", Description: "Newest first; pages by cursor."},
		identity.BillingRead, func(ctx context.Context, in *apiPaymentListInput) (*apiPaymentListOutput, error) {
			cust, err := parseOptionalUUID(in.CustomerID)
			if err != nil {
				return nil, err
			}
			res, err := billing.PaymentList(ctx, h.db, apiScope(ctx), billing.PaymentListParams{CustomerID: cust, After: in.Cursor, Limit: in.Limit})
			if err != nil {
				return nil, err
			}
			var data []apiPayment
			for _, p := range res.Payments {
				data = append(data, apiPayment{Payment: p, Unallocated: p.Unallocated(), Allocations: []billing.AllocationRow{}})
			}
			return &apiPaymentListOutput{Body: newAPIList(data, res.Next)}, nil
		})
	apiOperation(h, api, huma.Operation{OperationID: "getPayment", Method: http.MethodGet, Path: "/payments/{id}", Tags: tags,
		Summary: "Get a payment with its allocations", Errors: []int{http.StatusNotFound}},
		identity.BillingRead, func(ctx context.Context, in *apiIDInput) (*apiPaymentOutput, error) {
			id, err := store.ParseID(in.ID)
			if err != nil {
				return nil, err
			}
			p, err := billing.PaymentGet(ctx, h.db, apiScope(ctx), id)
			if err != nil {
				return nil, err
			}
			return &apiPaymentOutput{Body: apiPaymentOf(p)}, nil
		})
	apiOperation(h, api, huma.Operation{OperationID: "recordPayment", Method: http.MethodPost, Path: "/payments", Tags: tags,
		Summary: "Record a payment", Description: "Allocated to open invoices of the same customer and currency; the rest becomes " +
			"customer credit only with keep_credit. Send an Idempotency-Key: a retried POST records one payment.",
		DefaultStatus: http.StatusCreated},
		identity.BillingWrite, func(ctx context.Context, in *apiPaymentCreateInput) (*apiPaymentOutput, error) {
			b := in.Body
			cust, err := store.ParseID(b.CustomerID)
			if err != nil {
				return nil, (store.FieldErrors{"customer_id": "Give a customer id of the organization."}).Err()
			}
			day, err := time.Parse("2006-01-02", b.ReceivedOn)
			if err != nil {
				return nil, (store.FieldErrors{"received_on": "Give the date as YYYY-MM-DD."}).Err()
			}
			p := billing.PaymentParams{CustomerID: cust, Amount: b.Amount, Currency: b.Currency, ReceivedOn: day, Method: billing.Method(b.Method),
				Reference: b.Reference, KeepCredit: b.KeepCredit}
			for _, a := range b.Allocations {
				id, err := store.ParseID(a.InvoiceID)
				if err != nil {
					return nil, (store.FieldErrors{"allocations": "Give invoice ids of the organization."}).Err()
				}
				p.Allocations = append(p.Allocations, billing.Allocation{InvoiceID: id, Amount: a.Amount})
			}
			pay, err := billing.PaymentRecord(ctx, h.db, apiScope(ctx), p)
			if err != nil {
				return nil, err
			}
			return &apiPaymentOutput{Body: apiPaymentOf(pay)}, nil
		})
	apiOperation(h, api, huma.Operation{OperationID: "reversePayment", Method: http.MethodPost, Path: "/payments/{id}/reverse", Tags: tags,
		Summary: "Reverse a payment", Description: "Its allocations go back onto the invoices' balances; the payment stays, marked reversed.",
		Errors: []int{http.StatusNotFound}},
		identity.BillingIssue, func(ctx context.Context, in *apiPaymentReverseInput) (*apiPaymentOutput, error) {
			id, err := store.ParseID(in.ID)
			if err != nil {
				return nil, err
			}
			p, err := billing.PaymentReverse(ctx, h.db, apiScope(ctx), billing.PaymentReverseParams{ID: id, Reason: in.Body.Reason})
			if err != nil {
				return nil, err
			}
			return &apiPaymentOutput{Body: apiPaymentOf(p)}, nil
		})

	apiOperation(h, api, huma.Operation{OperationID: "listRecurringInvoices", Method: http.MethodGet, Path: "/recurring-invoices", Tags: tags,
		Summary: "List recurring invoices", Description: "Running ones first, by next date; at most 500."},
		identity.BillingRead, func(ctx context.Context, in *struct{}) (*struct{ Body apiList[billing.Recurring] }, error) {
			list, err := billing.RecurringList(ctx, h.db, apiScope(ctx))
			if err != nil {
				return nil, err
			}
			return &struct{ Body apiList[billing.Recurring] }{Body: newAPIList(list, "")}, nil
		})
	apiOperation(h, api, huma.Operation{OperationID: "createRecurringInvoice", Method: http.MethodPost, Path: "/recurring-invoices", Tags: tags,
		Summary: "Create a recurring invoice", Description: "A template made into an invoice on each scheduled date, once, by an hourly job.",
		DefaultStatus: http.StatusCreated},
		identity.BillingWrite, func(ctx context.Context, in *apiRecurringCreateInput) (*apiRecurringOutput, error) {
			b := in.Body
			cust, err := store.ParseID(b.CustomerID)
			if err != nil {
				return nil, (store.FieldErrors{"customer_id": "Give a customer id of the organization."}).Err()
			}
			p := billing.RecurringParams{CustomerID: cust, Name: b.Name, Schedule: billing.Schedule(b.Schedule), AutoIssue: b.AutoIssue, Notes: b.Notes}
			if p.StartDate, err = time.Parse("2006-01-02", b.StartDate); err != nil {
				return nil, (store.FieldErrors{"start_date": "Give the date as YYYY-MM-DD."}).Err()
			}
			if b.EndDate != "" {
				d, err := time.Parse("2006-01-02", b.EndDate)
				if err != nil {
					return nil, (store.FieldErrors{"end_date": "Give the date as YYYY-MM-DD."}).Err()
				}
				p.EndDate = &d
			}
			for _, l := range b.Lines {
				rate, err := store.ParseID(l.TaxRateID)
				if err != nil {
					return nil, (store.FieldErrors{"tax_rate_id": "Choose a tax rate of the organization."}).Err()
				}
				p.Lines = append(p.Lines, billing.RecurringLine{Description: l.Description, Quantity: billing.Qty(l.Quantity), UnitPrice: l.UnitPrice, TaxRateID: rate})
			}
			r, err := billing.RecurringCreate(ctx, h.db, apiScope(ctx), p)
			if err != nil {
				return nil, err
			}
			return &apiRecurringOutput{Body: *r}, nil
		})
	apiOperation(h, api, huma.Operation{OperationID: "stopRecurringInvoice", Method: http.MethodPost, Path: "/recurring-invoices/{id}/stop", Tags: tags,
		Summary: "Stop a recurring invoice", Description: "No further occurrences; the invoices made stay.", Errors: []int{http.StatusNotFound}},
		identity.BillingWrite, func(ctx context.Context, in *apiRecurringStopInput) (*apiRecurringOutput, error) {
			id, err := store.ParseID(in.ID)
			if err != nil {
				return nil, err
			}
			r, err := billing.RecurringStop(ctx, h.db, apiScope(ctx), id)
			if err != nil {
				return nil, err
			}
			return &apiRecurringOutput{Body: *r}, nil
		})
	apiOperation(h, api, huma.Operation{OperationID: "receivablesAging", Method: http.MethodGet, Path: "/reports/aging", Tags: tags,
		Summary: "Receivables aging", Description: "Open balances per customer and currency by days past due (current, 1–30, 31–60, 61–90, over 90)."},
		identity.BillingRead, func(ctx context.Context, in *apiAgingInput) (*apiAgingOutput, error) {
			var p billing.AgingParams
			if in.AsOf != "" {
				d, err := time.Parse("2006-01-02", in.AsOf)
				if err != nil {
					return nil, (store.FieldErrors{"as_of": "Give the date as YYYY-MM-DD."}).Err()
				}
				p.AsOf = d
			}
			rep, err := billing.ReceivablesAging(ctx, h.db, apiScope(ctx), p)
			if err != nil {
				return nil, err
			}
			out := &apiAgingOutput{}
			out.Body.AsOf, out.Body.Rows, out.Body.Totals = rep.AsOf.Format("2006-01-02"), rep.Rows, rep.Totals
			if out.Body.Rows == nil {
				out.Body.Rows, out.Body.Totals = []billing.AgingRow{}, []billing.AgingRow{}
			}
			return out, nil
		})
	apiOperation(h, api, huma.Operation{OperationID: "revenueByMonth", Method: http.MethodGet, Path: "/reports/revenue", Tags: tags,
		Summary: "Revenue by month", Description: "Per month and currency: net invoiced, credited and collected."},
		identity.BillingRead, func(ctx context.Context, in *apiRevenueInput) (*apiRevenueOutput, error) {
			var p billing.RevenueParams
			for _, x := range []struct {
				s    string
				into *time.Time
				f    string
			}{{in.From, &p.From, "from"}, {in.To, &p.To, "to"}} {
				if x.s == "" {
					continue
				}
				d, err := time.Parse("2006-01-02", x.s)
				if err != nil {
					return nil, (store.FieldErrors{x.f: "Give the date as YYYY-MM-DD."}).Err()
				}
				*x.into = d
			}
			months, err := billing.RevenueByMonth(ctx, h.db, apiScope(ctx), p)
			if err != nil {
				return nil, err
			}
			out := &apiRevenueOutput{}
			out.Body.Months = months
			if out.Body.Months == nil {
				out.Body.Months = []billing.RevenueMonth{}
			}
			return out, nil
		})
}
