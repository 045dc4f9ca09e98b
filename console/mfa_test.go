package console_test

import (
	"encoding/csv"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster/server/servertest"
)

// consoleEnroll turns two-factor sign-in on through Profile & security
// and returns the key, the recovery codes and the code's step.
func consoleEnroll(t *testing.T, k *formClient, clk *serverClock) (secret string, codes []string, step int64) {
	t.Helper()
	k.get("/profile")
	a := k.post("/profile/mfa/setup", url.Values{"password": {servertest.Password}})
	m := secretRE.FindStringSubmatch(a.Body)
	if m == nil {
		t.Fatalf("set-up: %d %s", a.Status, a.Body)
	}
	code, step := freshCode(t, clk, m[1], 0)
	a = k.post("/profile/mfa/confirm", url.Values{"otp": {code}, "otpauth": {formValue(a.Body, "otpauth")}, "password": {servertest.Password}})
	for _, c := range regexp.MustCompile(`<li><code>([a-z2-7-]+)</code></li>`).FindAllStringSubmatch(a.Body, -1) {
		codes = append(codes, c[1])
	}
	if len(codes) != 10 {
		t.Fatalf("confirm: %d %s", a.Status, a.Body)
	}
	return m[1], codes, step
}

// Turning two-factor sign-in off and making new recovery codes ask for
// the password and a code (or a recovery code) again: each refusal says
// why next to its field, with its status, and changes nothing.
func TestConsole_TwoFactorFormsNeedPasswordAndCode(t *testing.T) {
	e := servertest.New(t)
	clk := newServerClock(e)
	const email = "olga@acme-corp.com"
	api, _ := e.SignUp(t, email, "Olga Owner")
	k := newFormClient(t, e, api)
	secret, codes, step := consoleEnroll(t, k, clk)
	code, step := freshCode(t, clk, secret, step)
	bad := "000000"
	if bad == code {
		bad = "111111"
	}

	p := k.get("/profile")
	p.want(t, "profile with two-factor on", 200, `id="disable-otp"`, `id="disable-recovery-code"`, `id="recovery-otp"`, `id="recovery-recovery-code"`)
	for _, form := range []struct{ action, prefix string }{{"/profile/mfa/disable", "disable"}, {"/profile/mfa/recovery-codes", "recovery"}} {
		k.post(form.action, url.Values{"password": {servertest.Password}}).
			want(t, form.prefix+" without a code", 401, `id="`+form.prefix+`-otp-error" role="alert">Enter a code from your authenticator app`,
				`aria-describedby="`+form.prefix+`-otp-error"`)
		k.post(form.action, url.Values{"password": {"not my password"}, "otp": {code}}).
			want(t, form.prefix+" with a wrong password", 401, `id="`+form.prefix+`-password-error" role="alert">Wrong password`)
		k.post(form.action, url.Values{"password": {servertest.Password}, "otp": {bad}}).
			want(t, form.prefix+" with a wrong code", 401, `id="`+form.prefix+`-otp-error" role="alert">Wrong two-factor code`)
		k.post(form.action, url.Values{"password": {servertest.Password}, "recovery_code": {"aaaaa-bbbbb-ccccc-ddddd-eeeeee"}}).
			want(t, form.prefix+" with a wrong recovery code", 401, `<details open>`, `id="`+form.prefix+`-recovery-code-error" role="alert">Wrong or used recovery code`)
		if api.Must(200, "GET", "/v1/me", nil).JSON["mfa_enabled"] != true {
			t.Fatalf("a refused %s form turned two-factor off", form.prefix)
		}
		// A sign-in with the code starts the address's throttle again.
		e.Client(t).Must(200, "POST", "/v1/login", map[string]string{"email": email, "password": servertest.Password, "otp": code})
		code, step = freshCode(t, clk, secret, step)
	}
	// The recovery codes are the same: the first still signs in.
	e.Client(t).Must(200, "POST", "/v1/login", map[string]string{"email": email, "password": servertest.Password, "recovery_code": codes[0]})

	// With the password and a recovery code, two-factor turns off.
	if a := k.post("/profile/mfa/disable", url.Values{"password": {servertest.Password}, "recovery_code": {codes[1]}}); a.Status != 303 {
		t.Fatalf("turn off: %d %s", a.Status, a.Body)
	}
	k.get("/profile").want(t, "after turning off", 200, `id="mfa-state">Off`, `id="setup-password"`)
}

// Under require_mfa a member without two-factor sign-in holds nothing
// until they turn it on, and the console says so everywhere it shows
// access: their overview and Manage Accounts, and the owner's access
// review (page and CSV) and role preview.
func TestConsole_RequireMFAShowsNothingHeld(t *testing.T) {
	f := newAccessFixture(t)
	clk := newServerClock(f.e)
	consoleEnroll(t, f.owner, clk)
	f.api.Must(200, "PATCH", "/v1/accounts/"+f.acct+"/security", map[string]bool{"require_mfa": true})

	ov := f.dev.get(f.path(""))
	ov.want(t, "developer's overview", 200, `id="mfa-required"`, `id="holds-nothing"`, "Nothing until you turn on two-factor sign-in.")
	if strings.Contains(ov.Body, "View phone numbers") || strings.Contains(ov.Body, `href="`+f.path("/numbers")+`"`) {
		t.Error("the overview of a member without two-factor shows access they do not hold")
	}
	f.dev.get("/accounts").want(t, "developer's accounts", 200, `data-permissions="`+f.acct+`"><summary>0 permissions`, "until you turn on two-factor sign-in")

	page := f.owner.get(f.path("/team/access"))
	page.want(t, "access review", 200, `data-reason="mfa_required"`)
	row := regexp.MustCompile(`(?s)<tr data-access="dev@acme-corp.com">.*?</tr>`).FindString(page.Body)
	if row == "" || strings.Contains(row, `visually-hidden">Yes`) {
		t.Errorf("the developer's row shows permissions: %s", row)
	}
	recs, err := csv.NewReader(strings.NewReader(f.owner.get(f.path("/team/access.csv")).Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if recs[0][5] != "reason" {
		t.Errorf("CSV header %v", recs[0])
	}
	for _, rec := range recs[1:] {
		if rec[1] == "dev@acme-corp.com" && (rec[5] != "mfa_required" || strings.Contains(strings.Join(rec[6:], ""), "1")) {
			t.Errorf("CSV row %v", rec)
		}
	}
	pv := f.owner.get(f.path("/team/members/" + itoa(f.devID) + "/role/preview?role=admin"))
	pv.want(t, "role preview", 200, `id="mfa-reason"`)
	if strings.Count(pv.Body, `<li class="muted">None.</li>`) != 2 {
		t.Errorf("the preview of a member holding nothing gains or loses something:\n%s", pv.Body)
	}

	// Once they turn two-factor on, they hold their role's permissions.
	consoleEnroll(t, f.dev, clk)
	ov = f.dev.get(f.path(""))
	ov.want(t, "overview after enrolling", 200, "View phone numbers", `href="`+f.path("/numbers")+`"`)
	if strings.Contains(ov.Body, `id="mfa-required"`) || strings.Contains(ov.Body, `id="holds-nothing"`) {
		t.Error("the overview still says the member holds nothing")
	}
	row = regexp.MustCompile(`(?s)<tr data-access="dev@acme-corp.com">.*?</tr>`).FindString(f.owner.get(f.path("/team/access")).Body)
	if !strings.Contains(row, `visually-hidden">Yes`) || strings.Contains(row, "data-reason") {
		t.Errorf("the developer's row after enrolling: %s", row)
	}
}
