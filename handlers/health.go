package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// healthz says the process is alive; it checks nothing else, so a database outage does not get every
// instance restarted.
func (h *Handler) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says whether this instance can serve: PostgreSQL and Redis both answer within a second.
func (h *Handler) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), time.Second)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "redis": "ok"}
	status := http.StatusOK
	if err := h.db.Pool.Ping(ctx); err != nil {
		checks["postgres"] = "unreachable"
		status = http.StatusServiceUnavailable
	}
	conn, err := h.redis.GetContext(ctx)
	if err == nil {
		_, err = conn.Do("PING")
		_ = conn.Close()
	}
	if err != nil {
		checks["redis"] = "unreachable"
		status = http.StatusServiceUnavailable
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, checks)
}

func (h *Handler) metricsHandler() echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(h.registry, promhttp.HandlerOpts{}))
}
