package handlers

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"ledgerline/store"
	"ledgerline/store/exports"
	"ledgerline/store/identity"
)

// Exports in API v1: start an export of a list with its filter and sort (the list page's query string),
// poll its state, download its file. Exports are made for a person: a personal token may export, an OAuth
// client (no person) may not. The store checks the rights again, and runs the export under the person's
// rights and the organization's row-level security.

type apiExport struct {
	ID         string     `json:"id" format:"uuid"`
	Kind       string     `json:"kind" doc:"The exported list, e.g. inventory.items."`
	Format     string     `json:"format" enum:"csv,xlsx"`
	FilterText string     `json:"filter_text" doc:"The filter and sort, as people read them."`
	State      string     `json:"state" enum:"queued,running,waiting,done,failed,cancelled" doc:"waiting: the last attempt failed and the export is retried."`
	RowsDone   int64      `json:"rows_done"`
	RowsTotal  int64      `json:"rows_total" doc:"Estimated rows; exact once done."`
	Error      string     `json:"error,omitempty"`
	FileName   string     `json:"file_name,omitempty"`
	FileSize   int64      `json:"file_size"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at"`
	ExpiresAt  *time.Time `json:"expires_at" doc:"The file is deleted at this time; the download answers 404 after."`
	Download   string     `json:"download_url,omitempty" doc:"Present once the file can be downloaded."`
}

func apiExportOf(x *exports.Export) apiExport {
	out := apiExport{ID: x.ID.String(), Kind: string(x.Kind), Format: string(x.Format), FilterText: x.FilterText,
		State: string(x.State), RowsDone: x.RowsDone, RowsTotal: x.RowsTotal, Error: x.Error, FileName: x.FileName,
		FileSize: x.FileSize, CreatedAt: x.CreatedAt.UTC(), FinishedAt: x.FinishedAt, ExpiresAt: x.ExpiresAt}
	if x.Downloadable(time.Now()) {
		out.Download = "/api/v1/exports/" + x.ID.String() + "/download"
	}
	return out
}

type apiExportOutput struct {
	Body apiExport
}

type apiExportCreateInput struct {
	Body struct {
		Kind   string `json:"kind" maxLength:"100" example:"inventory.items" doc:"The list to export: inventory.items, inventory.levels, inventory.movements, audit.events, identity.users, approvals.requests, approvals.mine, approvals.inbox, billing.invoices, billing.customers, billing.payments (an unknown one is a 422)."`
		Format string `json:"format" enum:"csv,xlsx" default:"csv"`
		Query  string `json:"query,omitempty" maxLength:"2000" doc:"The list page's query string, e.g. q=bolt&sort=name&dir=desc (items), sku=BOLT-10&from=2026-01-01 (ledger), item=<uuid> or location=<uuid> (stock levels), action=auth (audit), role=manager (people). Empty exports the whole list."`
	}
}

type apiExportIDInput struct {
	ID string `path:"id" format:"uuid"`
}

func (h *Handler) apiExportsRoutes(api huma.API) {
	tags := []string{"Exports"}
	apiOperation(h, api, huma.Operation{
		OperationID: "createExport", Method: http.MethodPost, Path: "/exports", Tags: tags,
		Summary: "Start an export",
		Description: "Exports every row of a list with the filter and sort of its query string, as CSV or XLSX, in the " +
			"background. Poll the export until its state is done, then download it. A person may run a few exports at " +
			"once (409 beyond that). Needs exports.run and the list's own scope.",
		DefaultStatus: http.StatusAccepted, Errors: []int{http.StatusForbidden},
	}, identity.ExportsRun, h.apiExportCreate)
	apiOperation(h, api, huma.Operation{
		OperationID: "getExport", Method: http.MethodGet, Path: "/exports/{id}", Tags: tags,
		Summary: "Get an export", Description: "An export's state and progress. Only its requester and admins see it.",
		Errors: []int{http.StatusNotFound},
	}, identity.ExportsRun, h.apiExportGet)
	apiOperation(h, api, huma.Operation{
		OperationID: "downloadExport", Method: http.MethodGet, Path: "/exports/{id}/download", Tags: tags,
		Summary:     "Download an export's file",
		Description: "The file of a finished export (CSV or XLSX), streamed. 404 before it is done and after it expired.",
		Errors:      []int{http.StatusNotFound},
		Responses: map[string]*huma.Response{"200": {Description: "The file.", Content: map[string]*huma.MediaType{
			"text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}},
	}, identity.ExportsRun, h.apiExportDownload)
}

// apiTenantZone is the time zone of the principal's organization, for date filters (UTC for clients).
func (h *Handler) apiTenantZone(ctx context.Context) (*time.Location, error) {
	p := principalFrom(ctx)
	if p.UserID == (store.ID{}) {
		return time.UTC, nil
	}
	a, err := identity.ActorLoad(ctx, h.db, p.UserID, p.TenantID)
	if err != nil {
		return nil, err
	}
	return a.Tenant.Location(), nil
}

func (h *Handler) apiExportCreate(ctx context.Context, in *apiExportCreateInput) (*apiExportOutput, error) {
	q, err := url.ParseQuery(strings.TrimPrefix(in.Body.Query, "?"))
	if err != nil {
		return nil, (store.FieldErrors{"query": "Send the list's query string, like q=bolt&sort=name."}).Err()
	}
	sc := apiScope(ctx)
	if sc.ActorID == (store.ID{}) {
		return nil, store.Errorf(store.Forbidden, "Exports are made for a person: use a personal access token.")
	}
	tz, err := h.apiTenantZone(ctx)
	if err != nil {
		return nil, err
	}
	kind := exports.Kind(in.Body.Kind)
	filter, text, err := h.exportFilter(ctx, sc, tz, kind, q)
	if err != nil {
		return nil, err
	}
	format := exports.Format(in.Body.Format)
	if format == "" {
		format = exports.FormatCSV
	}
	x, err := exports.Create(ctx, h.db, sc, exports.CreateParams{Kind: kind, Format: format, Filter: filter, FilterText: text})
	if err != nil {
		return nil, err
	}
	return &apiExportOutput{Body: apiExportOf(x)}, nil
}

func (h *Handler) apiExportGet(ctx context.Context, in *apiExportIDInput) (*apiExportOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	x, err := exports.Get(ctx, h.db, apiScope(ctx), id)
	if err != nil {
		return nil, err
	}
	return &apiExportOutput{Body: apiExportOf(x)}, nil
}

func (h *Handler) apiExportDownload(ctx context.Context, in *apiExportIDInput) (*huma.StreamResponse, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	x, r, err := exports.Download(ctx, h.db, apiScope(ctx), id)
	if err != nil {
		return nil, err
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		hctx.SetHeader("Content-Type", x.Format.ContentType())
		hctx.SetHeader("Content-Disposition", `attachment; filename="`+r.Name+`"`)
		hctx.SetHeader("Content-Length", strconv.FormatInt(r.Size, 10))
		hctx.SetHeader("Cache-Control", "private, no-store")
		hctx.SetStatus(http.StatusOK)
		if _, err := io.Copy(hctx.BodyWriter(), r); err != nil {
			h.logger.Error("export download interrupted", "export", id.String(), "error", err)
		}
	}}, nil
}
