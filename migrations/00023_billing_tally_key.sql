-- +goose Up
-- Every tenant table has a primary key that begins with tenant_id (TestRLSCatalog): the invoice tally's
-- delta rows (migration 00020) get one. The rows are only inserted and folded (deleted and re-inserted as
-- sums), so a generated id is all they need.
ALTER TABLE billing_invoice_tallies ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE billing_invoice_tallies ADD PRIMARY KEY (tenant_id, id);
DROP INDEX billing_invoice_tallies_tenant_idx; -- the key's leading column serves the tenant's reads

-- +goose Down
CREATE INDEX billing_invoice_tallies_tenant_idx ON billing_invoice_tallies (tenant_id);
ALTER TABLE billing_invoice_tallies DROP CONSTRAINT billing_invoice_tallies_pkey;
ALTER TABLE billing_invoice_tallies DROP COLUMN id;
