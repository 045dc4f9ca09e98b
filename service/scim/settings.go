package scim

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
)

// Provisioning settings: the role a provisioned member gets when the
// directory's request names none. The directory's groups map to roles by
// display name, compared without regard to case (SCIM's displayName is
// not case-exact, RFC 7643 §4.2); the most powerful mapped role among a
// member's groups wins, else the default role (Support unless set).

const (
	// MaxGroupRoles bounds an account's group mappings.
	MaxGroupRoles = 100
	// maxGroupName bounds a group's display name, as other names.
	maxGroupName = 200
)

// SettingsInput is a PUT of the settings: role names, as the API names
// them. An empty DefaultRole is Support.
type SettingsInput struct {
	DefaultRole string
	GroupRoles  map[string]string // group display name -> role name
}

// SCIMSettings returns the account's provisioning settings (DefaultRole
// Support and no group roles when none were saved).
func (s *SCIM) SCIMSettings(ctx context.Context, accountSeq int64) (roster.SCIMSettings, error) {
	return s.c.DB.SCIMSettings(ctx, accountSeq)
}

// provisionedRole parses a role the directory may give: any role but the
// owner's. what says whose role it is in a refusal.
func provisionedRole(field, s, what string) (roster.Role, error) {
	r, err := roster.ParseRole(strings.TrimSpace(s))
	if err != nil {
		return 0, roster.FieldErrorf(field, roster.EINVALID, "Unknown role %q for %s: use one of admin, developer, finance_analyst, support", s, what)
	}
	if r == roster.RoleOwner {
		return 0, roster.FieldErrorf(field, roster.EINVALID, "Provisioning cannot make anyone the owner: choose another role for %s", what)
	}
	return r, nil
}

// cleanGroupName is the one rule of a group's display name, for a
// directory's group and a mapping's key alike: trimmed, refusing an empty,
// overlong or multi-line one (EINVALID about field).
func cleanGroupName(name, field string) (string, error) {
	n := strings.TrimSpace(name)
	if n == "" {
		return "", roster.FieldErrorf(field, roster.EINVALID, "A group's display name is required")
	}
	if len(n) > maxGroupName {
		return "", roster.FieldErrorf(field, roster.EINVALID, "The group name %.40q… is longer than %d characters", n, maxGroupName)
	}
	if strings.IndexFunc(n, unicode.IsControl) >= 0 {
		return "", roster.FieldErrorf(field, roster.EINVALID, "The group name %q holds a line break or a control character", n)
	}
	return n, nil
}

// CheckSCIMSettings parses a PUT of the settings without saving it.
// Errors: EINVALID (an unknown role or the owner's, an empty or overlong
// group name, a group mapped twice (names compared without regard to
// case), more than MaxGroupRoles mappings).
func CheckSCIMSettings(in SettingsInput) (roster.SCIMSettings, error) {
	out := roster.SCIMSettings{DefaultRole: roster.RoleSupport, GroupRoles: map[string]roster.Role{}}
	if strings.TrimSpace(in.DefaultRole) != "" {
		r, err := provisionedRole("default_role", in.DefaultRole, "the default role")
		if err != nil {
			return out, err
		}
		out.DefaultRole = r
	}
	if len(in.GroupRoles) > MaxGroupRoles {
		return out, roster.FieldErrorf("group_roles", roster.EINVALID, "At most %d groups can be mapped to roles; %d were sent", MaxGroupRoles, len(in.GroupRoles))
	}
	// In the order of the names, so a refusal names the same group each time.
	names := make([]string, 0, len(in.GroupRoles))
	for n := range in.GroupRoles {
		names = append(names, n)
	}
	sort.Strings(names)
	seen := map[string]string{}
	for _, raw := range names {
		n, err := cleanGroupName(raw, "group_roles")
		if err != nil {
			return out, err
		}
		if prev, ok := seen[strings.ToLower(n)]; ok {
			return out, roster.FieldErrorf("group_roles", roster.EINVALID, "The groups %q and %q are one group (names are compared without regard to case): map it once", prev, n)
		}
		seen[strings.ToLower(n)] = n
		r, err := provisionedRole("group_roles", in.GroupRoles[raw], fmt.Sprintf("the group %q", n))
		if err != nil {
			return out, err
		}
		out.GroupRoles[n] = r
	}
	return out, nil
}

// UpdateSCIMSettings replaces the account's provisioning settings and
// returns them. Members already provisioned keep their roles until the
// directory next changes them or their groups. The caller holds
// team.edit. Errors: EINVALID (CheckSCIMSettings).
func (s *SCIM) UpdateSCIMSettings(ctx context.Context, a roster.Account, in SettingsInput, actor roster.Actor) (roster.SCIMSettings, error) {
	set, err := CheckSCIMSettings(in)
	if err != nil {
		return set, err
	}
	err = s.c.Write(ctx, func(tx *store.Tx) error {
		if err := tx.SaveSCIMSettings(ctx, a.Seq, set); err != nil {
			return err
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionSCIMSettingsUpdate, "", describe(set))
	})
	return set, core.DBErr(err, "No such account")
}

// describe is the settings in the audit log's words: "default support;
// Engineering developer, Admins admin".
func describe(set roster.SCIMSettings) string {
	var groups []string
	for _, n := range SortedGroups(set) {
		groups = append(groups, n+" "+set.GroupRoles[n].String())
	}
	d := "default " + set.DefaultRole.String()
	if len(groups) > 0 {
		d += "; " + strings.Join(groups, ", ")
	}
	if len(d) > 1000 {
		d = d[:1000] + "…"
	}
	return d
}

// SortedGroups is the settings' group names in the order a person reads
// them (without regard to case).
func SortedGroups(set roster.SCIMSettings) []string {
	names := make([]string, 0, len(set.GroupRoles))
	for n := range set.GroupRoles {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if a, b := strings.ToLower(names[i]), strings.ToLower(names[j]); a != b {
			return a < b
		}
		return names[i] < names[j]
	})
	return names
}

// RoleFor is the role of a provisioned member whose request named none:
// the most powerful role (admin, then developer, finance_analyst,
// support: the matrix's order) among the groups mapped in set that the
// member is in (display names compared without regard to case), else
// set.DefaultRole.
func RoleFor(set roster.SCIMSettings, groups []string) roster.Role {
	if len(set.GroupRoles) == 0 || len(groups) == 0 {
		return set.DefaultRole
	}
	mapped := make(map[string]roster.Role, len(set.GroupRoles))
	for n, r := range set.GroupRoles {
		mapped[strings.ToLower(n)] = r
	}
	best := roster.RoleNone
	for _, g := range groups {
		if r, ok := mapped[strings.ToLower(strings.TrimSpace(g))]; ok && r > roster.RoleOwner && (best == roster.RoleNone || r < best) {
			best = r
		}
	}
	if best == roster.RoleNone {
		return set.DefaultRole
	}
	return best
}
