-- +goose Up
-- Billing: per-tenant billing settings, tax rates, customers (tax id and bank details sealed with AES-GCM
-- by the application), invoices with their lines, gapless document counters, credit notes, payments and
-- their allocations, and e-mail send requests.
--
-- Money is bigint minor units of the document's currency. The invariants auditors rely on are CHECKs, so
-- the database itself refuses an impossible state whatever the code does:
--   invoice balance = total - paid - credited, never negative (no allocation or credit beyond a balance);
--   a payment's allocated part never exceeds its amount and is zero once it is reversed;
--   a draft has no number, every other invoice has one (void keeps it); numbers are unique per series.

CREATE TABLE billing_settings (
	tenant_id             uuid PRIMARY KEY DEFAULT app_tenant_id() REFERENCES tenants (id),
	prices_include_tax    boolean NOT NULL DEFAULT false,
	invoice_series        text NOT NULL DEFAULT 'INV' CHECK (invoice_series ~ '^[A-Z][A-Z0-9]{0,9}$'),
	credit_note_series    text NOT NULL DEFAULT 'CN' CHECK (credit_note_series ~ '^[A-Z][A-Z0-9]{0,9}$'),
	default_terms_days    integer NOT NULL DEFAULT 30 CHECK (default_terms_days BETWEEN 0 AND 365),
	payment_instructions  text NOT NULL DEFAULT '' CHECK (length(payment_instructions) <= 1000),
	-- The seller's postal address as printed on documents.
	sender_address        text NOT NULL DEFAULT '' CHECK (length(sender_address) <= 1000),
	-- Issuing an invoice with inventory item lines hands the quantities to inventory, which issues the stock.
	stock_handoff         boolean NOT NULL DEFAULT false,
	-- Days past the due date on which customers are reminded of an open invoice, ascending; empty: never.
	reminder_days         integer[] NOT NULL DEFAULT '{7,14,30}'
		CHECK (cardinality(reminder_days) <= 6 AND 0 < ALL (reminder_days) AND 366 > ALL (reminder_days)),
	updated_at            timestamptz NOT NULL DEFAULT now(),
	version               integer NOT NULL DEFAULT 1,
	CHECK (invoice_series <> credit_note_series)
);

CREATE TABLE billing_tax_rates (
	tenant_id   uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id          uuid NOT NULL,
	name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
	-- Basis points: 1900 is 19 %. Up to 100 %.
	rate_bp     integer NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
	deleted_at  timestamptz,
	created_at  timestamptz NOT NULL DEFAULT now(),
	version     integer NOT NULL DEFAULT 1,
	PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX billing_tax_rates_name_key ON billing_tax_rates (tenant_id, lower(name)) WHERE deleted_at IS NULL;

CREATE TABLE billing_customers (
	tenant_id      uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id             uuid NOT NULL,
	name           text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
	email          text NOT NULL DEFAULT '' CHECK (email = '' OR (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254)),
	address        text NOT NULL DEFAULT '' CHECK (length(address) <= 1000),
	-- AES-256-GCM sealed by the application (bound to the customer's id); the last characters are kept
	-- in clear for the masked display only.
	tax_id_sealed  bytea,
	tax_id_hint    text NOT NULL DEFAULT '' CHECK (length(tax_id_hint) <= 4),
	bank_sealed    bytea,
	bank_hint      text NOT NULL DEFAULT '' CHECK (length(bank_hint) <= 4),
	currency       char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	terms_days     integer NOT NULL DEFAULT 30 CHECK (terms_days BETWEEN 0 AND 365),
	notes          text NOT NULL DEFAULT '' CHECK (length(notes) <= 4000),
	name_key       text GENERATED ALWAYS AS (lower(name)) STORED,
	deleted_at     timestamptz,
	created_at     timestamptz NOT NULL DEFAULT now(),
	updated_at     timestamptz NOT NULL DEFAULT now(),
	version        integer NOT NULL DEFAULT 1,
	PRIMARY KEY (tenant_id, id)
);
CREATE INDEX billing_customers_name_idx ON billing_customers (tenant_id, name_key, id) WHERE deleted_at IS NULL;
CREATE INDEX billing_customers_deleted_idx ON billing_customers (tenant_id, name_key, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX billing_customers_name_trgm ON billing_customers USING gin (name gin_trgm_ops);

-- Search by part of a customer's name or e-mail; like inventory_item_search, a SECURITY DEFINER function
-- that applies the transaction's tenant itself so the trigram index can serve ILIKE under row-level security.
-- +goose StatementBegin
CREATE FUNCTION billing_customer_search(p_pattern text)
RETURNS TABLE (id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 100 AS $$
	SELECT c.id FROM billing_customers c
	WHERE c.tenant_id = app_tenant_id() AND (c.name ILIKE p_pattern OR c.email ILIKE p_pattern)
$$;
-- +goose StatementEnd
REVOKE EXECUTE ON FUNCTION billing_customer_search(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing_customer_search(text) TO ledgerline_app;

-- One row per tenant, document kind, series and year: the last number used. The issuing transaction locks
-- the row (SELECT ... FOR UPDATE), takes last + 1 and commits it together with the document, so a rolled-back
-- issue gives its number back and two issues never get the same one. Never a sequence: sequences skip
-- numbers on rollback.
CREATE TABLE billing_counters (
	tenant_id  uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	kind       text NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
	series     text NOT NULL,
	year       integer NOT NULL CHECK (year BETWEEN 2000 AND 9999),
	last       bigint NOT NULL DEFAULT 0 CHECK (last >= 0),
	PRIMARY KEY (tenant_id, kind, series, year)
);

CREATE TABLE billing_invoices (
	tenant_id           uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id                  uuid NOT NULL,
	customer_id         uuid NOT NULL,
	status              text NOT NULL DEFAULT 'draft'
		CHECK (status IN ('draft', 'issued', 'partially_paid', 'paid', 'void')),
	series              text,
	year                integer,
	seq                 bigint CHECK (seq > 0),
	number              text,
	currency            char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	prices_include_tax  boolean NOT NULL DEFAULT false,
	issue_date          date,
	due_date            date,
	terms_days          integer NOT NULL DEFAULT 30 CHECK (terms_days BETWEEN 0 AND 365),
	notes               text NOT NULL DEFAULT '' CHECK (length(notes) <= 4000),
	subtotal            bigint NOT NULL DEFAULT 0 CHECK (subtotal >= 0),
	tax_total           bigint NOT NULL DEFAULT 0 CHECK (tax_total >= 0),
	total               bigint NOT NULL DEFAULT 0 CHECK (total >= 0),
	paid                bigint NOT NULL DEFAULT 0 CHECK (paid >= 0),
	credited            bigint NOT NULL DEFAULT 0 CHECK (credited >= 0),
	balance             bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
	void_reason         text NOT NULL DEFAULT '' CHECK (length(void_reason) <= 500),
	issued_at           timestamptz,
	voided_at           timestamptz,
	paid_at             timestamptz,
	-- The PDF of the issued invoice, rendered once by a job and never replaced.
	pdf_file_id         uuid,
	pdf_error           text NOT NULL DEFAULT '',
	created_at          timestamptz NOT NULL DEFAULT now(),
	updated_at          timestamptz NOT NULL DEFAULT now(),
	version             integer NOT NULL DEFAULT 1,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, customer_id) REFERENCES billing_customers (tenant_id, id),
	FOREIGN KEY (tenant_id, pdf_file_id) REFERENCES files (tenant_id, id),
	CONSTRAINT billing_invoices_total_rule CHECK (total = subtotal + tax_total),
	CONSTRAINT billing_invoices_balance_rule CHECK (balance = total - paid - credited),
	CONSTRAINT billing_invoices_number_rule CHECK ((status = 'draft') = (number IS NULL)
		AND (number IS NULL) = (seq IS NULL) AND (seq IS NULL) = (series IS NULL) AND (series IS NULL) = (year IS NULL)
		AND (status = 'draft') = (issued_at IS NULL) AND (status = 'draft' OR (issue_date IS NOT NULL AND due_date IS NOT NULL))),
	CONSTRAINT billing_invoices_draft_rule CHECK (status <> 'draft' OR (paid = 0 AND credited = 0)),
	CONSTRAINT billing_invoices_void_rule CHECK ((status = 'void') = (voided_at IS NOT NULL)
		AND (status <> 'void' OR (paid = 0 AND length(btrim(void_reason)) > 0))),
	CONSTRAINT billing_invoices_status_rule CHECK (status NOT IN ('issued', 'partially_paid', 'paid')
		OR ((status = 'paid') = (balance = 0)
		AND (status = 'issued') = (paid = 0 AND credited = 0 AND balance > 0)))
);
CREATE UNIQUE INDEX billing_invoices_number_key ON billing_invoices (tenant_id, series, year, seq) WHERE seq IS NOT NULL;
CREATE INDEX billing_invoices_list_idx ON billing_invoices (tenant_id, created_at DESC, id DESC);
CREATE INDEX billing_invoices_customer_idx ON billing_invoices (tenant_id, customer_id, created_at DESC, id DESC);
CREATE INDEX billing_invoices_status_idx ON billing_invoices (tenant_id, status, created_at DESC, id DESC);
CREATE INDEX billing_invoices_open_idx ON billing_invoices (tenant_id, currency, due_date) WHERE status IN ('issued', 'partially_paid');
CREATE INDEX billing_invoices_number_trgm ON billing_invoices USING gin (number gin_trgm_ops);

-- Lines of an invoice. The amounts are computed by the application (billing.LineAmounts, round half-even
-- per line) and frozen with the invoice when it is issued. item_id optionally names an inventory item.
CREATE TABLE billing_invoice_lines (
	tenant_id    uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	invoice_id   uuid NOT NULL,
	id           uuid NOT NULL,
	position     integer NOT NULL CHECK (position >= 0),
	description  text NOT NULL CHECK (length(btrim(description)) BETWEEN 1 AND 500),
	quantity     numeric(15,3) NOT NULL CHECK (quantity > 0),
	unit_price   bigint NOT NULL CHECK (unit_price >= 0),
	tax_rate_id  uuid NOT NULL,
	tax_name     text NOT NULL,
	tax_rate_bp  integer NOT NULL CHECK (tax_rate_bp BETWEEN 0 AND 10000),
	item_id      uuid,
	net          bigint NOT NULL CHECK (net >= 0),
	tax          bigint NOT NULL CHECK (tax >= 0),
	gross        bigint NOT NULL CHECK (gross >= 0),
	PRIMARY KEY (tenant_id, invoice_id, id),
	FOREIGN KEY (tenant_id, invoice_id) REFERENCES billing_invoices (tenant_id, id),
	FOREIGN KEY (tenant_id, tax_rate_id) REFERENCES billing_tax_rates (tenant_id, id),
	FOREIGN KEY (tenant_id, item_id) REFERENCES inventory_items (tenant_id, id),
	CHECK (gross = net + tax)
);

-- An issued invoice's content is frozen: its lines, number, dates, customer, currency and totals never
-- change again, and its PDF, once stored, is never replaced. Only the payment state moves.
-- +goose StatementBegin
CREATE FUNCTION billing_invoice_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF OLD.status <> 'draft' AND (NEW.number IS DISTINCT FROM OLD.number OR NEW.seq IS DISTINCT FROM OLD.seq
		OR NEW.customer_id <> OLD.customer_id OR NEW.currency <> OLD.currency
		OR NEW.issue_date IS DISTINCT FROM OLD.issue_date OR NEW.due_date IS DISTINCT FROM OLD.due_date
		OR NEW.subtotal <> OLD.subtotal OR NEW.tax_total <> OLD.tax_total OR NEW.total <> OLD.total
		OR NEW.prices_include_tax <> OLD.prices_include_tax OR NEW.status = 'draft') THEN
		RAISE EXCEPTION 'invoice % is issued: its content is frozen', OLD.id USING ERRCODE = 'check_violation',
			CONSTRAINT = 'billing_invoices_frozen';
	END IF;
	IF OLD.pdf_file_id IS NOT NULL AND NEW.pdf_file_id IS DISTINCT FROM OLD.pdf_file_id THEN
		RAISE EXCEPTION 'the PDF of invoice % is final', OLD.id USING ERRCODE = 'check_violation',
			CONSTRAINT = 'billing_invoices_frozen';
	END IF;
	RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER billing_invoices_frozen BEFORE UPDATE ON billing_invoices
	FOR EACH ROW EXECUTE FUNCTION billing_invoice_frozen();
REVOKE DELETE ON billing_invoices FROM ledgerline_app;

-- +goose StatementBegin
CREATE FUNCTION billing_invoice_line_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	st text;
BEGIN
	SELECT status INTO st FROM billing_invoices
	WHERE tenant_id = COALESCE(NEW.tenant_id, OLD.tenant_id) AND id = COALESCE(NEW.invoice_id, OLD.invoice_id);
	IF st IS DISTINCT FROM 'draft' THEN
		RAISE EXCEPTION 'invoice % is issued: its lines are frozen', COALESCE(NEW.invoice_id, OLD.invoice_id)
			USING ERRCODE = 'check_violation', CONSTRAINT = 'billing_invoices_frozen';
	END IF;
	RETURN COALESCE(NEW, OLD);
END
$$;
-- +goose StatementEnd
CREATE TRIGGER billing_invoice_lines_frozen BEFORE INSERT OR UPDATE OR DELETE ON billing_invoice_lines
	FOR EACH ROW EXECUTE FUNCTION billing_invoice_line_frozen();

CREATE TABLE billing_credit_notes (
	tenant_id    uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id           uuid NOT NULL,
	invoice_id   uuid NOT NULL,
	customer_id  uuid NOT NULL,
	series       text NOT NULL,
	year         integer NOT NULL,
	seq          bigint NOT NULL CHECK (seq > 0),
	number       text NOT NULL,
	currency     char(3) NOT NULL,
	amount       bigint NOT NULL CHECK (amount > 0),
	reason       text NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 500),
	issue_date   date NOT NULL,
	actor_id     uuid,
	created_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, invoice_id) REFERENCES billing_invoices (tenant_id, id),
	FOREIGN KEY (tenant_id, customer_id) REFERENCES billing_customers (tenant_id, id)
);
CREATE UNIQUE INDEX billing_credit_notes_number_key ON billing_credit_notes (tenant_id, series, year, seq);
CREATE INDEX billing_credit_notes_invoice_idx ON billing_credit_notes (tenant_id, invoice_id, created_at);

CREATE TABLE billing_payments (
	tenant_id        uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id               uuid NOT NULL,
	customer_id      uuid NOT NULL,
	currency         char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	amount           bigint NOT NULL CHECK (amount > 0),
	allocated        bigint NOT NULL DEFAULT 0,
	received_on      date NOT NULL,
	method           text NOT NULL CHECK (method IN ('bank_transfer', 'card', 'cash', 'cheque', 'other')),
	reference        text NOT NULL DEFAULT '' CHECK (length(reference) <= 200),
	reversed_at      timestamptz,
	reversal_reason  text NOT NULL DEFAULT '' CHECK (length(reversal_reason) <= 500),
	actor_id         uuid,
	created_at       timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, customer_id) REFERENCES billing_customers (tenant_id, id),
	CONSTRAINT billing_payments_allocated_rule CHECK (allocated >= 0 AND allocated <= amount
		AND (reversed_at IS NULL OR allocated = 0))
);
CREATE INDEX billing_payments_customer_idx ON billing_payments (tenant_id, customer_id, created_at DESC, id DESC);
CREATE INDEX billing_payments_list_idx ON billing_payments (tenant_id, created_at DESC, id DESC);

-- A part of a payment applied to an invoice. Never deleted: reversing the payment marks its allocations
-- reversed and gives the amounts back to the invoices' balances.
CREATE TABLE billing_allocations (
	tenant_id    uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id           uuid NOT NULL,
	payment_id   uuid NOT NULL,
	invoice_id   uuid NOT NULL,
	amount       bigint NOT NULL CHECK (amount > 0),
	created_at   timestamptz NOT NULL DEFAULT now(),
	reversed_at  timestamptz,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, payment_id) REFERENCES billing_payments (tenant_id, id),
	FOREIGN KEY (tenant_id, invoice_id) REFERENCES billing_invoices (tenant_id, id)
);
CREATE INDEX billing_allocations_payment_idx ON billing_allocations (tenant_id, payment_id);
CREATE INDEX billing_allocations_invoice_idx ON billing_allocations (tenant_id, invoice_id);

-- A request to e-mail an invoice. The send job delivers it once: it records sent_at in the transaction
-- that follows the SMTP hand-off and does nothing for a request already sent.
CREATE TABLE billing_invoice_sends (
	tenant_id     uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id            uuid NOT NULL,
	invoice_id    uuid NOT NULL,
	recipient     text NOT NULL CHECK (recipient ~ '^[^@\s]+@[^@\s]+$'),
	requested_by  uuid,
	requested_at  timestamptz NOT NULL DEFAULT now(),
	attempts      integer NOT NULL DEFAULT 0,
	last_error    text NOT NULL DEFAULT '',
	sent_at       timestamptz,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, invoice_id) REFERENCES billing_invoices (tenant_id, id)
);
CREATE INDEX billing_invoice_sends_invoice_idx ON billing_invoice_sends (tenant_id, invoice_id, requested_at DESC);

-- Reminders of overdue invoices: one row per invoice and stage (days past due). The primary key makes each
-- stage happen once even when the periodic job runs twice or late; a late run covers the stages it missed
-- with one e-mail (sent = false for the skipped ones).
CREATE TABLE billing_reminders (
	tenant_id   uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	invoice_id  uuid NOT NULL,
	days        integer NOT NULL CHECK (days > 0),
	sent        boolean NOT NULL,
	recipient   text NOT NULL DEFAULT '',
	created_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, invoice_id, days),
	FOREIGN KEY (tenant_id, invoice_id) REFERENCES billing_invoices (tenant_id, id)
);

-- Recurring invoices: a template (customer, lines, schedule) from which a periodic job makes a draft (or
-- issues it) on each due date. next_date is start_date plus occurrences periods (month ends clamp: a
-- template starting on 31 January runs on 28/29 February); NULL once the end date is passed or the template
-- is stopped. A run row per template and date makes each occurrence happen once, even when a run is
-- repeated; a run that was missed is caught up by the next.
CREATE TABLE billing_recurring (
	tenant_id    uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	id           uuid NOT NULL,
	customer_id  uuid NOT NULL,
	name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
	schedule     text NOT NULL CHECK (schedule IN ('monthly', 'quarterly', 'yearly')),
	start_date   date NOT NULL,
	end_date     date CHECK (end_date >= start_date),
	occurrences  integer NOT NULL DEFAULT 0 CHECK (occurrences >= 0),
	next_date    date,
	auto_issue   boolean NOT NULL DEFAULT false,
	lines        jsonb NOT NULL CHECK (jsonb_typeof(lines) = 'array' AND jsonb_array_length(lines) BETWEEN 1 AND 100),
	notes        text NOT NULL DEFAULT '' CHECK (length(notes) <= 4000),
	stopped_at   timestamptz,
	created_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, customer_id) REFERENCES billing_customers (tenant_id, id)
);
CREATE INDEX billing_recurring_due_idx ON billing_recurring (tenant_id, next_date) WHERE next_date IS NOT NULL;

CREATE TABLE billing_recurring_runs (
	tenant_id     uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
	recurring_id  uuid NOT NULL,
	run_date      date NOT NULL,
	invoice_id    uuid NOT NULL,
	created_at    timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, recurring_id, run_date),
	FOREIGN KEY (tenant_id, recurring_id) REFERENCES billing_recurring (tenant_id, id),
	FOREIGN KEY (tenant_id, invoice_id) REFERENCES billing_invoices (tenant_id, id)
);

-- Ledger rows are never deleted by the app.
REVOKE DELETE, TRUNCATE ON billing_credit_notes, billing_payments, billing_allocations, billing_counters,
	billing_invoice_sends, billing_reminders, billing_recurring, billing_recurring_runs FROM ledgerline_app;
REVOKE UPDATE ON billing_credit_notes FROM ledgerline_app;

ALTER TABLE billing_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_settings_tenant ON billing_settings
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE billing_tax_rates ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_tax_rates FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_tax_rates_tenant ON billing_tax_rates
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE billing_customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_customers FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_customers_tenant ON billing_customers
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE billing_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_counters FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_counters_tenant ON billing_counters
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE billing_invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_invoices FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_invoices_tenant ON billing_invoices
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE billing_invoice_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_invoice_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_invoice_lines_tenant ON billing_invoice_lines
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE billing_credit_notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_credit_notes FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_credit_notes_tenant ON billing_credit_notes
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE billing_payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_payments FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_payments_tenant ON billing_payments
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE billing_allocations ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_allocations FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_allocations_tenant ON billing_allocations
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE billing_recurring ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_recurring FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_recurring_tenant ON billing_recurring
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE billing_recurring_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_recurring_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_recurring_runs_tenant ON billing_recurring_runs
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE billing_reminders ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_reminders FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_reminders_tenant ON billing_reminders
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE billing_invoice_sends ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_invoice_sends FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_invoice_sends_tenant ON billing_invoice_sends
	USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- +goose Down
DROP TABLE billing_recurring_runs, billing_recurring, billing_reminders, billing_invoice_sends, billing_allocations, billing_payments, billing_credit_notes,
	billing_invoice_lines, billing_invoices, billing_counters;
DROP FUNCTION billing_customer_search(text), billing_invoice_frozen(), billing_invoice_line_frozen();
DROP TABLE billing_customers, billing_tax_rates, billing_settings;
