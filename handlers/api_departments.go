package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// apiDepartment is a department as the API shows it.
type apiDepartment struct {
	ID          string        `json:"id" format:"uuid"`
	Name        string        `json:"name"`
	Manager     *apiPersonRef `json:"manager" doc:"The department's manager; null for none."`
	MemberCount int           `json:"member_count" doc:"How many active members belong to it."`
	DeletedAt   *time.Time    `json:"deleted_at" doc:"When it was deleted; null while it exists. Deleted departments can be restored."`
	Version     int           `json:"version" doc:"Send it back when changing the department: a stale version is a 409 conflict."`
}

// apiPersonRef names a person inside another resource.
type apiPersonRef struct {
	ID   string `json:"id" format:"uuid"`
	Name string `json:"name"`
}

func apiDepartmentOf(d *identity.DepartmentSummary) apiDepartment {
	out := apiDepartment{ID: d.ID.String(), Name: d.Name, MemberCount: d.MemberCount, Version: d.Version}
	if d.ManagerID != nil {
		out.Manager = &apiPersonRef{ID: d.ManagerID.String()}
		if d.ManagerName != nil {
			out.Manager.Name = *d.ManagerName
		}
	}
	if d.DeletedAt != nil {
		t := d.DeletedAt.UTC()
		out.DeletedAt = &t
	}
	return out
}

type apiDepartmentListInput struct {
	APIPage
	IncludeDeleted bool `query:"include_deleted" doc:"Also list deleted departments."`
}

type apiDepartmentListOutput struct {
	Body apiList[apiDepartment]
}

type apiDepartmentIDInput struct {
	ID string `path:"id" format:"uuid" doc:"The department's id."`
}

type apiDepartmentOutput struct {
	Body apiDepartment
}

type apiDepartmentCreateInput struct {
	APIIdempotencyKey
	Body struct {
		Name string `json:"name" maxLength:"200" doc:"The department's name, unique among the live departments."`
	}
}

type apiDepartmentRenameInput struct {
	ID   string `path:"id" format:"uuid" doc:"The department's id."`
	Body struct {
		Name    string `json:"name" maxLength:"200" doc:"The new name."`
		Version int    `json:"version" minimum:"1" doc:"The version you read."`
	}
}

type apiDepartmentManagerInput struct {
	ID   string `path:"id" format:"uuid" doc:"The department's id."`
	Body struct {
		ManagerID *string `json:"manager_id" format:"uuid" doc:"The new manager, an active member; null for none."`
		Version   int     `json:"version" minimum:"1" doc:"The version you read."`
	}
}

type apiDepartmentDeleteInput struct {
	ID      string `path:"id" format:"uuid" doc:"The department's id."`
	Version int    `query:"version" required:"true" minimum:"1" doc:"The version you read."`
}

type apiDepartmentRestoreInput struct {
	APIIdempotencyKey
	ID   string `path:"id" format:"uuid" doc:"The department's id."`
	Body struct {
		Version int `json:"version" minimum:"1" doc:"The version you read."`
	}
}

func (h *Handler) apiDepartmentRoutes(api huma.API) {
	tags := []string{"Departments"}
	apiOperation(h, api, huma.Operation{
		OperationID: "listDepartments", Method: http.MethodGet, Path: "/departments", Tags: tags,
		Summary: "List departments", Description: "The organization's departments by name.",
	}, identity.AdminUsers, h.apiDepartmentList)
	apiOperation(h, api, huma.Operation{
		OperationID: "getDepartment", Method: http.MethodGet, Path: "/departments/{id}", Tags: tags,
		Summary: "Get a department", Errors: []int{http.StatusNotFound},
	}, identity.AdminUsers, h.apiDepartmentGet)
	apiOperation(h, api, huma.Operation{
		OperationID: "createDepartment", Method: http.MethodPost, Path: "/departments", Tags: tags,
		Summary: "Create a department", DefaultStatus: http.StatusCreated,
	}, identity.AdminUsers, h.apiDepartmentCreate)
	apiOperation(h, api, huma.Operation{
		OperationID: "renameDepartment", Method: http.MethodPatch, Path: "/departments/{id}", Tags: tags,
		Summary: "Rename a department", Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, identity.AdminUsers, h.apiDepartmentRename)
	apiOperation(h, api, huma.Operation{
		OperationID: "setDepartmentManager", Method: http.MethodPut, Path: "/departments/{id}/manager", Tags: tags,
		Summary: "Assign or clear a department's manager", Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, identity.AdminUsers, h.apiDepartmentManager)
	apiOperation(h, api, huma.Operation{
		OperationID: "deleteDepartment", Method: http.MethodDelete, Path: "/departments/{id}", Tags: tags,
		Summary:     "Delete a department",
		Description: "Soft delete: refused while people belong to it; it can be restored.",
		Errors:      []int{http.StatusNotFound, http.StatusConflict},
	}, identity.AdminUsers, h.apiDepartmentDelete)
	apiOperation(h, api, huma.Operation{
		OperationID: "restoreDepartment", Method: http.MethodPost, Path: "/departments/{id}/restore", Tags: tags,
		Summary: "Restore a deleted department", Errors: []int{http.StatusNotFound},
	}, identity.AdminUsers, h.apiDepartmentRestore)
}

func (h *Handler) apiDepartmentList(ctx context.Context, in *apiDepartmentListInput) (*apiDepartmentListOutput, error) {
	res, err := identity.DepartmentList(ctx, h.db, apiScope(ctx), identity.DepartmentListParams{
		IncludeDeleted: in.IncludeDeleted, After: in.Cursor, Limit: in.Limit,
	})
	if err != nil {
		return nil, err
	}
	data := make([]apiDepartment, len(res.Departments))
	for i := range res.Departments {
		data[i] = apiDepartmentOf(&res.Departments[i])
	}
	return &apiDepartmentListOutput{Body: newAPIList(data, res.Next)}, nil
}

// apiDepartmentRead answers a change with the department as GET shows it.
func (h *Handler) apiDepartmentRead(ctx context.Context, id store.ID) (*apiDepartmentOutput, error) {
	d, err := identity.DepartmentGet(ctx, h.db, apiScope(ctx), id)
	if err != nil {
		return nil, err
	}
	return &apiDepartmentOutput{Body: apiDepartmentOf(d)}, nil
}

func (h *Handler) apiDepartmentGet(ctx context.Context, in *apiDepartmentIDInput) (*apiDepartmentOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	return h.apiDepartmentRead(ctx, id)
}

func (h *Handler) apiDepartmentCreate(ctx context.Context, in *apiDepartmentCreateInput) (*apiDepartmentOutput, error) {
	d, err := identity.DepartmentCreate(ctx, h.db, apiScope(ctx), in.Body.Name)
	if err != nil {
		return nil, err
	}
	return h.apiDepartmentRead(ctx, d.ID)
}

func (h *Handler) apiDepartmentRename(ctx context.Context, in *apiDepartmentRenameInput) (*apiDepartmentOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	if _, err := identity.DepartmentRename(ctx, h.db, apiScope(ctx), identity.DepartmentRenameParams{
		ID: id, Name: in.Body.Name, Version: in.Body.Version,
	}); err != nil {
		return nil, err
	}
	return h.apiDepartmentRead(ctx, id)
}

func (h *Handler) apiDepartmentManager(ctx context.Context, in *apiDepartmentManagerInput) (*apiDepartmentOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	p := identity.DepartmentManagerUpdateParams{ID: id, Version: in.Body.Version}
	if in.Body.ManagerID != nil && *in.Body.ManagerID != "" {
		m, err := store.ParseID(*in.Body.ManagerID)
		if err != nil {
			return nil, (store.FieldErrors{"manager_id": "Choose an active member of this organization."}).Err()
		}
		p.ManagerID = &m
	}
	if _, err := identity.DepartmentManagerUpdate(ctx, h.db, apiScope(ctx), p); err != nil {
		return nil, err
	}
	return h.apiDepartmentRead(ctx, id)
}

func (h *Handler) apiDepartmentDelete(ctx context.Context, in *apiDepartmentDeleteInput) (*apiDepartmentOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	if _, err := identity.DepartmentDelete(ctx, h.db, apiScope(ctx), id, in.Version); err != nil {
		return nil, err
	}
	return h.apiDepartmentRead(ctx, id)
}

func (h *Handler) apiDepartmentRestore(ctx context.Context, in *apiDepartmentRestoreInput) (*apiDepartmentOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	if _, err := identity.DepartmentRestore(ctx, h.db, apiScope(ctx), id, in.Body.Version); err != nil {
		return nil, err
	}
	return h.apiDepartmentRead(ctx, id)
}
