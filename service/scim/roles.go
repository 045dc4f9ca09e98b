package scim

import (
	"context"
	"errors"
	"slices"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// RoleChange is a member whose role is not the one the directory gives
// them: the team's role change (audited, announced, mailed) makes it so.
type RoleChange struct {
	UserID int64
	Role   roster.Role
}

// wantedRole is the one rule of a provisioned member's role: the role the
// directory named (the Roster extension's role), else the most powerful
// role among their groups mapped in the settings, else the default role.
func wantedRole(named roster.Role, groups []string, set roster.SCIMSettings) roster.Role {
	if named != roster.RoleNone {
		return named
	}
	best := roster.RoleNone
	for _, g := range groups {
		if r, ok := set.GroupRoles[g]; ok && r != roster.RoleOwner && (best == roster.RoleNone || r < best) {
			best = r // a smaller role is a more powerful one (owner 1 ... support 5)
		}
	}
	if best != roster.RoleNone {
		return best
	}
	return set.DefaultRole
}

// SCIMRoleChanges returns the members among userIDs whose role differs
// from the one the directory gives them (wantedRole), the owner and
// users no longer members left out. Called after their groups or named
// role changed; the caller applies each with the team's role change.
func (s *SCIM) SCIMRoleChanges(ctx context.Context, a roster.Account, userIDs []int64) ([]RoleChange, error) {
	set, err := s.SCIMSettings(ctx, a.Seq)
	if err != nil {
		return nil, err
	}
	slices.Sort(userIDs)
	userIDs = slices.Compact(userIDs)
	var out []RoleChange
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		out = out[:0]
		for _, uid := range userIDs {
			u, err := tx.SCIMUser(ctx, a.Seq, uid)
			if err != nil {
				if errors.Is(err, store.ErrNoRows) { // no longer a member
					continue
				}
				return err
			}
			if u.Role == roster.RoleOwner {
				continue
			}
			groups := make([]string, len(u.Groups))
			for i, g := range u.Groups {
				groups[i] = g.DisplayName
			}
			if want := wantedRole(u.NamedRole, groups, set); want != u.Role {
				out = append(out, RoleChange{UserID: uid, Role: want})
			}
		}
		return nil
	})
	return out, err
}
