// Package billing renders the billing screens: the invoice list and an invoice's page with its editor,
// customers, payments, the receivables reports and the billing settings. Components take the
// layout.Shell and a view model shaped like the screen; they know nothing about handlers or the store.
package billing

import (
	"strconv"

	"ledgerline/views/ui"
)

// Element ids that HTMX targets; the handlers use the same constants.
const (
	// InvoiceResultsID holds the invoice table, its totals and paging.
	InvoiceResultsID = "billing-invoice-results"
	// InvoiceTableWrapID is the scrolling frame of the invoice table, dimmed while a request runs.
	InvoiceTableWrapID = "billing-invoice-table-wrap"
	// CustomerPickerID is the invoice list's customer filter: the hidden input with the chosen id; the
	// picker's text input, hint and suggestions have this id with -q, -hint and -options.
	CustomerPickerID = "billing-customer"
	// CustomerResultsID holds the customer table and paging.
	CustomerResultsID = "billing-customer-results"
	// EditorID is a draft's lines, totals and add-line form: adding or removing a line swaps it.
	EditorID = "billing-editor"
	// CustomerFormID is the customer form.
	CustomerFormID = "billing-customer-form"
	// PaymentFormID is the payment form.
	PaymentFormID = "billing-payment-form"
	// SettingsFormID is the billing settings form.
	SettingsFormID = "billing-settings-form"
	// IssueDialogID, VoidDialogID and ReverseDialogID are the confirmation dialogs.
	IssueDialogID   = "billing-issue-dialog"
	VoidDialogID    = "billing-void-dialog"
	ReverseDialogID = "billing-reverse-dialog"
)

// Option is one choice of a select.
type Option struct {
	Value, Label string
	Selected     bool
}

// Link is a labelled URL.
type Link struct {
	Label, Href, TestID string
}

// Status is a badge: its kind (a ui.Badge… constant) and label.
type Status struct {
	Kind, Label string
}

// InvoiceListView is the invoice list: filters as typed, a page of rows, the filtered totals and paging.
type InvoiceListView struct {
	Search, Status, CustomerID, From, To string
	Overdue                              bool
	Statuses                             []Option
	// CustomerLabel names the chosen customer (CustomerID) in the customer picker.
	CustomerLabel       string
	Rows                []InvoiceRow
	Totals              []TotalRow
	Filtered, CanCreate bool
	NextURL, FirstURL   string
	Problems            []ui.FieldError
	// Export is the Export button of the filtered list (nil when the member may not export).
	Export *ui.ExportProps
	// TotalsURL, when set, loads the totals after the list (InvoiceTotals fragment); TotalsPageURL is the
	// list with its totals, for browsers without JavaScript.
	TotalsURL, TotalsPageURL string
}

// InvoiceRow is one invoice in a table.
type InvoiceRow struct {
	Href, Number, Customer, IssueDate, DueDate, Total, Balance string
	Status                                                     Status
	Overdue                                                    bool
}

// TotalRow is a sum in one currency.
type TotalRow struct {
	Currency, Count, Total, Balance string
}

// InvoiceView is an invoice's page.
type InvoiceView struct {
	ID, Title, Customer, CustomerHref, Currency          string
	Status                                               Status
	Overdue, Draft, Void                                 bool
	IssueDate, DueDate, Terms, Notes, VoidReason         string
	Editor                                               EditorView
	Total, Paid, Credited, Balance                       string
	PDFHref, PDFState                                    string
	Payments                                             []AllocRow
	CreditNotes                                          []CreditNoteRow
	Sends                                                []SendRow
	Timeline                                             []TimelineRow
	CanWrite, CanIssue                                   bool
	CanVoid, CanCredit, CanPay, CanSend                  bool
	CSRFToken, IssuePath, VoidPath, CreditPath, SendPath string
	PayHref, CustomerEmail                               string
	Version                                              int
	Problems                                             []ui.FieldError
}

// VersionText is the version for hidden inputs.
func (v InvoiceView) VersionText() string { return strconv.Itoa(v.Version) }

// EditorView is a draft's lines and totals, with the add-line form when editable.
type EditorView struct {
	InvoiceID, Action, CSRFToken string
	Editable, CanIssue           bool
	IssuePath                    string
	PricesIncludeTax             bool
	Version                      int
	Lines                        []LineRow
	Taxes                        []TaxRow
	Subtotal, TaxTotal, Total    string
	Currency                     string
	Form                         LineForm
}

// VersionText is the version for hidden inputs.
func (v EditorView) VersionText() string { return strconv.Itoa(v.Version) }

// LineRow is one invoice line.
type LineRow struct {
	Description, Quantity, UnitPrice, Tax, Amount, RemovePath string
}

// TaxRow is the tax of one rate.
type TaxRow struct {
	Label, Net, Tax string
}

// LineForm is the add-line form as typed.
type LineForm struct {
	Description, Quantity, UnitPrice, TaxRateID, ItemSKU string
	Rates                                                []Option
	Errors                                               []ui.FieldError
}

// AllocRow is a payment applied to an invoice.
type AllocRow struct {
	Date, Method, Reference, Amount, PaymentHref string
	Reversed                                     bool
}

// CreditNoteRow is a credit note.
type CreditNoteRow struct {
	Number, Date, Amount, Reason string
}

// SendRow is an e-mail request.
type SendRow struct {
	To, Requested, State string
	Kind                 string
}

// TimelineRow is one event in an invoice's life.
type TimelineRow struct {
	When, What string
}

// CustomerListView is the customer list.
type CustomerListView struct {
	Search            string
	Deleted           bool
	Rows              []CustomerRow
	NextURL, FirstURL string
	CanCreate         bool
	Export            *ui.ExportProps
}

// CustomerRow is one customer in the list.
type CustomerRow struct {
	Href, Name, Email, Currency, Terms string
}

// CustomerView is a customer's page.
type CustomerView struct {
	ID, Name, Email, Address, Currency, Terms, Notes string
	TaxID, Bank                                      string
	Credit                                           string
	Deleted, CanWrite                                bool
	Invoices                                         []InvoiceRow
	Form                                             CustomerForm
	CSRFToken, DeletePath, RestorePath               string
	NewInvoicePath, PayHref                          string
	Version                                          int
	Problems                                         []ui.FieldError
}

// VersionText is the version for hidden inputs.
func (v CustomerView) VersionText() string { return strconv.Itoa(v.Version) }

// CustomerForm is the customer form as typed. TaxID and Bank are write-only: empty keeps the stored
// value (shown masked as hints), Clear* removes it.
type CustomerForm struct {
	Action, Submit, CSRFToken             string
	Name, Email, Address, Currency, Terms string
	Notes, TaxID, Bank                    string
	TaxIDMasked, BankMasked               string
	ClearTaxID, ClearBank                 bool
	Currencies                            []Option
	Version                               int
	Conflict                              string
	Errors                                []ui.FieldError
}

// VersionText is the version for hidden inputs.
func (f CustomerForm) VersionText() string { return strconv.Itoa(f.Version) }

// NewInvoiceView is the form that starts a draft.
type NewInvoiceView struct {
	CSRFToken string
	Customers []Option
	Errors    []ui.FieldError
}

// PaymentListView is the payment list.
type PaymentListView struct {
	Rows              []PaymentRow
	NextURL, FirstURL string
	CanCreate         bool
	Export            *ui.ExportProps
}

// PaymentRow is one payment.
type PaymentRow struct {
	Href, Customer, Date, Method, Reference, Amount, Unallocated string
	Reversed                                                     bool
}

// PaymentForm records a payment for one customer, with an allocation input per open invoice.
type PaymentForm struct {
	CSRFToken, CustomerID, CustomerName, Currency string
	Customers                                     []Option
	Amount, ReceivedOn, Method, Reference         string
	KeepCredit                                    bool
	Methods                                       []Option
	Open                                          []PaymentAlloc
	Errors                                        []ui.FieldError
}

// PaymentAlloc is an open invoice on the payment form with the amount typed for it.
type PaymentAlloc struct {
	Field, Number, Due, Balance, Amount string
}

// PaymentView is a payment's page.
type PaymentView struct {
	ID, Customer, CustomerHref, Date, Method, Reference string
	Amount, Allocated, Unallocated                      string
	Reversed                                            bool
	ReversedAt, ReversalReason                          string
	Allocations                                         []PaymentAllocRow
	CanReverse                                          bool
	CSRFToken, ReversePath                              string
	Problems                                            []ui.FieldError
}

// PaymentAllocRow is an allocation on a payment's page.
type PaymentAllocRow struct {
	Number, Href, Amount string
	Reversed             bool
}

// ReportsView is the receivables aging and revenue by month.
type ReportsView struct {
	AsOf   string
	Aging  []AgingRow
	Totals []AgingRow
	Charts []RevenueChart
}

// AgingRow is one line of the aging table.
type AgingRow struct {
	Customer, Href, Currency          string
	Current, D1, D31, D61, D90, Total string
}

// RevenueChart is the revenue of one currency by month, drawn as bars.
type RevenueChart struct {
	Currency string
	Max      string
	Bars     []RevenueBar
}

// RevenueBar is one month: its label, figures and bar geometry (SVG units, viewBox 0 0 600 220).
type RevenueBar struct {
	Label, Invoiced, Credited, Collected string
	X, Y, W, H                           int
}

// SettingsView is the billing settings page with the tax rates.
type SettingsView struct {
	CSRFToken                              string
	PricesIncludeTax, StockHandoff         bool
	InvoiceSeries, CreditNoteSeries, Terms string
	PaymentInstructions, SenderAddress     string
	ReminderDays                           string
	Version                                int
	Errors                                 []ui.FieldError
	Conflict                               string
	Rates                                  []RateRow
	RateName, RateValue                    string
	RateErrors                             []ui.FieldError
}

// VersionText is the version for hidden inputs.
func (v SettingsView) VersionText() string { return strconv.Itoa(v.Version) }

// RateRow is a tax rate.
type RateRow struct {
	Name, Rate, DeletePath string
}

// Itoa is strconv.Itoa for templates.
func Itoa(n int) string { return strconv.Itoa(n) }

// StatementView is a customer's statement over a period.
type StatementView struct {
	CustomerName, CustomerHref, Path string
	Currency, From, To               string
	Opening, Closing                 string
	Lines                            []StatementRow
	Problems                         []ui.FieldError
}

// StatementRow is one movement with the running balance.
type StatementRow struct {
	Date, Kind, Reference, Amount, Balance string
}

// RecurringView is the list of recurring invoices with the form that adds one (a single line).
type RecurringView struct {
	CSRFToken                               string
	Rows                                    []RecurringRow
	CanWrite, CanIssue                      bool
	Customers, Schedules, Rates             []Option
	Name, Start, End, Description, Quantity string
	UnitPrice, Notes                        string
	AutoIssue                               bool
	Errors                                  []ui.FieldError
}

// RecurringRow is one recurring invoice.
type RecurringRow struct {
	Name, Customer, Schedule, Next, Occurrences, Amount, StopPath string
	AutoIssue, Ended                                              bool
}
