package console_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Settings › Single sign-on, its domains section, without a browser: the
// owner adds a domain, is refused verification until its TXT record is
// published in the test DNS server (the refusal on the domain's row,
// saying what was found), verifies it and removes it; a developer and a
// non-member cannot open the page.
func TestConsole_SSODomains(t *testing.T) {
	f := newAccessFixture(t)
	sso := f.path("/settings/sso")

	// Settings leads to the page; the page has the empty list and the form,
	// and the places of the connections and the require switch.
	f.owner.get(f.path("/settings")).want(t, "settings", 200, `id="sso-link"`, `href="`+sso+`"`)
	a := f.owner.get(sso)
	a.want(t, "sso page", 200, "<h1>Single sign-on</h1>", `id="domains-empty"`, `action="`+sso+`/domains"`, `name="domain"`,
		`aria-current="page"`) // under Settings in the menu
	oneH1(t, "the single sign-on page", a)

	// A personal provider's domain: the form again with the message at the
	// field and what was typed; nothing added.
	a = f.owner.post(sso+"/domains", url.Values{"domain": {"gmail.com"}})
	a.want(t, "personal domain", 422, `id="domain-input-error"`, "personal email provider", `value="gmail.com"`, `aria-invalid="true"`)
	f.owner.post(sso+"/domains", url.Values{"domain": {"not a domain"}}).want(t, "bad domain", 400, `id="domain-input-error"`)
	if n := f.e.Count(t, `SELECT COUNT(*) FROM domains`); n != 0 {
		t.Fatalf("refused adds left %d domains", n)
	}

	// Added (an IDN, shown in its ASCII form): its row has the record's
	// name and value, each with a copy button, and a Verify button.
	a = f.owner.post(sso+"/domains", url.Values{"domain": {"Acme-Corp.com"}})
	a.want(t, "add", 303)
	a = f.owner.get(sso)
	a.want(t, "after add", 200, "acme-corp.com added: publish its TXT record", `data-domain="acme-corp.com"`, `data-status="pending"`,
		`<code id="txt-name-`, `>_roster-verification.acme-corp.com</code>`, `data-copy="txt-name-`, `data-copy="txt-value-`, `data-verify-domain="`)
	value := regexp.MustCompile(`roster-verification=[a-z2-7]{32}`).FindString(a.Body)
	id := regexp.MustCompile(`data-verify-domain="(\d+)"`).FindStringSubmatch(a.Body)
	if value == "" || id == nil {
		t.Fatalf("the page shows no record value or Verify button:\n%s", a.Body)
	}
	verify := sso + "/domains/" + id[1] + "/verify"

	// Verify without the record: refused on the row, saying what was found.
	a = f.owner.post(verify, url.Values{})
	a.want(t, "verify without record", 409, `id="domain-`+id[1]+`-error"`, "No TXT record named _roster-verification.acme-corp.com", value,
		`aria-describedby="domain-`+id[1]+`-error"`)
	if a.Via != "303 "+sso {
		t.Errorf("the refusal was not a redirect to the page: %q", a.Via)
	}
	f.e.DNS.SetTXT("_roster-verification.acme-corp.com", "roster-verification=old")
	f.owner.post(verify, url.Values{}).want(t, "verify with another value", 409, `&#34;roster-verification=old&#34;`)
	if n := f.e.Count(t, `SELECT COUNT(*) FROM domains WHERE verified_at IS NOT NULL`); n != 0 {
		t.Fatalf("a refused verification verified")
	}

	// Published: verified.
	f.e.DNS.SetTXT("_roster-verification.acme-corp.com", value)
	f.owner.post(verify, url.Values{}).want(t, "verify", 303)
	a = f.owner.get(sso)
	a.want(t, "verified", 200, "acme-corp.com is verified.", `data-status="verified"`)
	if strings.Contains(a.Body, `data-verify-domain="`+id[1]+`"`) {
		t.Error("a verified domain still offers Verify")
	}

	// A developer (no team.edit) is refused; a stranger finds nothing.
	f.dev.get(sso).want(t, "developer", 403)
	f.dev.post(verify, url.Values{}).want(t, "developer's verify", 403)
	stranger, _ := f.e.SignUp(t, "sam@stranger.com", "Sam Stranger")
	s := newFormClient(t, f.e, stranger)
	s.get(sso).want(t, "stranger", 404)
	if strings.Contains(f.dev.get(f.path("/settings")).Body, `id="sso-link"`) {
		t.Error("the developer's Settings page links to single sign-on")
	}

	// Remove: a confirmation page, then gone.
	del := sso + "/domains/" + id[1] + "/delete"
	f.owner.get(del).want(t, "confirm remove", 200, "Remove the domain acme-corp.com?", "another Roster account may verify it", `action="`+del+`"`)
	f.owner.post(del, url.Values{}).want(t, "remove", 303)
	f.owner.get(sso).want(t, "after remove", 200, "acme-corp.com removed.", `id="domains-empty"`)
	if n := f.e.Count(t, `SELECT COUNT(*) FROM domains`); n != 0 {
		t.Errorf("%d domains after removing", n)
	}
	// The audit log words it.
	f.owner.get(f.path("/audit")).want(t, "audit", 200, "added the domain acme-corp.com", "verified the domain acme-corp.com",
		"removed the verified domain acme-corp.com")
}
