package team

// TEMPORARY (issue 23): a stand-in with the exact signature the deact
// helper builds, so the SCIM protocol's tests run before that branch
// merges: it only sets members.deactivated_at (store.StubSetMemberDeactivated)
// and audits; the index, sessions and the check are deact's. The lead
// deletes this file at merge.

import (
	"context"
	"fmt"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
)

// SetMemberActive deactivates (active false) or restores a member.
// Errors: EOWNERIMMUTABLE, ENOTFOUND.
func (s *Team) SetMemberActive(ctx context.Context, a roster.Account, userID int64, active bool, actor roster.Actor) (roster.Member, error) {
	var m roster.Member
	err := s.c.Write(ctx, func(tx *store.Tx) error {
		role, err := tx.MemberRole(ctx, a.Seq, userID)
		if err != nil {
			return core.DBErr(err, "No such member")
		}
		if role == roster.RoleOwner {
			return roster.Errorf(roster.EOWNERIMMUTABLE, "The owner cannot be deactivated")
		}
		if err := tx.StubSetMemberDeactivated(ctx, a.Seq, userID, !active); err != nil {
			return core.DBErr(err, "No such member")
		}
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionMemberRole, fmt.Sprint(userID), fmt.Sprintf("active -> %v", active)); err != nil {
			return err
		}
		m, err = tx.Member(ctx, a, userID)
		return err
	})
	return m, err
}
