-- +goose Up
-- Found by the benchmark at scale (100,000 approval requests, a year of audit events):

-- The newest change of a domain (audit.LatestChange: the dashboard's and the sidebar counts' cache version)
-- is one index probe per partition instead of a backward scan over the tenant's events until one matches.
CREATE INDEX audit_events_domain_idx ON audit_events (tenant_id, (split_part(action, '.', 1)), occurred_at DESC, id DESC);

-- "Waiting for me" and its count join the pending requests only: a few thousand of 100,000.
CREATE INDEX approval_requests_pending_idx ON approval_requests (tenant_id, id) WHERE status = 'pending';

-- +goose Down
DROP INDEX approval_requests_pending_idx;
DROP INDEX audit_events_domain_idx;
