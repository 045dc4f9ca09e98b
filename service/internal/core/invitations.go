package core

// The two steps of taking up an invitation that both rooms need: the
// team accepts one for a signed-in user, identity signs a person up
// through one.

import (
	"context"
	"errors"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// UsableInvitation finds the invitation a token names and refuses it
// unless it is pending, unexpired and its account is on the committed plan.
func (s *Core) UsableInvitation(ctx context.Context, tx *store.Tx, token string) (roster.Invitation, int64, error) {
	inv, seq, err := tx.InvitationByToken(ctx, HashToken(token))
	if errors.Is(err, store.ErrNoRows) {
		return inv, 0, roster.Errorf(roster.EINVITEINVALID, "This invitation link is not valid: it was used, revoked, replaced by a newer one, or never existed")
	} else if err != nil {
		return inv, 0, err
	}
	switch inv.Status {
	case roster.InvitationPending:
		return inv, seq, nil
	case roster.InvitationExpired:
		return inv, 0, roster.Errorf(roster.EINVITEINVALID, "This invitation expired: ask for a new one")
	case roster.InvitationSuspended:
		return inv, 0, roster.Errorf(roster.EINVITEINVALID, "This invitation is on hold: the account's plan does not include team members now")
	}
	return inv, 0, roster.Errorf(roster.EINVITEINVALID, "This invitation link is not valid: it was used, revoked, replaced by a newer one, or never existed")
}

// Join accepts the invitation for userID and adds the membership, in tx.
// The accept is one conditional update: of two concurrent accepts one wins.
func (s *Core) Join(ctx context.Context, tx *store.Tx, inv roster.Invitation, seq, userID int64, ip string) error {
	if err := tx.AcceptInvitation(ctx, inv.ID, userID); errors.Is(err, store.ErrNoRows) {
		return roster.Errorf(roster.EINVITEINVALID, "This invitation was accepted already")
	} else if err != nil {
		return err
	}
	if err := tx.Audit(ctx, seq, roster.Actor{UserID: userID, Email: inv.Email, IP: ip}, roster.ActionInvitationAccept, inv.Email, inv.Role.String()); err != nil {
		return err
	}
	if err := s.Emit(ctx, tx, seq, inv.AccountID, roster.EventInvitationAccepted, map[string]any{"invitation_id": inv.ID, "email": inv.Email, "role": inv.Role.String(), "user_id": userID}); err != nil {
		return err
	}
	return s.AddJoined(ctx, tx, roster.Account{Seq: seq, ID: inv.AccountID, Name: inv.AccountName}, userID, inv.Email, inv.Role)
}

// AddJoined adds userID to the account with the role and announces it
// (member.joined), in tx: how a person joins, by invitation or just in
// time through single sign-on. EALREADYMEMBER when they are one.
func (s *Core) AddJoined(ctx context.Context, tx *store.Tx, a roster.Account, userID int64, email string, role roster.Role) error {
	if err := tx.AddMember(ctx, a.Seq, userID, role); errors.Is(err, store.ErrUnique) {
		return roster.Errorf(roster.EALREADYMEMBER, "You are already a member of %s", a.Name)
	} else if err != nil {
		return err
	}
	return s.Emit(ctx, tx, a.Seq, a.ID, roster.EventMemberJoined, map[string]any{"user_id": userID, "email": email, "role": role.String()})
}
