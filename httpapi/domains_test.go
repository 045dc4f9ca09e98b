package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/server/servertest"
)

// domainsFixture is a committed account whose owner holds team.edit.
type domainsFixture struct {
	e     *servertest.Env
	owner *servertest.Client
	acct  string
}

func newDomainsFixture(t *testing.T) domainsFixture {
	t.Helper()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	return domainsFixture{e, owner, acct}
}

func (f domainsFixture) path(rest string) string { return "/v1/accounts/" + f.acct + "/domains" + rest }

// state is what a refusal must leave as it was: the domains rows, the
// verified ones, and the account's audit events.
func (f domainsFixture) state(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("domains=%d verified=%d audit=%d",
		f.e.Count(t, `SELECT COUNT(*) FROM domains`),
		f.e.Count(t, `SELECT COUNT(*) FROM domains WHERE verified_at IS NOT NULL`),
		f.e.Count(t, `SELECT COUNT(*) FROM audit_events`))
}

func auditActions(t *testing.T, c *servertest.Client, acct string) []string {
	t.Helper()
	var out []string
	for _, ev := range c.Must(200, "GET", "/v1/accounts/"+acct+"/audit?limit=100", nil).Objects() {
		out = append(out, fmt.Sprint(ev["action"], " ", ev["target"]))
	}
	return out
}

func TestDomains_AddListVerifyDelete(t *testing.T) {
	t.Parallel()
	f := newDomainsFixture(t)

	r := f.owner.Must(201, "POST", f.path(""), map[string]string{"domain": "  Acme-Corp.COM. "})
	id := int64(r.JSON["id"].(float64))
	if r.Str("domain") != "acme-corp.com" || r.Str("status") != "pending" || r.JSON["verified_at"] != nil || r.Str("created_at") == "" {
		t.Fatalf("added: %s", r.Body)
	}
	v := r.JSON["verification"].(map[string]any)
	value, _ := v["value"].(string)
	token, ok := strings.CutPrefix(value, "roster-verification=")
	if v["type"] != "TXT" || v["name"] != "_roster-verification.acme-corp.com" || !ok || len(token) < 26 {
		t.Fatalf("verification: %v", v)
	}

	// Another domain's token is another random value.
	other := f.owner.Must(201, "POST", f.path(""), map[string]string{"domain": "acme-labs.com"})
	if other.JSON["verification"].(map[string]any)["value"] == value {
		t.Error("two domains share a token")
	}

	list := f.owner.Must(200, "GET", f.path(""), nil)
	if list.Total() != 2 {
		t.Fatalf("list: %s", list.Body)
	}
	if o := list.Objects()[0]; o["domain"] != "acme-corp.com" || o["status"] != "pending" || o["verification"].(map[string]any)["value"] != value {
		t.Errorf("listed: %v", o)
	}

	// Published: verified, with the time it was seen, and audited.
	f.e.DNS.SetTXT("_roster-verification.acme-corp.com", "v=spf1 -all", value)
	r = f.owner.Must(200, "POST", f.path(fmt.Sprintf("/%d/verify", id)), nil)
	if r.Str("status") != "verified" || r.Str("verified_at") == "" || r.Str("domain") != "acme-corp.com" {
		t.Fatalf("verified: %s", r.Body)
	}
	at, err := time.Parse(time.RFC3339Nano, r.Str("verified_at"))
	if err != nil || time.Since(at) > time.Minute {
		t.Errorf("verified_at %q: %v", r.Str("verified_at"), err)
	}
	if n := f.e.DNS.Queries("TXT", "_roster-verification.acme-corp.com"); n < 1 {
		t.Errorf("the TXT record was asked %d times", n)
	}
	// Verifying again answers the same, without a lookup or an audit event.
	asked, events := f.e.DNS.Queries("TXT", "_roster-verification.acme-corp.com"), f.e.Count(t, `SELECT COUNT(*) FROM audit_events`)
	again := f.owner.Must(200, "POST", f.path(fmt.Sprintf("/%d/verify", id)), nil)
	if again.Str("verified_at") != r.Str("verified_at") || f.e.DNS.Queries("TXT", "_roster-verification.acme-corp.com") != asked ||
		f.e.Count(t, `SELECT COUNT(*) FROM audit_events`) != events {
		t.Errorf("verifying a verified domain again: %s", again.Body)
	}
	list = f.owner.Must(200, "GET", f.path(""), nil)
	if o := list.Objects()[0]; o["status"] != "verified" || o["verified_at"] != r.Str("verified_at") {
		t.Errorf("listed after verifying: %v", o)
	}

	// Removed: gone from the list, and audited.
	f.owner.Must(204, "DELETE", f.path(fmt.Sprintf("/%d", id)), nil)
	list = f.owner.Must(200, "GET", f.path(""), nil)
	if list.Total() != 1 || list.Objects()[0]["domain"] != "acme-labs.com" {
		t.Errorf("after removing: %s", list.Body)
	}
	f.owner.Refused(404, "not_found", "DELETE", f.path(fmt.Sprintf("/%d", id)), nil)
	f.owner.Refused(404, "not_found", "POST", f.path(fmt.Sprintf("/%d/verify", id)), nil)

	got := strings.Join(auditActions(t, f.owner, f.acct), "\n")
	for _, want := range []string{"domain.add acme-corp.com", "domain.add acme-labs.com", "domain.verify acme-corp.com", "domain.delete acme-corp.com"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit log lacks %q:\n%s", want, got)
		}
	}
}

// A domain whose TXT record is missing or holds another value stays
// pending: 409 domain_unverified, saying what was found, and nothing
// changes.
func TestDomains_VerifyRefusedUntilTheRecordHoldsTheValue(t *testing.T) {
	t.Parallel()
	f := newDomainsFixture(t)
	r := f.owner.Must(201, "POST", f.path(""), map[string]string{"domain": "acme-corp.com"})
	verify := f.path(fmt.Sprintf("/%d/verify", int64(r.JSON["id"].(float64))))
	value := r.JSON["verification"].(map[string]any)["value"].(string)
	const name = "_roster-verification.acme-corp.com"

	for _, tc := range []struct {
		name    string
		publish []string
		want    []string // in the message
	}{
		{"no record", nil, []string{"No TXT record named " + name, value}},
		{"another value", []string{"roster-verification=somebody-elses-token"}, []string{name, `"roster-verification=somebody-elses-token"`, value}},
		{"several other values", []string{"v=spf1 -all", "google-site-verification=abc"}, []string{`"v=spf1 -all"`, `"google-site-verification=abc"`}},
		{"the value with a prefix", []string{"x" + value}, []string{`"x` + value + `"`}},
		{"a record on the domain itself, not the name", nil, []string{"No TXT record named " + name}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.e.DNS.SetTXT(name, tc.publish...)
			f.e.DNS.SetTXT("acme-corp.com", value)
			before := f.state(t)
			got := f.owner.Refused(409, "domain_unverified", "POST", verify, nil)
			msg, _ := got.JSON["error"].(map[string]any)["message"].(string)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not say %q", msg, w)
				}
			}
			if after := f.state(t); after != before {
				t.Errorf("a refused verification changed %s to %s", before, after)
			}
		})
	}
	list := f.owner.Must(200, "GET", f.path(""), nil)
	if o := list.Objects()[0]; o["status"] != "pending" || o["verified_at"] != nil {
		t.Errorf("after the refusals: %v", o)
	}

	// Many values, some long: the message quotes a few, shortened; a
	// long answer comes over TCP.
	var many []string
	for i := range 40 {
		many = append(many, fmt.Sprintf("value-%02d-%s", i, strings.Repeat("x", 300)))
	}
	f.e.DNS.SetTXT(name, many...)
	msg := f.owner.Refused(409, "domain_unverified", "POST", verify, nil).JSON["error"].(map[string]any)["message"].(string)
	if !strings.Contains(msg, "and 35 more") || len(msg) > 1200 {
		t.Errorf("message about 40 values (%d bytes): %q", len(msg), msg)
	}
	// Then the value among them: verified.
	f.e.DNS.SetTXT(name, append(many, value)...)
	if r := f.owner.Must(200, "POST", verify, nil); r.Str("status") != "verified" {
		t.Errorf("verified among 41 values: %s", r.Body)
	}
}

// A domain is verified by one account: the second is refused with 409
// domain_taken once its own record is seen, and may verify it after the
// first removes it.
func TestDomains_TakenByAnotherAccount(t *testing.T) {
	t.Parallel()
	f := newDomainsFixture(t)
	first := f.e.VerifyDomain(t, f.owner, f.acct, "acme-corp.com")

	rival, racct := f.e.SignUp(t, "rita@rival.com", "Rita Rival")
	// Claiming it while another account holds it is allowed: pending.
	r := rival.Must(201, "POST", "/v1/accounts/"+racct+"/domains", map[string]string{"domain": "ACME-corp.com"})
	verify := fmt.Sprintf("/v1/accounts/%s/domains/%d/verify", racct, int64(r.JSON["id"].(float64)))
	// Without its record, the rival learns nothing of the other account.
	rival.Refused(409, "domain_unverified", "POST", verify, nil)

	v := r.JSON["verification"].(map[string]any)
	f.e.DNS.SetTXT(v["name"].(string), v["value"].(string)) // both records now
	before := f.state(t)
	got := rival.Refused(409, "domain_taken", "POST", verify, nil)
	if msg := got.JSON["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "acme-corp.com") || strings.Contains(msg, "Olga") {
		t.Errorf("domain_taken message: %q", msg)
	}
	if after := f.state(t); after != before {
		t.Errorf("the refusal changed %s to %s", before, after)
	}

	// The first account removes it: the rival may verify it now.
	f.owner.Must(204, "DELETE", f.path(fmt.Sprintf("/%d", first)), nil)
	if r := rival.Must(200, "POST", verify, nil); r.Str("status") != "verified" {
		t.Errorf("after the first account removed it: %s", r.Body)
	}
	// ... and the first account cannot verify it again.
	r = f.owner.Must(201, "POST", f.path(""), map[string]string{"domain": "acme-corp.com"})
	v = r.JSON["verification"].(map[string]any)
	f.e.DNS.SetTXT(v["name"].(string), v["value"].(string))
	f.owner.Refused(409, "domain_taken", "POST", f.path(fmt.Sprintf("/%d/verify", int64(r.JSON["id"].(float64)))), nil)
}

func TestDomains_AddRefusals(t *testing.T) {
	t.Parallel()
	f := newDomainsFixture(t)
	f.owner.Must(201, "POST", f.path(""), map[string]string{"domain": "acme-corp.com"})
	for _, tc := range []struct {
		body        any
		status      int
		code, field string
		wantInWords string
	}{
		{map[string]string{"domain": "gmail.com"}, 422, "personal_email_domain", "domain", "personal"},
		{map[string]string{"domain": "mail.Yahoo.com"}, 422, "personal_email_domain", "domain", "personal"},
		{map[string]string{"domain": "mailinator.com"}, 422, "personal_email_domain", "domain", "disposable"},
		{map[string]string{"domain": "ACME-corp.com"}, 409, "conflict", "domain", "already"},
		{map[string]string{"domain": ""}, 400, "invalid_request", "domain", "required"},
		{map[string]string{"domain": "acme"}, 400, "invalid_request", "domain", "not a valid domain"},
		{map[string]string{"domain": "olga@acme-corp.com"}, 400, "invalid_request", "domain", "not an address"},
		{map[string]string{"domain": "https://acme-corp.com/"}, 400, "invalid_request", "domain", "not an address or a link"},
		{map[string]string{"domain": "acme corp.com"}, 400, "invalid_request", "domain", "space"},
		{map[string]string{"domain": "acme_corp.com"}, 400, "invalid_request", "domain", "not a valid domain"},
		{map[string]string{"domain": "acme..com"}, 400, "invalid_request", "domain", "not a valid domain"},
		{map[string]string{"domain": "-acme.com"}, 400, "invalid_request", "domain", "not a valid domain"},
		{map[string]string{"domain": "co.uk"}, 400, "invalid_request", "domain", "public suffix"},
		{map[string]string{"domain": "192.168.1.10"}, 400, "invalid_request", "domain", "IP address"},
		{map[string]string{"domain": strings.Repeat("a", 64) + ".com"}, 400, "invalid_request", "domain", "63"},
		{map[string]string{"domain": strings.Repeat("abcdefghi.", 25) + "com"}, 400, "invalid_request", "domain", "too long"},
		{map[string]string{"domain": "acme\u202e.com"}, 400, "invalid_request", "domain", "invisible"},
		{map[string]any{"domain": 7}, 400, "invalid_request", "", ""},
		{map[string]any{"domain": "x.com", "verified": true}, 400, "invalid_request", "", ""},
	} {
		before := f.state(t)
		r := f.owner.Refused(tc.status, tc.code, "POST", f.path(""), tc.body)
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
}

// Internationalized domains are kept in ASCII (punycode), as addresses'
// domains are, so the same domain typed either way is one domain.
func TestDomains_IDNNormalized(t *testing.T) {
	t.Parallel()
	f := newDomainsFixture(t)
	r := f.owner.Must(201, "POST", f.path(""), map[string]string{"domain": "Bücher.example"})
	if r.Str("domain") != "xn--bcher-kva.example" || r.JSON["verification"].(map[string]any)["name"] != "_roster-verification.xn--bcher-kva.example" {
		t.Fatalf("IDN: %s", r.Body)
	}
	f.owner.Refused(409, "conflict", "POST", f.path(""), map[string]string{"domain": "xn--BCHER-kva.example"})
	f.owner.Refused(409, "conflict", "POST", f.path(""), map[string]string{"domain": "BÜCHER.example"})
	// Published under its ASCII name, it verifies.
	v := r.JSON["verification"].(map[string]any)
	f.e.DNS.SetTXT(v["name"].(string), v["value"].(string))
	f.owner.Must(200, "POST", f.path(fmt.Sprintf("/%d/verify", int64(r.JSON["id"].(float64)))), nil)
}

// The domains section needs team.edit, reading included: a developer is
// refused 403, a non-member 404, another account's domain is not found;
// nothing changes.
func TestDomains_Permissions(t *testing.T) {
	t.Parallel()
	f := newDomainsFixture(t)
	id := f.e.VerifyDomain(t, f.owner, f.acct, "acme-corp.com")
	dev, _ := f.e.Join(t, f.owner, f.acct, "dev@acme-corp.com", "developer")
	admin, _ := f.e.Join(t, f.owner, f.acct, "ada@acme-corp.com", "admin")
	stranger, sacct := f.e.SignUp(t, "sam@stranger.com", "Sam Stranger")

	before := f.state(t)
	for _, c := range []struct {
		who    string
		client *servertest.Client
		status int
		code   string
	}{{"developer", dev, 403, "forbidden"}, {"non-member", stranger, 404, "not_found"}} {
		t.Run(c.who, func(t *testing.T) {
			c.client.Refused(c.status, c.code, "GET", f.path(""), nil)
			c.client.Refused(c.status, c.code, "POST", f.path(""), map[string]string{"domain": "acme-labs.com"})
			c.client.Refused(c.status, c.code, "POST", f.path(fmt.Sprintf("/%d/verify", id)), nil)
			c.client.Refused(c.status, c.code, "DELETE", f.path(fmt.Sprintf("/%d", id)), nil)
		})
	}
	// Another account's domain, through the stranger's own account.
	stranger.Refused(404, "not_found", "DELETE", fmt.Sprintf("/v1/accounts/%s/domains/%d", sacct, id), nil)
	stranger.Refused(404, "not_found", "POST", fmt.Sprintf("/v1/accounts/%s/domains/%d/verify", sacct, id), nil)
	stranger.Refused(404, "not_found", "DELETE", fmt.Sprintf("/v1/accounts/%s/domains/nope", sacct), nil)
	if after := f.state(t); after != before {
		t.Errorf("the refusals changed %s to %s", before, after)
	}
	// An admin holds team.edit.
	if admin.Must(200, "GET", f.path(""), nil).Total() != 1 {
		t.Error("the admin does not see the domain")
	}
}

// The server asks the DNS server ROSTER_DNS_SERVER names, over TCP when
// the answer is too long for UDP (servertest's DNS truncates it).
func TestDomains_ResolverFollowsTruncationToTCP(t *testing.T) {
	t.Parallel()
	dns := servertest.NewDNS(t)
	var values []string
	for i := range 30 {
		values = append(values, fmt.Sprintf("%02d-%s", i, strings.Repeat("y", 200)))
	}
	dns.SetTXT("Big.Example", values...)
	dns.SetAddrs("big.example", "192.0.2.1", "2001:db8::1")
	got, err := dns.Resolver().LookupTXT(t.Context(), "big.example.")
	if err != nil || len(got) != 30 {
		t.Fatalf("LookupTXT = %d values, %v", len(got), err)
	}
	addrs, err := dns.Resolver().LookupHost(t.Context(), "big.example.")
	if err != nil || len(addrs) != 2 {
		t.Errorf("LookupHost = %v, %v", addrs, err)
	}
	if _, err := dns.Resolver().LookupTXT(t.Context(), "nothing.example."); err == nil {
		t.Error("an unknown name resolved")
	}
}

// Two accounts verifying one domain at once: the database decides, one
// holds it and the other is told domain_taken.
func TestDomains_VerifyRaceHasOneWinner(t *testing.T) {
	t.Parallel()
	f := newDomainsFixture(t)
	rival, racct := f.e.SignUp(t, "rita@rival.com", "Rita Rival")
	type claim struct {
		c      *servertest.Client
		verify string
	}
	var claims []claim
	for _, cl := range []struct {
		c    *servertest.Client
		acct string
	}{{f.owner, f.acct}, {rival, racct}} {
		r := cl.c.Must(201, "POST", "/v1/accounts/"+cl.acct+"/domains", map[string]string{"domain": "contested.example"})
		v := r.JSON["verification"].(map[string]any)
		claims = append(claims, claim{cl.c, fmt.Sprintf("/v1/accounts/%s/domains/%d/verify", cl.acct, int64(r.JSON["id"].(float64)))})
		f.e.DNS.SetTXT(v["name"].(string), append(f.e.DNS.TXT(v["name"].(string)), v["value"].(string))...)
	}
	for round := range 5 {
		got := make(chan servertest.Response, 2)
		for _, cl := range claims {
			go func() { got <- cl.c.Do("POST", cl.verify, nil) }()
		}
		a, b := <-got, <-got
		if round == 0 {
			if ok, taken := a.Status+b.Status, a.Code()+b.Code(); ok != 200+409 || taken != "domain_taken" {
				t.Fatalf("round %d: %d %q and %d %q, want one 200 and one 409 domain_taken", round, a.Status, a.Code(), b.Status, b.Code())
			}
		}
		if n := f.e.Count(t, `SELECT COUNT(*) FROM domains WHERE verified_at IS NOT NULL`); n != 1 {
			t.Fatalf("round %d: %d verified rows", round, n)
		}
	}
}
