package console_test

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/console"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// The console at a desktop's and a phone's width: no page scrolls
// sideways, each has one h1, and axe-core (installed by .ci/run from the
// npm registry into console/testdata/axe) finds no WCAG 2.2 A/AA violation
// (target size included); every control's focus ring has 3:1 contrast
// (focusRings in focus_test.go); and a confirmation page's focus is on its
// form.

var (
	desktop = viewport{"desktop", 1366, 900}
	phone   = viewport{"phone", 390, 844}
	narrow  = viewport{"narrow", 360, 740}
)

type viewport struct {
	name          string
	width, height int64
}

const axePath = "testdata/axe/node_modules/axe-core/axe.min.js"

var axeOnce struct {
	sync.Once
	src string
	err error
	// told: the terminal was told once that the accessibility checks
	// did not run.
	told sync.Once
}

// axeSource is axe-core's script, or "" and why not. Without it the
// walk runs its other checks and then skips, except in CI (CI=true),
// where .ci/run must have installed it and the test fails at once.
// Outside CI it also says so on the terminal, once: go test shows a
// skip's message only under -v (in package list mode not even then for
// a passing package's output), and a browser run that quietly left out
// its accessibility checks would read as a pass.
func axeSource(t *testing.T) (src, missing string) {
	t.Helper()
	axeOnce.Do(func() {
		b, err := os.ReadFile(axePath)
		axeOnce.src, axeOnce.err = string(b), err
	})
	if axeOnce.err != nil {
		msg := fmt.Sprintf("axe-core is not installed (%v): run `npm ci --prefix console/testdata/axe` (.ci/run does)", axeOnce.err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		axeOnce.told.Do(func() {
			if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
				fmt.Fprintf(tty, "--- SKIP (console): the browser tests ran without their accessibility checks (axe-core): %s\n", msg)
				tty.Close()
			}
		})
		return "", msg
	}
	return axeOnce.src, ""
}

type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// axe runs axe-core on the tab's page for WCAG 2.0, 2.1 and 2.2, levels A
// and AA (2.2 AA adds target-size, SC 2.5.8: 24 by 24 px or spaced). The script is evaluated over CDP, so the page's CSP does not apply.
func (b *tab) axe(src string) []axeViolation {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe === "object" || (function(){`+src+`
		;return true})()`)); err != nil {
		b.t.Fatalf("%s: inject axe-core: %v", b.name, err)
	}
	vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa']},
		rules: {`+bestPractice+`}})
		.then(r => r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help,
			targets: v.nodes.map(n => n.target.join(' '))})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: run axe-core at %s: %v", b.name, b.location(), err)
	}
	return vs
}

// bestPractice switches on, beside the WCAG 2.1 A and AA rules, axe's
// best-practice rules a console page must pass too: the issue that asked
// for this walk found an empty table header and a page without an h1.
var bestPractice = func() string {
	var rules []string
	for _, r := range []string{"empty-table-header", "page-has-heading-one", "landmark-one-main", "landmark-unique",
		"heading-order", "region", "skip-link", "duplicate-id-aria", "table-duplicate-name"} {
		rules = append(rules, "'"+r+"': {enabled: true}")
	}
	return strings.Join(rules, ", ")
}()

// viewport sets the window's size and waits two frames: the resize steps
// (and the page's resize handlers) run before a frame's callbacks.
func (b *tab) viewport(v viewport) {
	b.t.Helper()
	b.run("viewport "+v.name, chromedp.EmulateViewport(v.width, v.height),
		chromedp.Evaluate[chromedp.Void](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r())))`, chromedp.EvalAwaitPromise))
}

func (b *tab) number(js string) float64 {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](js))
	if err != nil {
		b.t.Fatalf("%s: eval %s: %v", b.name, js, err)
	}
	return n
}

// shoot saves a full-page screenshot under artifacts/screenshots/<dir>/.
func (b *tab) shoot(dir, name string) {
	b.t.Helper()
	path := filepath.Join("..", "artifacts", "screenshots", dir)
	if err := os.MkdirAll(path, 0o755); err != nil {
		b.t.Fatal(err)
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("%s: screenshot: %v", b.name, err)
	}
	if err := os.WriteFile(filepath.Join(path, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// checkPage checks the page the tab shows at the viewport it has: no
// sideways scrolling, one h1, no axe violation (when axe is not ""); and
// saves its picture.
func (b *tab) checkPage(axe string, v viewport, what, shot string) {
	b.t.Helper()
	if w, inner := b.number(`document.documentElement.scrollWidth`), b.number(`window.innerWidth`); w > inner {
		var wide []string
		b.eval(`[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5 &&
			e.parentElement.getBoundingClientRect().right <= window.innerWidth + 0.5)
			.slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (typeof e.className === 'string' && e.className.trim() ? '.' + e.className.trim().split(/\s+/).join('.') : '') +
				' (' + Math.round(e.getBoundingClientRect().right) + 'px)')`, &wide)
		b.t.Errorf("%s at %s: the page is %v px wide in a %v px window (widest: %s)", what, v.name, w, inner, strings.Join(wide, ", "))
	}
	// What cannot be undone is posted only from its confirmation page.
	var bare []string
	b.eval(`[...document.querySelectorAll('form')].filter(f => f.method === 'post' && !f.classList.contains('confirm') &&
		/\/(delete|revoke|leave|rotate|remove|release)$/.test(new URL(f.action).pathname)).map(f => new URL(f.action).pathname)`, &bare)
	for _, a := range bare {
		b.t.Errorf("%s: a form posts to %s without its confirmation page", what, a)
	}
	if n := b.number(`document.querySelectorAll('h1').length`); n != 1 {
		b.t.Errorf("%s at %s: %v h1 elements, want 1", what, v.name, n)
	}
	if axe == "" {
		b.shoot(v.name, shot)
		return
	}
	for _, vi := range b.axe(axe) {
		b.t.Errorf("%s at %s: axe %s (%s): %s at %s", what, v.name, vi.ID, vi.Impact, vi.Help, strings.Join(vi.Targets, " | "))
	}
	b.shoot(v.name, shot)
}

// login logs the tab in through the form.
func (b *tab) login(email string) {
	b.t.Helper()
	b.open("/login")
	b.fill("#email", email)
	b.fill("#password", servertest.Password)
	b.submit("button.primary")
	if strings.HasPrefix(b.path(), "/login") {
		b.t.Fatalf("%s could not log in: %s", email, b.text("main"))
	}
}

// uxFixture is a committed account with its owner, one member of every
// other role, and something on every page.
type uxFixture struct {
	e      *servertest.Env
	acct   string
	owner  *servertest.Client
	emails map[roster.Role]string
	// params fills the page table's path parameters: "{number}" → "+14155550123".
	params map[string]string
	// invitation is a pending invitation's token, for the logged-out landing page.
	invitation string
}

func newUXFixture(t *testing.T) *uxFixture {
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.WebhookAllowPrivate, c.SSOAllowPrivate = true, true }})
	owner, acct := e.SignUp(t, "olga.owner-with-a-rather-long-address@acme-corporation-international.com", "Olga Owner")
	e.Commit(t, acct)
	f := &uxFixture{e: e, acct: acct, owner: owner, emails: map[roster.Role]string{roster.RoleOwner: "olga.owner-with-a-rather-long-address@acme-corporation-international.com"},
		params: map[string]string{"{number}": "+14155550123"}}
	id := func(r servertest.Response) string { return strconv.FormatInt(int64(r.JSON["id"].(float64)), 10) }
	for _, r := range roster.Roles[1:] {
		email := strings.ReplaceAll(r.String(), "_", "-") + "@acme-corp.com"
		_, uid := e.Join(t, owner, acct, email, r.String())
		f.emails[r] = email
		if r == roster.RoleDeveloper { // the member whose role preview and delete confirmation are walked
			f.params["{uid}"] = strconv.FormatInt(uid, 10)
		}
	}
	A := "/v1/accounts/" + acct
	owner.Must(201, "POST", A+"/numbers", map[string]string{"number": "+14155550123", "alias": "Sales line"})
	f.params["{app}"] = id(owner.Must(201, "POST", A+"/applications", map[string]string{"name": "Support bot",
		"answer_url": "https://hooks.acme-corp.example/voice/answer/with/a/very/long/path/that/does/not/break/anywhere/naturally"}))
	token, inv := e.InviteToken(t, owner, acct, "pending-invitee@acme-corp.com", "developer")
	f.params["{inv}"], f.invitation = strconv.FormatInt(inv, 10), token
	f.params["{wh}"] = id(owner.Must(201, "POST", A+"/webhooks", map[string]any{"url": "http://127.0.0.1:9/roster-events/a-long-unbroken-path-segment-0123456789abcdef",
		"events": []string{"member.joined", "member.removed"}}))
	e.VerifyDomain(t, owner, acct, "acme-corp.com") // issue 22: a verified domain and a pending one, with a long name
	f.params["{dom}"] = id(owner.Must(201, "POST", A+"/domains", map[string]string{"domain": "a-rather-long-subsidiary-domain-name.acme-corporation-international.com"}))
	// Issue 22: an OIDC connection (its edit form and delete confirmation
	// walked) and a SAML one; the support member signed in through it (the
	// team list's SSO badge).
	op := servertest.NewOIDCProvider(t, e.URL+"/sso/oidc/callback")
	f.params["{cid}"] = id(owner.Must(201, "POST", A+"/sso-connections", map[string]any{"type": "oidc", "name": "Okta (production, for every office)",
		"issuer": op.Issuer, "client_id": op.ClientID, "client_secret": op.ClientSecret, "default_role": "developer"}))
	owner.Must(201, "POST", A+"/sso-connections", map[string]any{"type": "saml", "name": "Entra ID", "metadata_xml": servertest.NewSAMLIdP(t).Metadata(t)})
	op.SignInAs(f.emails[roster.RoleSupport], true, "Sam", "Support")
	if resp, err := e.Client(t).HTTP.Get(e.URL + "/sso/start?email=" + f.emails[roster.RoleSupport]); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM members WHERE sso_at IS NOT NULL`); n != 1 {
		t.Fatalf("the support member's single sign-on: %d members marked, want 1", n)
	}
	f.params["{tid}"] = id(owner.Must(201, "POST", A+"/scim-tokens", map[string]string{"name": "Okta production, the directory of the whole company"})) // issue 23
	f.params["{pm}"] = id(owner.Must(201, "POST", A+"/billing/payment-methods", map[string]any{"card_number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030}))
	owner.Must(201, "POST", A+"/billing/recharges", map[string]any{"amount_usd": 50})
	e.Platform(t).Must(201, "POST", "/v1/ingest/logs", map[string]any{"account_id": acct, "kind": "call", "from_number": "+14155550123",
		"to_number": "+14155550000", "direction": "outbound", "status": "completed", "started_at": "2026-11-01T10:00:00Z"})
	return f
}

// TestConsole_EveryPageAtDesktopAndPhoneSize walks every page each role
// may open (and one it may not), the logged-in pages outside an account,
// and the logged-out ones, at 1366 and 390 px wide.
func TestConsole_EveryPageAtDesktopAndPhoneSize(t *testing.T) {
	browser := newBrowser(t)
	axe, noAxe := axeSource(t)
	f := newUXFixture(t)
	pages := console.ViewPages()
	if len(pages) < 8 {
		t.Fatalf("the page table lists %d viewable pages: %v", len(pages), pages)
	}
	// The focus rings measured: how many of each kind of control, and the
	// lowest contrast of all.
	rings := struct {
		kinds  map[string]int
		lowest float64
	}{map[string]int{}, math.Inf(1)}
	var decisions []string // the decision pages whose focus was checked
	// Each page is loaded once and checked at both widths: media queries
	// follow the viewport without a reload.
	check := func(b *tab, path string, want int, shot string) {
		t.Helper()
		b.viewport(desktop)
		if st := b.open(path); st != want {
			t.Errorf("%s: GET %s answered %d, want %d", b.name, path, st, want)
		}
		if b.decisionFocus(b.name + " " + path) {
			decisions = append(decisions, path)
		}
		for _, v := range []viewport{desktop, phone} {
			b.viewport(v)
			b.checkPage(axe, v, b.name+" "+path, shot)
			samples, low := b.focusRings(b.name + " " + path + " at " + v.name)
			rings.lowest = min(rings.lowest, low)
			for _, s := range samples {
				rings.kinds[s.Kind]++
			}
		}
		// The narrowest phone we support: no sideways scrolling either.
		b.viewport(narrow)
		if w, inner := b.number(`document.documentElement.scrollWidth`), b.number(`window.innerWidth`); w > inner {
			t.Errorf("%s %s at 360 px: the page is %v px wide", b.name, path, w)
		}
	}

	anon := newTab(t, browser, f.e.URL, "logged-out")
	for _, p := range []string{"login", "signup", "forgot-password"} {
		check(anon, "/"+p, 200, "logged-out-"+p)
	}
	check(anon, "/invite/"+f.invitation, 200, "logged-out-invitation")
	check(anon, "/invite/"+strings.Repeat("x", len(f.invitation)), 410, "logged-out-dead-invitation")

	// Pages that need a query to show more than a form's refusal.
	queries := map[string]string{"team/members/{uid}/role/preview": "?role=admin"}
	forbiddenPages := 0 // roles that were shown a 403 page (the owner and admins may open every page)
	for _, r := range roster.Roles {
		b := newTab(t, browser, f.e.URL, r.String())
		b.login(f.emails[r])
		check(b, "/accounts", 200, r.String()+"-accounts")
		check(b, "/profile", 200, r.String()+"-profile")
		forbidden := false
		for _, pg := range pages {
			path, name := "/accounts/"+f.acct, "overview"
			if pg.Key != "" {
				key := pg.Key
				for k, v := range f.params {
					key = strings.ReplaceAll(key, k, v)
				}
				if strings.Contains(key, "{") {
					t.Fatalf("the walk has no value for a parameter of %s: add one to the fixture", pg.Key)
				}
				name = strings.NewReplacer("/", "-", "{", "", "}", "").Replace(pg.Key)
				path += "/" + key + queries[pg.Key]
			}
			switch {
			case pg.Key == "leave" && r == roster.RoleOwner: // the owner cannot leave: its page says so
				check(b, path, 403, r.String()+"-cannot-leave")
			case pg.Perm == roster.AnyMember || authz.Allowed(r, pg.Perm):
				check(b, path, 200, r.String()+"-"+name)
			case !forbidden:
				forbidden = true
				check(b, path, 403, r.String()+"-forbidden-"+name)
			}
		}
		if forbidden {
			forbiddenPages++
		}
	}
	if forbiddenPages == 0 {
		t.Error("no role was refused a page: the 403 page was never checked")
	}
	t.Logf("focus rings measured: %v; lowest contrast %.2f:1", rings.kinds, rings.lowest)
	if !slices.ContainsFunc(decisions, func(p string) bool { return strings.HasSuffix(p, "/role/preview?role=admin") }) ||
		!slices.ContainsFunc(decisions, func(p string) bool { return !strings.HasSuffix(p, "/role/preview?role=admin") }) {
		t.Errorf("the walk checked the focus on these decision pages only: %v; want the role preview and the confirmations", decisions)
	}
	for _, k := range []string{"link", "button", "input", "select", "textarea", "checkbox", "radio", "summary"} {
		if rings.kinds[k] == 0 {
			t.Errorf("the walk measured no focus ring on a %s: the check does not cover every kind of control", k)
		}
	}
	if noAxe != "" {
		t.Skip("every page was checked but for accessibility: " + noAxe)
	}
}

// switchWorld: Dana is a developer in A (numbers.view), an admin in C
// (numbers.view) and a finance analyst in B (no numbers.view).
type switchWorld struct {
	e       *servertest.Env
	a, b, c string
	dana    *servertest.Client
}

func newSwitchWorld(t *testing.T) *switchWorld {
	e := servertest.New(t)
	olga, a := e.SignUp(t, "olga@acme-corp.com", "Olga")
	e.Commit(t, a)
	bob, b := e.SignUp(t, "bob@beta-corp.com", "Bob")
	e.Commit(t, b)
	c := bob.Must(201, "POST", "/v1/accounts", map[string]string{"name": "Beta sandbox"}).Str("id")
	e.Commit(t, c)
	dana, _ := e.Join(t, olga, a, "dana@acme-corp.com", "developer")
	for acct, role := range map[string]string{b: "finance_analyst", c: "admin"} {
		token, _ := e.InviteToken(t, bob, acct, "dana@acme-corp.com", role)
		dana.Must(200, "POST", "/v1/invitations/"+token+"/accept", nil)
	}
	return &switchWorld{e: e, a: a, b: b, c: c, dana: dana}
}

// TestConsole_SwitcherChooseThenGoWithTheKeyboard: arrow keys on the
// switcher only choose; Tab to Switch and Enter goes, keeping the page
// when the role there allows it.
func TestConsole_SwitcherChooseThenGoWithTheKeyboard(t *testing.T) {
	browser := newBrowser(t)
	w := newSwitchWorld(t)
	b := newTab(t, browser, w.e.URL, "dana")
	b.login("dana@acme-corp.com")

	for _, tc := range []struct{ to, want string }{
		{w.c, "/accounts/" + w.c + "/numbers"}, // admin there: the same page
		{w.b, "/accounts/" + w.b},              // finance analyst there: the overview
	} {
		from := "/accounts/" + w.a + "/numbers"
		if st := b.open(from); st != 200 {
			t.Fatalf("open %s: %d", from, st)
		}
		b.run("focus the switcher", chromedp.Focus(chromedp.CSS("#switcher-top")))
		before := b.value("#switcher-top")
		// A navigation would fire beforeunload; give one time to start.
		b.run("watch for leaving", chromedp.Evaluate[chromedp.Void](`window.__left = false; addEventListener('beforeunload', () => { window.__left = true })`))
		b.run("arrow down", chromedp.KeyEvent(kb.ArrowDown))
		time.Sleep(500 * time.Millisecond)
		var left bool
		b.eval(`window.__left !== false`, &left)
		if left || b.path() != from {
			t.Fatalf("ArrowDown on the switcher left the page (now at %s)", b.location())
		}
		if b.value("#switcher-top") == before {
			t.Errorf("ArrowDown did not change the switcher's choice (the test proves nothing)")
		}
		// Choose the account with the keyboard: arrows to its option.
		var idx []string
		b.eval(`(() => { const s = document.querySelector('#switcher-top'); const i = [...s.options].findIndex(o => o.value === '`+tc.to+`');
			return [String(i - s.selectedIndex)]; })()`, &idx)
		steps := 0
		fmt.Sscan(idx[0], &steps)
		for ; steps > 0; steps-- {
			b.run("arrow down", chromedp.KeyEvent(kb.ArrowDown))
		}
		for ; steps < 0; steps++ {
			b.run("arrow up", chromedp.KeyEvent(kb.ArrowUp))
		}
		if got := b.value("#switcher-top"); got != tc.to {
			t.Fatalf("the switcher shows %s, want %s", got, tc.to)
		}
		if b.path() != from {
			t.Fatalf("choosing an account navigated to %s", b.location())
		}
		b.run("mark page", chromedp.Evaluate[chromedp.Void](`window.__before = true`))
		b.run("tab", chromedp.KeyEvent(kb.Tab))
		var focused []string
		b.eval(`[document.activeElement.id]`, &focused)
		if focused[0] != "switch-button" {
			t.Fatalf("Tab from the switcher went to %q, not the Switch button", focused[0])
		}
		b.run("enter", chromedp.KeyEvent(kb.Enter))
		b.waitLoad()
		if b.path() != tc.want {
			t.Errorf("Switch to %s from %s landed on %s, want %s", tc.to, from, b.location(), tc.want)
		}
	}
}

// value is the value of a form control.
func (b *tab) value(sel string) string {
	b.t.Helper()
	var v []string
	b.eval(`[document.querySelector(`+jsString(sel)+`).value]`, &v)
	return v[0]
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// waitLoad waits for the page after the one marked with window.__before.
func (b *tab) waitLoad() {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		done, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!window.__before && document.readyState === 'complete'`))
		if err == nil && done {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: no new page (at %s)", b.name, b.location())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConsole_MenuOpensTheNavigationOnAPhone: at 390 px the navigation
// is folded behind the Menu button, which opens it.
func TestConsole_MenuOpensTheNavigationOnAPhone(t *testing.T) {
	browser := newBrowser(t)
	e := servertest.New(t)
	_, acct := e.SignUp(t, "olga@acme-corp.com", "Olga")
	b := newTab(t, browser, e.URL, "owner")
	b.viewport(phone)
	b.login("olga@acme-corp.com")
	b.open("/accounts/" + acct)
	visible := func(sel string) bool {
		var ok bool
		b.eval(`(() => { const e = document.querySelector(`+jsString(sel)+`); if (!e) return false;
			const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'; })()`, &ok)
		return ok
	}
	expanded := func() string {
		var v []string
		b.eval(`[document.querySelector('#menu-button').getAttribute('aria-expanded')]`, &v)
		return v[0]
	}
	if !visible("#menu-button") || visible("#sidebar") || expanded() != "false" {
		t.Fatalf("at 390 px: menu button shown %v, navigation shown %v, aria-expanded %s; want a closed menu",
			visible("#menu-button"), visible("#sidebar"), expanded())
	}
	b.run("open the menu", chromedp.Click(chromedp.CSS("#menu-button")))
	if expanded() != "true" || !visible("a[data-nav='numbers']") {
		t.Fatalf("after Menu: aria-expanded %s, Phone Numbers link shown %v", expanded(), visible("a[data-nav='numbers']"))
	}
	if axe, _ := axeSource(t); axe != "" {
		for _, vi := range b.axe(axe) {
			t.Errorf("the open menu: axe %s (%s): %s at %s", vi.ID, vi.Impact, vi.Help, strings.Join(vi.Targets, " | "))
		}
	}
	b.shoot("phone", "menu-open")
	if st := b.submit("a[data-nav='numbers']"); st != 200 || b.path() != "/accounts/"+acct+"/numbers" {
		t.Errorf("the menu's Phone Numbers link: %d %s", st, b.location())
	}
	// Escape closes it; at desktop width there is no menu button.
	b.run("open the menu", chromedp.Click(chromedp.CSS("#menu-button")))
	b.run("escape", chromedp.KeyEvent(kb.Escape))
	if expanded() != "false" || visible("#sidebar") {
		t.Errorf("Escape left the menu open")
	}
	b.viewport(desktop)
	if visible("#menu-button") || !visible("a[data-nav='numbers']") {
		t.Errorf("at desktop width: menu button shown %v, navigation shown %v", visible("#menu-button"), visible("a[data-nav='numbers']"))
	}

	// Without JavaScript (no "js" class on <html>, which app.js sets) the
	// navigation is shown above the content and there is no Menu button.
	b.viewport(phone)
	b.run("as without JavaScript", chromedp.Evaluate[chromedp.Void](`document.documentElement.classList.remove('js')`))
	var above bool
	b.eval(`document.querySelector('#sidebar').getBoundingClientRect().bottom <= document.querySelector('main').getBoundingClientRect().top`, &above)
	if visible("#menu-button") || !visible("a[data-nav='numbers']") || !above {
		t.Errorf("without JavaScript at 390 px: menu button shown %v, navigation shown %v, above the content %v",
			visible("#menu-button"), visible("a[data-nav='numbers']"), above)
	}
	b.shoot("phone", "menu-without-javascript")
}

// TestConsole_SkipLinkIsTheFirstTabStop: Tab on a fresh page reaches
// "Skip to content", shown while focused; Enter moves focus to <main>.
func TestConsole_SkipLinkIsTheFirstTabStop(t *testing.T) {
	browser := newBrowser(t)
	e := servertest.New(t)
	_, acct := e.SignUp(t, "olga@acme-corp.com", "Olga")
	logged := newTab(t, browser, e.URL, "owner")
	logged.login("olga@acme-corp.com")
	anon := newTab(t, browser, e.URL, "logged-out")
	for _, tc := range []struct {
		b    *tab
		path string
	}{{logged, "/accounts/" + acct + "/team"}, {anon, "/login"}} {
		b := tc.b
		b.open(tc.path)
		b.run("tab", chromedp.KeyEvent(kb.Tab))
		var got []string
		b.eval(`(() => { const a = document.activeElement, r = a.getBoundingClientRect();
			return [a.className, a.textContent.trim(), a.getAttribute('href'), String(r.top >= 0 && r.height > 0 && r.width > 1)]; })()`, &got)
		if want := []string{"skip-link", "Skip to content", "#main", "true"}; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s: the first tab stop is %q, want %q (visible)", tc.path, got, want)
		}
		b.run("enter", chromedp.KeyEvent(kb.Enter))
		b.eval(`[document.activeElement.id, document.activeElement.tagName]`, &got)
		if strings.Join(got, " ") != "main MAIN" {
			t.Errorf("%s: after the skip link the focus is on %q, want main#main", tc.path, got)
		}
	}
}

// TestConsole_SwitchKeepsTheSectionWhenAllowed: /accounts/switch over
// HTTP, with every kind of from.
func TestConsole_SwitchKeepsTheSectionWhenAllowed(t *testing.T) {
	w := newSwitchWorld(t)
	k := newFormClient(t, w.e, w.dana)
	anon := newFormClient(t, w.e, w.e.Client(t))
	_, other := w.e.SignUp(t, "eve@evil-corp.com", "Eve")
	sw := func(acct, from string) string {
		return "/accounts/switch?" + url.Values{"account": {acct}, "from": {from}}.Encode()
	}
	for _, tc := range []struct {
		what string
		k    *formClient
		path string
		want string
	}{
		{"allowed section", k, sw(w.c, "numbers"), "/accounts/" + w.c + "/numbers"},
		{"allowed section (billing, finance analyst)", k, sw(w.b, "billing"), "/accounts/" + w.b + "/billing"},
		{"section the role lacks", k, sw(w.b, "numbers"), "/accounts/" + w.b},
		{"overview", k, sw(w.c, "overview"), "/accounts/" + w.c},
		{"no from", k, "/accounts/switch?account=" + w.c, "/accounts/" + w.c},
		{"unknown from", k, sw(w.c, "secrets"), "/accounts/" + w.c},
		{"from a page outside the table", k, sw(w.c, "profile"), "/accounts/" + w.c},
		{"from with a path", k, sw(w.c, "//evil.example"), "/accounts/" + w.c},
		{"from with a sub-path", k, sw(w.c, "numbers/../../evil"), "/accounts/" + w.c},
		{"from with a scheme", k, sw(w.c, "https://evil.example/"), "/accounts/" + w.c},
		{"not a member", k, sw(other, "numbers"), "/accounts/" + other},
		{"logged out", anon, sw(w.c, "numbers"), "/accounts/" + w.c},
		{"account with a slash", k, sw("x/../evil", "numbers"), "/accounts"},
		{"no account", k, "/accounts/switch?from=numbers", "/accounts"},
	} {
		a := tc.k.get(tc.path)
		if a.Status != 303 || a.Header.Get("Location") != tc.want {
			t.Errorf("%s: %s answered %d Location %q, want 303 %q", tc.what, tc.path, a.Status, a.Header.Get("Location"), tc.want)
		}
	}

	// A suspended member (the account left the committed plan) gets only
	// the overview, whatever their role holds.
	w.e.Operator(t).Must(200, "PUT", "/v1/admin/accounts/"+w.c+"/plan", map[string]any{"plan": "standard"})
	if a := k.get(sw(w.c, "numbers")); a.Header.Get("Location") != "/accounts/"+w.c {
		t.Errorf("a suspended admin switching with from=numbers went to %q, want the overview", a.Header.Get("Location"))
	}

	// The switcher carries the page's section; the sidebar links too.
	a := k.get("/accounts/" + w.a + "/numbers")
	a.want(t, "numbers page", 200, `<input type="hidden" name="from" value="numbers">`, `id="switch-button"`,
		`href="/accounts/switch?account=`+w.b+`&amp;from=numbers"`)
}

// TestConsole_ListsStackOnAPhone: at 390 px a list's rows are stacked, each
// cell under its column's name, and a row's actions are on screen without
// scrolling sideways; on a desktop the same list is a table, and a matrix
// (the roles page) stays a table that scrolls inside its card.
func TestConsole_ListsStackOnAPhone(t *testing.T) {
	browser := newBrowser(t)
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "olga@acme-corp.com", "Olga")
	owner.Must(201, "POST", "/v1/accounts/"+acct+"/numbers", map[string]string{"number": "+14155550123", "alias": "Sales line"})
	b := newTab(t, browser, e.URL, "owner")
	b.login("olga@acme-corp.com")
	b.open("/accounts/" + acct + "/numbers")
	layout := func() (display, label string, editOnScreen bool) {
		var v []string
		b.eval(`(() => { const td = document.querySelector('#numbers tbody td'); const a = document.querySelector('#numbers a[href$="/edit"]');
			return [getComputedStyle(td).display, td.getAttribute('data-label') || '', String(a.getBoundingClientRect().right <= window.innerWidth)]; })()`, &v)
		return v[0], v[1], v[2] == "true"
	}
	b.viewport(phone)
	if display, label, onScreen := layout(); display != "block" || label != "Number" || !onScreen {
		t.Errorf("at 390 px the numbers list: cell display %q, label %q, Edit on screen %v; want stacked rows with the column's name and Edit in view",
			display, label, onScreen)
	}
	b.viewport(desktop)
	if display, _, onScreen := layout(); display != "table-cell" || !onScreen {
		t.Errorf("at 1366 px the numbers list: cell display %q, Edit on screen %v; want a table", display, onScreen)
	}
	b.open("/accounts/" + acct + "/team/roles")
	b.viewport(phone)
	var display []string
	b.eval(`[getComputedStyle(document.querySelector('#roles-matrix td')).display]`, &display)
	if display[0] != "table-cell" {
		t.Errorf("at 390 px the roles matrix cell display is %q, want a table", display[0])
	}
}
