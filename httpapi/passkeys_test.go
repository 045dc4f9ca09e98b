package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/server/servertest"
)

// Passkeys (issue 24) through the API, with a software authenticator
// (servertest.Authenticator): what a browser does, and the refusals a
// browser never lets one make (another origin, another relying party, no
// user verification, a copied authenticator's counter).

// passkeyEnv is a server named http://localhost:<port> (a relying party
// ID is a domain, never an IP address) and that origin.
func passkeyEnv(t *testing.T) (*servertest.Env, string) {
	t.Helper()
	e := servertest.New(t, servertest.Options{Tweak: servertest.Localhost})
	return e, strings.Replace(e.URL, "://127.0.0.1:", "://localhost:", 1)
}

// publicKeyOf is the public_key object of an options answer.
func publicKeyOf(t *testing.T, r servertest.Response) map[string]any {
	t.Helper()
	pk, ok := r.JSON["public_key"].(map[string]any)
	if !ok {
		t.Fatalf("no public_key: %s", r.Body)
	}
	return pk
}

// addPasskey registers a's credential for c under name.
func addPasskey(t *testing.T, c *servertest.Client, a *servertest.Authenticator, name string) map[string]any {
	t.Helper()
	pk := publicKeyOf(t, c.Must(200, "POST", "/v1/me/passkeys/registration", map[string]string{"password": servertest.Password}))
	return c.Must(201, "POST", "/v1/me/passkeys/registration/finish", map[string]any{"name": name, "credential": a.Create(pk)}).JSON
}

// passwordless signs in with a's passkey from a new client and returns
// the client and the answer.
func passwordless(t *testing.T, e *servertest.Env, a *servertest.Authenticator) (*servertest.Client, servertest.Response) {
	t.Helper()
	c := e.Client(t)
	r := c.Must(200, "POST", "/v1/passkeys/login", map[string]any{})
	if r.Str("flow_id") == "" {
		t.Fatalf("no flow_id: %s", r.Body)
	}
	return c, c.Do("POST", "/v1/passkeys/login/finish", map[string]any{"flow_id": r.Str("flow_id"), "credential": a.Get(publicKeyOf(t, r))})
}

func passkeyCount(t *testing.T, e *servertest.Env) int {
	return e.Count(t, `SELECT COUNT(*) FROM passkeys`)
}

func actionCount(t *testing.T, e *servertest.Env, action string) int {
	return e.Count(t, `SELECT COUNT(*) FROM audit_events WHERE action = ?`, action)
}

func TestPasskeys_RegisterListRenameSignIn(t *testing.T) {
	t.Parallel()
	e, origin := passkeyEnv(t)
	c, acct := e.SignUp(t, "ada@acme-corp.com", "Ada")
	a := servertest.NewAuthenticator(origin)
	a.BackupEligible, a.BackedUp = true, true

	// The creation options: discoverable, user verification, no attestation.
	pk := publicKeyOf(t, c.Must(200, "POST", "/v1/me/passkeys/registration", map[string]string{"password": servertest.Password}))
	sel, _ := pk["authenticatorSelection"].(map[string]any)
	rp, _ := pk["rp"].(map[string]any)
	if sel["residentKey"] != "required" || sel["userVerification"] != "required" || rp["id"] != "localhost" || rp["name"] != "Roster" {
		t.Errorf("creation options: %v", pk)
	}
	if att, ok := pk["attestation"]; ok && att != "none" {
		t.Errorf("attestation %v, want none", att)
	}
	mails := servertest.MailCount(e.Mail, "ada@acme-corp.com")
	got := c.Must(201, "POST", "/v1/me/passkeys/registration/finish", map[string]any{"name": "Laptop", "credential": a.Create(pk)}).JSON
	if got["name"] != "Laptop" || got["backed_up"] != true || got["id"] == nil || got["created_at"] == nil || len(got) != 4 {
		t.Errorf("finish: %v", got)
	}
	id := int64(got["id"].(float64))
	if m := e.Mail.WaitFor(t, "ada@acme-corp.com", mails+1, 10*time.Second); !strings.Contains(m.Subject, "passkey was added") {
		t.Errorf("mail: %s", m.Subject)
	}
	if n := actionCount(t, e, "user.passkey_add"); n != 1 {
		t.Errorf("%d user.passkey_add events", n)
	}

	// The second creation excludes the first passkey.
	pk = publicKeyOf(t, c.Must(200, "POST", "/v1/me/passkeys/registration", map[string]string{"password": servertest.Password}))
	if ex, _ := pk["excludeCredentials"].([]any); len(ex) != 1 {
		t.Errorf("excludeCredentials = %v, want the one passkey", pk["excludeCredentials"])
	}
	// The same credential again is refused.
	c.Refused(409, "conflict", "POST", "/v1/me/passkeys/registration/finish", map[string]any{"name": "Again", "credential": a.Create(pk)})

	list := c.Must(200, "GET", "/v1/me/passkeys", nil).Objects()
	if len(list) != 1 {
		t.Fatalf("list: %v", list)
	}
	if _, used := list[0]["last_used_at"]; list[0]["name"] != "Laptop" || used {
		t.Errorf("list: %v", list)
	}
	r := c.Must(200, "PATCH", fmt.Sprintf("/v1/me/passkeys/%d", id), map[string]string{"name": "Work laptop"})
	if r.Str("name") != "Work laptop" {
		t.Errorf("rename: %s", r.Body)
	}
	c.Refused(400, "invalid_request", "PATCH", fmt.Sprintf("/v1/me/passkeys/%d", id), map[string]string{"name": strings.Repeat("x", 65)})
	c.Refused(404, "not_found", "PATCH", fmt.Sprintf("/v1/me/passkeys/%d", id+100), map[string]string{"name": "X"})
	other, _ := e.SignUp(t, "bob@acme-corp.com", "Bob")
	other.Refused(404, "not_found", "PATCH", fmt.Sprintf("/v1/me/passkeys/%d", id), map[string]string{"name": "Mine"})

	// Passwordless: a session that works, the passkey's use recorded.
	s, res := passwordless(t, e, a)
	if res.Status != 200 || res.JSON["user"].(map[string]any)["email"] != "ada@acme-corp.com" {
		t.Fatalf("passwordless: %d %s", res.Status, res.Body)
	}
	s.Must(200, "GET", "/v1/accounts/"+acct, nil)
	list = s.Must(200, "GET", "/v1/me/passkeys", nil).Objects()
	if len(list) != 1 || list[0]["name"] != "Work laptop" || list[0]["last_used_at"] == nil {
		t.Errorf("after sign-in: %v", list)
	}
	if me := s.Must(200, "GET", "/v1/me", nil); me.JSON["mfa_enabled"] != true {
		t.Errorf("a user with a passkey has a second factor: %s", me.Body)
	}
}

// The refusals a browser cannot produce: each is refused with its status
// and code, and nothing is stored or started.
func TestPasskeys_WrongOriginRPIDAndNoUserVerificationRefused(t *testing.T) {
	t.Parallel()
	e, origin := passkeyEnv(t)
	c, _ := e.SignUp(t, "ada@acme-corp.com", "Ada")
	bad := map[string]func(a *servertest.Authenticator){
		"another origin":        func(a *servertest.Authenticator) { a.Origin = "https://evil.example" },
		"another port":          func(a *servertest.Authenticator) { a.Origin = "http://localhost:1" },
		"another relying party": func(a *servertest.Authenticator) { a.RPID = "evil.example" },
		"no user verification":  func(a *servertest.Authenticator) { a.NoUV = true },
	}
	for name, spoil := range bad {
		a := servertest.NewAuthenticator(origin)
		spoil(a)
		pk := publicKeyOf(t, c.Must(200, "POST", "/v1/me/passkeys/registration", map[string]string{"password": servertest.Password}))
		r := c.Refused(400, "invalid_request", "POST", "/v1/me/passkeys/registration/finish", map[string]any{"name": "X", "credential": a.Create(pk)})
		if n := passkeyCount(t, e); n != 0 {
			t.Errorf("registration, %s: %d passkeys stored: %s", name, n, r.Body)
		}
	}

	// A good passkey; then assertions spoiled the same ways.
	good := servertest.NewAuthenticator(origin)
	addPasskey(t, c, good, "Laptop")
	sessions := e.Count(t, `SELECT COUNT(*) FROM sessions`)
	for name, spoil := range bad {
		a := good.Clone()
		spoil(a)
		_, r := passwordless(t, e, a)
		if r.Status != 401 || r.Code() != "unauthenticated" {
			t.Errorf("sign-in, %s: %d %s", name, r.Status, r.Body)
		}
		good.SignCount = a.SignCount // the authenticator counted the attempt
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM sessions`); n != sessions {
		t.Errorf("refused sign-ins made sessions: %d, want %d", n, sessions)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM passkeys WHERE last_used_at IS NOT NULL`); n != 0 {
		t.Errorf("a refused assertion was recorded as a use")
	}
	if _, r := passwordless(t, e, good); r.Status != 200 {
		t.Errorf("the good passkey after the refusals: %d %s", r.Status, r.Body)
	}
}

func TestPasskeys_RegistrationNeedsThePassword(t *testing.T) {
	t.Parallel()
	e, _ := passkeyEnv(t)
	c, _ := e.SignUp(t, "ada@acme-corp.com", "Ada")
	c.Refused(401, "unauthenticated", "POST", "/v1/me/passkeys/registration", map[string]string{})
	c.Refused(401, "unauthenticated", "POST", "/v1/me/passkeys/registration", map[string]string{"password": "wrong password here"})
	e.Client(t).Refused(401, "unauthenticated", "POST", "/v1/me/passkeys/registration", map[string]string{"password": servertest.Password})
	// Finishing with nothing begun is refused too.
	a := servertest.NewAuthenticator("http://localhost")
	c.Refused(400, "invalid_request", "POST", "/v1/me/passkeys/registration/finish",
		map[string]any{"name": "X", "credential": a.Create(map[string]any{"challenge": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "user": map[string]any{"id": "AQ"}})})
	c.Refused(400, "invalid_request", "POST", "/v1/me/passkeys/registration/finish", map[string]any{"name": "X", "credential": "not an object"})
	if n := e.Count(t, `SELECT COUNT(*) FROM passkey_flows`); n != 0 {
		t.Errorf("%d flows begun without the password", n)
	}
	if n := passkeyCount(t, e); n != 0 {
		t.Errorf("%d passkeys", n)
	}
}

// A password login of a user with a passkey asks for the second factor,
// names the methods and gives an mfa_token; the passkey completes it.
func TestPasskeys_SecondFactorAfterPassword(t *testing.T) {
	t.Parallel()
	e, origin := passkeyEnv(t)
	c, acct := e.SignUp(t, "ada@acme-corp.com", "Ada")
	a := servertest.NewAuthenticator(origin)
	addPasskey(t, c, a, "Laptop")
	login := map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password}

	b := e.Client(t)
	r := b.Refused(401, "mfa_required", "POST", "/v1/login", login)
	errObj := r.JSON["error"].(map[string]any)
	token, _ := errObj["mfa_token"].(string)
	if fmt.Sprint(errObj["methods"]) != "[passkey]" || len(token) < 20 {
		t.Fatalf("mfa_required: %s", r.Body)
	}
	b.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
	b.Refused(401, "unauthenticated", "POST", "/v1/login/passkey", map[string]string{"mfa_token": "not-a-token"})
	pk := publicKeyOf(t, b.Must(200, "POST", "/v1/login/passkey", map[string]string{"mfa_token": token}))
	if allow, _ := pk["allowCredentials"].([]any); len(allow) != 1 || pk["userVerification"] != "required" {
		t.Errorf("request options: %v", pk)
	}
	// Another user's passkey does not complete it.
	c2, _ := e.SignUp(t, "bob@acme-corp.com", "Bob")
	bob := servertest.NewAuthenticator(origin)
	addPasskey(t, c2, bob, "Bob's")
	b.Refused(401, "unauthenticated", "POST", "/v1/login/passkey/finish", map[string]any{"mfa_token": token, "credential": bob.Get(pk)})
	// The ceremony was used by that attempt: begin again.
	pk = publicKeyOf(t, b.Must(200, "POST", "/v1/login/passkey", map[string]string{"mfa_token": token}))
	r = b.Must(200, "POST", "/v1/login/passkey/finish", map[string]any{"mfa_token": token, "credential": a.Get(pk)})
	b.Must(200, "GET", "/v1/accounts/"+acct, nil)
	// The mfa_token worked once.
	b.Refused(401, "unauthenticated", "POST", "/v1/login/passkey", map[string]string{"mfa_token": token})

	// With TOTP on too, every method is named; the code still works.
	now := time.Now().UTC().Truncate(30 * time.Second)
	clock(e, now)
	secret, _ := enroll(t, e, c, now)
	r = e.Client(t).Refused(401, "mfa_required", "POST", "/v1/login", login)
	if m := r.JSON["error"].(map[string]any)["methods"]; fmt.Sprint(m) != "[totp recovery_code passkey]" {
		t.Errorf("methods = %v", m)
	}
	clock(e, now.Add(30*time.Second))
	e.Client(t).Must(200, "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password,
		"otp": code(t, secret, now.Add(30*time.Second))})
}

// A passkey verifying its user is two factors: require_mfa holds for a
// passwordless session and for password + passkey; a member with neither
// TOTP nor a passkey holds nothing.
func TestPasskeys_SatisfyRequireMFA(t *testing.T) {
	t.Parallel()
	e, origin := passkeyEnv(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	dev, _ := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	other, _ := e.Join(t, owner, acct, "other@acme-corp.com", "developer")
	// The owner turns require_mfa on with only a passkey.
	owner.Refused(409, "conflict", "PATCH", "/v1/accounts/"+acct+"/security", map[string]bool{"require_mfa": true})
	oa := servertest.NewAuthenticator(origin)
	addPasskey(t, owner, oa, "Owner's")
	owner.Must(200, "PATCH", "/v1/accounts/"+acct+"/security", map[string]bool{"require_mfa": true})
	// holds says whether the account holds anything for c's session (the
	// account view's reason is mfa_required when not).
	holds := func(c *servertest.Client) bool {
		t.Helper()
		r := c.Must(200, "GET", "/v1/accounts/"+acct, nil)
		return r.JSON["reason"] == nil && len(r.JSON["permissions"].([]any)) > 0
	}

	if holds(other) {
		t.Errorf("%s: require_mfa held without a second factor", "other")
	}
	if holds(dev) {
		t.Errorf("%s: require_mfa held without a second factor", "dev")
	}
	da := servertest.NewAuthenticator(origin)
	addPasskey(t, dev, da, "Dev's")
	if !holds(dev) {
		t.Errorf("%s: a passkey did not satisfy require_mfa", "dev")
	}

	s, r := passwordless(t, e, da)
	if r.Status != 200 {
		t.Fatalf("passwordless: %s", r.Body)
	}
	if !holds(s) {
		t.Error("a passwordless session: a passkey did not satisfy require_mfa")
	}

	b := e.Client(t)
	tok := b.Refused(401, "mfa_required", "POST", "/v1/login", map[string]string{"email": "dev@acme-corp.com", "password": servertest.Password}).
		JSON["error"].(map[string]any)["mfa_token"].(string)
	pk := publicKeyOf(t, b.Must(200, "POST", "/v1/login/passkey", map[string]string{"mfa_token": tok}))
	b.Must(200, "POST", "/v1/login/passkey/finish", map[string]any{"mfa_token": tok, "credential": da.Get(pk)})
	if !holds(b) {
		t.Error("password + passkey: a passkey did not satisfy require_mfa")
	}

	// Removing the last passkey is allowed, as turning TOTP off is; the
	// account then holds nothing for them.
	id := int64(dev.Must(200, "GET", "/v1/me/passkeys", nil).Objects()[0]["id"].(float64))
	dev.Must(204, "DELETE", fmt.Sprintf("/v1/me/passkeys/%d", id), map[string]string{"password": servertest.Password})
	if holds(dev) {
		t.Errorf("%s: require_mfa held without a second factor", "dev")
	}
}

func TestPasskeys_ChallengeReplayedOrExpiredRefused(t *testing.T) {
	t.Parallel()
	e, origin := passkeyEnv(t)
	c, _ := e.SignUp(t, "ada@acme-corp.com", "Ada")
	a := servertest.NewAuthenticator(origin)
	addPasskey(t, c, a, "Laptop")

	b := e.Client(t)
	r := b.Must(200, "POST", "/v1/passkeys/login", nil)
	body := map[string]any{"flow_id": r.Str("flow_id"), "credential": a.Get(publicKeyOf(t, r))}
	b.Must(200, "POST", "/v1/passkeys/login/finish", body)
	sessions := e.Count(t, `SELECT COUNT(*) FROM sessions`)
	// The same answer again (a replay), and a fresh assertion on the used flow.
	e.Client(t).Refused(401, "unauthenticated", "POST", "/v1/passkeys/login/finish", body)
	body["credential"] = a.Get(publicKeyOf(t, r))
	e.Client(t).Refused(401, "unauthenticated", "POST", "/v1/passkeys/login/finish", body)
	e.Client(t).Refused(401, "unauthenticated", "POST", "/v1/passkeys/login/finish", map[string]any{"flow_id": "made-up", "credential": a.Get(publicKeyOf(t, r))})

	// Five minutes on, the challenge is gone.
	r = b.Must(200, "POST", "/v1/passkeys/login", nil)
	e.Server.DB.Now = func() time.Time { return time.Now().Add(5*time.Minute + time.Second) }
	e.Client(t).Refused(401, "unauthenticated", "POST", "/v1/passkeys/login/finish",
		map[string]any{"flow_id": r.Str("flow_id"), "credential": a.Get(publicKeyOf(t, r))})
	// A registration too.
	pk := publicKeyOf(t, c.Must(200, "POST", "/v1/me/passkeys/registration", map[string]string{"password": servertest.Password}))
	e.Server.DB.Now = func() time.Time { return time.Now().Add(11 * time.Minute) }
	c.Refused(400, "invalid_request", "POST", "/v1/me/passkeys/registration/finish",
		map[string]any{"name": "Late", "credential": servertest.NewAuthenticator(origin).Create(pk)})
	e.Server.DB.Now = time.Now
	if n := e.Count(t, `SELECT COUNT(*) FROM sessions`); n != sessions {
		t.Errorf("sessions %d, want %d", n, sessions)
	}
	if n := passkeyCount(t, e); n != 1 {
		t.Errorf("%d passkeys, want 1", n)
	}
}

// A copy of an authenticator shows itself by a counter that goes back:
// refused, audited, the passkey left as it was.
func TestPasskeys_ClonedCounterRefusedAndAudited(t *testing.T) {
	t.Parallel()
	e, origin := passkeyEnv(t)
	c, _ := e.SignUp(t, "ada@acme-corp.com", "Ada")
	a := servertest.NewAuthenticator(origin)
	a.SignCount = 10
	addPasskey(t, c, a, "Key")
	clone := a.Clone()
	if _, r := passwordless(t, e, a); r.Status != 200 { // counter 11
		t.Fatalf("sign-in: %s", r.Body)
	}
	if _, r := passwordless(t, e, a); r.Status != 200 { // counter 12
		t.Fatalf("sign-in: %s", r.Body)
	}
	clone.SignCount = 11 // its next assertion says 12: not past the stored 12
	_, r := passwordless(t, e, clone)
	if r.Status != 401 || r.Code() != "unauthenticated" || !strings.Contains(r.Str("x")+string(r.Body), "counter") {
		t.Fatalf("clone: %d %s", r.Status, r.Body)
	}
	if n := actionCount(t, e, "passkey.clone_detected"); n != 1 {
		t.Errorf("%d passkey.clone_detected events", n)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM passkeys WHERE sign_count = 12`); n != 1 {
		t.Error("the refused clone changed the stored counter")
	}
	// As a second factor too.
	b := e.Client(t)
	tok := b.Refused(401, "mfa_required", "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password}).
		JSON["error"].(map[string]any)["mfa_token"].(string)
	pk := publicKeyOf(t, b.Must(200, "POST", "/v1/login/passkey", map[string]string{"mfa_token": tok}))
	clone.SignCount = 5
	b.Refused(401, "unauthenticated", "POST", "/v1/login/passkey/finish", map[string]any{"mfa_token": tok, "credential": clone.Get(pk)})
	if n := actionCount(t, e, "passkey.clone_detected"); n != 2 {
		t.Errorf("%d passkey.clone_detected events, want 2", n)
	}
	// The real authenticator still signs in.
	if _, r := passwordless(t, e, a); r.Status != 200 {
		t.Errorf("the original after the clone: %s", r.Body)
	}
}

func TestPasskeys_RemovalNeedsPasswordThenSignInRefused(t *testing.T) {
	t.Parallel()
	e, origin := passkeyEnv(t)
	c, _ := e.SignUp(t, "ada@acme-corp.com", "Ada")
	a := servertest.NewAuthenticator(origin)
	id := int64(addPasskey(t, c, a, "Laptop")["id"].(float64))
	path := fmt.Sprintf("/v1/me/passkeys/%d", id)
	c.Refused(401, "unauthenticated", "DELETE", path, map[string]string{})
	c.Refused(401, "unauthenticated", "DELETE", path, map[string]string{"password": "wrong password here"})
	other, _ := e.SignUp(t, "bob@acme-corp.com", "Bob")
	other.Refused(404, "not_found", "DELETE", path, map[string]string{"password": servertest.Password})
	if n := passkeyCount(t, e); n != 1 {
		t.Fatalf("%d passkeys after refused removals", n)
	}
	mails := servertest.MailCount(e.Mail, "ada@acme-corp.com")
	c.Must(204, "DELETE", path, map[string]string{"password": servertest.Password})
	if m := e.Mail.WaitFor(t, "ada@acme-corp.com", mails+1, 10*time.Second); !strings.Contains(m.Subject, "passkey was removed") {
		t.Errorf("mail: %s", m.Subject)
	}
	if n := actionCount(t, e, "user.passkey_delete"); n != 1 {
		t.Errorf("%d user.passkey_delete events", n)
	}
	if _, r := passwordless(t, e, a); r.Status != 401 || r.Code() != "unauthenticated" {
		t.Errorf("sign-in with the removed passkey: %d %s", r.Status, r.Body)
	}
	// The password alone signs in again: no second factor is left.
	e.Client(t).Must(200, "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password})
}

// Failed assertions count for the login throttle: after the free ones,
// 429 with Retry-After, for the right passkey too.
func TestPasskeys_FailedAssertionsThrottled(t *testing.T) {
	t.Parallel()
	e, origin := passkeyEnv(t)
	c, _ := e.SignUp(t, "ada@acme-corp.com", "Ada")
	a := servertest.NewAuthenticator(origin)
	addPasskey(t, c, a, "Laptop")
	var r servertest.Response
	for i := range 12 {
		bad := a.Clone()
		bad.Origin = "https://evil.example"
		_, r = passwordless(t, e, bad)
		a.SignCount = bad.SignCount
		if r.Status == 429 {
			if i < 5 {
				t.Errorf("throttled after %d failures", i)
			}
			break
		}
		if r.Status != 401 {
			t.Fatalf("failure %d: %d %s", i, r.Status, r.Body)
		}
	}
	if r.Status != 429 || r.Code() != "rate_limited" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("after the failures: %d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	if _, r := passwordless(t, e, a); r.Status != 429 {
		t.Errorf("the right passkey while throttled: %d %s", r.Status, r.Body)
	}
}
