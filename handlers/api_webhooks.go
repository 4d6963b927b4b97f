package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"ledgerline/store"
	"ledgerline/store/events"
	"ledgerline/store/identity"
	"ledgerline/store/webhooks"
)

// apiWebhookEndpoint is a webhook endpoint as the API shows it; its secret is never shown again.
type apiWebhookEndpoint struct {
	ID                  string     `json:"id" format:"uuid"`
	URL                 string     `json:"url"`
	Description         string     `json:"description"`
	EventTypes          []string   `json:"event_types" doc:"The events it receives."`
	Enabled             bool       `json:"enabled"`
	DisabledReason      string     `json:"disabled_reason" doc:"Why it is disabled (by an administrator, or after repeated failures)."`
	ConsecutiveFailures int        `json:"consecutive_failures" doc:"Deliveries in a row that failed for good."`
	PreviousSecretUntil *time.Time `json:"previous_secret_until" doc:"While a rotation's overlap lasts, the old secret signs too, until then."`
	CreatedAt           time.Time  `json:"created_at"`
	DeletedAt           *time.Time `json:"deleted_at"`
	Version             int        `json:"version" doc:"Send it back when changing the endpoint."`
}

func apiWebhookEndpointOf(ep *webhooks.Endpoint) apiWebhookEndpoint {
	return apiWebhookEndpoint{ID: ep.ID.String(), URL: ep.URL, Description: ep.Description, EventTypes: ep.EventTypes,
		Enabled: ep.Enabled, DisabledReason: ep.DisabledReason, ConsecutiveFailures: ep.ConsecutiveFailures,
		PreviousSecretUntil: ep.PreviousExpiresAt, CreatedAt: ep.CreatedAt.UTC(), DeletedAt: ep.DeletedAt, Version: ep.Version}
}

// apiWebhookDelivery is one delivery of an event to an endpoint.
type apiWebhookDelivery struct {
	ID             string     `json:"id" format:"uuid"`
	EndpointID     string     `json:"endpoint_id" format:"uuid"`
	EventID        string     `json:"event_id" format:"uuid" doc:"Also the webhook-id header: the same for every attempt and resend."`
	EventType      string     `json:"event_type"`
	ResendOf       *string    `json:"resend_of" doc:"The delivery this one resends; null for the first."`
	State          string     `json:"state" enum:"pending,retrying,succeeded,failed"`
	Attempts       int        `json:"attempts"`
	LastAttemptAt  *time.Time `json:"last_attempt_at"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	ResponseStatus *int       `json:"response_status" doc:"The receiver's HTTP status of the last attempt; null when none came."`
	ResponseMS     *int       `json:"response_ms" doc:"How long the last attempt took."`
	Error          string     `json:"error" doc:"What went wrong in the last attempt, if anything."`
	RequestBody    string     `json:"request_body" doc:"The JSON body that was signed and sent."`
	CreatedAt      time.Time  `json:"created_at"`
}

func apiWebhookDeliveryOf(d *webhooks.Delivery) apiWebhookDelivery {
	out := apiWebhookDelivery{ID: d.ID.String(), EndpointID: d.EndpointID.String(), EventID: d.EventID.String(),
		EventType: d.EventType, State: d.State, Attempts: d.Attempts, LastAttemptAt: d.LastAttemptAt,
		NextAttemptAt: d.NextAttemptAt, ResponseStatus: d.ResponseStatus, ResponseMS: d.ResponseMS, Error: d.Error,
		RequestBody: d.RequestBody, CreatedAt: d.CreatedAt.UTC()}
	if d.ResendOf != nil {
		s := d.ResendOf.String()
		out.ResendOf = &s
	}
	return out
}

type apiWebhookEndpointListInput struct {
	IncludeDeleted bool `query:"include_deleted" doc:"Also list deleted endpoints."`
}

type apiWebhookEndpointListOutput struct {
	Body apiList[apiWebhookEndpoint]
}

type apiWebhookEndpointIDInput struct {
	ID string `path:"id" format:"uuid" doc:"The endpoint's id."`
}

type apiWebhookEndpointOutput struct {
	Body apiWebhookEndpoint
}

type apiWebhookEndpointBody struct {
	URL         string   `json:"url" maxLength:"2000" doc:"Where events are posted; https in production, never a private address."`
	Description string   `json:"description,omitempty" maxLength:"500"`
	EventTypes  []string `json:"event_types" minItems:"1" doc:"Event types to receive, e.g. invoice.issued, stock.low."`
}

type apiWebhookEndpointCreateInput struct {
	APIIdempotencyKey
	Body apiWebhookEndpointBody
}

type apiWebhookEndpointCreateOutput struct {
	Body struct {
		apiWebhookEndpoint
		Secret string `json:"secret" doc:"The signing secret (whsec_…), shown only in this answer."`
	}
}

type apiWebhookEndpointUpdateInput struct {
	ID   string `path:"id" format:"uuid" doc:"The endpoint's id."`
	Body struct {
		URL         string   `json:"url" maxLength:"2000" doc:"Where events are posted; https in production, never a private address."`
		Description string   `json:"description,omitempty" maxLength:"500"`
		EventTypes  []string `json:"event_types" minItems:"1" doc:"Event types to receive."`
		Enabled     bool     `json:"enabled" doc:"false disables it; true enables it again and clears its failure count."`
		Version     int      `json:"version" minimum:"1" doc:"The version you read."`
	}
}

type apiWebhookEndpointDeleteInput struct {
	ID      string `path:"id" format:"uuid" doc:"The endpoint's id."`
	Version int    `query:"version" required:"true" minimum:"1" doc:"The version you read."`
}

type apiWebhookRotateInput struct {
	APIIdempotencyKey
	ID   string `path:"id" format:"uuid" doc:"The endpoint's id."`
	Body struct {
		OverlapSeconds int `json:"overlap_seconds" minimum:"0" maximum:"604800" doc:"How long the old secret keeps signing beside the new one."`
		Version        int `json:"version" minimum:"1" doc:"The version you read."`
	}
}

type apiWebhookRotateOutput struct {
	Body struct {
		Secret string `json:"secret" doc:"The new signing secret, shown only in this answer."`
	}
}

type apiWebhookDeliveryListInput struct {
	APIPage
	ID string `path:"id" format:"uuid" doc:"The endpoint's id."`
}

type apiWebhookDeliveryListOutput struct {
	Body apiList[apiWebhookDelivery]
}

type apiWebhookResendInput struct {
	APIIdempotencyKey
	ID string `path:"id" format:"uuid" doc:"The delivery's id."`
}

type apiWebhookDeliveryOutput struct {
	Body apiWebhookDelivery
}

// apiWebhookRoutes registers the API operations for webhook endpoints and deliveries.
func (h *Handler) apiWebhookRoutes(api huma.API) {
	tags := []string{"Webhooks"}
	apiOperation(h, api, huma.Operation{
		OperationID: "listWebhookEndpoints", Method: http.MethodGet, Path: "/webhook-endpoints", Tags: tags,
		Summary: "List webhook endpoints", Description: "The organization's endpoints, newest first (at most 200).",
	}, identity.AdminSettings, h.apiWebhookEndpointList)
	apiOperation(h, api, huma.Operation{
		OperationID: "createWebhookEndpoint", Method: http.MethodPost, Path: "/webhook-endpoints", Tags: tags,
		Summary: "Register a webhook endpoint", DefaultStatus: http.StatusCreated,
		Description: "Returns the signing secret once. Requests carry webhook-id, webhook-timestamp and webhook-signature " +
			"(v1,<base64 HMAC-SHA256 of id.timestamp.body>, the Standard Webhooks scheme).",
	}, identity.AdminSettings, h.apiWebhookEndpointCreate)
	apiOperation(h, api, huma.Operation{
		OperationID: "getWebhookEndpoint", Method: http.MethodGet, Path: "/webhook-endpoints/{id}", Tags: tags,
		Summary: "Get a webhook endpoint", Errors: []int{http.StatusNotFound},
	}, identity.AdminSettings, h.apiWebhookEndpointGet)
	apiOperation(h, api, huma.Operation{
		OperationID: "updateWebhookEndpoint", Method: http.MethodPatch, Path: "/webhook-endpoints/{id}", Tags: tags,
		Summary: "Change a webhook endpoint", Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
	}, identity.AdminSettings, h.apiWebhookEndpointUpdate)
	apiOperation(h, api, huma.Operation{
		OperationID: "deleteWebhookEndpoint", Method: http.MethodDelete, Path: "/webhook-endpoints/{id}", Tags: tags,
		Summary: "Delete a webhook endpoint", DefaultStatus: http.StatusNoContent,
		Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, identity.AdminSettings, h.apiWebhookEndpointDelete)
	apiOperation(h, api, huma.Operation{
		OperationID: "rotateWebhookSecret", Method: http.MethodPost, Path: "/webhook-endpoints/{id}/rotate-secret", Tags: tags,
		Summary: "Rotate an endpoint's signing secret", Errors: []int{http.StatusNotFound},
		Description: "Returns the new secret once; during the overlap both secrets sign every request.",
	}, identity.AdminSettings, h.apiWebhookRotate)
	apiOperation(h, api, huma.Operation{
		OperationID: "listWebhookDeliveries", Method: http.MethodGet, Path: "/webhook-endpoints/{id}/deliveries", Tags: tags,
		Summary: "An endpoint's delivery log", Description: "Newest first, by cursor.", Errors: []int{http.StatusNotFound},
	}, identity.AdminSettings, h.apiWebhookDeliveryList)
	apiOperation(h, api, huma.Operation{
		OperationID: "resendWebhookDelivery", Method: http.MethodPost, Path: "/webhook-deliveries/{id}/resend", Tags: tags,
		Summary: "Send a delivery's event again", DefaultStatus: http.StatusCreated,
		Description: "A new delivery with the same webhook-id and body; the endpoint must be enabled.",
		Errors:      []int{http.StatusNotFound},
	}, identity.AdminSettings, h.apiWebhookResend)
}

func (h *Handler) apiWebhookEndpointList(ctx context.Context, in *apiWebhookEndpointListInput) (*apiWebhookEndpointListOutput, error) {
	eps, err := webhooks.EndpointList(ctx, h.db, apiScope(ctx), in.IncludeDeleted)
	if err != nil {
		return nil, err
	}
	data := make([]apiWebhookEndpoint, len(eps))
	for i := range eps {
		data[i] = apiWebhookEndpointOf(&eps[i])
	}
	return &apiWebhookEndpointListOutput{Body: newAPIList(data, "")}, nil
}

func apiEventTypes(ts []string) []events.Type {
	out := make([]events.Type, len(ts))
	for i, t := range ts {
		out[i] = events.Type(t)
	}
	return out
}

func (h *Handler) apiWebhookEndpointCreate(ctx context.Context, in *apiWebhookEndpointCreateInput) (*apiWebhookEndpointCreateOutput, error) {
	res, err := webhooks.EndpointCreate(ctx, h.db, apiScope(ctx), h.webhooks, webhooks.EndpointParams{
		URL: in.Body.URL, Description: in.Body.Description, EventTypes: apiEventTypes(in.Body.EventTypes)})
	if err != nil {
		return nil, err
	}
	out := &apiWebhookEndpointCreateOutput{}
	out.Body.apiWebhookEndpoint, out.Body.Secret = apiWebhookEndpointOf(res.Endpoint), res.Secret
	return out, nil
}

func (h *Handler) apiWebhookEndpointGet(ctx context.Context, in *apiWebhookEndpointIDInput) (*apiWebhookEndpointOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	ep, err := webhooks.EndpointGet(ctx, h.db, apiScope(ctx), id)
	if err != nil {
		return nil, err
	}
	return &apiWebhookEndpointOutput{Body: apiWebhookEndpointOf(ep)}, nil
}

func (h *Handler) apiWebhookEndpointUpdate(ctx context.Context, in *apiWebhookEndpointUpdateInput) (*apiWebhookEndpointOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	ep, err := webhooks.EndpointUpdate(ctx, h.db, apiScope(ctx), h.webhooks, id, webhooks.EndpointUpdateParams{
		EndpointParams: webhooks.EndpointParams{URL: in.Body.URL, Description: in.Body.Description, EventTypes: apiEventTypes(in.Body.EventTypes)},
		Enabled:        in.Body.Enabled, Version: in.Body.Version})
	if err != nil {
		return nil, err
	}
	return &apiWebhookEndpointOutput{Body: apiWebhookEndpointOf(ep)}, nil
}

func (h *Handler) apiWebhookEndpointDelete(ctx context.Context, in *apiWebhookEndpointDeleteInput) (*struct{}, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	if err := webhooks.EndpointDelete(ctx, h.db, apiScope(ctx), id, in.Version); err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

func (h *Handler) apiWebhookRotate(ctx context.Context, in *apiWebhookRotateInput) (*apiWebhookRotateOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	secret, err := webhooks.SecretRotate(ctx, h.db, apiScope(ctx), id, webhooks.SecretRotateParams{
		Overlap: time.Duration(in.Body.OverlapSeconds) * time.Second, Version: in.Body.Version})
	if err != nil {
		return nil, err
	}
	out := &apiWebhookRotateOutput{}
	out.Body.Secret = secret
	return out, nil
}

func (h *Handler) apiWebhookDeliveryList(ctx context.Context, in *apiWebhookDeliveryListInput) (*apiWebhookDeliveryListOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	res, err := webhooks.DeliveryList(ctx, h.db, apiScope(ctx), webhooks.DeliveryListParams{EndpointID: id, After: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	data := make([]apiWebhookDelivery, len(res.Deliveries))
	for i := range res.Deliveries {
		data[i] = apiWebhookDeliveryOf(&res.Deliveries[i])
	}
	return &apiWebhookDeliveryListOutput{Body: newAPIList(data, res.Next)}, nil
}

func (h *Handler) apiWebhookResend(ctx context.Context, in *apiWebhookResendInput) (*apiWebhookDeliveryOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	d, err := webhooks.Resend(ctx, h.db, apiScope(ctx), id)
	if err != nil {
		return nil, err
	}
	return &apiWebhookDeliveryOutput{Body: apiWebhookDeliveryOf(d)}, nil
}
