package console_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/server/servertest"
)

// areasFixture is a committed account with its owner, a developer and a
// support member (who views numbers, applications and billing but edits
// none of them, and holds nothing of credentials), all using the console.
type areasFixture struct {
	e               *servertest.Env
	acct            string
	api             *servertest.Client // the owner, over the API: reads the state
	owner, dev, sup *formClient
}

func newAreasFixture(t *testing.T) *areasFixture {
	e := servertest.New(t)
	api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	dev, _ := e.Join(t, api, acct, "dev@acme-corp.com", "developer")
	sup, _ := e.Join(t, api, acct, "sup@acme-corp.com", "support")
	return &areasFixture{e: e, acct: acct, api: api, owner: newFormClient(t, e, api), dev: newFormClient(t, e, dev), sup: newFormClient(t, e, sup)}
}

func (f *areasFixture) path(rest string) string { return "/accounts/" + f.acct + rest }
func (f *areasFixture) v1(rest string) string   { return "/v1/accounts/" + f.acct + rest }

// state is the owner's API view of one area, to show that a refusal
// changed nothing.
func (f *areasFixture) state(rest string) string {
	return string(f.api.Must(200, "GET", f.v1(rest), nil).Body)
}

var noticeRE = regexp.MustCompile(`<div class="notice" role="status">([^<]*)</div>`)

// done checks a form's answer is the redirect to next, and returns the
// message the next page shows.
func done(t *testing.T, k *formClient, what string, a answer, next string) string {
	t.Helper()
	if a.Status != 303 || a.Header.Get("Location") != next {
		t.Fatalf("%s: %d to %q, want 303 to %q: %s", what, a.Status, a.Header.Get("Location"), next, a.Body)
	}
	m := noticeRE.FindStringSubmatch(k.get(next).Body)
	if m == nil {
		t.Fatalf("%s: %s shows no message", what, next)
	}
	return html.UnescapeString(m[1])
}

func wantMsg(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s: message %q, want %q", what, got, want)
	}
}

// plus is s as html/template writes it: "+" becomes "&#43;".
func plus(s string) string { return strings.ReplaceAll(s, "+", "&#43;") }

func lacks(t *testing.T, what string, a answer, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(a.Body, s) {
			t.Errorf("%s: the page has %q", what, s)
		}
	}
}

func TestConsole_BillingRechargeNeedsACard(t *testing.T) {
	f := newAreasFixture(t)
	billing := f.path("/billing")
	a := f.owner.get(billing)
	a.want(t, "billing without a card", 200, "Add a card first", `id="recharge" disabled`, "No cards on file. Add one above to add credit.",
		"No recharges yet.", "No invoices yet", `action="`+f.path("/billing/auto-recharge")+`"`, "Turning it on needs a card on file.")
	oneH1(t, "billing", a)

	// A forged recharge: refused at the field, nothing changed.
	before := f.state("/billing")
	f.owner.post(f.path("/billing/recharges"), url.Values{"amount_usd": {"50"}}).want(t, "recharge without a card", 409,
		`id="amount-error" role="alert">Add a payment method before adding credit`, `value="50"`, `aria-invalid="true"`)
	// Turning auto-recharge on: refused the same way, at its checkbox.
	f.owner.post(f.path("/billing/auto-recharge"), url.Values{"auto_enabled": {"on"}, "auto_threshold_usd": {"5"}, "auto_amount_usd": {"20"}}).want(t,
		"auto-recharge without a card", 409, `id="auto-enabled-error" role="alert">Add a payment method`, `id="auto-enabled" name="auto_enabled" value="on" checked`,
		`value="5"`, `value="20"`)
	if after := f.state("/billing"); after != before {
		t.Errorf("refusals changed billing:\nbefore %s\nafter  %s", before, after)
	}

	// A bad card: at its field, the number never sent back.
	a = f.owner.post(f.path("/billing/payment-methods"), url.Values{"card_number": {"4242424242424241"}, "exp_month": {"12"}, "exp_year": {"2030"}})
	a.want(t, "bad card", 400, `id="card-error"`, "not a valid card number", `id="exp-month" name="exp_month" inputmode="numeric" size="2" placeholder="MM" value="12"`)
	lacks(t, "bad card", a, "4242424242424241")
	if after := f.state("/billing"); after != before {
		t.Errorf("a refused card changed billing")
	}

	msg := done(t, f.owner, "add card", f.owner.post(f.path("/billing/payment-methods"), url.Values{"card_number": {"4242 4242 4242 4242"}, "exp_month": {"12"}, "exp_year": {"2030"}}), billing)
	wantMsg(t, "add card", msg, "Card ending 4242 added.")
	f.owner.get(billing).want(t, "billing with a card", 200, "charged at once to the Visa card ending 4242", `data-card="4242"`,
		`href="`+f.path("/billing/payment-methods/")) // the Remove link
	done(t, f.owner, "recharge 100", f.owner.post(f.path("/billing/recharges"), url.Values{"amount_usd": {"100"}}), billing)
	msg = done(t, f.owner, "recharge 50", f.owner.post(f.path("/billing/recharges"), url.Values{"amount_usd": {"50.00"}}), billing)
	wantMsg(t, "recharge", msg, "Added $50.00 of credit. The balance is now $150.00.")
	b := f.api.Must(200, "GET", f.v1("/billing"), nil)
	if b.JSON["balance_usd"].(float64) != 150 || len(b.JSON["recharges"].([]any)) != 2 {
		t.Errorf("billing after two recharges: %s", b.Body)
	}
	f.owner.get(billing).want(t, "billing with recharges", 200, "<time datetime=", "$150.00")

	// Refused amounts: at the field, typed value kept, nothing changed.
	before = f.state("/billing")
	f.owner.post(f.path("/billing/recharges"), url.Values{"amount_usd": {"lots"}}).want(t, "recharge of words", 400, `id="amount-error"`, `value="lots"`)
	f.owner.post(f.path("/billing/recharges"), url.Values{"amount_usd": {"0.5"}}).want(t, "recharge below 1", 400, `id="amount-error"`, `value="0.5"`)
	if after := f.state("/billing"); after != before {
		t.Errorf("refused recharges changed billing")
	}
}

func TestConsole_AutoRechargeAndRemovingACard(t *testing.T) {
	f := newAreasFixture(t)
	billing := f.path("/billing")
	pm := f.api.Must(201, "POST", f.v1("/billing/payment-methods"), map[string]any{"card_number": "4242424242424242", "exp_month": 12, "exp_year": 2030})
	pmID := fmt.Sprint(int64(pm.JSON["id"].(float64)))
	f.owner.get(billing)

	msg := done(t, f.owner, "auto on", f.owner.post(f.path("/billing/auto-recharge"), url.Values{"auto_enabled": {"on"}, "auto_threshold_usd": {"5"}, "auto_amount_usd": {"20"}}), billing)
	wantMsg(t, "auto on", msg, "Auto-recharge on: $20.00 is added when the balance falls below $5.00.")
	f.owner.get(billing).want(t, "auto on", 200, `id="auto-state">On`, `id="auto-threshold" name="auto_threshold_usd" inputmode="decimal" value="5.00"`,
		`id="auto-amount" name="auto_amount_usd" inputmode="decimal" value="20.00"`)

	// Refusals at their field, with what was typed.
	before := f.state("/billing")
	f.owner.post(f.path("/billing/auto-recharge"), url.Values{"auto_enabled": {"on"}, "auto_threshold_usd": {"7"}, "auto_amount_usd": {"0.50"}}).want(t,
		"auto amount below 1", 400, `id="auto-amount-error"`, "at least 1.00", `value="7"`, `value="0.50"`)
	f.owner.post(f.path("/billing/auto-recharge"), url.Values{"auto_threshold_usd": {"soon"}, "auto_amount_usd": {"20"}}).want(t,
		"auto threshold of words", 400, `id="auto-threshold-error"`, `value="soon"`)
	if after := f.state("/billing"); after != before {
		t.Errorf("refused auto-recharge changed billing:\nbefore %s\nafter  %s", before, after)
	}

	// A role without billing.edit sees no forms and is refused every
	// change, the confirmation included.
	a := f.sup.get(billing)
	a.want(t, "support's billing", 200, "$0.00", `data-card="4242"`)
	lacks(t, "support's billing", a, `action="`+f.path("/billing/recharges"), `action="`+f.path("/billing/auto-recharge"),
		`action="`+f.path("/billing/payment-methods"), "/remove", "Add one above")
	remove := f.path("/billing/payment-methods/" + pmID + "/remove")
	f.sup.get(remove).want(t, "support's remove confirmation", 403, "billing.edit")
	f.sup.post(remove, url.Values{}).want(t, "support's remove", 403)
	f.sup.post(f.path("/billing/recharges"), url.Values{"amount_usd": {"10"}}).want(t, "support's recharge", 403)
	f.sup.post(f.path("/billing/auto-recharge"), url.Values{"auto_threshold_usd": {"1"}, "auto_amount_usd": {"2"}}).want(t, "support's auto-recharge", 403)
	f.sup.post(f.path("/billing/payment-methods"), url.Values{"card_number": {"5555555555554444"}, "exp_month": {"1"}, "exp_year": {"2031"}}).want(t, "support's card", 403)
	f.dev.get(billing).want(t, "developer's billing", 403)
	f.dev.get(remove).want(t, "developer's remove confirmation", 403)
	if after := f.state("/billing"); after != before {
		t.Errorf("refused roles changed billing:\nbefore %s\nafter  %s", before, after)
	}

	// Removing: the confirmation says what happens and changes nothing.
	f.owner.get(f.path("/billing/payment-methods/999999/remove")).want(t, "removing no card", 404)
	a = f.owner.get(remove)
	a.want(t, "remove confirmation", 200, "Remove the card ending 4242?", "Visa ending 4242, expiring 12/2030", "only card on file",
		"auto-recharge is turned off", `id="confirm-remove"`, `action="`+remove+`"`, `href="`+billing+`"`)
	oneH1(t, "the confirmation", a)
	if after := f.state("/billing"); after != before {
		t.Errorf("the confirmation changed billing")
	}
	msg = done(t, f.owner, "remove", f.owner.post(remove, url.Values{}), billing)
	wantMsg(t, "remove", msg, "Card ending 4242 removed. Auto-recharge is now off: no card is left to charge.")
	b := f.api.Must(200, "GET", f.v1("/billing"), nil)
	if len(b.JSON["payment_methods"].([]any)) != 0 || b.JSON["auto_recharge"].(map[string]any)["enabled"] != false {
		t.Errorf("after removing the card: %s", b.Body)
	}
	f.owner.post(remove, url.Values{}).want(t, "removing it again", 404)
	// Turning auto-recharge off needs no card.
	msg = done(t, f.owner, "auto off", f.owner.post(f.path("/billing/auto-recharge"), url.Values{"auto_threshold_usd": {"5"}, "auto_amount_usd": {"20"}}), billing)
	wantMsg(t, "auto off", msg, "Auto-recharge off: credit is added only when you add it.")
}

func TestConsole_NumbersEditAndRelease(t *testing.T) {
	f := newAreasFixture(t)
	numbers := f.path("/numbers")
	f.owner.get(numbers).want(t, "owner's empty numbers", 200, "No phone numbers yet. Add one above.")
	f.sup.get(numbers).want(t, "support's empty numbers", 200, "No phone numbers in this account.")

	app := f.api.Must(201, "POST", f.v1("/applications"), map[string]string{"name": "IVR", "answer_url": "https://acme.example/answer"})
	appID := fmt.Sprint(int64(app.JSON["id"].(float64)))
	const n = "+14155550100"
	f.api.Must(201, "POST", f.v1("/numbers"), map[string]string{"number": n, "alias": "Sales"})
	edit := f.path("/numbers/" + n + "/edit")
	f.owner.get(numbers).want(t, "numbers", 200, plus(`href="`+edit+`"`), plus(`href="`+f.path("/numbers/"+n+"/release")+`"`))

	a := f.owner.get(edit)
	a.want(t, "edit form", 200, plus("<h1>Edit "+n+"</h1>"), `value="Sales"`, `<option value="0" selected>None</option>`,
		`<option value="`+appID+`">IVR</option>`, plus(`action="`+edit+`"`))
	oneH1(t, "the edit form", a)

	// Refusals: at the field, typed values kept, nothing changed.
	before := f.state("/numbers/" + n)
	long := strings.Repeat("x", 101)
	f.owner.post(edit, url.Values{"alias": {long}, "application_id": {appID}}).want(t, "long alias", 400,
		`id="alias-error"`, `value="`+long+`"`, `<option value="`+appID+`" selected>IVR</option>`)
	f.owner.post(edit, url.Values{"alias": {"Support line"}, "application_id": {"999999"}}).want(t, "no such application", 400,
		`id="application-error"`, `value="Support line"`)
	f.owner.post(edit, url.Values{"alias": {"Support line"}, "application_id": {"IVR"}}).want(t, "application by name", 400, `id="application-error"`)
	if after := f.state("/numbers/" + n); after != before {
		t.Errorf("refused edits changed the number:\nbefore %s\nafter  %s", before, after)
	}
	f.owner.get(f.path("/numbers/+19999999999/edit")).want(t, "edit of no number", 404)

	msg := done(t, f.owner, "save", f.owner.post(edit, url.Values{"alias": {"Support line"}, "application_id": {appID}}), numbers)
	wantMsg(t, "save", msg, `+14155550100 saved: alias “Support line”, linked to “IVR”.`)
	got := f.api.Must(200, "GET", f.v1("/numbers/"+n), nil)
	if got.JSON["alias"] != "Support line" || fmt.Sprint(got.JSON["application_id"]) != appID {
		t.Errorf("after saving: %s", got.Body)
	}
	f.owner.get(numbers).want(t, "numbers after saving", 200, "<td>Support line</td><td>IVR</td>")
	msg = done(t, f.owner, "unlink", f.owner.post(edit, url.Values{"alias": {""}, "application_id": {"0"}}), numbers)
	wantMsg(t, "unlink", msg, "+14155550100 saved: no alias, not linked to an application.")
	done(t, f.owner, "link again", f.owner.post(edit, url.Values{"alias": {"Support line"}, "application_id": {appID}}), numbers)

	// Support (numbers.view only): no links, and refused.
	before = f.state("/numbers/" + n)
	a = f.sup.get(numbers)
	a.want(t, "support's numbers", 200, plus(n), "Support line")
	lacks(t, "support's numbers", a, plus(`href="`+edit+`"`), "/release", "/edit")
	release := f.path("/numbers/" + n + "/release")
	f.sup.get(edit).want(t, "support's edit form", 403, "numbers.edit")
	f.sup.post(edit, url.Values{"alias": {"Mine"}, "application_id": {"0"}}).want(t, "support's edit", 403)
	f.sup.get(release).want(t, "support's release confirmation", 403)
	f.sup.post(release, url.Values{}).want(t, "support's release", 403)
	if after := f.state("/numbers/" + n); after != before {
		t.Errorf("support's refusals changed the number")
	}

	// Release: a confirmation first, which changes nothing.
	a = f.owner.get(release)
	a.want(t, "release confirmation", 200, plus("Release "+n+"?"), "irreversible", "Support line", `id="confirm-release"`, plus(`action="`+release+`"`), `href="`+numbers+`"`)
	oneH1(t, "the confirmation", a)
	if after := f.state("/numbers/" + n); after != before {
		t.Errorf("the confirmation changed the number")
	}
	msg = done(t, f.owner, "release", f.owner.post(release, url.Values{}), numbers)
	wantMsg(t, "release", msg, "Number "+n+" released.")
	f.api.Refused(404, "not_found", "GET", f.v1("/numbers/"+n), nil)
	f.owner.get(release).want(t, "confirmation for a released number", 404)
}

func TestConsole_ApplicationsEditAndDelete(t *testing.T) {
	f := newAreasFixture(t)
	apps := f.path("/applications")
	f.owner.get(apps).want(t, "owner's empty applications", 200, "No applications yet. Create one above")
	f.sup.get(apps).want(t, "support's empty applications", 200, "No applications in this account.")

	msg := done(t, f.owner, "create", f.owner.post(apps, url.Values{"name": {"IVR"}, "answer_url": {"https://acme.example/answer"}, "answer_method": {"POST"}}), apps)
	wantMsg(t, "create", msg, `Application “IVR” added.`)
	list := f.api.Must(200, "GET", f.v1("/applications"), nil).Objects()
	if len(list) != 1 {
		t.Fatalf("applications: %v", list)
	}
	id := fmt.Sprint(int64(list[0]["id"].(float64)))
	edit, del := f.path("/applications/"+id+"/edit"), f.path("/applications/"+id+"/delete")
	f.owner.get(apps).want(t, "applications", 200, `href="`+edit+`"`, `href="`+del+`"`)
	a := f.owner.get(edit)
	a.want(t, "edit form", 200, "<h1>Edit IVR</h1>", `value="IVR"`, `value="https://acme.example/answer"`, `<option selected>POST</option>`)
	oneH1(t, "the edit form", a)

	before := f.state("/applications/" + id)
	form := func(name, answer, method, hangup string) url.Values {
		return url.Values{"name": {name}, "answer_url": {answer}, "answer_method": {method}, "hangup_url": {hangup}, "message_url": {""}}
	}
	f.owner.post(edit, form("IVR 2", "ftp://acme.example/a", "GET", "")).want(t, "bad answer URL", 400,
		`id="answer-url-error"`, `value="IVR 2"`, `value="ftp://acme.example/a"`, `<option selected>GET</option>`)
	f.owner.post(edit, form("", "https://acme.example/a", "GET", "")).want(t, "no name", 400, `id="app-name-error"`)
	f.owner.post(edit, form("IVR 2", "https://acme.example/a", "PUT", "")).want(t, "bad method", 400, `id="answer-method-error"`)
	f.owner.post(edit, form("IVR 2", "https://acme.example/a", "GET", "mailto:x@acme.example")).want(t, "bad hangup URL", 400,
		`id="hangup-url-error"`, `value="mailto:x@acme.example"`)
	if after := f.state("/applications/" + id); after != before {
		t.Errorf("refused edits changed the application:\nbefore %s\nafter  %s", before, after)
	}
	f.owner.get(f.path("/applications/999999/edit")).want(t, "edit of no application", 404)

	msg = done(t, f.owner, "save", f.owner.post(edit, form("IVR 2", "https://acme.example/v2", "GET", "https://acme.example/hangup")), apps)
	wantMsg(t, "save", msg, `Application “IVR 2” saved.`)
	got := f.api.Must(200, "GET", f.v1("/applications/"+id), nil)
	if got.JSON["name"] != "IVR 2" || got.JSON["answer_url"] != "https://acme.example/v2" || got.JSON["answer_method"] != "GET" || got.JSON["hangup_url"] != "https://acme.example/hangup" {
		t.Errorf("after saving: %s", got.Body)
	}

	// A number linked to it, named on the confirmation.
	f.api.Must(201, "POST", f.v1("/numbers"), map[string]any{"number": "+14155550111", "application_id": got.JSON["id"]})
	before = f.state("/applications/" + id)
	f.sup.get(edit).want(t, "support's edit form", 403, "applications.edit")
	f.sup.post(edit, form("Mine", "https://acme.example/a", "GET", "")).want(t, "support's edit", 403)
	f.sup.get(del).want(t, "support's delete confirmation", 403)
	f.sup.post(del, url.Values{}).want(t, "support's delete", 403)
	lacks(t, "support's applications", f.sup.get(apps), `href="`+edit+`"`, `href="`+del+`"`)
	a = f.owner.get(del)
	a.want(t, "delete confirmation", 200, "Delete the application “IVR 2”?", "irreversible", plus("+14155550111"), `id="confirm-delete"`, `action="`+del+`"`)
	if after := f.state("/applications/" + id); after != before {
		t.Errorf("the confirmation or refusals changed the application")
	}
	msg = done(t, f.owner, "delete", f.owner.post(del, url.Values{}), apps)
	wantMsg(t, "delete", msg, `Application “IVR 2” deleted.`)
	f.api.Refused(404, "not_found", "GET", f.v1("/applications/"+id), nil)
	if n := f.api.Must(200, "GET", f.v1("/numbers/+14155550111"), nil); n.JSON["application_id"] != nil {
		t.Errorf("the number is still linked: %s", n.Body)
	}
}

func TestConsole_CredentialsRotationConfirmation(t *testing.T) {
	f := newAreasFixture(t)
	creds, rotate := f.path("/credentials"), f.path("/credentials/rotate")
	token := func() string { return f.api.Must(200, "GET", f.v1("/credentials"), nil).Str("auth_token") }
	works := func(tok string) bool {
		c := f.e.Client(t)
		c.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(f.acct+":"+tok)))
		return c.Do("GET", f.v1("/numbers"), nil).Status == 200
	}
	a := f.owner.get(creds)
	a.want(t, "credentials", 200, `method="get" action="`+rotate+`"`, `id="rotate"`)
	lacks(t, "credentials", a, `method="post" action="`+rotate+`"`)

	// The confirmation: the choice, the safe default; nothing changes.
	first := token()
	a = f.owner.get(rotate)
	a.want(t, "rotate confirmation", 200, "Rotate the Auth Token", `name="keep_old_for" value="24h" checked`, `value="1h"`, `value="168h"`,
		`value="0"`, "Stop the old token now — choose this if it leaked", `id="confirm-rotate"`, `action="`+rotate+`"`, `href="`+creds+`"`)
	oneH1(t, "the confirmation", a)
	if token() != first {
		t.Fatal("the confirmation rotated the token")
	}

	// Support holds no credentials permission: refused both ways.
	f.sup.get(rotate).want(t, "support's confirmation", 403, "credentials.edit")
	f.sup.post(rotate, url.Values{"keep_old_for": {"0"}}).want(t, "support's rotation", 403)
	if token() != first {
		t.Fatal("a refused rotation changed the token")
	}
	// A forged grace period: refused, nothing changed.
	f.owner.get(rotate)
	f.owner.post(rotate, url.Values{"keep_old_for": {"1000h"}}).want(t, "forged grace", 400, "The old token can be kept from 0 to 7 days")
	if token() != first {
		t.Fatal("a refused rotation changed the token")
	}

	// The default: the old token keeps working.
	msg := done(t, f.owner, "rotate with grace", f.owner.post(rotate, url.Values{"keep_old_for": {"24h"}}), creds)
	if !regexp.MustCompile(`^Auth Token rotated\. The old token keeps working until \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2} UTC\.$`).MatchString(msg) {
		t.Errorf("rotate with grace: message %q", msg)
	}
	second := token()
	if second == first || !works(first) || !works(second) {
		t.Errorf("after a rotation with grace: new %v, old works %v, new works %v", second != first, works(first), works(second))
	}
	// Leaked: the old token stops at once.
	f.dev.get(rotate).want(t, "developer's confirmation", 200, `id="confirm-rotate"`)
	msg = done(t, f.dev, "rotate now", f.dev.post(rotate, url.Values{"keep_old_for": {"0"}}), creds)
	wantMsg(t, "rotate now", msg, "Auth Token rotated. The old token stopped working.")
	if third := token(); third == second || works(second) || !works(third) {
		t.Errorf("after a rotation without grace the old token still works")
	}
}

func TestConsole_PricingEmptyState(t *testing.T) {
	f := newAreasFixture(t)
	pricing := f.path("/pricing")
	a := f.owner.get(pricing)
	a.want(t, "pricing on a fresh install", 200, "No rates are loaded yet.", "<code>roster pricing import FILE.csv</code>",
		"<code>country,voice_per_minute_usd,sms_per_message_usd</code>", "<code>US,0.0085,0.0079</code>")
	lacks(t, "pricing on a fresh install", a, `class="form-error"`, `class="field-error"`, `role="alert"`)

	if err := f.e.Server.Service.ImportPrices(context.Background(), []roster.Price{{Country: "US", VoicePerMinute: 8500, SMSPerMessage: 7900}}); err != nil {
		t.Fatal(err)
	}
	a = f.owner.get(pricing + "?country=us")
	a.want(t, "US rates", 200, `id="voice-rate">$0.0085`, `id="sms-rate">$0.0079`, `value="US"`)
	lacks(t, "US rates", a, "No rates are loaded yet.")
	a = f.owner.get(pricing + "?country=FR")
	a.want(t, "no rate for FR", 200, `id="country-note" role="status">No rate for FR.</p>`, `value="FR"`)
	lacks(t, "no rate for FR", a, `class="form-error"`, `role="alert"`, `id="voice-rate"`)
	f.owner.get(pricing+"?country=USA").want(t, "bad country", 400, `id="country-error" role="alert"`, "two-letter code", `aria-invalid="true"`)
}

// TestConsole_AreasInChromium: a card added, credit added, the card
// removed through its confirmation; a number's alias and application
// edited; the Auth Token rotated through its confirmation with the
// default grace period.
func TestConsole_AreasInChromium(t *testing.T) {
	browser := newBrowser(t)
	f := newAreasFixture(t)
	owner := newTab(t, browser, f.e.URL, "owner")
	owner.login("olga@acme-corp.com")

	// Billing: no card, so no recharge yet.
	owner.open(f.path("/billing"))
	var disabled bool
	owner.eval(`document.querySelector('#recharge').disabled`, &disabled)
	if !disabled {
		t.Error("the recharge button is enabled with no card on file")
	}
	owner.fill("#card", "4242 4242 4242 4242")
	owner.fill("#exp-month", "12")
	owner.fill("#exp-year", "2030")
	if st := owner.submit("#add-card"); st != 200 {
		t.Fatalf("add card: %d", st)
	}
	wantMsg(t, "add card", owner.text(".notice"), "Card ending 4242 added.")
	owner.fill("#amount", "50")
	owner.submit("#recharge")
	wantMsg(t, "recharge", owner.text(".notice"), "Added $50.00 of credit. The balance is now $50.00.")
	if got := owner.text("#balance"); got != "$50.00" {
		t.Errorf("balance shown: %q", got)
	}
	owner.screenshot("30-billing")
	owner.submit("#remove-4242")
	if !strings.HasSuffix(owner.path(), "/remove") {
		t.Fatalf("Remove did not lead to the confirmation: %s", owner.location())
	}
	if n := len(f.api.Must(200, "GET", f.v1("/billing"), nil).JSON["payment_methods"].([]any)); n != 1 {
		t.Fatalf("the confirmation removed the card")
	}
	owner.screenshot("31-remove-card")
	owner.submit("#confirm-remove")
	wantMsg(t, "remove", owner.text(".notice"), "Card ending 4242 removed.")
	owner.eval(`document.querySelector('#recharge').disabled`, &disabled)
	if !disabled || len(f.api.Must(200, "GET", f.v1("/billing"), nil).JSON["payment_methods"].([]any)) != 0 {
		t.Error("after removing the card: still a card, or recharge still offered")
	}

	// A number's alias and application.
	app := f.api.Must(201, "POST", f.v1("/applications"), map[string]string{"name": "IVR", "answer_url": "https://acme.example/answer"})
	appID := fmt.Sprint(int64(app.JSON["id"].(float64)))
	f.api.Must(201, "POST", f.v1("/numbers"), map[string]string{"number": "+14155550100"})
	owner.open(f.path("/numbers"))
	owner.submit(`a[data-edit="+14155550100"]`)
	owner.fill("#alias", "Support line")
	owner.fill("#application", appID)
	owner.screenshot("32-edit-number")
	owner.submit("#save-number")
	wantMsg(t, "save number", owner.text(".notice"), `+14155550100 saved: alias “Support line”, linked to “IVR”.`)
	if got := f.api.Must(200, "GET", f.v1("/numbers/+14155550100"), nil); got.JSON["alias"] != "Support line" || fmt.Sprint(got.JSON["application_id"]) != appID {
		t.Errorf("the number after saving: %s", got.Body)
	}

	// Rotation with the default: the old token keeps working.
	old := f.api.Must(200, "GET", f.v1("/credentials"), nil).Str("auth_token")
	owner.open(f.path("/credentials"))
	owner.submit("#rotate")
	if owner.path() != f.path("/credentials/rotate") {
		t.Fatalf("Rotate did not lead to the confirmation: %s", owner.location())
	}
	var checked bool
	owner.eval(`document.querySelector('input[name=keep_old_for][value="24h"]').checked`, &checked)
	if !checked {
		t.Error("the 24 hours grace period is not the default")
	}
	owner.screenshot("33-rotate")
	owner.submit("#confirm-rotate")
	if msg := owner.text(".notice"); !strings.HasPrefix(msg, "Auth Token rotated. The old token keeps working until ") {
		t.Errorf("rotate: %q", msg)
	}
	c := f.e.Client(t)
	c.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(f.acct+":"+old)))
	c.Must(200, "GET", f.v1("/numbers"), nil)
	if f.api.Must(200, "GET", f.v1("/credentials"), nil).Str("auth_token") == old {
		t.Error("the token did not change")
	}
}
