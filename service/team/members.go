package team

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
)

func requireCommitted(a roster.Account) error {
	if a.Plan != roster.PlanCommitted {
		return roster.Errorf(roster.EPLANREQUIRED, "Team members need the committed monthly spend plan; this account is on %s", a.Plan)
	}
	return nil
}

// Members lists the account's members, a page at a time (by offset, or
// after a cursor), with the cursor of the next page ("" at the end). The
// caller holds team.view. Errors: EINVALID (a cursor of no such list).
func (s *Team) Members(ctx context.Context, a roster.Account, p roster.Page) ([]roster.Member, int, string, error) {
	ms, total, next, err := s.c.DB.Members(ctx, a, p)
	if errors.Is(err, store.ErrBadCursor) {
		return nil, 0, "", roster.FieldErrorf("after", roster.EINVALID, "The page cursor must be the meta.next of a previous page of this list")
	}
	return ms, total, next, err
}

// Member returns one member of the account. The caller holds team.view
// or team.edit. Errors: ENOTFOUND.
func (s *Team) Member(ctx context.Context, a roster.Account, userID int64) (roster.Member, error) {
	m, err := s.c.DB.Member(ctx, a, userID)
	return m, core.DBErr(err, "No such member")
}

// SetMemberRole changes a member's role. The caller holds team.edit.
// Errors: EINVALID, EOWNERIMMUTABLE (the owner, or the owner role),
// ENOTFOUND, EPLANREQUIRED.
func (s *Team) SetMemberRole(ctx context.Context, a roster.Account, userID int64, rawRole string, actor roster.Actor) (roster.Member, error) {
	return s.setMemberRole(ctx, a, userID, rawRole, actor, false)
}

// ChangeMemberRole is SetMemberRole for a person who previewed a change:
// giving a member the role they hold already is refused (EINVALID on
// "role"), read in the same transaction as the write, so nothing is saved,
// audited or emitted. The API's PUT stays SetMemberRole's, answering an
// unchanged role as it is. Errors: those of SetMemberRole.
func (s *Team) ChangeMemberRole(ctx context.Context, a roster.Account, userID int64, rawRole string, actor roster.Actor) (roster.Member, error) {
	return s.setMemberRole(ctx, a, userID, rawRole, actor, true)
}

func (s *Team) setMemberRole(ctx context.Context, a roster.Account, userID int64, rawRole string, actor roster.Actor, mustChange bool) (roster.Member, error) {
	role, err := roster.ParseAssignableRole(rawRole)
	if err != nil {
		return roster.Member{}, err
	}
	if err := requireCommitted(a); err != nil {
		return roster.Member{}, err
	}
	var m roster.Member
	var old roster.Role
	err = s.c.WriteIn(ctx, a.Seq, func(tx *store.Tx) error {
		var err error
		old, err = tx.MemberRole(ctx, a.Seq, userID)
		if err != nil {
			return core.DBErr(err, "No such member")
		}
		if old == roster.RoleOwner {
			return roster.Errorf(roster.EOWNERIMMUTABLE, "The owner's role cannot be changed")
		}
		if mustChange && old == role {
			return roster.FieldErrorf("role", roster.EINVALID, "They are %s already: choose a different role to change it", role.Label())
		}
		if err := tx.SetMemberRole(ctx, a.Seq, userID, role); err != nil {
			return core.DBErr(err, "No such member")
		}
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionMemberRole, fmt.Sprint(userID), fmt.Sprintf("%s -> %s", old, role)); err != nil {
			return err
		}
		m, err = tx.Member(ctx, a, userID) // the answer, as this change left it
		if err != nil {
			return err
		}
		if err := s.c.Emit(ctx, tx, a.Seq, a.ID, roster.EventMemberRoleChanged, map[string]any{"user_id": userID, "email": m.Email, "old_role": old.String(), "role": role.String()}); err != nil {
			return err
		}
		if old == role {
			return nil
		}
		name, err := s.c.MailName(ctx, tx, a.Seq, a.ID, a.Name)
		if err != nil {
			return err
		}
		return s.c.Mail(ctx, tx, mail.Message{To: m.Email, Subject: fmt.Sprintf("Your role in %s changed", name),
			Text: fmt.Sprintf("%s changed your role in the account %s from %s to %s.\n\nWhat you may do there changed with it: see %s\n",
				actor.Email, name, old.Label(), role.Label(), s.c.Config.BaseURL)})
	})
	return m, err
}

// DeleteMember removes a member: irreversible, and their access to the
// account ends before this returns. The caller holds team.edit.
// Errors: EOWNERIMMUTABLE, ENOTFOUND.
func (s *Team) DeleteMember(ctx context.Context, a roster.Account, userID int64, actor roster.Actor) error {
	return s.c.WriteIn(ctx, a.Seq, func(tx *store.Tx) error {
		old, err := tx.MemberRole(ctx, a.Seq, userID)
		if err != nil {
			return core.DBErr(err, "No such member")
		}
		if old == roster.RoleOwner {
			return roster.Errorf(roster.EOWNERIMMUTABLE, "The owner cannot be deleted")
		}
		u, err := tx.User(ctx, userID)
		if err != nil {
			return err
		}
		if err := tx.DeleteMember(ctx, a.Seq, userID); err != nil {
			return err
		}
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionMemberDelete, u.Email, old.String()); err != nil {
			return err
		}
		if err := s.c.Emit(ctx, tx, a.Seq, a.ID, roster.EventMemberRemoved, map[string]any{"user_id": userID, "email": u.Email, "role": old.String()}); err != nil {
			return err
		}
		name, err := s.c.MailName(ctx, tx, a.Seq, a.ID, a.Name)
		if err != nil {
			return err
		}
		return s.c.Mail(ctx, tx, mail.Message{To: u.Email, Subject: fmt.Sprintf("You were removed from %s", name),
			Text: fmt.Sprintf("%s removed you from the account %s on Roster. Your access to it has ended.\n\nIf this is a mistake, ask an administrator of the account to invite you again.\n",
				actor.Email, name)})
	})
}

// Invitations lists the account's pending invitations.
func (s *Team) Invitations(ctx context.Context, a roster.Account, p roster.Page) ([]roster.Invitation, int, error) {
	return s.c.DB.Invitations(ctx, a.Seq, p)
}

// Invite invites an address to the account with a role and mails the link.
// The mail comes out of the account's budget (takeInvitationMail): past
// it, nothing is created or sent. The caller holds team.edit. Errors:
// EPLANREQUIRED, EINVALID, EOWNERIMMUTABLE, EPERSONALDOMAIN,
// EALREADYMEMBER, EINVITEPENDING, ERATELIMITED (with RetryAfter).
func (s *Team) Invite(ctx context.Context, a roster.Account, rawEmail, rawRole string, actor roster.Actor) (roster.Invitation, error) {
	if err := requireCommitted(a); err != nil {
		return roster.Invitation{}, err
	}
	role, err := roster.ParseAssignableRole(rawRole)
	if err != nil {
		return roster.Invitation{}, err
	}
	email, err := s.c.WorkEmail(rawEmail)
	if err != nil {
		return roster.Invitation{}, err
	}
	token, tokenHash := core.NewToken()
	var inv roster.Invitation
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		if uid, err := tx.UserIDByEmail(ctx, email); err == nil {
			if _, err := tx.MemberRole(ctx, a.Seq, uid); err == nil {
				return roster.Errorf(roster.EALREADYMEMBER, "The address %s is already a member of this account", email)
			} else if !errors.Is(err, store.ErrNoRows) {
				return err
			}
		} else if !errors.Is(err, store.ErrNoRows) {
			return err
		}
		if err := tx.ExpirePending(ctx, a.Seq, email); err != nil {
			return err
		}
		id, err := tx.CreateInvitation(ctx, a.Seq, email, role, tokenHash, actor.UserID, s.c.Config.InviteTTL)
		if errors.Is(err, store.ErrUnique) {
			return roster.Errorf(roster.EINVITEPENDING, "An invitation to %s is already pending: resend it instead", email)
		} else if err != nil {
			return err
		}
		// Refused here, the whole transaction rolls back: a row over the
		// budget creates nothing and mails nothing.
		if err := s.takeInvitationMail(ctx, tx, a.Seq, email); err != nil {
			return err
		}
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionInvitationCreate, email, role.String()); err != nil {
			return err
		}
		inv, err = tx.Invitation(ctx, a.Seq, id)
		if err != nil {
			return err
		}
		if err := s.c.Emit(ctx, tx, a.Seq, a.ID, roster.EventInvitationCreated, map[string]any{"invitation_id": id, "email": email, "role": role.String()}); err != nil {
			return err
		}
		return s.mailInvitation(ctx, tx, a.Seq, inv, token, actor)
	})
	return inv, err
}

// takeInvitationMail takes one invitation mail to email from the
// account's allowance, in tx, the transaction that creates or resends the
// invitation, or refuses it with ERATELIMITED and the wait:
//   - one address: one mail per ResendInterval and MaxSends a day, whatever
//     the invitation (so revoking and inviting again is a resend);
//   - the account: InviteMailsPerHour an hour and InviteMailsPerDay a day.
//
// The sends are rows of invitation_mails, read and written in tx, so two
// admins inviting at once on two replicas cannot both take the last one.
func (s *Team) takeInvitationMail(ctx context.Context, tx *store.Tx, accountSeq int64, email string) error {
	limits := []struct {
		email  string
		window time.Duration
		limit  int
		say    func(wait time.Duration) *roster.Error
	}{
		{email, s.c.Config.ResendInterval, 1, func(wait time.Duration) *roster.Error {
			return roster.Retry(roster.ERATELIMITED, wait, "An invitation was sent to %s moments ago; try again in %s", email, roster.DurationWords(wait))
		}},
		{email, 24 * time.Hour, s.c.Config.MaxSends, func(wait time.Duration) *roster.Error {
			return roster.Retry(roster.ERATELIMITED, wait, "The address %s was sent %d invitations to this account in the last 24 hours, the most one address gets; try again in %s", email, s.c.Config.MaxSends, roster.DurationWords(wait))
		}},
		{"", time.Hour, s.c.Config.InviteMailsPerHour, func(wait time.Duration) *roster.Error {
			return roster.Retry(roster.ERATELIMITED, wait, "This account sent %d invitation mails in the last hour, the most an account may send in an hour; nothing was sent to %s: try again in %s", s.c.Config.InviteMailsPerHour, email, roster.DurationWords(wait))
		}},
		{"", 24 * time.Hour, s.c.Config.InviteMailsPerDay, func(wait time.Duration) *roster.Error {
			return roster.Retry(roster.ERATELIMITED, wait, "This account sent %d invitation mails in the last 24 hours, the most an account may send in a day; nothing was sent to %s: try again in %s", s.c.Config.InviteMailsPerDay, email, roster.DurationWords(wait))
		}},
	}
	for _, l := range limits {
		if l.window <= 0 {
			continue // no pacing configured (tests)
		}
		wait, err := tx.InvitationMailWait(ctx, accountSeq, l.email, l.window, l.limit)
		if err != nil {
			return err
		}
		if wait > 0 {
			return l.say(wait)
		}
	}
	return tx.RecordInvitationMail(ctx, accountSeq, email)
}

// mailInvitation mails the invitation's link in tx, naming who sent it
// (their name, checked for links when they signed up, and their address)
// and how long the link works, in words ("7 days").
func (s *Team) mailInvitation(ctx context.Context, tx *store.Tx, accountSeq int64, inv roster.Invitation, token string, actor roster.Actor) error {
	name, err := s.c.MailName(ctx, tx, accountSeq, inv.AccountID, inv.AccountName)
	if err != nil {
		return err
	}
	inviter := actor.Email
	if actor.UserID != 0 {
		if u, err := tx.User(ctx, actor.UserID); err == nil && u.Name != "" {
			inviter = u.Name + " (" + actor.Email + ")"
		} else if err != nil && !errors.Is(err, store.ErrNoRows) {
			return err
		}
	}
	return s.c.Mail(ctx, tx, mail.Message{To: inv.Email, Subject: fmt.Sprintf("You are invited to %s on Roster", name),
		Text: fmt.Sprintf("%s invited you to join the account %s as %s.\n\nAccept the invitation:\n%s\n\n"+
			"The link works for %s, until %s. If you do not have a login yet, you will create one.\n",
			inviter, name, inv.Role.Label(), s.c.Link("invite", token), roster.DurationWords(s.c.Config.InviteTTL),
			inv.ExpiresAt.UTC().Format("2 January 2006 at 15:04 UTC"))})
}

// SetInvitationRole changes a pending invitation's role. The caller holds
// team.edit. Errors: EINVALID, EOWNERIMMUTABLE, ENOTFOUND.
func (s *Team) SetInvitationRole(ctx context.Context, a roster.Account, id int64, rawRole string, actor roster.Actor) (roster.Invitation, error) {
	role, err := roster.ParseAssignableRole(rawRole)
	if err != nil {
		return roster.Invitation{}, err
	}
	var inv roster.Invitation
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		if err := tx.SetInvitationRole(ctx, a.Seq, id, role); err != nil {
			return core.DBErr(err, "No such pending invitation")
		}
		inv, err = tx.Invitation(ctx, a.Seq, id)
		if err != nil {
			return err
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionInvitationRole, inv.Email, role.String())
	})
	return inv, err
}

// RevokeInvitation revokes a pending invitation: its link stops working.
// The caller holds team.edit. Errors: ENOTFOUND.
func (s *Team) RevokeInvitation(ctx context.Context, a roster.Account, id int64, actor roster.Actor) error {
	return s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		inv, err := tx.Invitation(ctx, a.Seq, id)
		if err != nil {
			return core.DBErr(err, "No such pending invitation")
		}
		if err := tx.RevokeInvitation(ctx, a.Seq, id); err != nil {
			return core.DBErr(err, "No such pending invitation")
		}
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionInvitationRevoke, inv.Email, ""); err != nil {
			return err
		}
		return s.c.Emit(ctx, tx, a.Seq, a.ID, roster.EventInvitationRevoked, map[string]any{"invitation_id": id, "email": inv.Email})
	})
}

// ResendInvitation mails a new link (the old one stops working) and resets
// the expiry. At most one send per ResendInterval and MaxSends in all, and
// out of the account's budget (takeInvitationMail). The caller holds
// team.edit. Errors: ENOTFOUND, EPLANREQUIRED, ERATELIMITED.
func (s *Team) ResendInvitation(ctx context.Context, a roster.Account, id int64, actor roster.Actor) (roster.Invitation, error) {
	if err := requireCommitted(a); err != nil {
		return roster.Invitation{}, err
	}
	token, tokenHash := core.NewToken()
	var inv roster.Invitation
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		inv, err = tx.Invitation(ctx, a.Seq, id)
		if err != nil {
			return core.DBErr(err, "No such pending invitation")
		}
		if inv.Status != roster.InvitationPending && inv.Status != roster.InvitationExpired {
			return roster.Errorf(roster.ENOTFOUND, "No such pending invitation")
		}
		if inv.SendCount >= s.c.Config.MaxSends {
			return roster.Errorf(roster.ERATELIMITED, "This invitation was sent %d times already; revoke it and invite again", inv.SendCount)
		}
		if wait := inv.LastSentAt.Add(s.c.Config.ResendInterval).Sub(tx.Now()); wait > 0 {
			return roster.Retry(roster.ERATELIMITED, wait, "This invitation was sent moments ago; try again in %s", wait.Round(time.Second))
		}
		if err := s.takeInvitationMail(ctx, tx, a.Seq, inv.Email); err != nil {
			return err
		}
		if err := tx.ResendInvitation(ctx, a.Seq, id, tokenHash, s.c.Config.InviteTTL); err != nil {
			return core.DBErr(err, "No such pending invitation")
		}
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionInvitationResend, inv.Email, ""); err != nil {
			return err
		}
		if inv, err = tx.Invitation(ctx, a.Seq, id); err != nil {
			return err
		}
		return s.mailInvitation(ctx, tx, a.Seq, inv, token, actor)
	})
	return inv, err
}

// InvitationPreview is what the holder of an invitation link may see.
type InvitationPreview struct {
	Invitation roster.Invitation
	UserExists bool
	// InviterName and InviterEmail say who sent the invitation (the
	// invitation's invited_by), so its holder knows whom it comes from;
	// both "" when that user no longer exists.
	InviterName, InviterEmail string
}

// PreviewInvitation shows the invitation a token names, with who sent it.
// Errors: EINVITEINVALID.
func (s *Team) PreviewInvitation(ctx context.Context, token string) (InvitationPreview, error) {
	var p InvitationPreview
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		inv, _, err := s.c.UsableInvitation(ctx, tx, token)
		if err != nil {
			return err
		}
		p.Invitation = inv
		if inv.InvitedBy != 0 {
			by, err := tx.User(ctx, inv.InvitedBy)
			if err == nil {
				p.InviterName, p.InviterEmail = by.Name, by.Email
			} else if !errors.Is(err, store.ErrNoRows) {
				return err
			}
		}
		_, err = tx.UserIDByEmail(ctx, inv.Email)
		p.UserExists = err == nil
		if errors.Is(err, store.ErrNoRows) {
			return nil
		}
		return err
	})
	return p, err
}

// AcceptInvitation makes the logged-in user a member with the invitation's
// role. Errors: EINVITEINVALID, EFORBIDDEN (another address's invitation),
// EALREADYMEMBER.
func (s *Team) AcceptInvitation(ctx context.Context, u roster.User, token, ip string) (roster.Account, roster.Role, error) {
	var a roster.Account
	var role roster.Role
	err := s.c.Write(ctx, func(tx *store.Tx) error {
		inv, seq, err := s.c.UsableInvitation(ctx, tx, token)
		if err != nil {
			return err
		}
		if inv.Email != u.Email {
			return roster.Errorf(roster.EFORBIDDEN, "This invitation is for another address; log in as %s to accept it", inv.Email)
		}
		if err := s.c.Join(ctx, tx, inv, seq, u.ID, ip); err != nil {
			return err
		}
		if err := tx.MarkVerified(ctx, u.ID); err != nil {
			return err
		}
		if err := tx.SetDefaultAccountIfNone(ctx, u.ID, seq); err != nil {
			return err
		}
		role = inv.Role
		a, err = tx.Account(ctx, inv.AccountID)
		return err
	})
	if err != nil {
		return a, 0, err
	}
	return a, role, nil
}

// InvitationLink is what the holder of an invitation link may learn about
// it once it no longer works: what became of the invitation, and whose it
// was. Status is "" when no invitation has this link (it never existed,
// was mistyped, or a resend replaced it: a resend keeps no old token).
type InvitationLink struct {
	Status      roster.InvitationStatus
	AccountID   string
	AccountName string
	ExpiresAt   time.Time
}

// InvitationLinkState classifies a token for the page its link opens. The
// token is looked up by its hash, as every token is stored, so nothing is
// compared in Go and no timing tells one stored hash from another; the
// answer names no address and nothing of a link that names no invitation.
// Errors: only internal ones.
func (s *Team) InvitationLinkState(ctx context.Context, token string) (InvitationLink, error) {
	var l InvitationLink
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		inv, _, err := tx.InvitationByToken(ctx, core.HashToken(token))
		if errors.Is(err, store.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		l = InvitationLink{Status: inv.Status, AccountID: inv.AccountID, AccountName: inv.AccountName, ExpiresAt: inv.ExpiresAt}
		return nil
	})
	return l, err
}
