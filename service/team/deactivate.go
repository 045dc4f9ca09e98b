package team

import (
	"context"
	"fmt"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
)

// SetMemberActive deactivates (active false) or reactivates (true) a
// member: what the company's directory does through SCIM (issue 23). A
// deactivated member keeps their place and role but holds nothing in the
// account: their sessions and personal API keys lose it (403
// member_deactivated) and the check answers "deactivated", on this replica
// before this returns and on every other once it catches up (the change
// is recorded in the same transaction). Reactivating restores the role
// they had. Setting the state the member is in already changes nothing
// and audits, emits and mails nothing. Neither needs the committed plan:
// ending access is never held back, and a reactivated member of an account
// off the plan is suspended as every member is.
//
// It is audited (member.deactivate or member.reactivate, the member's
// address and role), fires member.deactivated or member.reactivated and
// mails the member. The caller is allowed to manage the team (team.edit,
// or the account's SCIM token). Errors: EOWNERIMMUTABLE (the owner, who is
// never deactivated), ENOTFOUND.
func (s *Team) SetMemberActive(ctx context.Context, a roster.Account, userID int64, active bool, actor roster.Actor) (roster.Member, error) {
	var m roster.Member
	err := s.c.WriteIn(ctx, a.Seq, func(tx *store.Tx) error {
		role, err := tx.MemberRole(ctx, a.Seq, userID)
		if err != nil {
			return core.DBErr(err, "No such member")
		}
		if role == roster.RoleOwner {
			if active {
				return roster.Errorf(roster.EOWNERIMMUTABLE, "The owner is never deactivated, so cannot be reactivated")
			}
			return roster.Errorf(roster.EOWNERIMMUTABLE, "The owner cannot be deactivated")
		}
		changed, err := tx.SetMemberDeactivated(ctx, a.Seq, userID, !active)
		if err != nil {
			return core.DBErr(err, "No such member")
		}
		m, err = tx.Member(ctx, a, userID) // the answer, as this change left it
		if err != nil || !changed {
			return err
		}
		data := map[string]any{"user_id": userID, "email": m.Email, "role": role.String()}
		// Each action and event is named as a constant where it is
		// written: the root package's tests find them so.
		if active {
			if err := tx.Audit(ctx, a.Seq, actor, roster.ActionMemberReactivate, m.Email, role.String()); err != nil {
				return err
			}
			if err := s.c.Emit(ctx, tx, a.Seq, a.ID, roster.EventMemberReactivated, data); err != nil {
				return err
			}
		} else {
			if err := tx.Audit(ctx, a.Seq, actor, roster.ActionMemberDeactivate, m.Email, role.String()); err != nil {
				return err
			}
			if err := s.c.Emit(ctx, tx, a.Seq, a.ID, roster.EventMemberDeactivated, data); err != nil {
				return err
			}
		}
		name, err := s.c.MailName(ctx, tx, a.Seq, a.ID, a.Name)
		if err != nil {
			return err
		}
		msg := mail.Message{To: m.Email, Subject: fmt.Sprintf("Your access to %s was deactivated", name),
			Text: fmt.Sprintf("%s deactivated your access to the account %s on Roster. You keep your place and role (%s), "+
				"but can do nothing in the account until your access is restored.\n\nIf this is a mistake, ask an administrator of the account.\n",
				actor.Email, name, m.Role.Label())}
		if active {
			msg = mail.Message{To: m.Email, Subject: fmt.Sprintf("Your access to %s was restored", name),
				Text: fmt.Sprintf("%s restored your access to the account %s on Roster, with your role (%s): see %s\n",
					actor.Email, name, m.Role.Label(), s.c.Config.BaseURL)}
		}
		return s.c.Mail(ctx, tx, msg)
	})
	return m, err
}
