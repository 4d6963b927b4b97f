package main

import (
	"context"
	"fmt"
	"io"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// DemoPassword is the password of every demo user. The README lists the users.
const DemoPassword = "ledgerline-demo"

type demoUser struct {
	email, name string
	role        identity.Role
	department  string
}

type demoTenant struct {
	params      identity.TenantCreateParams
	departments []string
	managerOf   map[string]string // department -> manager e-mail
	users       []demoUser
}

var demoTenants = []demoTenant{
	{
		params:      identity.TenantCreateParams{Name: "Acme Manufacturing", Slug: "acme", TimeZone: "Europe/Berlin", Currency: "EUR"},
		departments: []string{"Operations", "Finance", "Warehouse"},
		managerOf:   map[string]string{"Operations": "manager@acme.example"},
		users: []demoUser{
			{"admin@acme.example", "Ada Admin", identity.RoleAdmin, "Operations"},
			{"manager@acme.example", "Max Manager", identity.RoleManager, "Operations"},
			{"finance@acme.example", "Fiona Finance", identity.RoleFinance, "Finance"},
			{"employee@acme.example", "Eli Employee", identity.RoleEmployee, "Operations"},
			{"auditor@acme.example", "Aude Auditor", identity.RoleAuditor, "Finance"},
		},
	},
	{
		params:      identity.TenantCreateParams{Name: "Globex Retail", Slug: "globex", TimeZone: "America/New_York", Currency: "USD"},
		departments: []string{"Stores", "Accounting"},
		managerOf:   map[string]string{"Stores": "manager@globex.example"},
		users: []demoUser{
			{"admin@globex.example", "Gus Admin", identity.RoleAdmin, "Stores"},
			{"manager@globex.example", "Mia Manager", identity.RoleManager, "Stores"},
			{"finance@globex.example", "Finn Finance", identity.RoleFinance, "Accounting"},
			{"employee@globex.example", "Eve Employee", identity.RoleEmployee, "Stores"},
			{"auditor@globex.example", "Art Auditor", identity.RoleAuditor, "Accounting"},
			// Acme's admin also audits Globex: the demo of the tenant switcher.
			{"admin@acme.example", "Ada Admin", identity.RoleAuditor, "Accounting"},
		},
	},
}

// seed creates the demo tenants, departments and users. A tenant that exists already is left as it is,
// so running it again changes nothing.
func seed(ctx context.Context, db *store.DB, stdout io.Writer) error {
	for _, dt := range demoTenants {
		if _, err := identity.TenantIDBySlug(ctx, db, dt.params.Slug); err == nil {
			fmt.Fprintf(stdout, "seed: %s exists, left as it is\n", dt.params.Name)
			continue
		} else if store.ErrorCode(err) != store.NotFound {
			return err
		}
		tenant, err := identity.TenantCreate(ctx, db, store.Scope{}, dt.params)
		if err != nil {
			return fmt.Errorf("error seeding tenant %s: %w", dt.params.Slug, err)
		}
		scope := store.Scope{TenantID: tenant.ID}
		departments := map[string]store.ID{}
		for _, name := range dt.departments {
			d, err := identity.DepartmentCreate(ctx, db, scope, name)
			if err != nil {
				return fmt.Errorf("error seeding department %s: %w", name, err)
			}
			departments[name] = d.ID
		}
		members := map[string]store.ID{}
		for _, du := range dt.users {
			id, err := identity.UserIDByEmail(ctx, db, du.email)
			if store.ErrorCode(err) == store.NotFound {
				var u *identity.User
				u, err = identity.UserCreate(ctx, db, scope, identity.UserCreateParams{Email: du.email, Name: du.name, Password: DemoPassword})
				if u != nil {
					id = u.ID
				}
			}
			if err != nil {
				return fmt.Errorf("error seeding user %s: %w", du.email, err)
			}
			dept := departments[du.department]
			if err := identity.MemberAdd(ctx, db, scope, identity.MemberAddParams{UserID: id, Role: du.role, DepartmentID: &dept}); err != nil {
				return fmt.Errorf("error seeding membership of %s: %w", du.email, err)
			}
			members[du.email] = id
		}
		for dept, email := range dt.managerOf {
			if err := identity.DepartmentManagerSet(ctx, db, scope, departments[dept], members[email]); err != nil {
				return fmt.Errorf("error seeding manager of %s: %w", dept, err)
			}
		}
		fmt.Fprintf(stdout, "seed: created %s with %d users\n", tenant.Name, len(dt.users))
	}
	fmt.Fprintf(stdout, "\nDemo users (password %q for all):\n", DemoPassword)
	for _, dt := range demoTenants {
		for _, du := range dt.users {
			fmt.Fprintf(stdout, "  %-26s %-9s %s\n", du.email, du.role, dt.params.Name)
		}
	}
	return nil
}
