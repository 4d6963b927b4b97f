// Package store owns the database plumbing shared by every domain: the connection pool, tenant-scoped
// transactions under row-level security, the application error type, identifiers and secrets sealing.
//
// Domain packages (store/identity, store/audit, ...) hold their own types, SQL and invariants and build on
// this package. Nothing here imports HTTP, templ or session code.
package store
