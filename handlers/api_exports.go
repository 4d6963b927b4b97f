package handlers

import "github.com/danielgtaylor/huma/v2"

// apiExportsRoutes registers the API operations for exports.
func (h *Handler) apiExportsRoutes(api huma.API) {
}
