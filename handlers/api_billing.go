package handlers

import "github.com/danielgtaylor/huma/v2"

// apiBillingRoutes registers the API operations for customers, invoices, credit notes and payments.
func (h *Handler) apiBillingRoutes(api huma.API) {
}
