package console_test

import (
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// teamFixture is a committed account with a member of every role, each
// using the console: the owner Olga, and one invitee per other role.
type teamFixture struct {
	e       *servertest.Env
	acct    string
	api     *servertest.Client // the owner, over the API
	members map[roster.Role]*formClient
	ids     map[roster.Role]int64
}

// acctName is the account's name as its owner's sign-up made it, as the
// pages write it (HTML-escaped).
const acctName = "Olga Owner&#39;s account"

func newTeamFixture(t *testing.T) *teamFixture {
	e := servertest.New(t)
	api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	f := &teamFixture{e: e, acct: acct, api: api, members: map[roster.Role]*formClient{roster.RoleOwner: newFormClient(t, e, api)},
		ids: map[roster.Role]int64{}}
	for _, r := range roster.Roles[1:] {
		c, id := e.Join(t, api, acct, r.String()+"@acme-corp.com", r.String())
		f.members[r], f.ids[r] = newFormClient(t, e, c), id
	}
	return f
}

func (f *teamFixture) path(rest string) string { return "/accounts/" + f.acct + rest }

// thWithoutScope finds header cells without a scope, and empty ones.
var (
	thRE      = regexp.MustCompile(`<th[ >]`)
	thScopeRE = regexp.MustCompile(`<th scope="(col|row)"`)
	thEmptyRE = regexp.MustCompile(`<th[^>]*>\s*</th>`)
)

// TestRoles_PageForEveryRole: every member, whatever the role, may read
// the role comparison; it describes the five roles, says Yes or No in
// words for every permission as the matrix has it, and marks the
// reader's own column "(you)".
func TestRoles_PageForEveryRole(t *testing.T) {
	f := newTeamFixture(t)
	for _, me := range roster.Roles {
		k := f.members[me]
		a := k.get(f.path("/team/roles"))
		a.want(t, me.String()+"'s roles page", 200, "<h1>Roles</h1>", "<caption>", `<th scope="col">Permission</th>`,
			fmt.Sprintf(`<th scope="col" data-role="%s" class="you">%s (you)</th>`, me, me.Label()),
			fmt.Sprintf(`<dt data-role="%s">%s <span class="you">(you)</span></dt>`, me, me.Label()))
		oneH1(t, "the roles page", a)
		if n := strings.Count(a.Body, "(you)"); n != 2 {
			t.Errorf("%s: (you) appears %d times, want 2 (the description and the column)", me, n)
		}
		for _, r := range roster.Roles {
			if !strings.Contains(a.Body, "<dd>"+html.EscapeString(r.Description())+"</dd>") {
				t.Errorf("%s: no description of %s", me, r)
			}
		}
		for _, p := range roster.AllPermissions {
			var row strings.Builder
			fmt.Fprintf(&row, `<tr data-permission="%s"><th scope="row">%s</th>`, p, p.Phrase())
			for _, r := range roster.Roles {
				if authz.Allowed(r, p) {
					row.WriteString(`<td class="yes">Yes</td>`)
				} else {
					row.WriteString(`<td class="no">No</td>`)
				}
			}
			if !strings.Contains(a.Body, row.String()+"</tr>") {
				t.Errorf("%s: the row of %s is not %s", me, p, row.String())
			}
		}
		if n, scoped := len(thRE.FindAllString(a.Body, -1)), len(thScopeRE.FindAllString(a.Body, -1)); n != scoped || n == 0 {
			t.Errorf("%s: %d header cells, %d with a scope", me, n, scoped)
		}
		if thEmptyRE.MatchString(a.Body) {
			t.Errorf("%s: an empty header cell: %s", me, thEmptyRE.FindString(a.Body))
		}
		// The overview links to it, and lists what the role may do in words.
		o := k.get(f.path(""))
		o.want(t, me.String()+"'s overview", 200, `href="`+f.path("/team/roles")+`"`)
		for _, p := range authz.Permissions(me) {
			if !strings.Contains(o.Body, "<li>"+p.Phrase()+"</li>") || strings.Contains(o.Body, "<code>"+p.String()+"</code>") {
				t.Errorf("%s's overview does not list %q in words", me, p.Phrase())
			}
		}
	}
	// The team page links to it.
	f.members[roster.RoleOwner].get(f.path("/team")).want(t, "team", 200, `id="roles-link"`, `href="`+f.path("/team/roles")+`"`)
	// Not a member: as any account page, not found.
	stranger, _ := f.e.SignUp(t, "sam@beta-corp.com", "Sam")
	newFormClient(t, f.e, stranger).get(f.path("/team/roles")).want(t, "a stranger's roles page", 404)
}

// TestInvite_FormOffersDescribedRolesDefaultingToSupport: the invite form
// offers every role but owner as a described radio button, Support
// checked; a refused invite keeps the choice; a sent one is named.
func TestInvite_FormOffersDescribedRolesDefaultingToSupport(t *testing.T) {
	e := servertest.New(t)
	api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	k := newFormClient(t, e, api)
	team := "/accounts/" + acct + "/team"
	a := k.get(team)
	a.want(t, "team", 200, `<fieldset class="choice" id="invite-role"`, "<legend>Role", `id="compare-roles"`,
		`href="/accounts/`+acct+`/team/roles"`)
	checked := regexp.MustCompile(`id="invite-role-(\w+)" name="role" value="\w+" required checked`).FindAllStringSubmatch(a.Body, -1)
	if len(checked) != 1 || checked[0][1] != roster.LeastPowerful.String() {
		t.Errorf("checked by default: %v, want only %s", checked, roster.LeastPowerful)
	}
	for _, r := range roster.Roles[1:] {
		a.want(t, "the "+r.String()+" choice", 200, fmt.Sprintf(`aria-describedby="invite-role-%s-hint"`, r),
			fmt.Sprintf(`<p class="muted field-note" id="invite-role-%s-hint">%s</p>`, r, html.EscapeString(r.Description())),
			fmt.Sprintf(`<label for="invite-role-%s">%s`, r, r.Label()))
	}
	if strings.Contains(a.Body, `id="invite-role-owner"`) || strings.Contains(a.Body, `name="role" value="owner"`) {
		t.Error("the invite form offers the owner role")
	}

	// Refused (a personal address): the choice made is kept.
	a = k.post(team+"/invite", url.Values{"email": {"bob@gmail.com"}, "role": {"developer"}})
	a.want(t, "refused invite", 422, `value="bob@gmail.com"`, `id="invite-email-error"`,
		`id="invite-role-developer" name="role" value="developer" required checked`)
	if strings.Contains(a.Body, `value="support" required checked`) {
		t.Error("after a refusal Support is checked again, not the developer chosen")
	}
	// The owner role, forced into the form: refused next to the roles.
	a = k.post(team+"/invite", url.Values{"email": {"cy@acme-corp.com"}, "role": {"owner"}})
	a.want(t, "invite as owner", 403, `id="invite-role-error" role="alert"`, "owner role")
	if n := api.Must(200, "GET", "/v1/accounts/"+acct+"/invitations", nil).Total(); n != 0 {
		t.Fatalf("refused invites made %d invitations", n)
	}

	a = k.post(team+"/invite", url.Values{"email": {"ada@acme-corp.com"}, "role": {"developer"}})
	if a.Status != 303 {
		t.Fatalf("invite: %d", a.Status)
	}
	k.get(team).want(t, "after the invite", 200, "Invitation sent to ada@acme-corp.com as Developer.",
		`data-invitation="ada@acme-corp.com"`, `<time datetime="`)
}

// TestTeam_RevokeGoesThroughConfirmation: the Team page's Revoke opens a
// confirmation that changes nothing; its form revokes, with a named
// message; a role without team.edit is refused both, and nothing changes.
func TestTeam_RevokeGoesThroughConfirmation(t *testing.T) {
	f := newAccessFixture(t)
	token, id := f.e.InviteToken(t, f.api, f.acct, "ada@acme-corp.com", "developer")
	confirm := f.path(fmt.Sprintf("/team/invitations/%d/revoke", id))

	f.owner.get(f.path("/team")).want(t, "team", 200, `href="`+confirm+`" data-revoke="ada@acme-corp.com"`)
	a := f.owner.get(confirm)
	a.want(t, "revoke confirmation", 200, "Revoke the invitation to ada@acme-corp.com?", "link stops working",
		"You can invite ada@acme-corp.com again", `action="`+confirm+`"`, `id="confirm-revoke"`, `href="`+f.path("/team")+`">Cancel`)
	oneH1(t, "the revoke confirmation", a)
	if n := f.invitations(t); n != 1 {
		t.Fatalf("the confirmation changed the invitations: %d pending", n)
	}
	f.owner.get("/invite/"+token).want(t, "the link after the confirmation", 200, "Join ")

	// A developer may neither see the confirmation nor revoke.
	f.dev.get(confirm).want(t, "developer's revoke confirmation", 403, "Managing the team needs one of these roles: Owner or Admin",
		"Your role in "+acctName+" is Developer", `data-ask="olga@acme-corp.com"`)
	f.dev.post(confirm, url.Values{}).want(t, "developer's revoke", 403)
	if n := f.invitations(t); n != 1 {
		t.Fatalf("a refused revoke changed the invitations: %d pending", n)
	}
	f.owner.get(f.path("/team/invitations/999999/revoke")).want(t, "no such invitation", 404)

	// The confirmation's form: revoked, named.
	f.owner.get(confirm)
	if a := f.owner.post(confirm, url.Values{}); a.Status != 303 || a.Header.Get("Location") != f.path("/team") {
		t.Fatalf("revoke: %d %s", a.Status, a.Header.Get("Location"))
	}
	f.owner.get(f.path("/team")).want(t, "after the revoke", 200, "Invitation to ada@acme-corp.com revoked.", `id="no-invitations"`,
		`No pending invitations. <a href="`+f.path("/team/invite")+`" data-dialog="invite-dialog">Invite people</a>`)
	if n := f.invitations(t); n != 0 {
		t.Errorf("after the revoke %d invitations pending", n)
	}
	f.owner.get("/invite/"+token).want(t, "the revoked link", 410, `data-state="revoked"`, "was revoked")
	// Again: nothing left to revoke.
	f.owner.post(confirm, url.Values{}).want(t, "revoking twice", 404, "No such pending invitation")
}

// TestTeam_NamedMessagesAndEmptyStates: the caller is marked "(you)",
// every team action names whom it changed, and empty lists say what to do.
func TestTeam_NamedMessagesAndEmptyStates(t *testing.T) {
	e := servertest.New(t)
	api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	k := newFormClient(t, e, api)
	team := "/accounts/" + acct + "/team"

	// Standard plan, alone: why there is no team, and no invite form.
	a := k.get(team)
	a.want(t, "standard plan", 200, `id="plan-notice"`, `id="only-member"`, "You are the only member of "+acctName,
		"Team members need the committed monthly spend plan", `<span class="you" id="me">(you)</span>`, `id="no-invitations"`)
	if strings.Contains(a.Body, `id="invite-form"`) || strings.Contains(a.Body, `id="invite-open"`) || strings.Contains(a.Body, `id="invite-dialog"`) {
		t.Error("a standard account's Team page offers to invite")
	}

	// Committed, alone: pointed to the form.
	e.Commit(t, acct)
	k.get(team).want(t, "committed, alone", 200, `id="invite-form"`, `id="invite-dialog"`,
		"You are the only member of "+acctName+`. <a href="`+team+`/invite" data-dialog="invite-dialog">Invite people to join you.</a>`,
		`No pending invitations. <a href="`+team+`/invite" data-dialog="invite-dialog">Invite people</a>`)

	_, devID := e.Join(t, api, acct, "dev@acme-corp.com", "developer")
	a = k.get(team)
	if strings.Contains(a.Body, `id="only-member"`) || strings.Count(a.Body, "(you)") != 1 {
		t.Errorf("with two members: only-member shown or (you) %d times", strings.Count(a.Body, "(you)"))
	}
	if !regexp.MustCompile(`Olga Owner <span class="you" id="me">\(you\)</span></td><td class="address">olga@acme-corp.com`).MatchString(a.Body) {
		t.Error("(you) is not next to the owner")
	}
	if a := k.post(fmt.Sprintf("%s/members/%d/role", team, devID), url.Values{"role": {"support"}}); a.Status != 303 {
		t.Fatalf("role change: %d", a.Status)
	}
	k.get(team).want(t, "after the role change", 200, "Role changed: Invitee (dev@acme-corp.com) is now Support.")

	_, id := e.InviteToken(t, api, acct, "ada@acme-corp.com", "support")
	if a := k.post(fmt.Sprintf("%s/invitations/%d/role", team, id), url.Values{"role": {"finance_analyst"}}); a.Status != 303 {
		t.Fatalf("invitation role change: %d", a.Status)
	}
	k.get(team).want(t, "after the invitation's role change", 200, "Role changed: the invitation to ada@acme-corp.com is now for Finance analyst.")
	// Sent moments ago: a resend is refused, in words, on the Team page.
	k.post(fmt.Sprintf("%s/invitations/%d/resend", team, id), url.Values{}).want(t, "resend too soon", 429, `id="team-error"`, "moments ago")
}

// TestLeave_GoesThroughConfirmation: Leave opens a confirmation that says
// what leaving does and changes nothing; its form leaves, and the API
// keys for the account go with the membership.
func TestLeave_GoesThroughConfirmation(t *testing.T) {
	f := newAccessFixture(t)
	devAPI := f.dev.c
	devAPI.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": f.acct, "name": "ci"})
	leave := f.path("/leave")

	o := f.dev.get(f.path(""))
	o.want(t, "developer's overview", 200, `href="`+leave+`" id="leave-link"`, "<li>View phone numbers</li>")
	if strings.Contains(o.Body, `action="`+leave+`"`) || strings.Contains(o.Body, "<code>numbers.view</code>") {
		t.Error("the overview leaves on one click, or lists permission names instead of words")
	}
	a := f.dev.get(leave)
	a.want(t, "leave confirmation", 200, "Leave "+acctName+"?", "You lose access to "+acctName+" at once.",
		"your API keys for "+acctName+" are deleted", "must invite you again", `action="`+leave+`"`, `id="confirm-leave"`,
		`href="`+f.path("")+`">Cancel`)
	oneH1(t, "the leave confirmation", a)
	if r := f.roles(t)["dev@acme-corp.com"]; r != "developer" {
		t.Fatalf("the confirmation changed the membership: %q", r)
	}
	if n := devAPI.Must(200, "GET", "/v1/me/api-keys", nil).Total(); n != 1 {
		t.Fatalf("the confirmation changed the keys: %d", n)
	}

	// The owner cannot leave: neither page nor form.
	f.owner.get(leave).want(t, "owner's leave confirmation", 403, "The owner cannot leave")
	if strings.Contains(f.owner.get(f.path("")).Body, `id="leave-link"`) {
		t.Error("the owner's overview offers to leave")
	}

	// The confirmation's form leaves, as the one-click form did.
	f.dev.get(leave)
	if a := f.dev.post(leave, url.Values{}); a.Status != 303 || a.Header.Get("Location") != "/accounts" {
		t.Fatalf("leave: %d %s", a.Status, a.Header.Get("Location"))
	}
	f.dev.get("/accounts").want(t, "after leaving", 200, "You left "+acctName+".")
	f.dev.get(f.path("")).want(t, "the account after leaving", 404)
	if _, ok := f.roles(t)["dev@acme-corp.com"]; ok {
		t.Error("still a member after leaving")
	}
	if n := devAPI.Must(200, "GET", "/v1/me/api-keys", nil).Total(); n != 0 {
		t.Errorf("after leaving %d API keys remain", n)
	}
}

// TestForbidden_SaysWhatThePageNeedsAndWhomToAsk: a refusal says in words
// what the page needs and which roles have it, names the active owner and
// admins (owner first) by name and address, and links back.
func TestForbidden_SaysWhatThePageNeedsAndWhomToAsk(t *testing.T) {
	f := newTeamFixture(t)
	dev := f.members[roster.RoleDeveloper]
	a := dev.get(f.path("/billing"))
	a.want(t, "developer's billing", 403,
		"Viewing payments and billing needs one of these roles: Owner, Admin, Finance analyst or Support. Your role in "+acctName+" is Developer.",
		`<code>billing.view</code>`, `data-ask="olga@acme-corp.com">Olga Owner (<a href="mailto:olga@acme-corp.com">`,
		`data-ask="admin@acme-corp.com">Invitee (<a href="mailto:admin@acme-corp.com">`,
		`href="`+f.path("")+`" id="back-to-account"`, `href="/accounts">Go to Manage Accounts`, `href="`+f.path("/team/roles")+`"`)
	oneH1(t, "the 403 page", a)
	if strings.Index(a.Body, `data-ask="olga@`) > strings.Index(a.Body, `data-ask="admin@`) {
		t.Error("the owner is not named first")
	}
	for _, r := range []roster.Role{roster.RoleDeveloper, roster.RoleFinanceAnalyst, roster.RoleSupport} {
		if strings.Contains(a.Body, `data-ask="`+r.String()+"@") {
			t.Errorf("the 403 page names the %s to ask", r)
		}
	}
	// The same for a refused form: and nothing changed.
	f.members[roster.RoleSupport].get(f.path("/credentials")).want(t, "support's credentials", 403,
		"Viewing account credentials needs one of these roles: Owner, Admin or Developer. Your role in "+acctName+" is Support.")
	fin := f.members[roster.RoleFinanceAnalyst]
	fin.get(f.path(""))
	fin.post(f.path("/numbers"), url.Values{"number": {"+14155550100"}}).want(t, "finance adding a number", 403,
		"Editing phone numbers needs one of these roles: Owner, Admin or Developer.", `data-ask="olga@acme-corp.com"`)
	if n := f.api.Must(200, "GET", "/v1/accounts/"+f.acct+"/numbers", nil).Total(); n != 0 {
		t.Errorf("a refused form added %d numbers", n)
	}

	// Suspended (the account left the committed plan): said so, and the
	// owner, the only active member, is the one to ask.
	f.e.Operator(t).Must(200, "PUT", "/v1/admin/accounts/"+f.acct+"/plan", map[string]any{"plan": "standard"})
	a = dev.get(f.path("/numbers"))
	a.want(t, "suspended developer's numbers", 403, "Your access to "+acctName+" is suspended",
		"Viewing phone numbers comes back with your Developer role", `data-ask="olga@acme-corp.com"`, "Ask the owner of "+acctName+" about its plan",
		`id="back-to-account"`)
	if strings.Contains(a.Body, `data-ask="admin@`) {
		t.Error("a suspended admin is named to ask")
	}
	oneH1(t, "the suspended 403 page", a)
	// What the roles mean stays open to a suspended member.
	dev.get(f.path("/team/roles")).want(t, "suspended developer's roles page", 200, `id="roles-suspended"`,
		`<th scope="col" data-role="developer" class="you">Developer (you)</th>`)
}

// TestInvite_LinksThatNoLongerWorkSayWhatHappened: an accepted, revoked,
// replaced, expired or unknown link answers 410 with what became of it
// and what to do next.
func TestInvite_LinksThatNoLongerWorkSayWhatHappened(t *testing.T) {
	f := newAccessFixture(t)
	anon := newFormClient(t, f.e, f.e.Client(t))

	// Accepted: a member is sent to the account, anyone else to log in.
	accepted, _ := f.e.InviteToken(t, f.api, f.acct, "ada@acme-corp.com", "support")
	ada := f.e.Client(t)
	ada.Must(201, "POST", "/v1/signup", map[string]string{"password": servertest.Password, "name": "Ada", "invitation_token": accepted})
	a := newFormClient(t, f.e, ada).get("/invite/" + accepted)
	a.want(t, "accepted, as its member", 410, `data-state="accepted"`, "This invitation was accepted already",
		"You are a member of "+acctName+" already.", `href="`+f.path("")+`" id="invite-next-link">Go to `+acctName)
	oneH1(t, "the accepted link", a)
	a = anon.get("/invite/" + accepted)
	a.want(t, "accepted, logged out", 410, `data-state="accepted"`, `href="/login" id="invite-next-link">Log in`)
	if strings.Contains(a.Body, f.acct) {
		t.Error("the accepted link shows the account's ID to someone not logged in")
	}
	sam, _ := f.e.SignUp(t, "sam@beta-corp.com", "Sam")
	newFormClient(t, f.e, sam).get("/invite/"+accepted).want(t, "accepted, as someone else", 410,
		"You are logged in as sam@beta-corp.com, which is not a member", `href="/accounts" id="invite-next-link"`)

	// Revoked.
	revoked, id := f.e.InviteToken(t, f.api, f.acct, "bo@acme-corp.com", "support")
	f.api.Must(204, "DELETE", fmt.Sprintf("/v1/accounts/%s/invitations/%d", f.acct, id), nil)
	anon.get("/invite/"+revoked).want(t, "revoked", 410, `data-state="revoked"`, "This invitation was withdrawn",
		"ask the person who invited you to send a new invitation")

	// Unknown, as a link a resend replaced is.
	a = anon.get("/invite/not-a-token")
	a.want(t, "unknown", 410, `data-state="unknown"`, "This invitation link is not valid", "most recent invitation mail")
	oneH1(t, "the unknown link", a)

	// Accepting or signing up with a dead link says the same.
	anon.post("/invite/"+revoked+"/signup", url.Values{"name": {"Bo"}, "password": {servertest.Password}}).
		want(t, "signing up with a revoked link", 410, `data-state="revoked"`)
	if canLogIn(t, f.e, "bo@acme-corp.com", servertest.Password) {
		t.Error("a revoked link made a login")
	}
	f.dev.get(f.path(""))
	f.dev.post("/invite/"+accepted+"/accept", url.Values{}).want(t, "accepting an accepted link", 410, `data-state="accepted"`)

	// Expired: invitations that last a nanosecond.
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.InviteTTL = time.Nanosecond }})
	api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	expired, _ := e.InviteToken(t, api, acct, "cy@acme-corp.com", "support")
	a = newFormClient(t, e, e.Client(t)).get("/invite/" + expired)
	a.want(t, "expired", 410, `data-state="expired"`, "This invitation expired", "expired on ", "send it again")
	oneH1(t, "the expired link", a)
}

// TestConsole_TeamInChromium: the owner invites through the form (Support
// checked until Developer is chosen), revokes through the confirmation
// and reads the roles page; a developer leaves through the confirmation.
func TestConsole_TeamInChromium(t *testing.T) {
	browser := newBrowser(t)
	f := newAccessFixture(t)
	owner := newTab(t, browser, f.e.URL, "owner")
	owner.login("olga@acme-corp.com")

	owner.open(f.path("/team"))
	var support bool
	owner.eval(`document.querySelector('#invite-role-support').checked && document.querySelectorAll('#invite-role input:checked').length === 1`, &support)
	if !support {
		t.Error("Support is not the only role checked by default")
	}
	owner.openInvite()
	owner.fill("#invite-email", "ada@acme-corp.com")
	owner.run("choose Developer", chromedp.Click(chromedp.CSS("label[for='invite-role-developer']")))
	owner.screenshot("30-invite-roles")
	owner.submit("#invite-form button.primary")
	if got := owner.text(".notice"); got != "Invitation sent to ada@acme-corp.com as Developer." {
		t.Errorf("after the invite: %q", got)
	}

	// Revoke through the confirmation.
	owner.rowMenu("ada@acme-corp.com")
	owner.submit("a[data-revoke='ada@acme-corp.com']")
	if !strings.HasSuffix(owner.path(), "/revoke") || !strings.Contains(owner.text("main"), "link stops working") {
		t.Fatalf("Revoke did not show the confirmation: %s", owner.location())
	}
	owner.screenshot("31-revoke-confirm")
	owner.submit("#confirm-revoke")
	if got := owner.text(".notice"); got != "Invitation to ada@acme-corp.com revoked." {
		t.Errorf("after the revoke: %q", got)
	}
	if !strings.Contains(owner.text("#no-invitations"), "No pending invitations") {
		t.Errorf("invitations after the revoke: %s", owner.text("#invitations"))
	}

	// The roles page, from the Team page.
	owner.submit("#roles-link")
	var you []string
	owner.eval(`[...document.querySelectorAll('#roles-matrix thead th.you')].map(th => th.textContent)`, &you)
	if owner.path() != f.path("/team/roles") || strings.Join(you, "|") != "Owner (you)" {
		t.Errorf("roles page: %s, marked (you): %q", owner.location(), you)
	}
	var cells []string
	owner.eval(`[...document.querySelectorAll('#roles-matrix tr[data-permission="billing.view"] td')].map(td => td.textContent)`, &cells)
	if strings.Join(cells, " ") != "Yes Yes No Yes Yes" {
		t.Errorf("billing.view by role: %v", cells)
	}
	owner.screenshot("32-roles")

	// A developer leaves through the confirmation.
	dev := newTab(t, browser, f.e.URL, "developer")
	dev.login("dev@acme-corp.com")
	dev.open(f.path(""))
	dev.submit("#leave-link")
	if !strings.Contains(dev.text("main"), "You lose access to") {
		t.Fatalf("Leave did not show the confirmation: %s", dev.location())
	}
	dev.screenshot("33-leave-confirm")
	dev.submit("#confirm-leave")
	if dev.path() != "/accounts" || !strings.HasPrefix(dev.text(".notice"), "You left ") {
		t.Errorf("after leaving: %s %q", dev.location(), dev.text("main"))
	}
	if st := dev.open(f.path("")); st != 404 {
		t.Errorf("the account after leaving: %d", st)
	}
}
