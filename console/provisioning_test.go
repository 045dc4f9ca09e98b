package console_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

var scimTokenRE = regexp.MustCompile(`rscim_[A-Za-z0-9_-]{43}`)

// Settings › Provisioning without a browser: the page asks to verify a
// domain first; then the owner creates a token (shown once, gone on
// reload), revokes it after a confirmation (refused at once by
// SCIMTokenAccount), and saves the default role and group mapping, a
// refusal keeping what was typed; a developer and a non-member cannot
// open the page.
func TestConsole_Provisioning(t *testing.T) {
	f := newAccessFixture(t)
	prov := f.path("/settings/provisioning")
	ctx := context.Background()

	// Settings leads to the page. No verified domain: the page says so and
	// links to the domains; no token form.
	f.owner.get(f.path("/settings")).want(t, "settings", 200, `id="provisioning-link"`, `href="`+prov+`"`)
	a := f.owner.get(prov)
	a.want(t, "page without a domain", 200, "<h1>Provisioning (SCIM)</h1>", `id="scim-verify-first"`, `href="`+f.path("/settings/sso")+`#domains"`,
		`<code id="scim-base-url">`+strings.TrimRight(f.e.URL, "/")+`/scim/v2</code>`, `data-copy="scim-base-url"`, `id="scim-tokens-empty"`,
		`aria-current="page"`, `id="scim-roles-form"`, `<option value="support" selected>Support</option>`)
	oneH1(t, "the provisioning page", a)
	if strings.Contains(a.Body, `id="scim-token-form"`) {
		t.Error("the page offers a token without a verified domain")
	}
	// A create sent all the same is refused above the page, and nothing made.
	a = f.owner.post(prov+"/tokens", url.Values{"name": {"Okta"}})
	a.want(t, "create without a domain", 409, "Verify a domain first", `class="form-error"`)
	if n := f.e.Count(t, `SELECT COUNT(*) FROM scim_tokens`); n != 0 {
		t.Fatalf("a refused create made %d tokens", n)
	}

	f.e.VerifyDomain(t, f.api, f.acct, "acme-corp.com")
	a = f.owner.get(prov)
	a.want(t, "page with a domain", 200, `id="scim-token-form"`, `action="`+prov+`/tokens"`)
	if strings.Contains(a.Body, `id="scim-verify-first"`) || strings.Contains(a.Body, `id="scim-plan-note"`) {
		t.Error("a committed account with a verified domain is told to verify one or commit")
	}

	// An empty name: the message at the field; nothing made.
	a = f.owner.post(prov+"/tokens", url.Values{"name": {"  "}})
	a.want(t, "empty name", 400, `id="scim-token-name-error"`, "required", `aria-invalid="true"`)
	if n := f.e.Count(t, `SELECT COUNT(*) FROM scim_tokens`); n != 0 {
		t.Fatalf("a refused create made %d tokens", n)
	}

	// Created: the token on the answer, once, with its copy button and
	// the warning, never cached.
	a = f.owner.post(prov+"/tokens", url.Values{"name": {"Okta production"}})
	a.want(t, "create", 200, `id="scim-token"`, "shown this once", `data-copy="scim-token-value"`, `Token &#34;Okta production&#34; created`)
	if a.Via != "303 "+prov {
		t.Errorf("the create was not a redirect to the page: %q", a.Via)
	}
	if cc := a.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the page with the token answers Cache-Control %q", cc)
	}
	token := scimTokenRE.FindString(a.Body)
	if token == "" {
		t.Fatalf("no token on the page:\n%s", a.Body)
	}
	acct, tok, err := f.e.Server.Service.SCIMTokenAccount(ctx, token)
	if err != nil || acct.ID != f.acct || tok.Name != "Okta production" {
		t.Fatalf("SCIMTokenAccount = %q %+v %v", acct.ID, tok, err)
	}

	// Reloaded: listed (used just now), without the token.
	a = f.owner.get(prov)
	a.want(t, "reload", 200, `data-scim-token="`, "Okta production", `data-revoke-token="`)
	if strings.Contains(a.Body, "rscim_") || strings.Contains(a.Body, token) || strings.Contains(a.Body, `id="scim-token"`) {
		t.Error("the page shows the token again")
	}
	if strings.Contains(a.Body, `data-last-used="never"`) {
		t.Error("the token's use is not shown")
	}
	id := regexp.MustCompile(`data-revoke-token="(\d+)"`).FindStringSubmatch(a.Body)[1]

	// Revoke: a confirmation first, which changes nothing.
	a = f.owner.get(prov + "/tokens/" + id + "/revoke")
	a.want(t, "confirmation", 200, "irreversible", "Okta production", `id="confirm-revoke"`, `action="`+prov+`/tokens/`+id+`/revoke"`, `href="`+prov+`"`)
	oneH1(t, "the confirmation", a)
	if _, _, err := f.e.Server.Service.SCIMTokenAccount(ctx, token); err != nil {
		t.Fatalf("the confirmation revoked the token: %v", err)
	}
	a = f.owner.post(prov+"/tokens/"+id+"/revoke", url.Values{})
	a.want(t, "revoke", 303)
	if _, _, err := f.e.Server.Service.SCIMTokenAccount(ctx, token); roster.ErrorCode(err) != roster.EUNAUTHENTICATED {
		t.Errorf("a revoked token: %v", err)
	}
	f.owner.get(prov).want(t, "after revoke", 200, "revoked", `id="scim-tokens-empty"`)
	f.owner.get(prov+"/tokens/"+id+"/revoke").want(t, "confirmation of a revoked token", 404)
	f.owner.post(prov+"/tokens/"+id+"/revoke", url.Values{}).want(t, "revoke again", 404)

	// Roles: a refusal keeps what was typed, at the groups; nothing saved.
	form := url.Values{"default_role": {"developer"},
		"group_name": {"Engineering", "Founders", "", ""}, "group_role": {"developer", "owner", "", ""}}
	a = f.owner.post(prov+"/roles", form)
	a.want(t, "owner for a group", 400, `id="scim-groups-error"`, "cannot make anyone the owner", `value="Engineering"`, `value="Founders"`,
		`<option value="developer" selected>Developer</option>`)
	if n := f.e.Count(t, `SELECT COUNT(*) FROM scim_settings`); n != 0 {
		t.Fatalf("a refused save saved")
	}
	f.owner.post(prov+"/roles", url.Values{"default_role": {"owner"}}).want(t, "owner by default", 400, `id="scim-default-role-error"`)
	f.owner.post(prov+"/roles", url.Values{"default_role": {"support"}, "group_name": {"Eng", "Eng"}, "group_role": {"admin", "support"}}).
		want(t, "a group twice", 400, "mapped twice", `id="scim-groups-error"`)
	f.owner.post(prov+"/roles", url.Values{"default_role": {"support"}, "group_name": {""}, "group_role": {"admin"}}).
		want(t, "a role without a group", 400, "display name is required")
	if n := f.e.Count(t, `SELECT COUNT(*) FROM scim_settings`); n != 0 {
		t.Fatalf("a refused save saved")
	}

	// Saved: the rows come back sorted, with empty rows to add more.
	form = url.Values{"default_role": {"finance_analyst"},
		"group_name": {"Roster Admins", " Engineering ", "", ""}, "group_role": {"admin", "developer", "", ""}}
	a = f.owner.post(prov+"/roles", form)
	a.want(t, "save", 303)
	set, err := f.e.Server.Service.SCIMSettings(ctx, seqOf(t, f))
	if err != nil || set.DefaultRole != roster.RoleFinanceAnalyst || len(set.GroupRoles) != 2 || set.GroupRoles["Engineering"] != roster.RoleDeveloper || set.GroupRoles["Roster Admins"] != roster.RoleAdmin {
		t.Fatalf("saved %+v, %v", set, err)
	}
	a = f.owner.get(prov)
	a.want(t, "after save", 200, "Provisioning roles saved", `<option value="finance_analyst" selected>Finance analyst</option>`,
		`id="scim-group-name-0" name="group_name" value="Engineering"`, `id="scim-group-name-1" name="group_name" value="Roster Admins"`,
		`id="scim-group-name-4" name="group_name" value=""`)
	// A row emptied is removed.
	f.owner.post(prov+"/roles", url.Values{"default_role": {"finance_analyst"}, "group_name": {"Engineering", ""}, "group_role": {"developer", ""}}).want(t, "remove a row", 303)
	if set, _ := f.e.Server.Service.SCIMSettings(ctx, seqOf(t, f)); len(set.GroupRoles) != 1 {
		t.Errorf("after removing a row: %+v", set)
	}

	// A developer (no team.edit) is refused and changes nothing; a
	// stranger finds nothing; Settings does not lead them there.
	f.dev.get(prov).want(t, "developer", 403)
	f.dev.get(f.path(""))
	f.dev.post(prov+"/tokens", url.Values{"name": {"mine"}}).want(t, "developer's create", 403)
	f.dev.post(prov+"/roles", url.Values{"default_role": {"admin"}}).want(t, "developer's save", 403)
	if strings.Contains(f.dev.get(f.path("/settings")).Body, `id="provisioning-link"`) {
		t.Error("the developer's Settings page links to provisioning")
	}
	stranger, _ := f.e.SignUp(t, "sam@stranger.com", "Sam Stranger")
	newFormClient(t, f.e, stranger).get(prov).want(t, "stranger", 404)
	if n := f.e.Count(t, `SELECT COUNT(*) FROM scim_tokens`); n != 0 {
		t.Errorf("the refusals made %d tokens", n)
	}
	if set, _ := f.e.Server.Service.SCIMSettings(ctx, seqOf(t, f)); set.DefaultRole != roster.RoleFinanceAnalyst {
		t.Errorf("the refusals changed the settings: %+v", set)
	}
}

// On the standard plan the page says the directory adds members only on
// the committed plan; a token may be made.
func TestConsole_ProvisioningStandardPlan(t *testing.T) {
	f := newAccessFixture(t)
	stdAPI, stdAcct := f.e.SignUp(t, "stan@standard-corp.com", "Stan Standard")
	f.e.VerifyDomain(t, stdAPI, stdAcct, "standard-corp.com")
	c := newFormClient(t, f.e, stdAPI)
	prov := "/accounts/" + stdAcct + "/settings/provisioning"
	c.get(prov).want(t, "standard plan", 200, `id="scim-plan-note"`, "committed plan", `id="scim-token-form"`)
	c.post(prov+"/tokens", url.Values{"name": {"Okta"}}).want(t, "create", 200, `id="scim-token"`)
}

func seqOf(t *testing.T, f *accessFixture) int64 {
	t.Helper()
	seq, err := f.e.Server.Service.AccountSeq(context.Background(), f.acct)
	if err != nil {
		t.Fatal(err)
	}
	return seq
}
