package console_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/rosterhq/roster/server/servertest"
)

// TestAccess_ReadableMatricesAtDesktopAndPhone: the access review, a
// person's access and the roles page in Chromium. At 1366x900 no header
// cell of the review is wider than its box (no word broken or spilling)
// and the page does not scroll sideways; at 390x844 the page does not
// either, the review's first column stays put (position: sticky) inside
// its own scroll box, and a scroll cue shows. axe finds nothing on the
// three pages at both sizes. With ROSTER_SHOTS set, the review's pictures
// at both sizes are saved there.
func TestAccess_ReadableMatricesAtDesktopAndPhone(t *testing.T) {
	browser := newBrowser(t)
	axe, noAxe := axeSource(t)
	e := servertest.New(t)
	api, acct := e.SignUp(t, "olga.owner-with-a-rather-long-address@acme-corporation-international.com", "Olga Owner")
	e.Commit(t, acct)
	var devID int64
	for _, r := range []string{"admin", "developer", "finance_analyst", "support"} {
		_, id := e.Join(t, api, acct, strings.ReplaceAll(r, "_", "-")+"@acme-corp.com", r)
		if r == "developer" {
			devID = id
		}
	}
	api.Must(201, "POST", "/v1/accounts/"+acct+"/invitations", map[string]string{"email": "pending@acme-corp.com", "role": "support"})
	b := newTab(t, browser, e.URL, "owner")
	b.login("olga.owner-with-a-rather-long-address@acme-corporation-international.com")
	A := "/accounts/" + acct
	shots := os.Getenv("ROSTER_SHOTS")
	shoot := func(name string) {
		if shots == "" {
			return
		}
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(shots, name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s", p)
	}
	noSideways := func(what string, v viewport) {
		t.Helper()
		if w, inner := b.number(`document.documentElement.scrollWidth`), b.number(`window.innerWidth`); w > inner {
			t.Errorf("%s at %s: the page is %v px wide in a %v px window", what, v.name, w, inner)
		}
	}
	axeClean := func(what string, v viewport) {
		t.Helper()
		if axe == "" {
			return
		}
		for _, vi := range b.axe(axe) {
			t.Errorf("%s at %s: axe %s (%s): %s at %s", what, v.name, vi.ID, vi.Impact, vi.Help, strings.Join(vi.Targets, " | "))
		}
	}

	if st := b.open(A + "/team/access"); st != 200 {
		t.Fatalf("access review: %d", st)
	}
	b.viewport(desktop)
	var spilled []string
	b.eval(`[...document.querySelectorAll('#access thead th')].filter(th => th.scrollWidth > th.clientWidth).map(th => th.textContent.trim() + ' (' + th.scrollWidth + '>' + th.clientWidth + ')')`, &spilled)
	if len(spilled) > 0 {
		t.Errorf("at 1366 px these header cells are wider than their box: %v", spilled)
	}
	var broken []string // a header word split over two lines: its cell is taller than one line per word
	b.eval(`[...document.querySelectorAll('#access thead th')].filter(th => { const r = document.createRange(); r.selectNodeContents(th);
		const words = th.innerText.trim().split(/\s+/).length; return r.getClientRects().length > words + 1; }).map(th => th.innerText.trim())`, &broken)
	if len(broken) > 0 {
		t.Errorf("at 1366 px these header cells break inside a word: %v", broken)
	}
	noSideways("the access review", desktop)
	axeClean("the access review", desktop)
	shoot("access-review-desktop")

	b.viewport(phone)
	noSideways("the access review", phone)
	var sticky []string
	b.eval(`[getComputedStyle(document.querySelector('#access tbody th[scope=row]')).position,
		String(document.querySelector('#access-box').scrollWidth > document.querySelector('#access-box').clientWidth),
		getComputedStyle(document.querySelector('#access-scroll-cue')).display,
		String(Math.round(document.querySelector('#access tbody th[scope=row]').getBoundingClientRect().width))]`, &sticky)
	if sticky[0] != "sticky" || sticky[1] != "true" || sticky[2] == "none" {
		t.Errorf("at 390 px: first column position %q, the table scrolls in its box %s, scroll cue display %q; want sticky, true, shown", sticky[0], sticky[1], sticky[2])
	}
	if w, _ := strconv.Atoi(sticky[3]); w < 120 || w > 240 {
		t.Errorf("at 390 px the sticky first column is %s px wide, want 120 to 240: a name and address readable beside the permissions", sticky[3])
	}
	axeClean("the access review", phone)
	shoot("access-review-phone")

	for _, pg := range []struct{ what, path string }{
		{"a person's access", fmt.Sprintf("%s/team/access/members/%d", A, devID)},
		{"the roles page", A + "/team/roles"},
	} {
		b.viewport(desktop)
		if st := b.open(pg.path); st != 200 {
			t.Fatalf("%s: %d", pg.what, st)
		}
		for _, v := range []viewport{desktop, phone} {
			b.viewport(v)
			noSideways(pg.what, v)
			axeClean(pg.what, v)
		}
		shoot(strings.ReplaceAll(strings.ReplaceAll(pg.what, "'", ""), " ", "-") + "-phone")
	}
	if noAxe != "" {
		t.Skip(noAxe)
	}
}
