package console_test

import (
	"encoding/csv"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// auditFixture is a committed account where things happened: Olga (the
// owner) made Ada Lovelace an admin and invited cy@ as support; Ada
// viewed the credentials; "=SUM(1+1)" (a name a spreadsheet would run)
// joined as support; Bob, a developer, holds no audit.view.
type auditFixture struct {
	e          *servertest.Env
	acct       string
	api        *servertest.Client // the owner's
	owner, dev *formClient
	ada        *servertest.Client
	adaID      int64
	evilID     int64
	olgaID     int64
}

// joinNamed invites email with role and signs them up from the link under
// name; it returns their client and user ID.
func joinNamed(t *testing.T, e *servertest.Env, admin *servertest.Client, acct, email, name, role string) (*servertest.Client, int64) {
	t.Helper()
	token, _ := e.InviteToken(t, admin, acct, email, role)
	c := e.Client(t)
	r := c.Must(201, "POST", "/v1/signup", map[string]string{"password": servertest.Password, "name": name, "invitation_token": token})
	return c, int64(r.JSON["user"].(map[string]any)["id"].(float64))
}

func newAuditFixture(t *testing.T) *auditFixture {
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.WebhookAllowPrivate = true }})
	api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	f := &auditFixture{e: e, acct: acct, api: api}
	f.olgaID = int64(api.Must(200, "GET", "/v1/me", nil).JSON["id"].(float64))
	f.ada, f.adaID = joinNamed(t, e, api, acct, "ada@acme-corp.com", "Ada Lovelace", "developer")
	dev, _ := joinNamed(t, e, api, acct, "bob@acme-corp.com", "Bob Builder", "developer")
	_, f.evilID = joinNamed(t, e, api, acct, "eve@acme-corp.com", "=SUM(1+1)", "support")
	api.Must(200, "PATCH", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, f.adaID), map[string]string{"role": "admin"})
	api.Must(201, "POST", "/v1/accounts/"+acct+"/invitations", map[string]string{"email": "cy@acme-corp.com", "role": "support"})
	f.ada.Must(200, "GET", "/v1/accounts/"+acct+"/credentials", nil)
	f.owner, f.dev = newFormClient(t, e, api), newFormClient(t, e, dev)
	return f
}

func (f *auditFixture) path(rest string) string { return "/accounts/" + f.acct + rest }

// total is how many audit events the account has, over the API.
func (f *auditFixture) total(t *testing.T) int {
	t.Helper()
	return f.api.Must(200, "GET", "/v1/accounts/"+f.acct+"/audit?limit=1", nil).Total()
}

type auditLine struct{ action, actor, text string }

var auditRowRE = regexp.MustCompile(`(?s)<tr data-audit="\d+" data-action="([^"]+)">.*?data-actor="([^"]*)">(.*?)</tr>`)
var tagRE = regexp.MustCompile(`<[^>]+>`)

// auditLines reads the rows of an audit page: action, actor, and the
// row's text (tags stripped, entities decoded).
func auditLines(body string) []auditLine {
	var out []auditLine
	for _, m := range auditRowRE.FindAllStringSubmatch(body, -1) {
		text := html.UnescapeString(tagRE.ReplaceAllString(m[3], " "))
		out = append(out, auditLine{m[1], m[2], strings.Join(strings.Fields(text), " ")})
	}
	return out
}

func findLine(lines []auditLine, action string) (auditLine, bool) {
	for _, l := range lines {
		if l.action == action {
			return l, true
		}
	}
	return auditLine{}, false
}

func TestAudit_PageSaysWhoDidWhatInWords(t *testing.T) {
	f := newAuditFixture(t)
	a := f.owner.get(f.path("/audit"))
	a.want(t, "audit log", 200, "<h1>Audit Log</h1>", `<label for="audit-actor">`, `<label for="audit-action">`,
		`<time datetime="`, `title="`, `href="`+f.path("/audit.csv")+`"`)
	oneH1(t, "the audit log", a)
	lines := auditLines(a.Body)
	if len(lines) < 8 {
		t.Fatalf("the log shows %d rows: %s", len(lines), a.Body)
	}
	for _, c := range []struct{ action, actor, words string }{
		{"member.role", "olga@acme-corp.com", "Olga Owner (you) olga@acme-corp.com changed Ada Lovelace's role from Developer to Admin"},
		{"invitation.create", "olga@acme-corp.com", "invited cy@acme-corp.com as Support"},
		{"credentials.view", "ada@acme-corp.com", "Ada Lovelace ada@acme-corp.com viewed the credentials"},
		{"invitation.accept", "eve@acme-corp.com", "=SUM(1+1) eve@acme-corp.com accepted the invitation and joined as Support"},
		{"account.plan", "operator", "operator moved the account to the committed plan ($1000 a month for 12 months)"},
	} {
		l, ok := findLine(lines, c.action)
		if !ok {
			t.Errorf("no %s row", c.action)
			continue
		}
		if l.actor != c.actor || !strings.Contains(l.text, c.words) {
			t.Errorf("%s row: actor %q, text %q; want %q saying %q", c.action, l.actor, l.text, c.actor, c.words)
		}
	}
	// "(you)" only on the viewer's own rows.
	if l, _ := findLine(lines, "credentials.view"); strings.Contains(l.text, "(you)") {
		t.Errorf("Ada's row says (you) to Olga: %q", l.text)
	}
	// The person filter offers the members by name, the operator too, and
	// the action filter every action in words.
	a.want(t, "filter choices", 200, fmt.Sprintf(`<option value="%d" >Ada Lovelace (ada@acme-corp.com)</option>`, f.adaID),
		fmt.Sprintf(`<option value="%d" >Olga Owner (olga@acme-corp.com) (you)</option>`, f.olgaID),
		`<option value="operator" >operator</option>`, `<option value="member.role" >Changed a member&#39;s role</option>`,
		`<option value="credentials.view" >Viewed the credentials</option>`)
}

func TestAudit_FiltersNarrowTheListAndKeepTheirChoice(t *testing.T) {
	f := newAuditFixture(t)
	all := auditLines(f.owner.get(f.path("/audit")).Body)
	ada := fmt.Sprint(f.adaID)
	for _, c := range []struct {
		name, query string
		want        func(l auditLine) bool
		selected    []string
	}{
		{"none", "", func(auditLine) bool { return true }, nil},
		{"by person", "?actor=" + ada, func(l auditLine) bool { return l.actor == "ada@acme-corp.com" },
			[]string{`<option value="` + ada + `" selected>`}},
		{"by action", "?action=credentials.view", func(l auditLine) bool { return l.action == "credentials.view" },
			[]string{`<option value="credentials.view" selected>`}},
		{"both", "?action=credentials.view&actor=" + ada, func(l auditLine) bool {
			return l.actor == "ada@acme-corp.com" && l.action == "credentials.view"
		}, []string{`<option value="` + ada + `" selected>`, `<option value="credentials.view" selected>`}},
		{"the operator", "?actor=operator", func(l auditLine) bool { return l.actor == "operator" },
			[]string{`<option value="operator" selected>`}},
	} {
		a := f.owner.get(f.path("/audit" + c.query))
		a.want(t, c.name, 200, c.selected...)
		got := auditLines(a.Body)
		var want int
		for _, l := range all {
			if c.want(l) {
				want++
			}
		}
		if len(got) != want || want == 0 {
			t.Errorf("%s: %d rows, want %d (of %d)", c.name, len(got), want, len(all))
		}
		for _, l := range got {
			if !c.want(l) {
				t.Errorf("%s: a row that does not match: %+v", c.name, l)
			}
		}
		if c.query != "" {
			a.want(t, c.name, 200, `id="audit-clear"`, `href="`+html.EscapeString(f.path("/audit.csv")+c.query)+`"`)
		}
	}

	// Filters that match nothing say so, with a way back.
	a := f.owner.get(f.path("/audit?actor=" + ada + "&action=account.plan"))
	a.want(t, "no match", 200, `id="audit-empty"`, "No entries match these filters.", `<a href="`+f.path("/audit")+`">Clear filters</a>`)
	if n := len(auditLines(a.Body)); n != 0 {
		t.Errorf("no match shows %d rows", n)
	}
	f.owner.get(f.path("/audit?actor=nobody@elsewhere.example")).want(t, "unknown person", 200, "No entries match these filters.")

	// An unknown action is refused at its select; the rest of the log shows.
	a = f.owner.get(f.path("/audit?action=account.explode"))
	a.want(t, "Unknown action", 400, `id="audit-action-error" role="alert"`, `aria-invalid="true"`, "Unknown action")
	if n := len(auditLines(a.Body)); n != len(all) {
		t.Errorf("after an unknown action the log shows %d rows, want %d", n, len(all))
	}
}

func TestAudit_PagesOfFifty(t *testing.T) {
	f := newAuditFixture(t)
	for range 50 {
		f.ada.Must(200, "GET", "/v1/accounts/"+f.acct+"/credentials", nil)
	}
	total := f.total(t)
	a := f.owner.get(f.path("/audit"))
	older := f.path("/audit?page=2")
	a.want(t, "first page", 200, fmt.Sprintf("1–50 of %d entries", total), `href="`+older+`"`)
	if n := len(auditLines(a.Body)); n != 50 {
		t.Errorf("the first page has %d rows", n)
	}
	a = f.owner.get(older)
	a.want(t, "second page", 200, fmt.Sprintf("51–%d of %d", total, total), `id="audit-newer"`)
	if n := len(auditLines(a.Body)); n != total-50 {
		t.Errorf("the second page has %d rows, want %d", n, total-50)
	}
	// The filter travels with the pages.
	a = f.owner.get(f.path("/audit?action=credentials.view"))
	a.want(t, "filtered first page", 200, "1–50 of 51 entries matching the filters", `href="`+html.EscapeString(f.path("/audit?action=credentials.view&page=2"))+`"`)
	if l := auditLines(f.owner.get(f.path("/audit?action=credentials.view&page=2")).Body); len(l) != 1 || l[0].action != "credentials.view" {
		t.Errorf("filtered second page: %+v", l)
	}
}

func TestAudit_CSVExport(t *testing.T) {
	f := newAuditFixture(t)
	read := func(query string) [][]string {
		t.Helper()
		c := f.owner.get(f.path("/audit.csv" + query))
		if c.Status != 200 || !strings.HasPrefix(c.Header.Get("Content-Type"), "text/csv") ||
			c.Header.Get("Content-Disposition") != `attachment; filename="audit-`+f.acct+`.csv"` {
			t.Fatalf("csv%s: %d %q %q", query, c.Status, c.Header.Get("Content-Type"), c.Header.Get("Content-Disposition"))
		}
		recs, err := csv.NewReader(strings.NewReader(c.Body)).ReadAll()
		if err != nil {
			t.Fatalf("csv%s: %v", query, err)
		}
		if strings.Join(recs[0], ",") != "time,actor_name,actor_email,action,action_words,subject,detail,ip" {
			t.Errorf("header: %v", recs[0])
		}
		return recs[1:]
	}
	all := read("")
	if len(all) != f.total(t) {
		t.Errorf("the export has %d rows, the log %d", len(all), f.total(t))
	}
	roles := read("?action=member.role")
	if len(roles) != 1 {
		t.Fatalf("role changes: %v", roles)
	}
	r := roles[0]
	if at, err := time.Parse(time.RFC3339, r[0]); err != nil || !strings.HasSuffix(r[0], "Z") || time.Since(at) > time.Hour {
		t.Errorf("time %q: %v", r[0], err)
	}
	want := []string{"Olga Owner", "olga@acme-corp.com", "member.role", "changed Ada Lovelace's role from Developer to Admin",
		"Ada Lovelace <ada@acme-corp.com>", "developer -> admin", "127.0.0.1"}
	if strings.Join(r[1:], "|") != strings.Join(want, "|") {
		t.Errorf("role change row %v, want %v", r[1:], want)
	}
	// Person and action together; the formula-looking name is guarded.
	eve := read(fmt.Sprintf("?actor=%d&action=invitation.accept", f.evilID))
	if len(eve) != 1 || eve[0][1] != "'=SUM(1+1)" || eve[0][2] != "eve@acme-corp.com" {
		t.Errorf("eve's rows: %v", eve)
	}
	for _, row := range all {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("an unguarded cell %q in %v", cell, row)
			}
		}
	}
	if got := read("?actor=nobody@elsewhere.example"); len(got) != 0 {
		t.Errorf("no one's rows: %v", got)
	}
	f.owner.get(f.path("/audit.csv?action=account.explode")).want(t, "csv of an unknown action", 400)
}

func TestAudit_NeedsAuditView(t *testing.T) {
	f := newAuditFixture(t)
	before := f.total(t)
	f.dev.get(f.path("/audit")).want(t, "developer's audit log", 403, "audit.view")
	c := f.dev.get(f.path("/audit.csv"))
	c.want(t, "developer's csv", 403, "audit.view")
	if strings.HasPrefix(c.Header.Get("Content-Type"), "text/csv") || strings.Contains(c.Body, "member.role") || strings.Contains(c.Body, "from Developer to Admin") {
		// (Ada, an admin, is named on the 403 page on purpose: whom to ask.)
		t.Errorf("the refused export leaks the log: %q", c.Header.Get("Content-Type"))
	}
	f.dev.get(f.path("/audit.csv?action=member.role")).want(t, "developer's filtered csv", 403)
	if f.dev.get(f.path("")).Status != 200 || strings.Contains(f.dev.get(f.path("")).Body, f.path("/audit")) {
		t.Error("the developer's menu links the audit log")
	}
	if n := f.total(t); n != before {
		t.Errorf("refusals wrote %d audit events", n-before)
	}
}

func TestAudit_EmptyStates(t *testing.T) {
	f := newAuditFixture(t)

	// Manage Accounts, for someone in no account: how to make one, how to join one.
	joiner, _ := joinNamed(t, f.e, f.api, f.acct, "lee@acme-corp.com", "Lee Leaver", "support")
	joiner.Must(204, "DELETE", "/v1/accounts/"+f.acct+"/members/me", nil)
	k := newFormClient(t, f.e, joiner)
	a := k.get("/accounts")
	a.want(t, "no accounts", 200, `id="no-accounts"`, "You are not in any account yet", "Create an account of your own",
		"invitation link", "lee@acme-corp.com")
	if strings.Contains(a.Body, "<thead>") {
		t.Error("Manage Accounts with no account still shows a table")
	}
	f.owner.get("/accounts").want(t, "accounts", 200, `data-account="`+f.acct+`"`)
	if strings.Contains(f.owner.get("/accounts").Body, `id="no-accounts"`) {
		t.Error("the owner is told they are in no account")
	}

	// Logs: none yet, and filter-aware.
	f.owner.get(f.path("/logs")).want(t, "no logs", 200, `id="logs-empty"`, "No calls or messages logged yet")
	f.owner.get(f.path("/logs?kind=call")).want(t, "no calls", 200, "No calls logged yet.", `id="logs-clear"`, "Show calls and messages")
	f.owner.get(f.path("/logs?kind=message")).want(t, "no messages", 200, "No messages logged yet.")
	f.owner.get(f.path("/logs?kind=fax")).want(t, "unknown kind", 400, `id="kind-error" role="alert"`, `aria-invalid="true"`, "No calls or messages logged yet")

	// Webhooks and a new webhook's deliveries.
	f.owner.get(f.path("/webhooks")).want(t, "no webhooks", 200, `id="webhooks-empty"`, "No webhooks yet: add one below")
	wh := f.api.Must(201, "POST", "/v1/accounts/"+f.acct+"/webhooks", map[string]any{"url": "http://127.0.0.1:9/in", "events": []string{"credentials.rotated"}})
	f.owner.get(f.path(fmt.Sprintf("/webhooks/%v/deliveries", wh.JSON["id"]))).want(t, "no deliveries", 200,
		`id="deliveries-empty"`, "No deliveries yet", `title="credentials.rotated"`)

	// Sessions: the only one says so.
	f.owner.get("/profile").want(t, "one session", 200, `id="sessions-only"`, "the only place your login is signed in")
}

func TestAudit_YouInLists(t *testing.T) {
	f := newAuditFixture(t)
	a := f.owner.get(f.path("/team/access"))
	a.want(t, "access review", 200, `<span class="muted" data-you>(you)</span><br><span class="muted">olga@acme-corp.com</span>`)
	if n := strings.Count(a.Body, "data-you"); n != 1 {
		t.Errorf("the access review says (you) %d times", n)
	}
	a = f.owner.get(f.path("/settings"))
	a.want(t, "settings", 200, `Olga Owner <span class="muted" data-you>(you)</span>`, `data-member="ada@acme-corp.com"`)
	if n := strings.Count(a.Body, "data-you"); n != 1 {
		t.Errorf("the settings say (you) %d times", n)
	}
}

func TestAudit_SavedSettingsNameTheAccount(t *testing.T) {
	f := newAuditFixture(t)
	f.owner.get(f.path("/settings"))
	a := f.owner.post(f.path("/settings"), url.Values{"name": {"Acme Corp"}, "company": {"Acme"}, "address": {""}, "timezone": {"Europe/Paris"}})
	if a.Status != 303 {
		t.Fatalf("save: %d", a.Status)
	}
	f.owner.get(f.path("/settings")).want(t, "after saving", 200, "Saved Acme Corp&#39;s settings.")
}

// TestAudit_FilterInChromium: the owner filters the log by a person and
// sees only their entries, each time with its exact time on hover.
func TestAudit_FilterInChromium(t *testing.T) {
	browser := newBrowser(t)
	f := newAuditFixture(t)
	owner := newTab(t, browser, f.e.URL, "owner")
	owner.login("olga@acme-corp.com")

	if st := owner.open(f.path("/audit")); st != 200 {
		t.Fatalf("audit log: %d", st)
	}
	var actors []string
	owner.eval(`[...new Set([...document.querySelectorAll('#audit tbody th[data-actor]')].map(c => c.dataset.actor))]`, &actors)
	if len(actors) < 3 {
		t.Errorf("the unfiltered log shows %v", actors)
	}
	owner.fill("#audit-actor", fmt.Sprint(f.adaID))
	owner.submit("#audit-filter button[type=submit]")
	if !strings.Contains(owner.location(), fmt.Sprintf("actor=%d", f.adaID)) {
		t.Errorf("filter: %s", owner.location())
	}
	owner.eval(`[...document.querySelectorAll('#audit tbody th[data-actor]')].map(c => c.dataset.actor)`, &actors)
	if len(actors) == 0 {
		t.Fatal("no rows for Ada")
	}
	for _, a := range actors {
		if a != "ada@acme-corp.com" {
			t.Errorf("a row by %s in Ada's entries", a)
		}
	}
	if !strings.Contains(owner.text("#audit"), "viewed the credentials") {
		t.Errorf("Ada's entries: %s", owner.text("#audit"))
	}
	var selected []string
	owner.eval(`[document.querySelector('#audit-actor').selectedOptions[0].textContent]`, &selected)
	if len(selected) != 1 || selected[0] != "Ada Lovelace (ada@acme-corp.com)" {
		t.Errorf("the person filter shows %q", selected)
	}
	var titles []string
	owner.eval(`[...document.querySelectorAll('#audit tbody time')].map(t => t.title)`, &titles)
	exact := regexp.MustCompile(`^\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2} UTC$`)
	if len(titles) != len(actors) {
		t.Errorf("%d rows, %d times", len(actors), len(titles))
	}
	for _, ti := range titles {
		if !exact.MatchString(ti) {
			t.Errorf("a time's hover title is %q", ti)
		}
	}
	owner.screenshot("30-audit-filtered")
}
