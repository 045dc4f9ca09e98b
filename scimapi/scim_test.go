package scimapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/server/servertest"
)

const patchOp = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[%s]}`

func userBody(userName, externalID string, extra string) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,"externalId":%q%s}`, userName, externalID, extra)
}

// TestSCIM_TenantIsolation: one account's token never sees or touches
// another account's users and groups: their ids answer 404, as ids that
// do not exist, and lists show none of them.
func TestSCIM_TenantIsolation(t *testing.T) {
	e := servertest.New(t)
	_, acme := company(t, e, "owner@acme-corp.com", "acme-corp.com")
	_, rival := company(t, e, "owner@rival-corp.com", "rival-corp.com")
	a, b := newToken(t, e, acme, "Okta"), newToken(t, e, rival, "Okta")

	u := a.must(201, "POST", "/Users", userBody("ada@acme-corp.com", "ext-1", ""))
	g := a.must(201, "POST", "/Groups", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Staff","members":[{"value":%q}]}`, u.str("id")))
	uid, gid := u.str("id"), g.str("id")
	members := e.Count(t, `SELECT COUNT(*) FROM members`)

	for _, r := range []struct{ method, path, body string }{
		{"GET", "/Users/" + uid, ""},
		{"PUT", "/Users/" + uid, userBody("ada@acme-corp.com", "ext-2", "")},
		{"PATCH", "/Users/" + uid, fmt.Sprintf(patchOp, `{"op":"replace","value":{"active":false}}`)},
		{"DELETE", "/Users/" + uid, ""},
		{"GET", "/Groups/" + gid, ""},
		{"PUT", "/Groups/" + gid, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Mine"}`},
		{"PATCH", "/Groups/" + gid, fmt.Sprintf(patchOp, `{"op":"remove","path":"members"}`)},
		{"DELETE", "/Groups/" + gid, ""},
		{"GET", "/Users/999999", ""},
		{"GET", "/Users/not-a-number", ""},
	} {
		var body any
		if r.body != "" {
			body = r.body
		}
		b.refused(404, "", r.method, r.path, body)
	}
	// b's own group cannot take a's user as a member either.
	b.refused(400, "invalidValue", "POST", "/Groups", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Theirs","members":[{"value":%q}]}`, uid))

	for _, f := range []string{"", `userName eq "ada@acme-corp.com"`, `externalId eq "ext-1"`} {
		list := b.must(200, "GET", filterPath("/Users", f, 1, 100), nil)
		for _, r := range list.resources() {
			if r["id"] == uid || strings.HasSuffix(fmt.Sprint(r["userName"]), "@acme-corp.com") {
				t.Errorf("filter %q: rival sees %v", f, r)
			}
		}
		if f == "" && list.total() != 1 { // rival's owner alone
			t.Errorf("rival's list: %s", list.Body)
		}
	}
	if l := b.must(200, "GET", "/Groups", nil); l.total() != 0 {
		t.Errorf("rival's groups: %s", l.Body)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM members`); n != members {
		t.Errorf("members %d, were %d", n, members)
	}
	if a := a.must(200, "GET", "/Users/"+uid, nil); !a.active() || a.str("externalId") != "ext-1" {
		t.Errorf("acme's user changed: %s", a.Body)
	}
	if g := a.must(200, "GET", "/Groups/"+gid, nil); g.str("displayName") != "Staff" {
		t.Errorf("acme's group changed: %s", g.Body)
	}
	// The same address may be provisioned in another account with a
	// verified domain of its own only: rival has not verified acme-corp.com.
	b.refused(400, "invalidValue", "POST", "/Users", userBody("ada@acme-corp.com", "", ""))
}

// TestSCIM_OwnerProtected: the owner is listed, but never deactivated,
// given a role or removed through SCIM (400 mutability), and nothing
// changes.
func TestSCIM_OwnerProtected(t *testing.T) {
	e := servertest.New(t)
	_, acct := company(t, e, "owner@acme-corp.com", "acme-corp.com")
	setRoles(t, e, acct, roster.RoleSupport, map[string]string{"Everyone": "developer"})
	d := newToken(t, e, acct, "Okta")
	list := d.must(200, "GET", filterPath("/Users", `userName eq "owner@acme-corp.com"`, 1, 10), nil)
	if list.total() != 1 {
		t.Fatalf("owner: %s", list.Body)
	}
	id := list.resources()[0]["id"].(string)

	d.refused(400, "mutability", "PATCH", "/Users/"+id, fmt.Sprintf(patchOp, `{"op":"replace","value":{"active":false}}`))
	d.refused(400, "mutability", "PATCH", "/Users/"+id, fmt.Sprintf(patchOp, `{"op":"Replace","path":"active","value":"False"}`))
	d.refused(400, "mutability", "PATCH", "/Users/"+id, fmt.Sprintf(patchOp, `{"op":"replace","path":"`+roster.SCIMUserSchemaExtension+`:role","value":"support"}`))
	d.refused(400, "mutability", "PUT", "/Users/"+id, userBody("owner@acme-corp.com", "", `,"active":false`))
	d.refused(400, "mutability", "DELETE", "/Users/"+id, nil)
	// In a mapped group, the owner stays the owner.
	d.must(201, "POST", "/Groups", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Everyone","members":[{"value":%q}]}`, id))
	a := d.must(200, "GET", "/Users/"+id, nil)
	if !a.active() || a.role() != "owner" {
		t.Fatalf("owner after the refusals: %s", a.Body)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM members WHERE role = 1 AND deactivated_at IS NULL`); n != 1 {
		t.Errorf("active owners: %d", n)
	}
	if n := auditBy(t, e, acct, roster.ActionMemberRole, "scim:Okta") + auditBy(t, e, acct, roster.ActionMemberDelete, "scim:Okta"); n != 0 {
		t.Errorf("%d role changes or removals audited", n)
	}
	// A harmless PUT of the owner (Okta's update with active true) is taken.
	d.must(200, "PUT", "/Users/"+id, userBody("owner@acme-corp.com", "owner-ext", `,"active":true`))
}

// TestSCIM_Errors: every refusal answers its status and scimType in the
// SCIM error schema, and changes nothing.
func TestSCIM_Errors(t *testing.T) {
	e := servertest.New(t)
	_, acct := company(t, e, "owner@acme-corp.com", "acme-corp.com")
	d := newToken(t, e, acct, "Okta")
	u := d.must(201, "POST", "/Users", userBody("ada@acme-corp.com", "ext-ada", ""))
	id := u.str("id")
	d.must(201, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Staff"}`)
	other := d.must(201, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Other"}`).str("id")

	// A second account on the standard plan with a verified domain.
	_, standard := e.SignUp(t, "owner@plain-corp.com", "Owner")
	e.VerifyDomainForTest(t, standard, "plain-corp.com")
	plain := newToken(t, e, standard, "Okta")

	count := func() string {
		return fmt.Sprint(e.Count(t, `SELECT COUNT(*) FROM members`), e.Count(t, `SELECT COUNT(*) FROM users`), e.Count(t, `SELECT COUNT(*) FROM scim_users`),
			e.Count(t, `SELECT COUNT(*) FROM scim_groups`), e.Count(t, `SELECT COUNT(*) FROM scim_group_members`), e.Count(t, `SELECT COUNT(*) FROM audit_events`),
			e.Count(t, `SELECT COUNT(*) FROM members WHERE deactivated_at IS NOT NULL`), e.Count(t, `SELECT COUNT(*) FROM members WHERE role <> 5 AND role <> 1`))
	}
	before := count()

	none := &directory{t: t, e: e}
	bad := &directory{t: t, e: e, token: "not-a-token"}
	for _, c := range []struct {
		name     string
		d        *directory
		status   int
		scimType string
		method   string
		path     string
		body     string
	}{
		{"no token", none, 401, "", "GET", "/Users", ""},
		{"unknown token", bad, 401, "", "GET", "/Users", ""},
		{"unknown token, discovery", bad, 401, "", "GET", "/ServiceProviderConfig", ""},
		{"unknown token, create", bad, 401, "", "POST", "/Users", userBody("bob@acme-corp.com", "", "")},

		{"userName taken", d, 409, "uniqueness", "POST", "/Users", userBody("ada@acme-corp.com", "", "")},
		{"userName taken, other case", d, 409, "uniqueness", "POST", "/Users", userBody("Ada@ACME-corp.com", "", "")},
		{"externalId taken", d, 409, "uniqueness", "POST", "/Users", userBody("bob@acme-corp.com", "ext-ada", "")},
		{"group name taken", d, 409, "uniqueness", "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Staff"}`},
		{"group name taken, by PATCH", d, 409, "uniqueness", "PATCH", "/Groups/" + other, fmt.Sprintf(patchOp, `{"op":"replace","path":"displayName","value":"Staff"}`)},

		{"domain not verified", d, 400, "invalidValue", "POST", "/Users", userBody("bob@elsewhere.com", "", "")},
		{"personal domain", d, 400, "invalidValue", "POST", "/Users", userBody("bob@gmail.com", "", "")},
		{"not an address", d, 400, "invalidValue", "POST", "/Users", userBody("bob", "", "")},
		{"unknown role", d, 400, "invalidValue", "POST", "/Users", userBody("bob@acme-corp.com", "", `,"`+roster.SCIMUserSchemaExtension+`":{"role":"boss"}`)},
		{"active not a boolean", d, 400, "invalidValue", "PATCH", "/Users/" + id, fmt.Sprintf(patchOp, `{"op":"Replace","path":"active","value":"maybe"}`)},
		{"member not a user of the account", d, 400, "invalidValue", "PATCH", "/Groups/" + other, fmt.Sprintf(patchOp, `{"op":"add","path":"members","value":[{"value":"999999"}]}`)},
		{"member not an id", d, 400, "invalidValue", "PATCH", "/Groups/" + other, fmt.Sprintf(patchOp, `{"op":"add","path":"members","value":[{"value":"ada"}]}`)},
		{"group without a name", d, 400, "invalidValue", "PUT", "/Groups/" + other, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":" "}`},

		{"owner role", d, 400, "mutability", "POST", "/Users", userBody("bob@acme-corp.com", "", `,"`+roster.SCIMUserSchemaExtension+`":{"role":"owner"}`)},
		{"owner role by PATCH", d, 400, "mutability", "PATCH", "/Users/" + id, fmt.Sprintf(patchOp, `{"op":"replace","path":"`+roster.SCIMUserSchemaExtension+`:role","value":"owner"}`)},
		{"userName changed", d, 400, "mutability", "PATCH", "/Users/" + id, fmt.Sprintf(patchOp, `{"op":"replace","path":"userName","value":"ada.lovelace@acme-corp.com"}`)},
		{"userName changed by PUT", d, 400, "mutability", "PUT", "/Users/" + id, userBody("ada.lovelace@acme-corp.com", "ext-ada", "")},

		{"filter on an attribute not filtered", d, 400, "invalidFilter", "GET", filterPath("/Users", `title eq "x"`, 0, -1), ""},
		{"filter on an unknown attribute", d, 400, "invalidFilter", "GET", filterPath("/Users", `shoeSize eq "x"`, 0, -1), ""},
		{"filter with another operator", d, 400, "invalidFilter", "GET", filterPath("/Users", `userName sw "ada"`, 0, -1), ""},
		{"filter that does not parse", d, 400, "invalidFilter", "GET", filterPath("/Users", `userName eq`, 0, -1), ""},
		{"group filter on externalId", d, 400, "invalidFilter", "GET", filterPath("/Groups", `externalId eq "x"`, 0, -1), ""},

		{"path that does not parse", d, 400, "invalidPath", "PATCH", "/Users/" + id, fmt.Sprintf(patchOp, `{"op":"replace","path":"emails[type eq","value":"x"}`)},
		{"members path with another filter", d, 400, "invalidPath", "PATCH", "/Groups/" + other, fmt.Sprintf(patchOp, `{"op":"remove","path":"members[display eq \"ada\"]"}`)},

		{"standard plan", plain, 403, "", "POST", "/Users", userBody("bob@plain-corp.com", "", "")},
		{"body too large", d, 413, "", "POST", "/Users", userBody("bob@acme-corp.com", strings.Repeat("x", 1<<20), "")},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.d.t = t
			var body any
			if c.body != "" {
				body = c.body
			}
			a := c.d.refused(c.status, c.scimType, c.method, c.path, body)
			if c.status == 401 && a.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
			if got := count(); got != before {
				t.Errorf("changed: %s, was %s", got, before)
			}
		})
	}
	// The externalId taken, by PATCH.
	bob := d.must(201, "POST", "/Users", userBody("bob@acme-corp.com", "ext-bob", ""))
	d.refused(409, "uniqueness", "PATCH", "/Users/"+bob.str("id"), fmt.Sprintf(patchOp, `{"op":"replace","path":"externalId","value":"ext-ada"}`))
	if a := d.must(200, "GET", "/Users/"+bob.str("id"), nil); a.str("externalId") != "ext-bob" {
		t.Errorf("bob after the refusal: %s", a.Body)
	}
}

// TestSCIM_UnknownAttributesIgnored: attributes Roster does not know, in
// a create, a replace and a PATCH (with a path, or in a value without
// one), are ignored, not refused.
func TestSCIM_UnknownAttributesIgnored(t *testing.T) {
	e := servertest.New(t)
	_, acct := company(t, e, "owner@acme-corp.com", "acme-corp.com")
	d := newToken(t, e, acct, "Okta")
	u := d.must(201, "POST", "/Users", userBody("ada@acme-corp.com", "", `,"favoriteColor":"green","urn:example:params:scim:schemas:extension:custom:2.0:User":{"costCenter":"42"},"nickName":"ada"`))
	id := u.str("id")
	d.must(200, "PUT", "/Users/"+id, userBody("ada@acme-corp.com", "", `,"favoriteColor":"blue"`))
	for _, op := range []string{
		`{"op":"replace","value":{"favoriteColor":"red","active":true}}`,
		`{"op":"replace","value":{"favoriteColor":"red"}}`,
		`{"op":"add","path":"favoriteColor","value":"red"}`,
		`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"R&D"}`,
		`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value","value":"x"}`,
		`{"op":"replace","path":"title","value":"Countess"}`,
	} {
		if a := d.do("PATCH", "/Users/"+id, fmt.Sprintf(patchOp, op)); a.Status != 200 || a.str("id") != id {
			t.Errorf("PATCH %s: %d %s", op, a.Status, a.Body)
		}
	}
	g := d.must(201, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Staff","mood":"calm"}`)
	if a := d.do("PATCH", "/Groups/"+g.str("id"), fmt.Sprintf(patchOp, `{"op":"replace","value":{"mood":"busy","displayName":"Staff 2"}}`)); a.Status != 200 || a.str("displayName") != "Staff 2" {
		t.Errorf("group PATCH: %d %s", a.Status, a.Body)
	}
}

// TestSCIM_PaginationOver1000Users: startIndex (1-based) and count walk
// 1,051 members in pages of 100, each once, in a stable order, and
// totalResults counts them all.
func TestSCIM_PaginationOver1000Users(t *testing.T) {
	e := servertest.New(t)
	_, acct := company(t, e, "owner@acme-corp.com", "acme-corp.com")
	e.SeedMembers(t, acct, 1050)
	d := newToken(t, e, acct, "Okta")
	seen := map[string]bool{}
	for start := 1; ; start += 100 {
		a := d.must(200, "GET", filterPath("/Users", "", start, 100), nil)
		if a.total() != 1051 || a.JSON["startIndex"] != float64(start) {
			t.Fatalf("page at %d: total %d, startIndex %v", start, a.total(), a.JSON["startIndex"])
		}
		rs := a.resources()
		if want := min(100, 1051-start+1); len(rs) != want {
			t.Fatalf("page at %d: %d users, want %d", start, len(rs), want)
		}
		for _, r := range rs {
			id := r["id"].(string)
			if seen[id] {
				t.Fatalf("user %s twice", id)
			}
			seen[id] = true
		}
		if start+100 > 1051 {
			break
		}
	}
	if len(seen) != 1051 {
		t.Fatalf("%d users seen", len(seen))
	}
	// count=0 answers the total alone; past the end, no users; count
	// above the maximum is clamped to 200.
	if a := d.must(200, "GET", filterPath("/Users", "", 1, 0), nil); a.total() != 1051 || len(a.resources()) != 0 {
		t.Errorf("count=0: %s", a.Body)
	}
	if a := d.must(200, "GET", filterPath("/Users", "", 2000, 100), nil); a.total() != 1051 || len(a.resources()) != 0 {
		t.Errorf("past the end: total %d, %d users", a.total(), len(a.resources()))
	}
	if a := d.must(200, "GET", filterPath("/Users", "", 1, 5000), nil); len(a.resources()) != 200 {
		t.Errorf("count=5000: %d users", len(a.resources()))
	}
	if a := d.do("GET", "/Users?startIndex=x", nil); a.Status != 400 {
		t.Errorf("startIndex=x: %d %s", a.Status, a.Body)
	}
}

// TestSCIM_Discovery: /ServiceProviderConfig, /ResourceTypes and
// /Schemas answer, naming the bearer token, patch and filter support,
// the resource types and the Roster extension.
func TestSCIM_Discovery(t *testing.T) {
	e := servertest.New(t)
	_, acct := company(t, e, "owner@acme-corp.com", "acme-corp.com")
	d := newToken(t, e, acct, "Okta")

	spc := d.must(200, "GET", "/ServiceProviderConfig", nil)
	if p, _ := spc.JSON["patch"].(map[string]any); p["supported"] != true {
		t.Errorf("patch: %s", spc.Body)
	}
	if f, _ := spc.JSON["filter"].(map[string]any); f["supported"] != true || f["maxResults"] != float64(200) {
		t.Errorf("filter: %s", spc.Body)
	}
	if !strings.Contains(string(spc.Body), "oauthbearertoken") {
		t.Errorf("authentication schemes: %s", spc.Body)
	}
	rt := d.must(200, "GET", "/ResourceTypes", nil)
	if rt.total() != 2 || !strings.Contains(string(rt.Body), `"/Users"`) || !strings.Contains(string(rt.Body), `"/Groups"`) || !strings.Contains(string(rt.Body), roster.SCIMUserSchemaExtension) {
		t.Errorf("resource types: %s", rt.Body)
	}
	d.must(200, "GET", "/ResourceTypes/User", nil)
	sc := d.must(200, "GET", "/Schemas", nil)
	for _, id := range []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:core:2.0:Group", roster.SCIMUserSchemaExtension} {
		if !strings.Contains(string(sc.Body), id) {
			t.Errorf("schemas: no %s", id)
		}
	}
	ext := d.must(200, "GET", "/Schemas/"+roster.SCIMUserSchemaExtension, nil)
	if !strings.Contains(string(ext.Body), `"role"`) {
		t.Errorf("extension: %s", ext.Body)
	}
	d.refused(404, "", "GET", "/Nothing", nil)
}
