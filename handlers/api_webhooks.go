package handlers

import "github.com/danielgtaylor/huma/v2"

// apiWebhookRoutes registers the API operations for webhook endpoints and deliveries.
func (h *Handler) apiWebhookRoutes(api huma.API) {
}
