package approvals

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
)

// ApproverKind says who approves a step.
type ApproverKind string

// The approver kinds: the requester's department manager, everyone with a role, or named members.
const (
	ApproverManager ApproverKind = "manager"
	ApproverRole    ApproverKind = "role"
	ApproverUsers   ApproverKind = "users"
)

// Mode says how many of a step's approvers must approve.
type Mode string

// The modes: any one approver, all of them, or Quorum of them.
const (
	ModeAny    Mode = "any"
	ModeAll    Mode = "all"
	ModeQuorum Mode = "quorum"
)

// Label is the mode as people read it.
func (m Mode) Label() string {
	switch m {
	case ModeAny:
		return "any one"
	case ModeAll:
		return "all"
	case ModeQuorum:
		return "N of M"
	}
	return string(m)
}

// Step is one step of a policy band. Role is set for ApproverRole, UserIDs for ApproverUsers, Quorum for
// ModeQuorum. SLAHours is in business hours (0: the settings' default).
type Step struct {
	Name     string        `json:"name"`
	Approver ApproverKind  `json:"approver"`
	Role     identity.Role `json:"role,omitempty"`
	UserIDs  []store.ID    `json:"user_ids,omitempty"`
	Mode     Mode          `json:"mode"`
	Quorum   int           `json:"quorum,omitempty"`
	SLAHours int           `json:"sla_hours,omitempty"`
}

// Band is a range of amounts [From, To) in minor units; a nil To means "and above".
type Band struct {
	From  int64  `json:"from"`
	To    *int64 `json:"to,omitempty"`
	Steps []Step `json:"steps"`
}

// Contains reports whether amount falls in the band.
func (b Band) Contains(amount int64) bool {
	return amount >= b.From && (b.To == nil || amount < *b.To)
}

// Policy routes one request type: its bands cover every amount from zero, without overlaps. Default is
// set when the tenant has not saved one: the bands then come from the settings' thresholds.
type Policy struct {
	Type      RequestType `json:"request_type"`
	Bands     []Band      `json:"bands"`
	Default   bool        `json:"default"`
	UpdatedAt *time.Time  `json:"updated_at,omitempty"`
	Version   int         `json:"version"`
}

// Band returns the band that amount falls in.
func (p Policy) Band(amount int64) (Band, bool) {
	for _, b := range p.Bands {
		if b.Contains(amount) {
			return b, true
		}
	}
	return Band{}, false
}

// PolicyBandsMax and PolicyStepsMax bound a policy's size.
const (
	PolicyBandsMax = 6
	PolicyStepsMax = 5
)

// DefaultPolicy is the route used until an admin saves a policy: below the manager limit the department
// manager approves; up to the finance limit finance approves after them; above it an administrator too.
func DefaultPolicy(t RequestType, s Settings) Policy {
	manager := Step{Name: "Department manager", Approver: ApproverManager, Mode: ModeAny}
	finance := Step{Name: "Finance", Approver: ApproverRole, Role: identity.RoleFinance, Mode: ModeAny}
	admin := Step{Name: "Administrator", Approver: ApproverRole, Role: identity.RoleAdmin, Mode: ModeAny}
	ml, fl := s.ManagerLimit, s.FinanceLimit
	var bands []Band
	if ml > 0 {
		bands = append(bands, Band{From: 0, To: &ml, Steps: []Step{manager}})
	}
	if fl > ml {
		bands = append(bands, Band{From: ml, To: &fl, Steps: []Step{manager, finance}})
	}
	bands = append(bands, Band{From: fl, Steps: []Step{manager, finance, admin}})
	return Policy{Type: t, Bands: bands, Default: true}
}

// validate checks the bands (contiguous from zero, the last one open-ended) and the steps, reporting each
// problem under a form field "bands", "band<i>_…" or "band<i>_step<j>_…".
func (p *Policy) validate(f *store.FieldErrors, fmtAmount func(int64) string) {
	if len(p.Bands) == 0 {
		f.Add("bands", "Add at least one amount band.")
		return
	}
	if len(p.Bands) > PolicyBandsMax {
		f.Add("bands", fmt.Sprintf("Use at most %d amount bands.", PolicyBandsMax))
	}
	slices.SortStableFunc(p.Bands, func(a, b Band) int {
		switch {
		case a.From < b.From:
			return -1
		case a.From > b.From:
			return 1
		}
		return 0
	})
	if p.Bands[0].From != 0 {
		f.Add("bands", "Amounts from 0 to "+fmtAmount(p.Bands[0].From)+" have no band. Start the first band at 0.")
	}
	for i, b := range p.Bands {
		key := fmt.Sprintf("band%d_", i)
		if b.From < 0 {
			f.Add(key+"from", "Enter an amount of zero or more.")
		}
		if b.To != nil && *b.To <= b.From {
			f.Add(key+"to", "Enter an upper amount above the band's lower amount.")
		}
		if i+1 < len(p.Bands) {
			next := p.Bands[i+1].From
			switch {
			case b.To == nil:
				f.Add("bands", "The band from "+fmtAmount(b.From)+" has no upper amount but another band follows it: the bands overlap.")
			case *b.To > next:
				f.Add("bands", "The bands from "+fmtAmount(b.From)+" and from "+fmtAmount(next)+" overlap. Make each band start where the one before ends.")
			case *b.To < next:
				f.Add("bands", "Amounts from "+fmtAmount(*b.To)+" to "+fmtAmount(next)+" have no band. Make each band start where the one before ends.")
			}
		} else if b.To != nil {
			f.Add("bands", "Amounts of "+fmtAmount(*b.To)+" and more have no band. Leave the last band's upper amount empty.")
		}
		if len(b.Steps) == 0 {
			f.Add(key+"steps", "Give the band at least one step.")
		}
		if len(b.Steps) > PolicyStepsMax {
			f.Add(key+"steps", fmt.Sprintf("Use at most %d steps in a band.", PolicyStepsMax))
		}
		for j := range b.Steps {
			s := &p.Bands[i].Steps[j]
			sk := fmt.Sprintf("%sstep%d_", key, j)
			s.Name = textField(f, sk+"name", s.Name, 1, 100, "Name the step (up to 100 characters).")
			switch s.Approver {
			case ApproverManager:
				s.Role, s.UserIDs = "", nil
			case ApproverRole:
				s.UserIDs = nil
				if !s.Role.Valid() || !s.Role.Can(identity.ApprovalsDecide) {
					f.Add(sk+"role", "Choose a role that may approve: administrator, department manager or finance.")
				}
			case ApproverUsers:
				s.Role = ""
				if len(s.UserIDs) == 0 || len(s.UserIDs) > 20 {
					f.Add(sk+"users", "Choose between 1 and 20 people.")
				}
				s.UserIDs = uniqueIDs(s.UserIDs)
			default:
				f.Add(sk+"approver", "Choose who approves the step.")
			}
			switch s.Mode {
			case ModeAny, ModeAll:
				s.Quorum = 0
			case ModeQuorum:
				if s.Quorum < 1 || s.Quorum > 20 {
					f.Add(sk+"quorum", "Enter how many must approve, from 1 to 20.")
				} else if s.Approver == ApproverUsers && s.Quorum > len(s.UserIDs) {
					f.Add(sk+"quorum", fmt.Sprintf("Enter at most %d: the step names %d people.", len(s.UserIDs), len(s.UserIDs)))
				} else if s.Approver == ApproverManager && s.Quorum > 1 {
					f.Add(sk+"quorum", "A department has one manager: choose \"any one\" or a quorum of 1.")
				}
			default:
				f.Add(sk+"mode", "Choose how many approvers must approve.")
			}
			if s.SLAHours < 0 || s.SLAHours > 1000 {
				f.Add(sk+"sla_hours", "Enter an SLA from 1 to 1000 business hours, or leave it empty for the default.")
			}
		}
	}
}

func uniqueIDs(ids []store.ID) []store.ID {
	var out []store.ID
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func policyTx(ctx context.Context, tx *store.Tx, t RequestType, forUpdate bool) (*Policy, error) {
	var row struct {
		Bands     []byte    `db:"bands"`
		UpdatedAt time.Time `db:"updated_at"`
		Version   int       `db:"version"`
	}
	q := `SELECT bands, updated_at, version FROM approval_policies WHERE tenant_id = $1 AND request_type = $2`
	if forUpdate {
		q += ` FOR UPDATE`
	}
	err := tx.GetContext(ctx, &row, q, tx.Scope.TenantID, t)
	if errors.Is(err, sql.ErrNoRows) {
		s, err := settingsTx(ctx, tx)
		if err != nil {
			return nil, err
		}
		p := DefaultPolicy(t, *s)
		return &p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("error loading %s policy: %w", t, err)
	}
	p := Policy{Type: t, UpdatedAt: &row.UpdatedAt, Version: row.Version}
	if err := json.Unmarshal(row.Bands, &p.Bands); err != nil {
		return nil, fmt.Errorf("error decoding %s policy: %w", t, err)
	}
	return &p, nil
}

// PolicyGet returns the policy of a request type: the saved one, or the default from the settings. The
// actor needs ApprovalsRead.
func PolicyGet(ctx context.Context, db *store.DB, scope store.Scope, t RequestType) (*Policy, error) {
	if !t.Valid() {
		return nil, store.Errorf(store.NotFound, "No such request type.")
	}
	var p *Policy
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.ApprovalsRead); err != nil {
			return err
		}
		var err error
		p, err = policyTx(ctx, tx, t, false)
		return err
	})
	return p, err
}

// PolicySaveParams replaces a request type's policy. Version is the version the editor saw (0 while the
// default applies).
type PolicySaveParams struct {
	Type    RequestType
	Bands   []Band
	Version int
}

// PolicySave validates and stores a policy. Requests already submitted keep the route they were given.
// Named approvers must be active members who may approve. A stale Version is a Conflict. The actor needs
// AdminSettings.
func PolicySave(ctx context.Context, db *store.DB, scope store.Scope, p PolicySaveParams) (*Policy, error) {
	if !p.Type.Valid() {
		return nil, store.Errorf(store.NotFound, "No such request type.")
	}
	var after *Policy
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.AdminSettings); err != nil {
			return err
		}
		s, err := settingsTx(ctx, tx)
		if err != nil {
			return err
		}
		pol := Policy{Type: p.Type, Bands: p.Bands}
		var f store.FieldErrors
		pol.validate(&f, func(v int64) string { return formatMoney(v, s.Currency) })
		if err := f.Err(); err != nil {
			return err
		}
		for i, b := range pol.Bands {
			for j, st := range b.Steps {
				if st.Approver != ApproverUsers {
					continue
				}
				var ok int
				if err := tx.GetContext(ctx, &ok, `
					SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id
					WHERE m.tenant_id = $1 AND m.user_id = ANY($2) AND m.deactivated_at IS NULL AND u.disabled_at IS NULL
					  AND m.role IN ('admin', 'manager', 'finance')`, tx.Scope.TenantID, idStrings(st.UserIDs)); err != nil {
					return fmt.Errorf("error checking named approvers: %w", err)
				}
				if ok != len(st.UserIDs) {
					return (store.FieldErrors{fmt.Sprintf("band%d_step%d_users", i, j): "Choose active members who may approve (administrators, managers or finance)."}).Err()
				}
			}
		}
		before, err := policyTx(ctx, tx, p.Type, true)
		if err != nil {
			return err
		}
		if before.Version != p.Version {
			return store.Errorf(store.Conflict, "This policy was changed by someone else while you were editing. Reload the page, then try again.")
		}
		bands, err := json.Marshal(pol.Bands)
		if err != nil {
			return fmt.Errorf("error encoding policy: %w", err)
		}
		var meta struct {
			UpdatedAt time.Time `db:"updated_at"`
			Version   int       `db:"version"`
		}
		if err := tx.GetContext(ctx, &meta, `
			INSERT INTO approval_policies (request_type, bands) VALUES ($1, $2)
			ON CONFLICT (tenant_id, request_type) DO UPDATE SET bands = EXCLUDED.bands, updated_at = now(),
				version = approval_policies.version + 1
			RETURNING updated_at, version`, p.Type, bands); err != nil {
			return fmt.Errorf("error saving %s policy: %w", p.Type, err)
		}
		pol.UpdatedAt, pol.Version = &meta.UpdatedAt, meta.Version
		after = &pol
		return audit.Record(ctx, tx, audit.RecordParams{Action: "approvals.policy_save", EntityType: "approval_policy",
			EntityID: string(p.Type), Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	return after, nil
}

func idStrings(ids []store.ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

// Approver is a member who may approve, for choosers.
type Approver struct {
	ID    store.ID      `db:"user_id" json:"id"`
	Name  string        `db:"name" json:"name"`
	Email string        `db:"email" json:"email"`
	Role  identity.Role `db:"role" json:"role"`
}

// ApproverChoices lists the tenant's active members who may approve (and so be named in a policy or be a
// delegate), by name. Anyone who may submit may list them.
func ApproverChoices(ctx context.Context, db *store.DB, scope store.Scope) ([]Approver, error) {
	var out []Approver
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.ApprovalsSubmit); err != nil {
			return err
		}
		return tx.SelectContext(ctx, &out, `
			SELECT m.user_id, u.name, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id
			WHERE m.tenant_id = $1 AND m.deactivated_at IS NULL AND u.disabled_at IS NULL
			  AND m.role IN ('admin', 'manager', 'finance')
			ORDER BY lower(u.name), m.user_id LIMIT 1000`, tx.Scope.TenantID)
	})
	return out, err
}

// Who describes who approves a step, for screens and messages.
func (s Step) Who() string {
	switch s.Approver {
	case ApproverManager:
		return "the requester's department manager"
	case ApproverRole:
		return "everyone with the role " + strings.ToLower(s.Role.Label())
	case ApproverUsers:
		return fmt.Sprintf("%d named people", len(s.UserIDs))
	}
	return string(s.Approver)
}
