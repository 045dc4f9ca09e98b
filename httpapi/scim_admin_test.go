package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/service"
)

// scimFixture is a committed account with a verified domain, whose owner
// holds team.edit.
type scimFixture struct {
	e     *servertest.Env
	owner *servertest.Client
	acct  string
}

func newSCIMFixture(t *testing.T) scimFixture {
	t.Helper()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	e.VerifyDomain(t, owner, acct, "acme-corp.com")
	return scimFixture{e, owner, acct}
}

func (f scimFixture) tokens(rest string) string {
	return "/v1/accounts/" + f.acct + "/scim-tokens" + rest
}

func (f scimFixture) settings() string { return "/v1/accounts/" + f.acct + "/scim-settings" }

// state is what a refusal must leave as it was: the tokens, the settings
// and the audit log.
func (f scimFixture) state(t *testing.T) string {
	t.Helper()
	set, err := f.e.Server.Service.SCIMSettings(context.Background(), f.seq(t))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("tokens=%d settings=%d %v audit=%d",
		f.e.Count(t, `SELECT COUNT(*) FROM scim_tokens`), f.e.Count(t, `SELECT COUNT(*) FROM scim_settings`), set,
		f.e.Count(t, `SELECT COUNT(*) FROM audit_events`))
}

func (f scimFixture) seq(t *testing.T) int64 {
	t.Helper()
	seq, err := f.e.Server.Service.AccountSeq(context.Background(), f.acct)
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// scimAccount is SCIMTokenAccount's answer for the token: the account's
// Auth ID and the token's ID, or the error's code.
func (f scimFixture) scimAccount(t *testing.T, token string) (acct string, id int64, code string) {
	t.Helper()
	a, tok, err := f.e.Server.Service.SCIMTokenAccount(context.Background(), token)
	return a.ID, tok.ID, roster.ErrorCode(err)
}

func TestSCIMTokens_CreateListUseRevoke(t *testing.T) {
	t.Parallel()
	f := newSCIMFixture(t)

	r := f.owner.Must(201, "POST", f.tokens(""), map[string]string{"name": "  Okta production "})
	token, id := r.Str("token"), int64(r.JSON["id"].(float64))
	if r.Str("name") != "Okta production" || !strings.HasPrefix(token, service.SCIMTokenPrefix) || len(token) < len(service.SCIMTokenPrefix)+43 ||
		r.Str("created_at") == "" || r.Str("base_url") != strings.TrimRight(f.e.URL, "/")+"/scim/v2" {
		t.Fatalf("created: %s", r.Body)
	}
	other := f.owner.Must(201, "POST", f.tokens(""), map[string]string{"name": "Entra ID"})
	if other.Str("token") == token || other.Str("token")[:12] == token[:12] {
		t.Errorf("two tokens alike: %q %q", token, other.Str("token"))
	}
	// Stored as its hash only.
	if n := f.e.Count(t, `SELECT COUNT(*) FROM scim_tokens WHERE token_hash = ?`, service.HashToken(token)); n != 1 {
		t.Errorf("%d rows hold the token's hash", n)
	}

	// Listed without the token, oldest first, never used.
	list := f.owner.Must(200, "GET", f.tokens(""), nil)
	if list.Total() != 2 || strings.Contains(string(list.Body), token) || strings.Contains(string(list.Body), service.SCIMTokenPrefix) {
		t.Fatalf("list: %s", list.Body)
	}
	o := list.Objects()[0]
	if _, has := o["token"]; has || o["name"] != "Okta production" || int64(o["id"].(float64)) != id || o["created_at"] != r.Str("created_at") || o["last_used_at"] != nil {
		t.Errorf("listed: %v", o)
	}

	// The token names its account; its use is recorded.
	if acct, tid, code := f.scimAccount(t, token); acct != f.acct || tid != id || code != "" {
		t.Errorf("SCIMTokenAccount = %q %d %q", acct, tid, code)
	}
	if used := f.owner.Must(200, "GET", f.tokens(""), nil).Objects(); used[0]["last_used_at"] == nil || used[1]["last_used_at"] != nil {
		t.Errorf("after a use: %v", used)
	}

	// Revoked: refused at once, gone from the list, audited.
	f.owner.Must(204, "DELETE", f.tokens(fmt.Sprintf("/%d", id)), nil)
	if _, _, code := f.scimAccount(t, token); code != roster.EUNAUTHENTICATED {
		t.Errorf("a revoked token: %q, want %s", code, roster.EUNAUTHENTICATED)
	}
	if _, _, code := f.scimAccount(t, other.Str("token")); code != "" {
		t.Errorf("the other token after the revocation: %q", code)
	}
	if list := f.owner.Must(200, "GET", f.tokens(""), nil); list.Total() != 1 || list.Objects()[0]["name"] != "Entra ID" {
		t.Errorf("after the revocation: %s", list.Body)
	}
	f.owner.Refused(404, "not_found", "DELETE", f.tokens(fmt.Sprintf("/%d", id)), nil)

	got := strings.Join(auditActions(t, f.owner, f.acct), "\n")
	for _, want := range []string{fmt.Sprintf("scim_token.create %d", id), fmt.Sprintf("scim_token.delete %d", id)} {
		if !strings.Contains(got, want) {
			t.Errorf("audit log lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, token) {
		t.Error("the audit log holds the token")
	}
}

// Anything but a live token is refused the same way: 401
// unauthenticated, before or after a lookup.
func TestSCIMTokenAccount_Refusals(t *testing.T) {
	t.Parallel()
	f := newSCIMFixture(t)
	token := f.owner.Must(201, "POST", f.tokens(""), map[string]string{"name": "Okta"}).Str("token")
	for name, tok := range map[string]string{
		"empty":                    "",
		"the prefix alone":         service.SCIMTokenPrefix,
		"a personal API key":       service.KeyPrefix + strings.TrimPrefix(token, service.SCIMTokenPrefix),
		"without its prefix":       strings.TrimPrefix(token, service.SCIMTokenPrefix),
		"one character changed":    token[:len(token)-1] + map[bool]string{true: "A", false: "B"}[token[len(token)-1] != 'A'],
		"with a space":             token + " ",
		"lower-cased":              strings.ToLower(token),
		"very long":                token + strings.Repeat("x", 10_000),
		"a NUL":                    token + "\x00",
		"another random one":       service.SCIMTokenPrefix + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"the hash of the token":    fmt.Sprintf("%s%x", service.SCIMTokenPrefix, service.HashToken(token)),
		"invalid UTF-8 after it":   token + "\xff",
		"the Bearer word included": "Bearer " + token,
	} {
		if token == strings.ToLower(token) && name == "lower-cased" {
			continue
		}
		if _, _, code := f.scimAccount(t, tok); code != roster.EUNAUTHENTICATED {
			t.Errorf("%s: %q, want %s", name, code, roster.EUNAUTHENTICATED)
		}
	}
	if acct, _, code := f.scimAccount(t, token); acct != f.acct || code != "" {
		t.Errorf("the token itself: %q %q", acct, code)
	}
}

func TestSCIMTokens_CreateRefusals(t *testing.T) {
	t.Parallel()
	f := newSCIMFixture(t)
	for _, tc := range []struct {
		body        any
		status      int
		code, field string
		wantInWords string
	}{
		{map[string]string{"name": ""}, 400, "invalid_request", "name", "required"},
		{map[string]string{"name": "   "}, 400, "invalid_request", "name", "required"},
		{map[string]string{"name": strings.Repeat("n", 201)}, 400, "invalid_request", "name", "200"},
		{map[string]string{"name": "two\nlines"}, 400, "invalid_request", "name", "line break"},
		{map[string]any{"name": 7}, 400, "invalid_request", "", ""},
		{map[string]any{"name": "Okta", "token": "rscim_mine"}, 400, "invalid_request", "", ""},
		{nil, 400, "invalid_request", "", ""},
	} {
		before := f.state(t)
		r := f.owner.Refused(tc.status, tc.code, "POST", f.tokens(""), tc.body)
		e := r.JSON["error"].(map[string]any)
		if tc.field != "" && e["field"] != tc.field {
			t.Errorf("%v: field %v, want %s", tc.body, e["field"], tc.field)
		}
		if msg, _ := e["message"].(string); !strings.Contains(msg, tc.wantInWords) {
			t.Errorf("%v: message %q does not say %q", tc.body, msg, tc.wantInWords)
		}
		if after := f.state(t); after != before {
			t.Errorf("%v: the refusal changed %s to %s", tc.body, before, after)
		}
	}

	// At most 10 tokens: the 11th is refused until one is revoked.
	var first int64
	for i := range 10 {
		r := f.owner.Must(201, "POST", f.tokens(""), map[string]string{"name": fmt.Sprintf("token %d", i)})
		if i == 0 {
			first = int64(r.JSON["id"].(float64))
		}
	}
	before := f.state(t)
	r := f.owner.Refused(400, "invalid_request", "POST", f.tokens(""), map[string]string{"name": "one too many"})
	if msg := r.JSON["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "at most 10") {
		t.Errorf("the limit's message: %q", msg)
	}
	if after := f.state(t); after != before {
		t.Errorf("the limit's refusal changed %s to %s", before, after)
	}
	f.owner.Must(204, "DELETE", f.tokens(fmt.Sprintf("/%d", first)), nil)
	f.owner.Must(201, "POST", f.tokens(""), map[string]string{"name": "after a revocation"})
}

// Without a verified domain an account has no token: 409
// domain_unverified, saying to verify one. A pending domain is not
// enough; removing the verified domain later leaves the tokens working
// (the directory can still deactivate and remove members; it adds none,
// as no address is on a verified domain).
func TestSCIMTokens_NeedAVerifiedDomain(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	f := scimFixture{e, owner, acct}

	before := f.state(t)
	r := owner.Refused(409, "domain_unverified", "POST", f.tokens(""), map[string]string{"name": "Okta"})
	if msg := r.JSON["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "Verify a domain first") {
		t.Errorf("message %q", msg)
	}
	if after := f.state(t); after != before {
		t.Errorf("the refusal changed %s to %s", before, after)
	}
	owner.Must(201, "POST", "/v1/accounts/"+acct+"/domains", map[string]string{"domain": "acme-corp.com"})
	before = f.state(t)
	owner.Refused(409, "domain_unverified", "POST", f.tokens(""), map[string]string{"name": "Okta"})
	if after := f.state(t); after != before || !strings.HasPrefix(after, "tokens=0 ") {
		t.Errorf("the refusal with a pending domain changed %s to %s", before, after)
	}

	// The settings may be saved before: they give no one access.
	owner.Must(200, "PUT", f.settings(), map[string]any{"default_role": "developer"})

	dom := e.VerifyDomain(t, owner, acct, "acme-labs.com")
	token := owner.Must(201, "POST", f.tokens(""), map[string]string{"name": "Okta"}).Str("token")
	owner.Must(204, "DELETE", fmt.Sprintf("/v1/accounts/%s/domains/%d", acct, dom), nil)
	if a, _, code := f.scimAccount(t, token); a != acct || code != "" {
		t.Errorf("a token after its domain was removed: %q %q", a, code)
	}
	owner.Refused(409, "domain_unverified", "POST", f.tokens(""), map[string]string{"name": "another"})
}

// The committed plan is not needed to make a token: the directory can be
// set up first (it adds members only on the committed plan).
func TestSCIMTokens_StandardPlanMayMakeOne(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.VerifyDomain(t, owner, acct, "acme-corp.com")
	f := scimFixture{e, owner, acct}
	token := owner.Must(201, "POST", f.tokens(""), map[string]string{"name": "Okta"}).Str("token")
	if a, _, code := f.scimAccount(t, token); a != acct || code != "" {
		t.Errorf("SCIMTokenAccount on the standard plan: %q %q", a, code)
	}
}

// The whole section needs team.edit: a developer is refused 403, a
// non-member 404; another account's token is not found through one's own
// account; nothing changes.
func TestSCIMAdmin_Permissions(t *testing.T) {
	t.Parallel()
	f := newSCIMFixture(t)
	r := f.owner.Must(201, "POST", f.tokens(""), map[string]string{"name": "Okta"})
	id, token := int64(r.JSON["id"].(float64)), r.Str("token")
	f.owner.Must(200, "PUT", f.settings(), map[string]any{"default_role": "developer", "group_roles": map[string]string{"Admins": "admin"}})
	dev, _ := f.e.Join(t, f.owner, f.acct, "dev@acme-corp.com", "developer")
	admin, _ := f.e.Join(t, f.owner, f.acct, "ada@acme-corp.com", "admin")
	stranger, sacct := f.e.SignUp(t, "sam@stranger.com", "Sam Stranger")
	f.e.VerifyDomain(t, stranger, sacct, "stranger.com")

	before := f.state(t)
	for _, c := range []struct {
		who    string
		client *servertest.Client
		status int
		code   string
	}{{"developer", dev, 403, "forbidden"}, {"non-member", stranger, 404, "not_found"}} {
		t.Run(c.who, func(t *testing.T) {
			c.client.Refused(c.status, c.code, "GET", f.tokens(""), nil)
			c.client.Refused(c.status, c.code, "POST", f.tokens(""), map[string]string{"name": "mine"})
			c.client.Refused(c.status, c.code, "DELETE", f.tokens(fmt.Sprintf("/%d", id)), nil)
			c.client.Refused(c.status, c.code, "GET", f.settings(), nil)
			c.client.Refused(c.status, c.code, "PUT", f.settings(), map[string]any{"default_role": "admin"})
		})
	}
	// Another account's token, through the stranger's own account.
	stranger.Refused(404, "not_found", "DELETE", fmt.Sprintf("/v1/accounts/%s/scim-tokens/%d", sacct, id), nil)
	stranger.Refused(404, "not_found", "DELETE", fmt.Sprintf("/v1/accounts/%s/scim-tokens/nope", sacct), nil)
	stranger.Refused(404, "not_found", "DELETE", fmt.Sprintf("/v1/accounts/%s/scim-tokens/-1", sacct), nil)
	if l := stranger.Must(200, "GET", "/v1/accounts/"+sacct+"/scim-tokens", nil); l.Total() != 0 {
		t.Errorf("the stranger lists %s", l.Body)
	}
	if s := stranger.Must(200, "GET", "/v1/accounts/"+sacct+"/scim-settings", nil); s.Str("default_role") != "support" || len(s.JSON["group_roles"].(map[string]any)) != 0 {
		t.Errorf("the stranger's settings: %s", s.Body)
	}
	if after := f.state(t); after != before {
		t.Errorf("the refusals changed %s to %s", before, after)
	}
	if a, _, _ := f.scimAccount(t, token); a != f.acct {
		t.Error("the token stopped working after the refusals")
	}
	// An admin holds team.edit.
	if admin.Must(200, "GET", f.tokens(""), nil).Total() != 1 {
		t.Error("the admin does not see the token")
	}
	admin.Must(200, "GET", f.settings(), nil)
}

func TestSCIMSettings_DefaultsSaveAndReplace(t *testing.T) {
	t.Parallel()
	f := newSCIMFixture(t)
	base := strings.TrimRight(f.e.URL, "/") + "/scim/v2"

	r := f.owner.Must(200, "GET", f.settings(), nil)
	if r.Str("default_role") != "support" || len(r.JSON["group_roles"].(map[string]any)) != 0 || r.Str("base_url") != base {
		t.Fatalf("before any save: %s", r.Body)
	}

	put := map[string]any{"default_role": "developer", "group_roles": map[string]string{
		" Engineering ": "developer", "Roster Admins": "admin", "Finance": "finance_analyst", "Helpdesk": "support"}}
	r = f.owner.Must(200, "PUT", f.settings(), put)
	want := `{"default_role":"developer","group_roles":{"Engineering":"developer","Finance":"finance_analyst","Helpdesk":"support","Roster Admins":"admin"},"base_url":"` + base + `"}`
	if strings.TrimSpace(string(r.Body)) != want {
		t.Errorf("PUT answered %s\nwant %s", r.Body, want)
	}
	if got := f.owner.Must(200, "GET", f.settings(), nil); strings.TrimSpace(string(got.Body)) != want {
		t.Errorf("GET answered %s", got.Body)
	}
	set, err := f.e.Server.Service.SCIMSettings(context.Background(), f.seq(t))
	if err != nil || set.DefaultRole != roster.RoleDeveloper || set.GroupRoles["Engineering"] != roster.RoleDeveloper || set.GroupRoles["Roster Admins"] != roster.RoleAdmin || len(set.GroupRoles) != 4 {
		t.Errorf("SCIMSettings = %+v, %v", set, err)
	}

	// What a GET answered may be sent back as it is.
	f.owner.Must(200, "PUT", f.settings(), f.owner.Must(200, "GET", f.settings(), nil).JSON)

	// A PUT replaces: what it leaves out is the default.
	r = f.owner.Must(200, "PUT", f.settings(), map[string]any{"group_roles": nil})
	if r.Str("default_role") != "support" || len(r.JSON["group_roles"].(map[string]any)) != 0 {
		t.Errorf("after an empty PUT: %s", r.Body)
	}
	f.owner.Must(200, "PUT", f.settings(), map[string]any{})

	got := strings.Join(auditActions(t, f.owner, f.acct), "\n")
	if strings.Count(got, "scim_settings.update") != 4 {
		t.Errorf("audit log:\n%s", got)
	}
	events := f.owner.Must(200, "GET", "/v1/accounts/"+f.acct+"/audit?action=scim_settings.update&limit=10", nil).Objects()
	if d, _ := events[len(events)-1]["detail"].(string); !strings.Contains(d, "default developer") || !strings.Contains(d, "Roster Admins admin") {
		t.Errorf("the first update's detail: %q", d)
	}
}

func TestSCIMSettings_Refusals(t *testing.T) {
	t.Parallel()
	f := newSCIMFixture(t)
	f.owner.Must(200, "PUT", f.settings(), map[string]any{"default_role": "developer", "group_roles": map[string]string{"Admins": "admin"}})
	many := map[string]string{}
	for i := range 101 {
		many[fmt.Sprintf("group %03d", i)] = "support"
	}
	exactly100 := map[string]string{}
	for i := range 100 {
		exactly100[fmt.Sprintf("group %03d", i)] = "support"
	}
	for _, tc := range []struct {
		name        string
		body        any
		field       string
		wantInWords string
	}{
		{"owner as the default", map[string]any{"default_role": "owner"}, "default_role", "owner"},
		{"an unknown default", map[string]any{"default_role": "superuser"}, "default_role", "Unknown role"},
		{"a default in capitals", map[string]any{"default_role": "Admin"}, "default_role", "Unknown role"},
		{"a group made owner", map[string]any{"group_roles": map[string]string{"Founders": "owner"}}, "group_roles", "owner"},
		{"a group with an unknown role", map[string]any{"group_roles": map[string]string{"Eng": "engineer"}}, "group_roles", `"Eng"`},
		{"a group with no role", map[string]any{"group_roles": map[string]string{"Eng": ""}}, "group_roles", "Unknown role"},
		{"an empty group name", map[string]any{"group_roles": map[string]string{"": "admin"}}, "group_roles", "display name is required"},
		{"a blank group name", map[string]any{"group_roles": map[string]string{"  ": "admin"}}, "group_roles", "display name is required"},
		{"a group name with a line break", map[string]any{"group_roles": map[string]string{"Eng\nOps": "admin"}}, "group_roles", "line break"},
		{"an overlong group name", map[string]any{"group_roles": map[string]string{strings.Repeat("g", 201): "admin"}}, "group_roles", "200"},
		{"one group twice by case", map[string]any{"group_roles": map[string]string{"Engineering": "admin", "engineering ": "support"}}, "group_roles", "one group"},
		{"101 mappings", map[string]any{"group_roles": many}, "group_roles", "At most 100"},
		{"a role that is not a string", map[string]any{"group_roles": map[string]any{"Eng": 2}}, "", ""},
		{"group roles as a list", map[string]any{"group_roles": []string{"Eng"}}, "", ""},
		{"an unknown field", map[string]any{"default_role": "admin", "deactivate": true}, "", ""},
		{"not JSON", "default_role=admin", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.state(t)
			r := f.owner.Refused(400, "invalid_request", "PUT", f.settings(), tc.body)
			e := r.JSON["error"].(map[string]any)
			if tc.field != "" && e["field"] != tc.field {
				t.Errorf("field %v, want %s", e["field"], tc.field)
			}
			if msg, _ := e["message"].(string); !strings.Contains(msg, tc.wantInWords) {
				t.Errorf("message %q does not say %q", msg, tc.wantInWords)
			}
			if after := f.state(t); after != before {
				t.Errorf("the refusal changed %s to %s", before, after)
			}
		})
	}
	// 100 mappings are allowed.
	if r := f.owner.Must(200, "PUT", f.settings(), map[string]any{"group_roles": exactly100}); len(r.JSON["group_roles"].(map[string]any)) != 100 {
		t.Errorf("100 mappings: %d saved", len(r.JSON["group_roles"].(map[string]any)))
	}
}
