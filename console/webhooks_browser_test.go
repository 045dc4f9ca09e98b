package console_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// grantClipboard lets the tab's pages write and read the clipboard, as a
// person's browser does after a click, and keeps the page focused (a
// headless window is not, and the clipboard refuses an unfocused page).
func (b *tab) grantClipboard() {
	b.t.Helper()
	c := chromedp.FromContext(b.ctx)
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		_, err := cdp.Call(b.ctx, c.Browser, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted,
			Origin: b.base, BrowserContextID: c.BrowserContextID})
		if err != nil {
			b.t.Fatalf("grant %s: %v", name, err)
		}
	}
	b.run("focus emulation", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return err
	}))
}

// checked is the values of the create form's checked events.
func (b *tab) checkedEvents() []string {
	var out []string
	b.eval(`[...document.querySelectorAll('#webhook-form input[name=events]:checked')].map(i => i.value)`, &out)
	return out
}

// TestConsole_WebhooksPageInChromium: the webhooks page in a browser. The
// member events (member.*, invitation.*) are checked from the start and
// the others not; "Select none" and "Select all" work; after the create,
// the secret's copy button puts the secret on the clipboard and says
// "Copied" in a status; "Send test event" leads to the deliveries with
// the payload; axe finds nothing at 1366x900 and 390x844 on the page with
// the secret and on the deliveries.
func TestConsole_WebhooksPageInChromium(t *testing.T) {
	chromium := newBrowser(t)
	axe, noAxe := axeSource(t)
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.WebhookAllowPrivate = true }})
	_, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	b := newTab(t, chromium, e.URL, "owner")
	b.login("olga@acme-corp.com")
	b.grantClipboard()
	list := "/accounts/" + acct + "/webhooks"

	// The sidebar leads to the page, marked current there.
	b.open("/accounts/" + acct)
	b.submit(`nav a[data-nav="webhooks"]`)
	if b.path() != list {
		t.Fatalf("the sidebar's Webhooks led to %s", b.path())
	}
	var current bool
	b.eval(`document.querySelector('nav a[data-nav="webhooks"]').getAttribute('aria-current') === 'page'`, &current)
	if !current {
		t.Errorf("the sidebar does not mark Webhooks as the current page")
	}

	want := "member.joined member.role_changed member.removed member.left member.deactivated member.reactivated invitation.created invitation.revoked invitation.accepted"
	if got := strings.Join(b.checkedEvents(), " "); got != want {
		t.Errorf("checked from the start: %s, want the member events %s", got, want)
	}
	var shown bool
	b.eval(`!document.getElementById('wh-events-all-none').hidden && document.getElementById('wh-events-none').offsetParent !== null`, &shown)
	if !shown {
		t.Fatalf("no Select all / Select none with JavaScript")
	}
	b.run("select none", chromedp.Click(chromedp.CSS("#wh-events-none")))
	if got := b.checkedEvents(); len(got) != 0 {
		t.Errorf("after Select none: %v checked", got)
	}
	b.run("select all", chromedp.Click(chromedp.CSS("#wh-events-all")))
	if got := b.checkedEvents(); len(got) != 11 {
		t.Errorf("after Select all: %d checked (%v), want 11", len(got), got)
	}

	b.fill("#wh-url", "http://127.0.0.1:9/browser-hook")
	b.submit("#webhook-form button.primary")
	secret := strings.TrimSpace(b.text("#webhook-secret-value"))
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("after the create: no secret (%q): %s", secret, b.text("main"))
	}
	for _, v := range []viewport{desktop, phone} {
		b.viewport(v)
		b.checkPage(axe, v, "the webhooks page with the secret", "webhooks-secret")
	}
	b.viewport(desktop)
	b.run("copy", chromedp.Click(chromedp.CSS("#webhook-secret-copy")))
	var status string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if status = b.text("#webhook-secret-status"); status != "" || time.Now().After(deadline) {
			break
		}
	}
	if status != "Copied" {
		t.Errorf("the copy button's status says %q, want Copied", status)
	}
	clip, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil || clip != secret {
		t.Errorf("the clipboard holds %q (%v), want the secret", clip, err)
	}
	b.eval(`document.getElementById('webhook-secret-status').getAttribute('role') === 'status'`, &shown)
	if !shown {
		t.Errorf("the copy status is not role=status")
	}

	// Send test event: the deliveries, with the payload.
	b.submit("button[data-test-webhook]")
	if !strings.HasSuffix(b.path(), "/deliveries") || !strings.Contains(b.text(".notice"), "Test event") {
		t.Fatalf("after Send test event: %s: %s", b.location(), b.text("main"))
	}
	b.run("open the payload", chromedp.Click(chromedp.CSS("td.payload summary")))
	if p := b.text("pre[data-payload]"); !strings.Contains(p, `"type": "webhook.test"`) {
		t.Errorf("the payload shown: %s", p)
	}
	for _, v := range []viewport{desktop, phone} {
		b.viewport(v)
		b.checkPage(axe, v, "the deliveries page with a payload open", "webhook-deliveries-payload")
	}
	if noAxe != "" {
		t.Skip(noAxe)
	}
}
