package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
)

// apiAuditEvent is an audit event as the API shows it.
type apiAuditEvent struct {
	ID         string          `json:"id" format:"uuid"`
	OccurredAt time.Time       `json:"occurred_at"`
	Actor      *apiAuditActor  `json:"actor" doc:"Who did it; null for the system or an OAuth client."`
	Action     string          `json:"action" example:"membership.update"`
	EntityType string          `json:"entity_type" example:"membership"`
	EntityID   string          `json:"entity_id"`
	Before     json.RawMessage `json:"before" doc:"The entity before the change; null when it did not exist."`
	After      json.RawMessage `json:"after" doc:"The entity after the change; null when it no longer exists."`
	RequestID  string          `json:"request_id"`
	ClientIP   string          `json:"client_ip"`
	Seal       *apiAuditSeal   `json:"seal,omitempty" doc:"The event's place in the tenant's hash chain; absent until sealed (single event only)."`
}

type apiAuditActor struct {
	ID    string `json:"id" format:"uuid"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type apiAuditSeal struct {
	Seq      int64     `json:"seq"`
	SealedAt time.Time `json:"sealed_at"`
}

func apiAuditEventOf(e audit.ListedEvent) apiAuditEvent {
	out := apiAuditEvent{
		ID: e.ID.String(), OccurredAt: e.OccurredAt.UTC(), Action: e.Action, EntityType: e.EntityType,
		EntityID: e.EntityID, Before: rawOrNull(e.Before), After: rawOrNull(e.After),
		RequestID: e.RequestID, ClientIP: e.ClientIP,
	}
	if e.ActorID != nil {
		a := &apiAuditActor{ID: e.ActorID.String()}
		if e.ActorName != nil {
			a.Name = *e.ActorName
		}
		if e.ActorEmail != nil {
			a.Email = *e.ActorEmail
		}
		out.Actor = a
	}
	return out
}

func rawOrNull(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return json.RawMessage(b)
}

type apiAuditListInput struct {
	APIPage
	Actor      string `query:"actor" format:"uuid" doc:"Only events by this user id."`
	Action     string `query:"action" maxLength:"100" doc:"A whole action (auth.sign_in) or its leading parts (auth)."`
	EntityType string `query:"entity_type" maxLength:"100" doc:"Only events about this kind of entity, e.g. department."`
	EntityID   string `query:"entity_id" maxLength:"200" doc:"Only events about this entity (needs entity_type)."`
	From       string `query:"from" format:"date" doc:"Only events on or after this day (UTC), e.g. 2026-03-01."`
	To         string `query:"to" format:"date" doc:"Only events on or before this day (UTC), e.g. 2026-03-31."`
}

type apiAuditListOutput struct {
	Body apiList[apiAuditEvent]
}

type apiAuditGetInput struct {
	ID string `path:"id" format:"uuid" doc:"The event's id."`
}

type apiAuditGetOutput struct {
	Body apiAuditEvent
}

func (h *Handler) apiAuditRoutes(api huma.API) {
	apiOperation(h, api, huma.Operation{
		OperationID: "listAuditEvents", Method: http.MethodGet, Path: "/audit-events", Tags: []string{"Audit"},
		Summary:     "List audit events",
		Description: "The organization's audit trail, newest first, filtered by the query parameters.",
	}, identity.AuditRead, h.apiAuditList)
	apiOperation(h, api, huma.Operation{
		OperationID: "getAuditEvent", Method: http.MethodGet, Path: "/audit-events/{id}", Tags: []string{"Audit"},
		Summary: "Get an audit event", Errors: []int{http.StatusNotFound},
	}, identity.AuditRead, h.apiAuditGet)
}

func (h *Handler) apiAuditList(ctx context.Context, in *apiAuditListInput) (*apiAuditListOutput, error) {
	res, err := audit.List(ctx, h.db, apiScope(ctx), audit.ListParams{
		Actor: in.Actor, Action: in.Action, EntityType: in.EntityType, EntityID: in.EntityID,
		From: in.From, To: in.To, Location: time.UTC, After: in.Cursor, Limit: in.Limit,
	})
	if err != nil {
		return nil, err
	}
	data := make([]apiAuditEvent, len(res.Events))
	for i, e := range res.Events {
		data[i] = apiAuditEventOf(e)
	}
	return &apiAuditListOutput{Body: newAPIList(data, res.Next)}, nil
}

func (h *Handler) apiAuditGet(ctx context.Context, in *apiAuditGetInput) (*apiAuditGetOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	ev, err := audit.Get(ctx, h.db, apiScope(ctx), id)
	if err != nil {
		return nil, err
	}
	out := apiAuditEventOf(ev.ListedEvent)
	if ev.SealSeq != nil && ev.SealedAt != nil {
		out.Seal = &apiAuditSeal{Seq: *ev.SealSeq, SealedAt: ev.SealedAt.UTC()}
	}
	return &apiAuditGetOutput{Body: out}, nil
}
