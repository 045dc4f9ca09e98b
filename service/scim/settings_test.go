package scim_test

import (
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/scim"
)

func TestRoleFor_MostPowerfulMappedGroupElseDefault(t *testing.T) {
	set := roster.SCIMSettings{DefaultRole: roster.RoleSupport, GroupRoles: map[string]roster.Role{
		"Engineering": roster.RoleDeveloper, "Roster Admins": roster.RoleAdmin, "Finance": roster.RoleFinanceAnalyst}}
	for _, tc := range []struct {
		groups []string
		want   roster.Role
	}{
		{nil, roster.RoleSupport},
		{[]string{"Sales"}, roster.RoleSupport},
		{[]string{"Finance"}, roster.RoleFinanceAnalyst},
		{[]string{"Finance", "Engineering"}, roster.RoleDeveloper},
		{[]string{"engineering", "Sales", "ROSTER ADMINS"}, roster.RoleAdmin},
		{[]string{" Engineering "}, roster.RoleDeveloper},
	} {
		if got := scim.RoleFor(set, tc.groups); got != tc.want {
			t.Errorf("RoleFor(%q) = %v, want %v", tc.groups, got, tc.want)
		}
	}
	if got := scim.RoleFor(roster.SCIMSettings{DefaultRole: roster.RoleDeveloper}, []string{"Any"}); got != roster.RoleDeveloper {
		t.Errorf("no mappings: %v", got)
	}
}

func TestCheckSCIMSettings(t *testing.T) {
	got, err := scim.CheckSCIMSettings(scim.SettingsInput{GroupRoles: map[string]string{" Eng ": "developer"}})
	if err != nil || got.DefaultRole != roster.RoleSupport || got.GroupRoles["Eng"] != roster.RoleDeveloper || len(got.GroupRoles) != 1 {
		t.Errorf("CheckSCIMSettings = %+v, %v", got, err)
	}
	for name, in := range map[string]scim.SettingsInput{
		"owner default": {DefaultRole: "owner"},
		"owner group":   {GroupRoles: map[string]string{"Founders": "owner"}},
		"case twice":    {GroupRoles: map[string]string{"Eng": "admin", "ENG": "admin"}},
		"trimmed twice": {GroupRoles: map[string]string{"Eng": "admin", " Eng": "admin"}},
		"empty name":    {GroupRoles: map[string]string{"": "admin"}},
		"tab in name":   {GroupRoles: map[string]string{"a\tb": "admin"}},
		"no role":       {GroupRoles: map[string]string{"Eng": ""}},
		"unknown role":  {DefaultRole: "root"},
	} {
		if _, err := scim.CheckSCIMSettings(in); roster.ErrorCode(err) != roster.EINVALID {
			t.Errorf("%s: %v, want %s", name, err, roster.EINVALID)
		}
	}
}
