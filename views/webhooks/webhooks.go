// Package webhooks renders the admin screens of outgoing webhooks: the endpoint list with the form to
// register one, and an endpoint's page with its settings, secret rotation and delivery log.
package webhooks

import "ledgerline/views/ui"

// EventChoice is one event type offered as a check box.
type EventChoice struct {
	Name    string
	Checked bool
}

// EndpointForm is the register or edit form as typed, with its errors.
type EndpointForm struct {
	CSRFToken   string
	URL         string
	Description string
	Events      []EventChoice
	Enabled     bool
	Version     int
	Errors      []ui.FieldError
}

// EndpointRow is one endpoint in the list.
type EndpointRow struct {
	ID, URL, Description string
	Events               []string
	Status               string
	StatusKind           string
	Created              string
}

// ListView is the endpoints page. NewSecret is set once, right after registering.
type ListView struct {
	Form      EndpointForm
	Endpoints []EndpointRow
	NewID     string
	NewURL    string
	NewSecret string
}

// DeliveryRow is one delivery in an endpoint's log.
type DeliveryRow struct {
	ID, EventID, EventType string
	Resend                 bool
	State, StateKind       string
	Attempts               int
	Created, LastAttempt   string
	NextAttempt            string
	Response               string // "200 in 35 ms", or the error
	RequestBody            string
	ResponseBody           string
}

// EndpointView is an endpoint's page.
type EndpointView struct {
	ID              string
	URL             string
	Status          string
	StatusKind      string
	DisabledReason  string
	Deleted         bool
	PreviousExpires string // the end of the rotation overlap, when one runs
	Form            EndpointForm
	NewSecret       string
	RotateError     string
	Deliveries      []DeliveryRow
	NextPage        string // URL of the next page of the log, "" at the end
}
