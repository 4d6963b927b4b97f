package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// apiUser is a member of the organization as the API shows it.
type apiUser struct {
	ID            string            `json:"id" format:"uuid"`
	Email         string            `json:"email"`
	Name          string            `json:"name"`
	Role          identity.Role     `json:"role" enum:"admin,manager,finance,employee,auditor"`
	Department    *apiDepartmentRef `json:"department" doc:"The member's department; null for none."`
	Status        string            `json:"status" enum:"active,deactivated"`
	DeactivatedAt *time.Time        `json:"deactivated_at" doc:"When the member was deactivated; null while active."`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	Version       int               `json:"version" doc:"Send it back when updating: a stale version is a 409 conflict."`
}

// apiDepartmentRef names a department inside another resource.
type apiDepartmentRef struct {
	ID   string `json:"id" format:"uuid"`
	Name string `json:"name"`
}

func apiUserOf(m *identity.Member) apiUser {
	u := apiUser{
		ID: m.UserID.String(), Email: m.Email, Name: m.Name, Role: m.Role, Status: string(m.Status()),
		CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(), Version: m.Version,
	}
	if m.DeactivatedAt != nil {
		t := m.DeactivatedAt.UTC()
		u.DeactivatedAt = &t
	}
	if m.DepartmentID != nil {
		u.Department = &apiDepartmentRef{ID: m.DepartmentID.String()}
		if m.DepartmentName != nil {
			u.Department.Name = *m.DepartmentName
		}
	}
	return u
}

// apiNullableID is an optional, nullable id in a PATCH body: absent leaves the value as it is, null
// clears it, a UUID sets it.
type apiNullableID struct {
	Set bool
	ID  *store.ID
}

// UnmarshalJSON records that the field was present.
func (n *apiNullableID) UnmarshalJSON(b []byte) error {
	n.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		n.ID = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	id, err := store.ParseID(s)
	if err != nil {
		return err
	}
	n.ID = &id
	return nil
}

// Schema documents the field as a nullable UUID.
func (apiNullableID) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: huma.TypeString, Format: "uuid", Nullable: true}
}

type apiUserListInput struct {
	APIPage
	Search       string `query:"search" maxLength:"100" doc:"Part of the name or e-mail address."`
	Role         string `query:"role" enum:"admin,manager,finance,employee,auditor" doc:"Only members with this role."`
	DepartmentID string `query:"department_id" format:"uuid" doc:"Only members of this department."`
	Status       string `query:"status" enum:"active,deactivated" doc:"Only active or only deactivated members (default: both)."`
}

type apiUserListOutput struct {
	Body apiList[apiUser]
}

type apiUserIDInput struct {
	ID string `path:"id" format:"uuid" doc:"The user's id."`
}

type apiUserOutput struct {
	Body apiUser
}

type apiUserUpdateInput struct {
	ID   string `path:"id" format:"uuid" doc:"The user's id."`
	Body struct {
		Role         identity.Role `json:"role,omitempty" enum:"admin,manager,finance,employee,auditor" doc:"The new role; absent keeps it."`
		DepartmentID apiNullableID `json:"department_id,omitempty" doc:"The new department; null for none; absent keeps it."`
		Version      int           `json:"version" minimum:"1" doc:"The version you read; a stale one is a 409 conflict."`
	}
}

type apiUserActionInput struct {
	APIIdempotencyKey
	ID string `path:"id" format:"uuid" doc:"The user's id."`
}

type apiInvitationCreateInput struct {
	APIIdempotencyKey
	Body struct {
		Email        string        `json:"email" maxLength:"254" doc:"Where the invitation is sent."`
		Name         string        `json:"name" maxLength:"200" doc:"The person's name."`
		Role         identity.Role `json:"role" enum:"admin,manager,finance,employee,auditor"`
		DepartmentID *string       `json:"department_id,omitempty" nullable:"true" format:"uuid" doc:"Their department; absent or null for none."`
	}
}

// apiInvitation is an invitation as the API shows it.
type apiInvitation struct {
	ID           string        `json:"id" format:"uuid"`
	Email        string        `json:"email"`
	Name         string        `json:"name"`
	Role         identity.Role `json:"role"`
	DepartmentID *string       `json:"department_id" format:"uuid"`
	ExpiresAt    time.Time     `json:"expires_at"`
	CreatedAt    time.Time     `json:"created_at"`
}

type apiInvitationOutput struct {
	Body apiInvitation
}

func (h *Handler) apiUserRoutes(api huma.API) {
	tags := []string{"Users"}
	apiOperation(h, api, huma.Operation{
		OperationID: "listUsers", Method: http.MethodGet, Path: "/users", Tags: tags,
		Summary: "List users", Description: "The organization's members by name, filtered by the query parameters.",
	}, identity.AdminUsers, h.apiUserList)
	apiOperation(h, api, huma.Operation{
		OperationID: "getUser", Method: http.MethodGet, Path: "/users/{id}", Tags: tags,
		Summary: "Get a user", Errors: []int{http.StatusNotFound},
	}, identity.AdminUsers, h.apiUserGet)
	apiOperation(h, api, huma.Operation{
		OperationID: "updateUser", Method: http.MethodPatch, Path: "/users/{id}", Tags: tags,
		Summary:     "Change a user's role or department",
		Description: "Changing the role ends the member's sessions at once. The last active administrator keeps the role.",
		Errors:      []int{http.StatusNotFound, http.StatusConflict},
	}, identity.AdminUsers, h.apiUserUpdate)
	apiOperation(h, api, huma.Operation{
		OperationID: "deactivateUser", Method: http.MethodPost, Path: "/users/{id}/deactivate", Tags: tags,
		Summary:     "Deactivate a user",
		Description: "The member can no longer work in this organization: sessions end at once and personal access tokens are revoked.",
		Errors:      []int{http.StatusNotFound},
	}, identity.AdminUsers, h.apiUserDeactivate)
	apiOperation(h, api, huma.Operation{
		OperationID: "reactivateUser", Method: http.MethodPost, Path: "/users/{id}/reactivate", Tags: tags,
		Summary: "Reactivate a user", Errors: []int{http.StatusNotFound},
	}, identity.AdminUsers, h.apiUserReactivate)
	apiOperation(h, api, huma.Operation{
		OperationID: "createInvitation", Method: http.MethodPost, Path: "/invitations", Tags: tags,
		Summary:       "Invite a user",
		Description:   "E-mails the person a single-use link to join the organization; it expires after 7 days.",
		DefaultStatus: http.StatusCreated,
	}, identity.AdminUsers, h.apiInvitationCreate)
}

func (h *Handler) apiUserList(ctx context.Context, in *apiUserListInput) (*apiUserListOutput, error) {
	p := identity.MemberListParams{
		Search: in.Search, Role: identity.Role(in.Role), Status: identity.MemberStatus(in.Status),
		After: in.Cursor, Limit: in.Limit,
	}
	if in.DepartmentID != "" {
		id, err := store.ParseID(in.DepartmentID)
		if err != nil {
			return nil, err
		}
		p.DepartmentID = &id
	}
	res, err := identity.MemberList(ctx, h.db, apiScope(ctx), p)
	if err != nil {
		return nil, err
	}
	data := make([]apiUser, len(res.Members))
	for i := range res.Members {
		data[i] = apiUserOf(&res.Members[i])
	}
	return &apiUserListOutput{Body: newAPIList(data, res.Next)}, nil
}

func (h *Handler) apiUserGet(ctx context.Context, in *apiUserIDInput) (*apiUserOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	m, err := identity.MemberGet(ctx, h.db, apiScope(ctx), id)
	if err != nil {
		return nil, err
	}
	return &apiUserOutput{Body: apiUserOf(m)}, nil
}

func (h *Handler) apiUserUpdate(ctx context.Context, in *apiUserUpdateInput) (*apiUserOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	// Absent fields keep their values; the version makes reading them first safe.
	cur, err := identity.MemberGet(ctx, h.db, apiScope(ctx), id)
	if err != nil {
		return nil, err
	}
	p := identity.MemberUpdateParams{UserID: id, Role: cur.Role, DepartmentID: cur.DepartmentID, Version: in.Body.Version}
	if in.Body.Role != "" {
		p.Role = in.Body.Role
	}
	if in.Body.DepartmentID.Set {
		p.DepartmentID = in.Body.DepartmentID.ID
	}
	res, err := identity.MemberUpdate(ctx, h.db, apiScope(ctx), p)
	if err != nil {
		return nil, err
	}
	if res.RoleChanged {
		if err := h.sessionsEndAll(ctx, id, ""); err != nil {
			return nil, err
		}
	}
	return &apiUserOutput{Body: apiUserOf(res.Member)}, nil
}

func (h *Handler) apiUserDeactivate(ctx context.Context, in *apiUserActionInput) (*apiUserOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	m, err := identity.MemberDeactivate(ctx, h.db, apiScope(ctx), id)
	if err != nil {
		return nil, err
	}
	if err := h.sessionsEndAll(ctx, id, ""); err != nil {
		return nil, err
	}
	return &apiUserOutput{Body: apiUserOf(m)}, nil
}

func (h *Handler) apiUserReactivate(ctx context.Context, in *apiUserActionInput) (*apiUserOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, err
	}
	m, err := identity.MemberReactivate(ctx, h.db, apiScope(ctx), id)
	if err != nil {
		return nil, err
	}
	return &apiUserOutput{Body: apiUserOf(m)}, nil
}

func (h *Handler) apiInvitationCreate(ctx context.Context, in *apiInvitationCreateInput) (*apiInvitationOutput, error) {
	p := identity.InvitationCreateParams{
		Email: in.Body.Email, Name: in.Body.Name, Role: in.Body.Role,
		LinkPrefix: h.baseURL.String() + "/invite/accept?token=",
	}
	if in.Body.DepartmentID != nil && *in.Body.DepartmentID != "" {
		id, err := store.ParseID(*in.Body.DepartmentID)
		if err != nil {
			return nil, (store.FieldErrors{"department_id": "Choose a department of this organization."}).Err()
		}
		p.DepartmentID = &id
	}
	inv, err := identity.InvitationCreate(ctx, h.db, apiScope(ctx), p)
	if err != nil {
		return nil, err
	}
	out := apiInvitation{
		ID: inv.ID.String(), Email: inv.Email, Name: inv.Name, Role: inv.Role,
		ExpiresAt: inv.ExpiresAt.UTC(), CreatedAt: inv.CreatedAt.UTC(),
	}
	if inv.DepartmentID != nil {
		s := inv.DepartmentID.String()
		out.DepartmentID = &s
	}
	return &apiInvitationOutput{Body: out}, nil
}
