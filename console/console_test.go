package console_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/mail/mailtest"
	"github.com/rosterhq/roster/server/servertest"
)

// chromiumPath finds Debian's Chromium, or skips the browser tests.
func chromiumPath(t *testing.T) string {
	for _, p := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Skip("no Chromium on this machine: the browser tests need Debian's chromium package (.ci/run installs it)")
	return ""
}

// newBrowser starts one headless Chromium for the test.
func newBrowser(t *testing.T) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	browser, cancel2 := chromedp.NewContext(alloc)
	t.Cleanup(cancel2)
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return browser
}

// tab is one person: a browser context of its own (its own cookies).
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	name string
}

func newTab(t *testing.T, browser context.Context, base, name string) *tab {
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first action opens the tab and ties it to the context it runs
	// with: run it on the tab's own context, not one with a timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return &tab{t: t, ctx: ctx, base: base, name: name}
}

func (b *tab) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %s: %v (at %s)", b.name, what, err, b.location())
	}
}

// open loads a page and returns its HTTP status.
func (b *tab) open(path string) int {
	b.t.Helper()
	b.run("open "+path, chromedp.Navigate(b.base+path))
	return b.status()
}

// status is the HTTP status of the page shown, from the Navigation Timing API.
func (b *tab) status() int {
	b.t.Helper()
	st, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`performance.getEntriesByType('navigation')[0].responseStatus`))
	if err != nil {
		b.t.Fatalf("%s: status: %v", b.name, err)
	}
	return st
}

// submit clicks a button or link and waits for the page it leads to.
func (b *tab) submit(sel string) int {
	b.t.Helper()
	b.run("mark page", chromedp.Evaluate[chromedp.Void](`window.__before = true`))
	b.run("click "+sel, chromedp.Click(chromedp.CSS(sel)))
	deadline := time.Now().Add(20 * time.Second)
	for {
		done, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!window.__before && document.readyState === 'complete'`))
		if err == nil && done {
			return b.status()
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: clicking %s led nowhere (at %s)", b.name, sel, b.location())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *tab) fill(sel, value string) {
	b.t.Helper()
	b.run("fill "+sel, chromedp.SetValue(chromedp.CSS(sel), value))
}

func (b *tab) location() string {
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	return loc
}

func (b *tab) path() string {
	u, _ := url.Parse(b.location())
	return u.Path
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("%s: text of %s: %v (at %s)", b.name, sel, err, b.location())
	}
	return s
}

func (b *tab) eval(js string, out any) {
	b.t.Helper()
	var err error
	switch o := out.(type) {
	case *[]string:
		*o, err = chromedp.Run(b.ctx, chromedp.Evaluate[[]string](js))
	case *bool:
		*o, err = chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
	}
	if err != nil {
		b.t.Fatalf("%s: eval %s: %v", b.name, js, err)
	}
}

func (b *tab) nav() []string {
	var keys []string
	b.eval(`[...document.querySelectorAll('nav [data-nav]')].map(a => a.dataset.nav).filter(k => k !== 'accounts')`, &keys)
	return keys
}

func (b *tab) screenshot(name string) {
	dir := filepath.Join("..", "artifacts", "screenshots")
	os.MkdirAll(dir, 0o755)
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err == nil {
		os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
}

// wantNav is the navigation a role must see, from the matrix.
func wantNav(role roster.Role) []string {
	keys := []string{"overview"}
	for _, n := range []struct {
		key  string
		perm roster.Permission
	}{
		{"numbers", roster.NumbersView}, {"applications", roster.ApplicationsView}, {"logs", roster.LogsView},
		{"billing", roster.BillingView}, {"pricing", roster.PricingView}, {"settings", roster.SettingsView},
		{"credentials", roster.CredentialsView}, {"team", roster.TeamView}, {"webhooks", roster.TeamView}, {"audit", roster.AuditView},
	} {
		if authz.Allowed(role, n.perm) {
			keys = append(keys, n.key)
		}
	}
	return keys
}

var areaPerm = map[string]roster.Permission{
	"numbers": roster.NumbersView, "applications": roster.ApplicationsView, "logs": roster.LogsView,
	"billing": roster.BillingView, "pricing": roster.PricingView, "settings": roster.SettingsView,
	"credentials": roster.CredentialsView, "team": roster.TeamView, "webhooks": roster.TeamView, "audit": roster.AuditView,
}

// TestConsole_TeamLifecycleInChromium: the owner signs up and verifies in
// the browser, invites one user per role, each invitee signs up from the
// mailed link and sees exactly their navigation, switches accounts, sets
// a default, loses a role, and a deleted member's open session loses the
// account on the next click.
func TestConsole_TeamLifecycleInChromium(t *testing.T) {
	browser := newBrowser(t)
	e := servertest.New(t)
	owner := newTab(t, browser, e.URL, "owner")

	// Sign up, verify from the mail, log in.
	owner.open("/signup")
	owner.fill("#name", "Olga Owner")
	owner.fill("#email", "olga@acme-corp.com")
	owner.fill("#password", servertest.Password)
	owner.screenshot("01-signup")
	owner.submit("button[type=submit]")
	if !strings.Contains(owner.text("main"), "Check your inbox") {
		t.Fatalf("after sign-up: %s", owner.text("main"))
	}
	m := e.Mail.WaitFor(t, "olga@acme-corp.com", 1, 10*time.Second)
	verify := strings.TrimPrefix(mailtest.Link(t, m.Text, e.URL+"/verify/"), e.URL)
	owner.open(verify)
	owner.submit("button.primary")
	if owner.path() != "/login" {
		t.Fatalf("after verify: %s", owner.location())
	}
	owner.fill("#email", "olga@acme-corp.com")
	owner.fill("#password", servertest.Password)
	owner.submit("button.primary")
	acct := strings.TrimPrefix(owner.path(), "/accounts/")
	if len(acct) != 20 {
		t.Fatalf("the owner did not land on their account: %s", owner.location())
	}

	// Standard plan: the Team page says why there is no team.
	owner.open("/accounts/" + acct + "/team")
	if !strings.Contains(owner.text("#plan-notice"), "committed monthly spend") {
		t.Error("no plan notice on a standard account's Team page")
	}
	e.Commit(t, acct)

	// Invite one user per role through Add New User.
	roles := []roster.Role{roster.RoleAdmin, roster.RoleDeveloper, roster.RoleFinanceAnalyst, roster.RoleSupport}
	owner.open("/accounts/" + acct + "/team")
	for _, r := range roles {
		owner.openInvite()
		owner.fill("#invite-email", r.String()+"@acme-corp.com")
		owner.run("choose "+r.String(), chromedp.Click(chromedp.CSS("#invite-role-"+r.String())))
		owner.submit("#invite-form button.primary")
		if !strings.Contains(owner.text(".notice"), "Invitation sent") {
			t.Fatalf("inviting %s: %s", r, owner.text("main"))
		}
	}
	owner.screenshot("02-team-invited")

	// Each invitee follows the mailed link in their own browser context.
	tabs := map[roster.Role]*tab{roster.RoleOwner: owner}
	for _, r := range roles {
		email := r.String() + "@acme-corp.com"
		m := e.Mail.WaitFor(t, email, 1, 10*time.Second)
		link := strings.TrimPrefix(mailtest.Link(t, m.Text, e.URL+"/invite/"), e.URL)
		b := newTab(t, browser, e.URL, r.String())
		b.open(link)
		var readonly bool
		b.eval(`document.querySelector('#email').readOnly && document.querySelector('#email').value === '`+email+`'`, &readonly)
		if !readonly {
			t.Errorf("%s: the invitation's address is not fixed", r)
		}
		b.fill("#name", r.Label())
		b.fill("#password", servertest.Password)
		b.submit("button.primary")
		if b.path() != "/accounts/"+acct {
			t.Fatalf("%s did not land on the account: %s", r, b.location())
		}
		tabs[r] = b
	}

	// Each role sees exactly its navigation and a 403 page elsewhere.
	for _, r := range roster.Roles {
		b := tabs[r]
		b.open("/accounts/" + acct)
		if got, want := b.nav(), wantNav(r); !slices.Equal(got, want) {
			t.Errorf("%s sees nav %v, want %v", r, got, want)
		}
		for area, perm := range areaPerm {
			st := b.open("/accounts/" + acct + "/" + area)
			if authz.Allowed(r, perm) && st != 200 {
				t.Errorf("%s opening %s: %d", r, area, st)
			} else if !authz.Allowed(r, perm) {
				if st != 403 || !strings.Contains(b.text("#error-permission"), perm.String()) ||
					!strings.Contains(b.text("#error-message"), "Your role in Olga Owner's account is "+r.Label()) {
					t.Errorf("%s opening %s: %d %q", r, area, st, b.text("main"))
				}
			}
		}
	}
	tabs[roster.RoleFinanceAnalyst].open("/accounts/" + acct + "/numbers")
	tabs[roster.RoleFinanceAnalyst].screenshot("03-finance-forbidden")
	tabs[roster.RoleSupport].open("/accounts/" + acct)
	tabs[roster.RoleSupport].screenshot("04-support-overview")

	// The developer makes an account of their own, switches, sets a default.
	dev := tabs[roster.RoleDeveloper]
	dev.open("/accounts")
	dev.fill("#new-account", "Dev sandbox")
	dev.submit("form[action='/accounts'] button.primary")
	own := strings.TrimPrefix(dev.path(), "/accounts/")
	if own == acct || len(own) != 20 {
		t.Fatalf("new account: %s", dev.location())
	}
	if got := dev.nav(); !slices.Equal(got, wantNav(roster.RoleOwner)) {
		t.Errorf("in their own account the developer sees %v", got)
	}
	var switchers []string
	dev.eval(`[...document.querySelectorAll('#switcher-top option')].map(o => o.value)`, &switchers)
	if len(switchers) != 2 {
		t.Errorf("top-right switcher lists %v", switchers)
	}
	dev.submit(fmt.Sprintf("a[data-switch='%s']", acct))
	if dev.path() != "/accounts/"+acct || !slices.Equal(dev.nav(), wantNav(roster.RoleDeveloper)) {
		t.Errorf("switching from the menu: %s %v", dev.location(), dev.nav())
	}
	dev.open("/accounts")
	dev.screenshot("05-manage-accounts")
	dev.submit(fmt.Sprintf("button[data-set-default='%s']", own))
	dev.submit("form[action='/logout'] button")
	dev.fill("#email", "developer@acme-corp.com")
	dev.fill("#password", servertest.Password)
	dev.submit("button.primary")
	if dev.path() != "/accounts/"+own {
		t.Errorf("after login the developer landed on %s, want the default %s", dev.path(), own)
	}

	// The owner changes the developer's role: their next page shows it.
	owner.open("/accounts/" + acct + "/team")
	owner.rowMenu("developer@acme-corp.com")
	owner.fill("tr[data-member='developer@acme-corp.com'] select", "support")
	owner.submit("button[data-change-role='developer@acme-corp.com']")
	owner.submit("#save-role")
	dev.open("/accounts/" + acct)
	if got := dev.nav(); !slices.Equal(got, wantNav(roster.RoleSupport)) {
		t.Errorf("after the role change the developer sees %v", got)
	}

	// The owner deletes the support user, who has the account open.
	sup := tabs[roster.RoleSupport]
	sup.open("/accounts/" + acct)
	owner.open("/accounts/" + acct + "/team")
	owner.rowMenu("support@acme-corp.com")
	owner.submit("a[data-delete='support@acme-corp.com']")
	if !strings.Contains(owner.text("main"), "irreversible") {
		t.Errorf("the delete confirmation does not say it is irreversible: %s", owner.text("main"))
	}
	owner.screenshot("06-delete-confirm")
	owner.submit("#confirm-delete")
	if !strings.Contains(owner.text(".notice"), "Removed from this account") {
		t.Errorf("after delete: %s", owner.text("main"))
	}
	if st := sup.submit("a[data-nav='numbers']"); st != http.StatusNotFound {
		t.Errorf("the deleted member's next click answered %d, want 404", st)
	}
	sup.screenshot("07-deleted-member")
	owner.open("/accounts/" + acct + "/team")
	owner.screenshot("08-team")
}

func TestConsole_FormsRefuseWithoutCSRFToken(t *testing.T) {
	e := servertest.New(t)
	c, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	form := url.Values{"email": {"x@acme-corp.com"}, "role": {"admin"}}
	resp, err := c.HTTP.PostForm(e.URL+"/accounts/"+acct+"/team/invite", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("a form without its CSRF token: %d, want 403", resp.StatusCode)
	}
	if n := c.Must(200, "GET", "/v1/accounts/"+acct+"/invitations", nil).Total(); n != 0 {
		t.Errorf("the refused form invited %d", n)
	}
}

func TestConsole_PagesWithoutBrowser(t *testing.T) {
	e := servertest.New(t)
	c, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	_, other := e.SignUp(t, "other@beta-corp.com", "Other")
	for path, want := range map[string]int{
		"/login": 200, "/signup": 200, "/accounts": 200, "/accounts/" + acct: 200, "/accounts/" + acct + "/team": 200,
		"/accounts/" + other: 404, "/accounts/" + other + "/billing": 404, "/invite/not-a-token": 410, "/static/style.css": 200,
	} {
		resp, err := c.HTTP.Get(e.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	// Logged out, account pages send you to log in.
	anon := e.Client(t)
	anon.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := anon.HTTP.Get(e.URL + "/accounts/" + acct + "/team")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
		t.Errorf("logged out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// After login, next goes only to a path on this site; anything else lands
// on the default page.
func TestConsole_LoginRedirectStaysOnSite(t *testing.T) {
	e := servertest.New(t)
	_, acct := e.SignUp(t, "ada@acme-corp.com", "Ada")
	for next, want := range map[string]string{
		"/accounts/" + acct + "/team": "/accounts/" + acct + "/team",
		"/%09/evil.example/x":         "",
		"/\t/evil.example/x":          "",
		"//evil.example/x":            "",
		"/\\evil.example":             "",
		"https://evil.example/":       "",
		"/%2F%2Fevil.example":         "",
		"/%5Cevil.example":            "",
		"evil.example":                "",
		"/\x00/evil.example":          "",
	} {
		c := e.Client(t)
		c.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := c.HTTP.PostForm(e.URL+"/login", url.Values{"email": {"ada@acme-corp.com"}, "password": {servertest.Password}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != 303 {
			t.Errorf("next=%q: %d", next, resp.StatusCode)
		}
		if want != "" && loc != want {
			t.Errorf("next=%q: Location %q, want %q", next, loc, want)
		}
		if want == "" && (!strings.HasPrefix(loc, "/accounts/"+acct) || strings.Contains(loc, "evil")) {
			t.Errorf("next=%q: Location %q, want the default page", next, loc)
		}
	}
}

// A form with an error is shown again, with what was typed and the message
// next to its field; a success travels to the next page in a one-time
// flash. Neither is ever carried in a URL, so no link can put words on a
// real page.
func TestConsole_FeedbackNeverInTheURL(t *testing.T) {
	e := servertest.New(t)
	c, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	c.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get := func(path string) (int, string) {
		resp, err := c.HTTP.Get(e.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, page := get("/accounts/" + acct + "/team")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	post := func(form url.Values) (*http.Response, string) {
		form.Set("csrf", csrf)
		resp, err := c.HTTP.PostForm(e.URL+"/accounts/"+acct+"/team/invite", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	resp, _ := post(url.Values{"email": {"bob@gmail.com"}, "role": {"support"}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/accounts/"+acct+"/team/invite" {
		t.Fatalf("a refused invite: %d, Location %q, want 303 to the invite page (no message in the URL)", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The invite page shows the refusal, once, from the one-time form state.
	status, body := get(resp.Header.Get("Location"))
	if status != 422 {
		t.Errorf("the team page after a refused invite answered %d, want the refusal's 422", status)
	}
	if !strings.Contains(body, `value="bob@gmail.com"`) || !strings.Contains(body, `id="invite-email-error"`) ||
		!strings.Contains(body, "personal email provider") || !strings.Contains(body, `aria-invalid="true"`) {
		t.Errorf("the form was not shown again with the typed address and the message next to it:\n%s", body)
	}
	if n := c.Must(200, "GET", "/v1/accounts/"+acct+"/invitations", nil).Total(); n != 0 {
		t.Errorf("the refused invite made %d invitations", n)
	}

	resp, _ = post(url.Values{"email": {"ada@acme-corp.com"}, "role": {"developer"}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/accounts/"+acct+"/team" {
		t.Fatalf("an invite: %d, Location %q (want the page, no query)", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, page := get("/accounts/" + acct + "/team"); !strings.Contains(page, "Invitation sent to ada@acme-corp.com as Developer") {
		t.Errorf("no named notice after the invite")
	}
	if _, page := get("/accounts/" + acct + "/team"); strings.Contains(page, "Invitation sent to") {
		t.Errorf("the notice showed twice")
	}
	// Words in a link, or in a forged flash cookie, never reach the page.
	for _, path := range []string{"/accounts/" + acct + "/team?err=Your+account+is+locked:+call+evil", "/accounts/" + acct + "/team?ok=invited"} {
		if _, page := get(path); strings.Contains(page, "evil") || strings.Contains(page, `class="notice"`) {
			t.Errorf("%s put words on the page", path)
		}
	}
	u, _ := url.Parse(e.URL)
	c.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: "roster_flash", Value: "m.RXZpbCBzYXlzIGhp.AAAA", Path: "/"}})
	if _, page := get("/accounts/" + acct + "/team"); strings.Contains(page, "Evil says hi") {
		t.Error("a forged flash was shown")
	}
}
