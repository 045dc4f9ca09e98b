package scimapi_test

import (
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/server/servertest"
)

// deniedAfterDeactivation checks, through the check API, that a
// deactivated member holds nothing.
func deniedAfterDeactivation(t *testing.T, e *servertest.Env, acct string, uid float64, wantAllowed bool) {
	t.Helper()
	r := e.Platform(t).Must(200, "POST", "/v1/authz/check", map[string]any{"account_id": acct, "user_id": uid, "permission": "settings.view"})
	if got, _ := r.JSON["allowed"].(bool); got != wantAllowed {
		t.Errorf("check of settings.view: allowed %v, want %v: %s", got, wantAllowed, r.Body)
	}
}

// TestSCIM_OktaSequence replays Okta's documented provisioning: find the
// user by userName (none), create, find again, update with PUT,
// deactivate and reactivate with PATCH replace of active without a path,
// push a group (create, add the member: the group's mapped role, rename:
// the role follows, remove the member), delete the user.
func TestSCIM_OktaSequence(t *testing.T) {
	e := servertest.New(t)
	_, acct := company(t, e, "owner@acme-corp.com", "acme-corp.com")
	setRoles(t, e, acct, roster.RoleSupport, map[string]string{"Engineering": "developer"})
	okta := newToken(t, e, acct, "Okta")
	const actor = "scim:Okta"

	find := filterPath("/Users", `userName eq "test.user@acme-corp.com"`, 1, 100)
	if a := okta.must(200, "GET", find, nil); a.total() != 0 || len(a.resources()) != 0 {
		t.Fatalf("before: %s", a.Body)
	}

	created := okta.must(201, "POST", "/Users", fixture(t, "okta/create_user.json"))
	id := created.str("id")
	if id == "" || created.str("userName") != "test.user@acme-corp.com" || created.str("externalId") != "00ujl29u0le5T6Aj10h7" ||
		!created.active() || created.role() != "support" || created.Header.Get("Location") != e.URL+"/scim/v2/Users/"+id {
		t.Fatalf("created: %v %s", created.Header, created.Body)
	}
	uid := float64(0)
	for _, c := range id {
		uid = uid*10 + float64(c-'0')
	}
	if n := auditBy(t, e, acct, roster.ActionMemberProvision, actor); n != 1 {
		t.Errorf("member.provision by %s: %d events", actor, n)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM users WHERE email = ? AND password_hash = '' AND verified_at IS NOT NULL`, "test.user@acme-corp.com"); n != 1 {
		t.Errorf("the user is made without a password, address verified: %d", n)
	}

	a := okta.must(200, "GET", find, nil)
	if a.total() != 1 || len(a.resources()) != 1 || a.resources()[0]["id"] != id {
		t.Fatalf("found: %s", a.Body)
	}
	if a.JSON["startIndex"] != float64(1) {
		t.Errorf("startIndex: %v", a.JSON["startIndex"])
	}
	okta.must(200, "GET", "/Users/"+id, nil)
	if a := okta.must(200, "PUT", "/Users/"+id, fixture(t, "okta/update_user.json", "USER_ID", id)); !a.active() || a.str("externalId") != "00ujl29u0le5T6Aj10h7" {
		t.Fatalf("put: %s", a.Body)
	}

	t.Run("deactivate", func(t *testing.T) {
		a := okta.must(200, "PATCH", "/Users/"+id, fixture(t, "okta/deactivate_user.json"))
		if a.active() {
			t.Fatalf("deactivated: %s", a.Body)
		}
		if a := okta.must(200, "GET", "/Users/"+id, nil); a.active() || a.role() != "support" {
			t.Fatalf("after deactivating: %s", a.Body)
		}
		deniedAfterDeactivation(t, e, acct, uid, false)
	})
	if a := okta.must(200, "PATCH", "/Users/"+id, fixture(t, "okta/reactivate_user.json")); !a.active() || a.role() != "support" {
		t.Fatalf("reactivated: %s", a.Body)
	}
	deniedAfterDeactivation(t, e, acct, uid, true)

	g := okta.must(201, "POST", "/Groups", fixture(t, "okta/create_group.json"))
	gid := g.str("id")
	if g.str("displayName") != "Engineering" || gid == "" {
		t.Fatalf("group: %s", g.Body)
	}
	if a := okta.must(200, "GET", filterPath("/Groups", `displayName eq "Engineering"`, 1, 100), nil); a.total() != 1 || a.resources()[0]["id"] != gid {
		t.Fatalf("group by name: %s", a.Body)
	}
	okta.must(200, "PATCH", "/Groups/"+gid, fixture(t, "okta/add_group_members.json", "USER_ID", id))
	if a := okta.must(200, "GET", "/Users/"+id, nil); a.role() != "developer" {
		t.Fatalf("in Engineering (developer): %s", a.Body)
	}
	if n := auditBy(t, e, acct, roster.ActionMemberRole, actor); n < 1 {
		t.Errorf("member.role by %s: %d events", actor, n)
	}
	// Renamed to a name no setting maps: the role falls back to the default.
	if a := okta.must(200, "PATCH", "/Groups/"+gid, fixture(t, "okta/rename_group.json", "GROUP_ID", gid)); a.str("displayName") != "Engineering (all)" {
		t.Fatalf("renamed: %s", a.Body)
	}
	if a := okta.must(200, "GET", "/Users/"+id, nil); a.role() != "support" {
		t.Fatalf("after the rename: %s", a.Body)
	}
	setRoles(t, e, acct, roster.RoleSupport, map[string]string{"Engineering (all)": "admin"})
	okta.must(200, "PATCH", "/Groups/"+gid, fixture(t, "okta/add_group_members.json", "USER_ID", id))
	if a := okta.must(200, "GET", "/Users/"+id, nil); a.role() != "admin" {
		t.Fatalf("mapped to admin: %s", a.Body)
	}
	g = okta.must(200, "PATCH", "/Groups/"+gid, fixture(t, "okta/remove_group_member.json", "USER_ID", id))
	if m, _ := g.JSON["members"].([]any); len(m) != 0 {
		t.Fatalf("member removed: %s", g.Body)
	}
	if a := okta.must(200, "GET", "/Users/"+id, nil); a.role() != "support" {
		t.Fatalf("out of the group: %s", a.Body)
	}

	// A PUT of the group sets its name and members at once.
	put := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"` + gid + `","displayName":"Engineering (all)","members":[{"value":"` + id + `","display":"test.user@acme-corp.com"}]}`
	if g := okta.must(200, "PUT", "/Groups/"+gid, put); len(g.JSON["members"].([]any)) != 1 {
		t.Fatalf("put group: %s", g.Body)
	}
	if a := okta.must(200, "GET", "/Users/"+id, nil); a.role() != "admin" {
		t.Fatalf("after the group's PUT: %s", a.Body)
	}

	okta.must(204, "DELETE", "/Users/"+id, nil)
	okta.refused(404, "", "GET", "/Users/"+id, nil)
	if g := okta.must(200, "GET", "/Groups/"+gid, nil); len(g.JSON["members"].([]any)) != 0 {
		t.Fatalf("the removed member is out of the group: %s", g.Body)
	}
	if a := okta.must(200, "GET", find, nil); a.total() != 0 {
		t.Fatalf("after delete: %s", a.Body)
	}
	if n := auditBy(t, e, acct, roster.ActionMemberDelete, actor); n != 1 {
		t.Errorf("member.delete by %s: %d events", actor, n)
	}
	okta.must(204, "DELETE", "/Groups/"+gid, nil)
	okta.refused(404, "", "GET", "/Groups/"+gid, nil)
}

// TestSCIM_EntraIDSequence replays Entra ID's documented provisioning:
// the externalId filter, create with its enterprise extension (ignored),
// its PATCH of attributes Roster does not keep, Replace of active with
// the string "False" and "True", a group created, members added and
// removed (path "members" with values, and members[value eq "id"]),
// the role from the group mapping, a named role that groups do not
// override, delete.
func TestSCIM_EntraIDSequence(t *testing.T) {
	e := servertest.New(t)
	_, acct := company(t, e, "owner@acme-corp.com", "acme-corp.com")
	setRoles(t, e, acct, roster.RoleSupport, map[string]string{"Roster Admins": "admin"})
	entra := newToken(t, e, acct, "Entra ID")
	const actor = "scim:Entra ID"
	const userName = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@acme-corp.com"

	byExternal := filterPath("/Users", `externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`, 0, -1)
	if a := entra.must(200, "GET", byExternal, nil); a.total() != 0 {
		t.Fatalf("before: %s", a.Body)
	}
	created := entra.must(201, "POST", "/Users", fixture(t, "entra/create_user.json"))
	id := created.str("id")
	if created.str("userName") != "test_user_ab6490ee-1e48-479e-a20b-2d77186b5dd1@acme-corp.com" || created.role() != "support" || created.str("displayName") != "givenName familyName" {
		t.Fatalf("created: %s", created.Body)
	}
	for _, f := range []string{
		`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`,
		`userName eq "` + userName + `"`,
		`emails[type eq "work"].value eq "` + userName + `"`,
		`userName eq "nobody@acme-corp.com" or externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`,
		`userName eq "` + userName + `" and externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`,
	} {
		if a := entra.must(200, "GET", filterPath("/Users", f, 0, -1), nil); a.total() != 1 || a.resources()[0]["id"] != id {
			t.Errorf("filter %s: %s", f, a.Body)
		}
	}
	if a := entra.must(200, "GET", filterPath("/Users", `userName eq "`+userName+`" and externalId eq "other"`, 0, -1), nil); a.total() != 0 {
		t.Errorf("and: %s", a.Body)
	}

	// Attributes Roster does not keep are taken and change nothing.
	entra.must(200, "PATCH", "/Users/"+id, fixture(t, "entra/update_user.json"))
	entra.must(200, "PATCH", "/Users/"+id, fixture(t, "entra/update_manager.json"))
	if a := entra.must(200, "GET", "/Users/"+id, nil); a.str("userName") != created.str("userName") {
		t.Fatalf("after updates: %s", a.Body)
	}

	t.Run("disable", func(t *testing.T) {
		if a := entra.must(200, "PATCH", "/Users/"+id, fixture(t, "entra/disable_user.json")); a.active() {
			t.Fatalf("disabled: %s", a.Body)
		}
	})
	if a := entra.must(200, "PATCH", "/Users/"+id, fixture(t, "entra/enable_user.json")); !a.active() {
		t.Fatalf("enabled: %s", a.Body)
	}

	g := entra.must(201, "POST", "/Groups", fixture(t, "entra/create_group.json"))
	gid := g.str("id")
	if g.str("externalId") != "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159" {
		t.Fatalf("group: %s", g.Body)
	}
	if a := entra.must(200, "GET", filterPath("/Groups", `displayName eq "Roster Admins"`, 0, -1)+"&excludedAttributes=members", nil); a.total() != 1 {
		t.Fatalf("group by name: %s", a.Body)
	}
	entra.must(200, "PATCH", "/Groups/"+gid, fixture(t, "entra/add_member.json", "USER_ID", id))
	if a := entra.must(200, "GET", "/Users/"+id, nil); a.role() != "admin" {
		t.Fatalf("in Roster Admins: %s", a.Body)
	} else if gs, _ := a.JSON["groups"].([]any); len(gs) != 1 {
		t.Errorf("groups of the user: %s", a.Body)
	}
	entra.must(200, "PATCH", "/Groups/"+gid, fixture(t, "entra/remove_member_path.json", "USER_ID", id))
	if a := entra.must(200, "GET", "/Users/"+id, nil); a.role() != "support" {
		t.Fatalf("removed by members[value eq]: %s", a.Body)
	}
	entra.must(200, "PATCH", "/Groups/"+gid, fixture(t, "entra/add_member.json", "USER_ID", id))
	entra.must(200, "PATCH", "/Groups/"+gid, fixture(t, "entra/remove_member.json", "USER_ID", id))
	if a := entra.must(200, "GET", "/Users/"+id, nil); a.role() != "support" {
		t.Fatalf("removed by value: %s", a.Body)
	}

	// A named role (the Roster extension) wins over the groups.
	named := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"` + roster.SCIMUserSchemaExtension + `:role","value":"finance_analyst"}]}`
	if a := entra.must(200, "PATCH", "/Users/"+id, named); a.role() != "finance_analyst" {
		t.Fatalf("named role: %s", a.Body)
	}
	entra.must(200, "PATCH", "/Groups/"+gid, fixture(t, "entra/add_member.json", "USER_ID", id))
	if a := entra.must(200, "GET", "/Users/"+id, nil); a.role() != "finance_analyst" {
		t.Fatalf("named role beside a group: %s", a.Body)
	}
	// Removing the named role: the group's role.
	unnamed := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"` + roster.SCIMUserSchemaExtension + `:role"}]}`
	if a := entra.must(200, "PATCH", "/Users/"+id, unnamed); a.role() != "admin" {
		t.Fatalf("named role removed: %s", a.Body)
	}
	// Deleting the group: back to the default.
	entra.must(204, "DELETE", "/Groups/"+gid, nil)
	if a := entra.must(200, "GET", "/Users/"+id, nil); a.role() != "support" {
		t.Fatalf("group deleted: %s", a.Body)
	}

	entra.must(204, "DELETE", "/Users/"+id, nil)
	entra.refused(404, "", "DELETE", "/Users/"+id, nil)
	for _, action := range []string{roster.ActionMemberProvision, roster.ActionSCIMGroupCreate, roster.ActionSCIMGroupUpdate, roster.ActionSCIMGroupDelete, roster.ActionMemberRole, roster.ActionMemberDelete} {
		if n := auditBy(t, e, acct, action, actor); n == 0 {
			t.Errorf("no %s by %s", action, actor)
		}
	}
}
