-- +goose Up
-- Approvals at benchmark scale (100,000 requests in one tenant, an approver with thousands waiting).
--
-- "Waiting for me" read every active step of the tenant, joined each to its request, its approvers and its
-- decisions, and sorted them all to show fifty: 250 ms for a heavy approver, and as much for the count in
-- the tabs of every approvals page, even for a manager with nothing waiting. Now each approver row carries
-- waiting_since: the step's activation time while the step is active and this approver has not decided on
-- it, NULL otherwise. A partial index on (tenant, user, waiting_since, request) then gives each person's
-- waiting items in inbox order, so a page reads one page of index entries per person the reader acts for.
--
-- The triggers below keep waiting_since right whatever writes the steps, approvers and decisions (the
-- store, the SLA job's escalations, the bench seed's COPY), so no code path can forget it:
-- - a step that becomes active marks its undecided approvers waiting since its activation; a step that
--   stops being active (approved, rejected, sent back, cancelled) clears them;
-- - an approver added to an active step (escalation) is waiting from the step's activation on;
-- - a decision clears the approver it counts for.
ALTER TABLE approval_step_approvers ADD COLUMN IF NOT EXISTS waiting_since timestamptz;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION approval_step_waiting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.status = 'active' THEN
		UPDATE approval_step_approvers a SET waiting_since = NEW.activated_at
		WHERE a.tenant_id = NEW.tenant_id AND a.request_id = NEW.request_id AND a.round = NEW.round AND a.position = NEW.position
		  AND a.waiting_since IS DISTINCT FROM NEW.activated_at
		  AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.tenant_id = a.tenant_id AND d.request_id = a.request_id
		                  AND d.round = a.round AND d.position = a.position AND d.approver_id = a.user_id);
	ELSIF OLD.status = 'active' THEN
		UPDATE approval_step_approvers a SET waiting_since = NULL
		WHERE a.tenant_id = NEW.tenant_id AND a.request_id = NEW.request_id AND a.round = NEW.round AND a.position = NEW.position
		  AND a.waiting_since IS NOT NULL;
	END IF;
	RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE OR REPLACE TRIGGER approval_steps_waiting AFTER UPDATE OF status, activated_at ON approval_steps
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.activated_at IS DISTINCT FROM NEW.activated_at)
	EXECUTE FUNCTION approval_step_waiting();

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION approval_step_approver_waiting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	SELECT s.activated_at INTO NEW.waiting_since FROM approval_steps s
	WHERE s.tenant_id = NEW.tenant_id AND s.request_id = NEW.request_id AND s.round = NEW.round AND s.position = NEW.position
	  AND s.status = 'active'
	  AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.tenant_id = s.tenant_id AND d.request_id = s.request_id
	                  AND d.round = s.round AND d.position = s.position AND d.approver_id = NEW.user_id);
	RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE OR REPLACE TRIGGER approval_step_approvers_waiting BEFORE INSERT ON approval_step_approvers
	FOR EACH ROW EXECUTE FUNCTION approval_step_approver_waiting();

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION approval_decision_waiting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE approval_step_approvers a SET waiting_since = NULL
	WHERE a.tenant_id = NEW.tenant_id AND a.request_id = NEW.request_id AND a.round = NEW.round AND a.position = NEW.position
	  AND a.user_id = NEW.approver_id AND a.waiting_since IS NOT NULL;
	RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE OR REPLACE TRIGGER approval_decisions_waiting AFTER INSERT ON approval_decisions
	FOR EACH ROW EXECUTE FUNCTION approval_decision_waiting();

-- The rows written before the triggers existed (the owner bypasses row-level security: every tenant).
UPDATE approval_step_approvers a SET waiting_since = s.activated_at
FROM approval_steps s
WHERE s.tenant_id = a.tenant_id AND s.request_id = a.request_id AND s.round = a.round AND s.position = a.position
  AND s.status = 'active' AND a.waiting_since IS DISTINCT FROM s.activated_at
  AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.tenant_id = a.tenant_id AND d.request_id = a.request_id
                  AND d.round = a.round AND d.position = a.position AND d.approver_id = a.user_id);

-- One person's waiting items in inbox order (oldest activation first); round and position ride along so
-- that the page's anti-joins need no visit to the table.
CREATE INDEX IF NOT EXISTS approval_step_approvers_waiting_idx
	ON approval_step_approvers (tenant_id, user_id, waiting_since, request_id) INCLUDE (round, position)
	WHERE waiting_since IS NOT NULL;

-- "All requests" filtered by status, newest first: a rare status (sent back, pending) walked the whole
-- list index and filtered thousands of rows per page; now each status has its own order.
CREATE INDEX IF NOT EXISTS approval_requests_status_list_idx
	ON approval_requests (tenant_id, status, created_at DESC, id DESC);

-- +goose Down
DROP INDEX IF EXISTS approval_requests_status_list_idx;
DROP INDEX IF EXISTS approval_step_approvers_waiting_idx;
DROP TRIGGER IF EXISTS approval_decisions_waiting ON approval_decisions;
DROP TRIGGER IF EXISTS approval_step_approvers_waiting ON approval_step_approvers;
DROP TRIGGER IF EXISTS approval_steps_waiting ON approval_steps;
DROP FUNCTION IF EXISTS approval_decision_waiting();
DROP FUNCTION IF EXISTS approval_step_approver_waiting();
DROP FUNCTION IF EXISTS approval_step_waiting();
ALTER TABLE approval_step_approvers DROP COLUMN IF EXISTS waiting_since;
