package handlers

import "github.com/danielgtaylor/huma/v2"

// apiApprovalsRoutes registers the API operations for approval requests and decisions.
func (h *Handler) apiApprovalsRoutes(api huma.API) {
}
