package team

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
)

// Memberships lists every account the user belongs to, with their role.
func (s *Team) Memberships(ctx context.Context, userID int64, p roster.Page) ([]roster.Membership, int, error) {
	return s.c.DB.Memberships(ctx, userID, p)
}

// CreateAccount creates an account of the user's own; they are its owner.
// Errors: EINVALID.
func (s *Team) CreateAccount(ctx context.Context, u roster.User, name, ip string) (roster.Account, error) {
	name, err := core.CleanMailName(name, u.Email, "account name")
	if err != nil {
		return roster.Account{}, err
	}
	var a roster.Account
	err = s.c.Write(ctx, func(tx *store.Tx) error {
		a, err = tx.CreateAccount(ctx, name, u.ID)
		if err != nil {
			return err
		}
		if err := tx.SetDefaultAccountIfNone(ctx, u.ID, a.Seq); err != nil {
			return err
		}
		return tx.Audit(ctx, a.Seq, roster.Actor{UserID: u.ID, Email: u.Email, IP: ip}, roster.ActionAccountCreate, a.ID, name)
	})
	return a, err
}

// SetDefaultAccount sets the account the user lands on after login.
// Errors: ENOTFOUND when the user is not a member.
func (s *Team) SetDefaultAccount(ctx context.Context, userID int64, authID string) error {
	a, _, err := s.c.Account(ctx, userID, authID)
	if err != nil {
		return err
	}
	return s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		if _, err := tx.MemberRole(ctx, a.Seq, userID); err != nil {
			return core.DBErr(err, "No such account")
		}
		return tx.SetDefaultAccount(ctx, userID, a.Seq)
	})
}

// SetPlan sets the account's plan; only the platform operator may. A
// committed plan needs at least MinCommitmentUSD a month for at least
// MinContractMonths. Leaving it suspends the non-owner members and pending
// invitations; returning restores them (status is derived from the plan).
// Errors: EINVALID, ENOTFOUND.
func (s *Team) SetPlan(ctx context.Context, authID string, plan roster.Plan, usd, months int, actor roster.Actor) (roster.Account, error) {
	switch plan {
	case roster.PlanCommitted:
		if usd < roster.MinCommitmentUSD {
			return roster.Account{}, roster.Errorf(roster.EINVALID, "A committed plan needs a monthly commitment of at least %d USD", roster.MinCommitmentUSD)
		}
		if months < roster.MinContractMonths {
			return roster.Account{}, roster.Errorf(roster.EINVALID, "A committed plan needs a contract of at least %d months", roster.MinContractMonths)
		}
	case roster.PlanStandard:
		usd, months = 0, 0
	default:
		return roster.Account{}, roster.Errorf(roster.EINVALID, "Plan must be standard or committed")
	}
	var a roster.Account
	var old roster.Plan
	err := s.c.Write(ctx, func(tx *store.Tx) error {
		var err error
		a, err = tx.Account(ctx, authID)
		if err != nil {
			return core.DBErr(err, "No such account")
		}
		old = a.Plan
		if err := tx.SetPlan(ctx, a.Seq, plan, usd, months); err != nil {
			return err
		}
		a.Plan, a.MonthlyCommitmentUSD, a.ContractMonths = plan, usd, months
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionAccountPlan, a.ID, fmt.Sprintf("%s usd=%d months=%d", plan, usd, months)); err != nil {
			return err
		}
		if err := s.c.Emit(ctx, tx, a.Seq, a.ID, roster.EventPlanChanged, map[string]any{"old_plan": string(old), "plan": string(plan),
			"monthly_commitment_usd": usd, "contract_months": months}); err != nil {
			return err
		}
		if old == plan {
			return nil
		}
		return s.mailPlanChange(ctx, tx, a)
	})
	return a, err
}

// mailPlanChange tells each member, once, in tx, that the account left or
// returned to the committed plan: one statement, however large the team.
func (s *Team) mailPlanChange(ctx context.Context, tx *store.Tx, a roster.Account) error {
	name, err := s.c.MailName(ctx, tx, a.Seq, a.ID, a.Name)
	if err != nil {
		return err
	}
	subject, text := fmt.Sprintf("%s left the committed plan", name),
		fmt.Sprintf("The account %s left the committed monthly spend plan. Team members other than the owner are suspended, and pending invitations are on hold, until it returns.\n", name)
	if a.Plan == roster.PlanCommitted {
		subject, text = fmt.Sprintf("%s is on the committed plan", name),
			fmt.Sprintf("The account %s is on the committed monthly spend plan: its team members have their access back.\n", name)
	}
	return tx.QueueMailToMembers(ctx, a.Seq, nil, subject, text+"\n"+s.c.Config.BaseURL+"\n")
}

// Leave ends the user's own membership. Errors: ENOTFOUND,
// EOWNERIMMUTABLE for the owner.
func (s *Team) Leave(ctx context.Context, u roster.User, authID, ip string) error {
	a, role, err := s.c.Account(ctx, u.ID, authID)
	if err != nil {
		return err
	}
	if role == roster.RoleOwner {
		return roster.Errorf(roster.EOWNERIMMUTABLE, "The owner cannot leave their account")
	}
	return s.c.Write(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteMember(ctx, a.Seq, u.ID); err != nil {
			return core.DBErr(err, "No such account")
		}
		// The role is recorded, as a removal's is: the credentials page
		// tells from it whether the one who left could read the Auth Token.
		if err := tx.Audit(ctx, a.Seq, roster.Actor{UserID: u.ID, Email: u.Email, IP: ip}, roster.ActionMemberLeave, u.Email, role.String()); err != nil {
			return err
		}
		return s.c.Emit(ctx, tx, a.Seq, a.ID, roster.EventMemberLeft, map[string]any{"user_id": u.ID, "email": u.Email, "role": role.String()})
	})
}

// AuditEvents lists the account's audit events, newest first, and how
// many there are. Needs audit.view.
func (s *Team) AuditEvents(ctx context.Context, a roster.Account, p roster.Page) ([]roster.AuditEvent, int, error) {
	return s.c.DB.AuditEvents(ctx, a, roster.AuditFilter{}, p)
}

// FilterAuditEvents lists the account's audit events that match the
// filter (ParseAuditFilter's), newest first, and how many match. Needs
// audit.view. Errors: EINVALID for an action not in roster.AuditActions.
func (s *Team) FilterAuditEvents(ctx context.Context, a roster.Account, f roster.AuditFilter, p roster.Page) ([]roster.AuditEvent, int, error) {
	if _, ok := roster.AuditActionLabel(f.Action); f.Action != "" && !ok {
		return nil, 0, roster.FieldErrorf("action", roster.EINVALID, "Unknown action %q", f.Action)
	}
	return s.c.DB.AuditEvents(ctx, a, f, p)
}

// MaxAuditActors bounds the people AuditActors reads.
const MaxAuditActors = 500

// AuditActors lists the people seen acting in the account's audit log
// (at most MaxAuditActors), members or not, for a filter to choose from.
// Needs audit.view.
func (s *Team) AuditActors(ctx context.Context, a roster.Account) ([]roster.AuditActor, error) {
	return s.c.DB.AuditActors(ctx, a, MaxAuditActors)
}

// ParseAuditFilter reads a filter as both edges take it: actor is a user
// ID or, for an actor with no user, the address recorded ("operator");
// action is a code of roster.AuditActions. Empty means any. An actor no
// event names simply matches nothing. Errors: EINVALID (field "action")
// for an unknown action.
func ParseAuditFilter(actor, action string) (roster.AuditFilter, error) {
	var f roster.AuditFilter
	actor, action = strings.TrimSpace(actor), strings.TrimSpace(action)
	if id, err := strconv.ParseInt(actor, 10, 64); err == nil && id > 0 {
		f.ActorID = id
	} else if actor != "" {
		// Compared with what was recorded, so anything that could never have
		// been (a NUL byte PostgreSQL refuses, invalid UTF-8, a page of text)
		// is refused here rather than by the database.
		if len(actor) > 320 || !core.FilterText(actor) {
			return f, roster.FieldErrorf("actor", roster.EINVALID, "Actor must be a user ID or an address")
		}
		f.ActorEmail = strings.ToLower(actor)
	}
	if action != "" {
		if _, ok := roster.AuditActionLabel(action); !ok {
			return f, roster.FieldErrorf("action", roster.EINVALID, "Unknown action %q: use one of the audit log's action codes", action)
		}
		f.Action = action
	}
	return f, nil
}
