package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store/identity"
)

// TestJobsMonitorOnlyForPlatformOperators: River's tables hold every tenant's jobs, so an admin of a tenant
// who is not a platform operator must neither see the monitor nor its sidebar entry.
func TestJobsMonitorOnlyForPlatformOperators(t *testing.T) {
	t.Parallel()
	b := setup(t)

	operator := b.signedIn(t, b.usersA[identity.RoleAdmin])
	require.Equal(t, http.StatusOK, operator.get("/admin/jobs/").status)
	require.True(t, strings.Contains(operator.get("/").body, `href="/admin/jobs"`), "operators see the Jobs entry")

	other := b.signedIn(t, b.usersB[identity.RoleAdmin])
	res := other.get("/admin/jobs/")
	require.Equal(t, http.StatusForbidden, res.status)
	require.Contains(t, res.body, "only platform operators can open it")
	status, _ := other.jobsRequest(http.MethodGet, "/admin/jobs/api/jobs", nil, "same-origin")
	require.Equal(t, http.StatusForbidden, status)
	require.False(t, strings.Contains(other.get("/").body, `href="/admin/jobs"`), "no Jobs entry for other admins")
}
