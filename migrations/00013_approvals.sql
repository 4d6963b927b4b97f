-- +goose Up
-- Approvals: settings (thresholds, business hours), policies (amount bands → ordered steps), requests with
-- their purchase lines and receipt files, the route frozen at submission (steps and their approvers),
-- decisions (one per approver and one per person per step, so nothing counts twice) and delegations.
-- Also inventory's expected receipts, which an approved purchase request hands to inventory.

-- One row per tenant, created on first use from the tenant's settings. Business hours are minutes after
-- midnight in the tenant's time zone; workdays is a bit mask, bit 0 = Sunday ... bit 6 = Saturday.
CREATE TABLE approval_settings (
	tenant_id          uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id) PRIMARY KEY,
	manager_limit      bigint NOT NULL CHECK (manager_limit >= 0),
	finance_limit      bigint NOT NULL CHECK (finance_limit >= manager_limit),
	currency           char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	work_start         integer NOT NULL DEFAULT 540 CHECK (work_start BETWEEN 0 AND 1439),
	work_end           integer NOT NULL DEFAULT 1020 CHECK (work_end BETWEEN 1 AND 1440 AND work_end > work_start),
	workdays           integer NOT NULL DEFAULT 62 CHECK (workdays BETWEEN 1 AND 127),
	default_sla_hours  integer NOT NULL DEFAULT 16 CHECK (default_sla_hours BETWEEN 1 AND 1000),
	next_number        bigint NOT NULL DEFAULT 1,
	updated_at         timestamptz NOT NULL DEFAULT now(),
	version            integer NOT NULL DEFAULT 1
);

-- One policy per request type: its amount bands, each with its ordered steps, as one validated document
-- (bands contiguous from 0 to unbounded, so none overlap and none is missing).
CREATE TABLE approval_policies (
	tenant_id     uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	request_type  text NOT NULL CHECK (request_type IN ('purchase', 'expense', 'general')),
	bands         jsonb NOT NULL CHECK (jsonb_typeof(bands) = 'array'),
	created_at    timestamptz NOT NULL DEFAULT now(),
	updated_at    timestamptz NOT NULL DEFAULT now(),
	version       integer NOT NULL DEFAULT 1,
	PRIMARY KEY (tenant_id, request_type)
);

CREATE TABLE approval_requests (
	tenant_id      uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id             uuid NOT NULL,
	number         bigint NOT NULL,
	request_type   text NOT NULL CHECK (request_type IN ('purchase', 'expense', 'general')),
	status         text NOT NULL DEFAULT 'draft'
		CHECK (status IN ('draft', 'pending', 'approved', 'rejected', 'returned', 'withdrawn')),
	requester_id   uuid NOT NULL,
	department_id  uuid,
	title          text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
	description    text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
	amount         bigint NOT NULL DEFAULT 0 CHECK (amount >= 0),
	currency       char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	-- Expense claims.
	category       text NOT NULL DEFAULT '' CHECK (length(category) <= 100),
	expense_date   date,
	-- The route's round: resubmission after a send-back starts a new round with a newly computed route.
	round          integer NOT NULL DEFAULT 0,
	current_step   integer,
	submitted_at   timestamptz,
	decided_at     timestamptz,
	reimbursed_at  timestamptz,
	created_at     timestamptz NOT NULL DEFAULT now(),
	updated_at     timestamptz NOT NULL DEFAULT now(),
	version        integer NOT NULL DEFAULT 1,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, requester_id) REFERENCES memberships (tenant_id, user_id),
	FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id),
	UNIQUE (tenant_id, number)
);
CREATE INDEX approval_requests_requester_idx ON approval_requests (tenant_id, requester_id, created_at DESC, id DESC);
CREATE INDEX approval_requests_list_idx ON approval_requests (tenant_id, created_at DESC, id DESC);
CREATE INDEX approval_requests_reimburse_idx ON approval_requests (tenant_id, decided_at, id)
	WHERE request_type = 'expense' AND status = 'approved' AND reimbursed_at IS NULL;

CREATE TABLE approval_request_lines (
	tenant_id    uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	request_id   uuid NOT NULL,
	line_no      integer NOT NULL CHECK (line_no >= 1),
	item_id      uuid,
	description  text NOT NULL CHECK (length(btrim(description)) BETWEEN 1 AND 500),
	quantity     numeric(15,3) NOT NULL CHECK (quantity > 0),
	unit_cost    bigint NOT NULL CHECK (unit_cost >= 0),
	supplier     text NOT NULL DEFAULT '' CHECK (length(supplier) <= 200),
	needed_by    date,
	PRIMARY KEY (tenant_id, request_id, line_no),
	FOREIGN KEY (tenant_id, request_id) REFERENCES approval_requests (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, item_id) REFERENCES inventory_items (tenant_id, id)
);

CREATE TABLE approval_request_files (
	tenant_id   uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	request_id  uuid NOT NULL,
	file_id     uuid NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, request_id, file_id),
	FOREIGN KEY (tenant_id, request_id) REFERENCES approval_requests (tenant_id, id)
);

-- The frozen route: one row per step per round. needed is how many approvals complete the step.
CREATE TABLE approval_steps (
	tenant_id     uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	request_id    uuid NOT NULL,
	round         integer NOT NULL,
	position      integer NOT NULL CHECK (position >= 1),
	name          text NOT NULL,
	approver_kind text NOT NULL CHECK (approver_kind IN ('manager', 'role', 'users')),
	approver_role text NOT NULL DEFAULT '',
	mode          text NOT NULL CHECK (mode IN ('any', 'all', 'quorum')),
	needed        integer NOT NULL CHECK (needed >= 1),
	sla_hours     integer NOT NULL CHECK (sla_hours >= 1),
	status        text NOT NULL DEFAULT 'waiting'
		CHECK (status IN ('waiting', 'active', 'approved', 'rejected', 'returned', 'cancelled')),
	activated_at  timestamptz,
	remind_at     timestamptz,
	due_at        timestamptz,
	reminded_at   timestamptz,
	escalated_at  timestamptz,
	decided_at    timestamptz,
	PRIMARY KEY (tenant_id, request_id, round, position),
	FOREIGN KEY (tenant_id, request_id) REFERENCES approval_requests (tenant_id, id)
);
-- The inbox walks the active steps oldest first and stops after a page.
CREATE INDEX approval_steps_active_idx ON approval_steps (tenant_id, activated_at, request_id) WHERE status = 'active';
CREATE INDEX approval_steps_remind_idx ON approval_steps (tenant_id, remind_at) WHERE status = 'active' AND reminded_at IS NULL;
CREATE INDEX approval_steps_due_idx ON approval_steps (tenant_id, due_at) WHERE status = 'active' AND escalated_at IS NULL;

CREATE TABLE approval_step_approvers (
	tenant_id     uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	request_id    uuid NOT NULL,
	round         integer NOT NULL,
	position      integer NOT NULL,
	user_id       uuid NOT NULL,
	-- Added by escalation at the step's breach rather than by the policy.
	escalated     boolean NOT NULL DEFAULT false,
	PRIMARY KEY (tenant_id, request_id, round, position, user_id),
	FOREIGN KEY (tenant_id, request_id, round, position) REFERENCES approval_steps (tenant_id, request_id, round, position),
	FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id)
);
CREATE INDEX approval_step_approvers_user_idx ON approval_step_approvers (tenant_id, user_id);

-- approver_id is the approver the decision counts for; decided_by who made it (a delegate, or the same).
CREATE TABLE approval_decisions (
	tenant_id    uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id           uuid NOT NULL,
	request_id   uuid NOT NULL,
	round        integer NOT NULL,
	position     integer NOT NULL,
	approver_id  uuid NOT NULL,
	decided_by   uuid NOT NULL,
	decision     text NOT NULL CHECK (decision IN ('approve', 'reject', 'return')),
	comment      text NOT NULL DEFAULT '' CHECK (length(comment) <= 2000),
	created_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, request_id, round, position) REFERENCES approval_steps (tenant_id, request_id, round, position),
	CONSTRAINT approval_decisions_once UNIQUE (tenant_id, request_id, round, position, approver_id),
	CONSTRAINT approval_decisions_person_once UNIQUE (tenant_id, request_id, round, position, decided_by)
);

CREATE TABLE approval_delegations (
	tenant_id     uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id            uuid NOT NULL,
	delegator_id  uuid NOT NULL,
	delegate_id   uuid NOT NULL,
	starts_on     date NOT NULL,
	ends_on       date NOT NULL,
	note          text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
	revoked_at    timestamptz,
	created_at    timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, id),
	CHECK (delegator_id <> delegate_id),
	CHECK (ends_on >= starts_on),
	FOREIGN KEY (tenant_id, delegator_id) REFERENCES memberships (tenant_id, user_id),
	FOREIGN KEY (tenant_id, delegate_id) REFERENCES memberships (tenant_id, user_id)
);
CREATE INDEX approval_delegations_delegator_idx ON approval_delegations (tenant_id, delegator_id, starts_on) WHERE revoked_at IS NULL;
CREATE INDEX approval_delegations_delegate_idx ON approval_delegations (tenant_id, delegate_id) WHERE revoked_at IS NULL;

-- Inventory: goods expected from an approved purchase (reference + line), fulfilled by receipts that carry
-- the same reference. Unique per reference and line so that a retried hand-off never expects twice.
CREATE TABLE inventory_expected_receipts (
	tenant_id    uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id           uuid NOT NULL,
	reference    text NOT NULL CHECK (length(btrim(reference)) BETWEEN 1 AND 200),
	line_no      integer NOT NULL CHECK (line_no >= 1),
	item_id      uuid NOT NULL,
	location_id  uuid,
	quantity     numeric(15,3) NOT NULL CHECK (quantity > 0),
	received     numeric(15,3) NOT NULL DEFAULT 0 CHECK (received >= 0),
	status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'fulfilled')),
	note         text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
	created_at   timestamptz NOT NULL DEFAULT now(),
	fulfilled_at timestamptz,
	PRIMARY KEY (tenant_id, id),
	CONSTRAINT inventory_expected_receipts_line_key UNIQUE (tenant_id, reference, line_no),
	FOREIGN KEY (tenant_id, item_id) REFERENCES inventory_items (tenant_id, id),
	FOREIGN KEY (tenant_id, location_id) REFERENCES inventory_locations (tenant_id, id)
);
CREATE INDEX inventory_expected_receipts_open_idx ON inventory_expected_receipts (tenant_id, reference, item_id) WHERE status = 'open';
CREATE INDEX inventory_expected_receipts_list_idx ON inventory_expected_receipts (tenant_id, created_at DESC, id DESC);

ALTER TABLE approval_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE approval_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY approval_settings_tenant ON approval_settings
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE approval_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE approval_policies FORCE ROW LEVEL SECURITY;
CREATE POLICY approval_policies_tenant ON approval_policies
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE approval_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE approval_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY approval_requests_tenant ON approval_requests
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE approval_request_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE approval_request_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY approval_request_lines_tenant ON approval_request_lines
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE approval_request_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE approval_request_files FORCE ROW LEVEL SECURITY;
CREATE POLICY approval_request_files_tenant ON approval_request_files
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE approval_steps ENABLE ROW LEVEL SECURITY;
ALTER TABLE approval_steps FORCE ROW LEVEL SECURITY;
CREATE POLICY approval_steps_tenant ON approval_steps
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE approval_step_approvers ENABLE ROW LEVEL SECURITY;
ALTER TABLE approval_step_approvers FORCE ROW LEVEL SECURITY;
CREATE POLICY approval_step_approvers_tenant ON approval_step_approvers
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE approval_decisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE approval_decisions FORCE ROW LEVEL SECURITY;
CREATE POLICY approval_decisions_tenant ON approval_decisions
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
-- Decisions are a record: never edited or removed.
REVOKE UPDATE, DELETE, TRUNCATE ON approval_decisions FROM ledgerline_app;
ALTER TABLE approval_delegations ENABLE ROW LEVEL SECURITY;
ALTER TABLE approval_delegations FORCE ROW LEVEL SECURITY;
CREATE POLICY approval_delegations_tenant ON approval_delegations
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE inventory_expected_receipts ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory_expected_receipts FORCE ROW LEVEL SECURITY;
CREATE POLICY inventory_expected_receipts_tenant ON inventory_expected_receipts
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- +goose Down
DROP TABLE inventory_expected_receipts;
DROP TABLE approval_delegations;
DROP TABLE approval_decisions;
DROP TABLE approval_step_approvers;
DROP TABLE approval_steps;
DROP TABLE approval_request_files;
DROP TABLE approval_request_lines;
DROP TABLE approval_requests;
DROP TABLE approval_policies;
DROP TABLE approval_settings;
