package scim

import (
	"context"
	"errors"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
)

// Group is one of the directory's groups with its members.
type Group = store.SCIMGroup

// GroupMember is a member of a group.
type GroupMember = store.SCIMGroupMember

// GroupOp is one change to a group, applied in order in one transaction:
//   - "displayName": rename to Value;
//   - "externalId": set the externalId to Value;
//   - "add": put the members UserIDs in the group;
//   - "remove": take the members UserIDs out (those not in it ignored);
//   - "removeAll": empty the group;
//   - "set": make UserIDs its members (removeAll then add).
type GroupOp struct {
	Kind    string
	Value   string
	UserIDs []int64
}

// SCIMGroups lists the account's groups (of that display name when it is
// not ""), from the 1-based startIndex, count at most (clamped to
// MaxCount), with how many match.
func (s *SCIM) SCIMGroups(ctx context.Context, a roster.Account, displayName string, startIndex, count int) ([]Group, int, error) {
	startIndex, count = max(startIndex, 1), min(max(count, 0), MaxCount)
	return s.c.DB.SCIMGroups(ctx, a.Seq, displayName, startIndex-1, count)
}

// SCIMGroup returns one of the account's groups. Errors: ENOTFOUND
// (another account's group too).
func (s *SCIM) SCIMGroup(ctx context.Context, a roster.Account, id int64) (Group, error) {
	var g Group
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		g, err = tx.SCIMGroup(ctx, a.Seq, id)
		return core.DBErr(err, "No such group")
	})
	return g, err
}

// SCIMCreateGroup adds a group with its members (members of the account).
// Audited with the token as actor. The caller recomputes the members'
// roles (SCIMRoleChanges). Errors: EINVALID on "displayName" or
// "members" (not a member of the account), ECONFLICT (the name is taken).
func (s *SCIM) SCIMCreateGroup(ctx context.Context, a roster.Account, displayName, externalID string, members []int64, actor roster.Actor) (Group, error) {
	name, err := cleanGroupName(displayName, "displayName")
	if err != nil {
		return Group{}, err
	}
	var g Group
	err = s.c.WriteIn(ctx, a.Seq, func(tx *store.Tx) error {
		id, err := tx.CreateSCIMGroup(ctx, a.Seq, name, externalID)
		if errors.Is(err, store.ErrUnique) {
			return roster.Errorf(roster.ECONFLICT, "This account has a group named %s already", name)
		} else if err != nil {
			return err
		}
		if err := addMembers(ctx, tx, a.Seq, id, members); err != nil {
			return err
		}
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionSCIMGroupCreate, name, ""); err != nil {
			return err
		}
		g, err = tx.SCIMGroup(ctx, a.Seq, id)
		return err
	})
	return g, err
}

func addMembers(ctx context.Context, tx *store.Tx, accountSeq, groupID int64, userIDs []int64) error {
	for _, uid := range userIDs {
		if err := tx.AddSCIMGroupMember(ctx, accountSeq, groupID, uid); errors.Is(err, store.ErrNoRows) {
			return roster.FieldErrorf("members", roster.EINVALID, "The user %d is not a member of this account", uid)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// SCIMUpdateGroup applies the changes to one of the account's groups in
// one transaction and returns the group and the users whose groups
// changed (every member before and after when it was renamed), whose
// roles the caller recomputes (SCIMRoleChanges). Audited with the token
// as actor. Errors: ENOTFOUND, EINVALID on "displayName" or "members",
// ECONFLICT (the new name is taken).
func (s *SCIM) SCIMUpdateGroup(ctx context.Context, a roster.Account, id int64, ops []GroupOp, actor roster.Actor) (Group, []int64, error) {
	var g Group
	var affected []int64
	err := s.c.WriteIn(ctx, a.Seq, func(tx *store.Tx) error {
		affected = affected[:0]
		before, err := tx.SCIMGroup(ctx, a.Seq, id)
		if err != nil {
			return core.DBErr(err, "No such group")
		}
		name, ext := before.DisplayName, before.ExternalID
		var said []string
		for _, op := range ops {
			switch op.Kind {
			case "displayName":
				if name, err = cleanGroupName(op.Value, "displayName"); err != nil {
					return err
				}
				said = append(said, "renamed")
			case "externalId":
				ext = op.Value
			case "add":
				if err := addMembers(ctx, tx, a.Seq, id, op.UserIDs); err != nil {
					return err
				}
				affected = append(affected, op.UserIDs...)
				said = append(said, "members added")
			case "remove":
				if err := tx.RemoveSCIMGroupMembers(ctx, a.Seq, id, op.UserIDs); err != nil {
					return err
				}
				affected = append(affected, op.UserIDs...)
				said = append(said, "members removed")
			case "removeAll", "set":
				if err := tx.RemoveSCIMGroupMembers(ctx, a.Seq, id, nil); err != nil {
					return err
				}
				if err := addMembers(ctx, tx, a.Seq, id, op.UserIDs); err != nil {
					return err
				}
				affected = append(affected, op.UserIDs...)
				said = append(said, "members replaced")
			}
		}
		if name != before.DisplayName || ext != before.ExternalID {
			if err := tx.UpdateSCIMGroup(ctx, a.Seq, id, name, ext); errors.Is(err, store.ErrUnique) {
				return roster.Errorf(roster.ECONFLICT, "This account has a group named %s already", name)
			} else if err != nil {
				return err
			}
		}
		g, err = tx.SCIMGroup(ctx, a.Seq, id)
		if err != nil {
			return err
		}
		// Who was in the group before and is not now, or the reverse,
		// or everyone when its name (and so its mapped role) changed.
		for _, m := range before.Members {
			affected = append(affected, m.UserID)
		}
		for _, m := range g.Members {
			affected = append(affected, m.UserID)
		}
		if len(said) == 0 && name == before.DisplayName && ext == before.ExternalID {
			return nil
		}
		if len(said) == 0 {
			said = append(said, "external ID set")
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionSCIMGroupUpdate, name, strings.Join(said, ", "))
	})
	return g, affected, err
}

// SCIMDeleteGroup removes one of the account's groups and returns its
// members, whose roles the caller recomputes. Audited with the token as
// actor. Errors: ENOTFOUND.
func (s *SCIM) SCIMDeleteGroup(ctx context.Context, a roster.Account, id int64, actor roster.Actor) ([]int64, error) {
	var members []int64
	err := s.c.WriteIn(ctx, a.Seq, func(tx *store.Tx) error {
		g, err := tx.SCIMGroup(ctx, a.Seq, id)
		if err != nil {
			return core.DBErr(err, "No such group")
		}
		members = members[:0]
		for _, m := range g.Members {
			members = append(members, m.UserID)
		}
		if err := tx.DeleteSCIMGroup(ctx, a.Seq, id); err != nil {
			return core.DBErr(err, "No such group")
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionSCIMGroupDelete, g.DisplayName, "")
	})
	return members, err
}
