package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/httpapi"
	"github.com/rosterhq/roster/server/servertest"
)

// world is one committed account with a member of every role, each with a
// personal API key, plus a foreign account with data of its own.
type world struct {
	e        *servertest.Env
	acct     string
	foreign  string
	owner    *servertest.Client
	fOwner   *servertest.Client
	sessions map[roster.Role]*servertest.Client
	keys     map[roster.Role]string
	ids      map[roster.Role]int64
}

func newWorld(t *testing.T) *world {
	e := servertest.New(t)
	w := &world{e: e, sessions: map[roster.Role]*servertest.Client{}, keys: map[roster.Role]string{}, ids: map[roster.Role]int64{}}
	w.owner, w.acct = e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, w.acct)
	w.sessions[roster.RoleOwner] = w.owner
	w.ids[roster.RoleOwner] = int64(w.owner.Must(200, "GET", "/v1/me", nil).JSON["id"].(float64))
	for _, r := range roster.Roles[1:] {
		w.sessions[r], w.ids[r] = e.Join(t, w.owner, w.acct, r.String()+"@acme-corp.com", r.String())
	}
	for r, c := range w.sessions {
		w.keys[r] = c.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": w.acct, "name": "ci"}).Str("key")
	}
	w.fOwner, w.foreign = e.SignUp(t, "other@beta-corp.com", "Other")
	e.Commit(t, w.foreign)
	if err := e.Server.Service.ImportPrices(context.Background(), []roster.Price{{Country: "US", VoicePerMinute: 8500, SMSPerMessage: 7900}}); err != nil {
		t.Fatal(err)
	}
	return w
}

// as returns a client acting in one of the three ways.
func (w *world) as(t *testing.T, role roster.Role, way string) *servertest.Client {
	switch way {
	case "session":
		return w.sessions[role]
	case "api_key":
		c := w.e.Client(t)
		c.Header.Set("Authorization", "Bearer "+w.keys[role])
		return c
	case "basic":
		token := w.owner.Must(200, "GET", "/v1/accounts/"+w.acct+"/credentials", nil).Str("auth_token")
		c := w.e.Client(t)
		c.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(w.acct+":"+token)))
		return c
	}
	t.Fatalf("unknown way %s", way)
	return nil
}

var seqNo atomic.Int64

func uniqueNumber() string { return fmt.Sprintf("+1415%07d", seqNo.Add(1)) }

// op is one area route: how to call it on an account, the permission the
// route table says it needs, and the read (by the owner) that shows
// whether a refused write changed anything.
type op struct {
	name     string
	perm     roster.Permission
	status   int
	snapshot string // path under the account
	prepare  func(t *testing.T, owner *servertest.Client, acct string) (method, path string, body any)
}

func areaOps() []op {
	A := func(acct, p string) string { return "/v1/accounts/" + acct + p }
	fixed := func(method, p string, body any) func(*testing.T, *servertest.Client, string) (string, string, any) {
		return func(t *testing.T, _ *servertest.Client, acct string) (string, string, any) {
			return method, A(acct, p), body
		}
	}
	number := func(t *testing.T, owner *servertest.Client, acct string) string {
		n := uniqueNumber()
		owner.Must(201, "POST", A(acct, "/numbers"), map[string]string{"number": n})
		return n
	}
	app := func(t *testing.T, owner *servertest.Client, acct string) string {
		r := owner.Must(201, "POST", A(acct, "/applications"), map[string]string{"name": "IVR", "answer_url": "https://acme.example/answer"})
		return fmt.Sprint(int64(r.JSON["id"].(float64)))
	}
	card := func(t *testing.T, owner *servertest.Client, acct string) {
		owner.Must(201, "POST", A(acct, "/billing/payment-methods"), map[string]any{"card_number": "4242424242424242", "exp_month": 12, "exp_year": 2030})
	}
	return []op{
		{"list numbers", roster.NumbersView, 200, "", fixed("GET", "/numbers", nil)},
		{"show number", roster.NumbersView, 200, "", func(t *testing.T, o *servertest.Client, a string) (string, string, any) {
			return "GET", A(a, "/numbers/"+number(t, o, a)), nil
		}},
		{"add number", roster.NumbersEdit, 201, "/numbers?limit=100", func(t *testing.T, o *servertest.Client, a string) (string, string, any) {
			return "POST", A(a, "/numbers"), map[string]string{"number": uniqueNumber(), "alias": "Sales"}
		}},
		{"edit number", roster.NumbersEdit, 200, "/numbers?limit=100", func(t *testing.T, o *servertest.Client, a string) (string, string, any) {
			return "PATCH", A(a, "/numbers/"+number(t, o, a)), map[string]string{"alias": "Support line"}
		}},
		{"release number", roster.NumbersEdit, 204, "/numbers?limit=100", func(t *testing.T, o *servertest.Client, a string) (string, string, any) {
			return "DELETE", A(a, "/numbers/"+number(t, o, a)), nil
		}},
		{"list applications", roster.ApplicationsView, 200, "", fixed("GET", "/applications", nil)},
		{"show application", roster.ApplicationsView, 200, "", func(t *testing.T, o *servertest.Client, a string) (string, string, any) {
			return "GET", A(a, "/applications/"+app(t, o, a)), nil
		}},
		{"create application", roster.ApplicationsEdit, 201, "/applications?limit=100", fixed("POST", "/applications", map[string]string{"name": "Bot", "answer_url": "https://acme.example/a"})},
		{"edit application", roster.ApplicationsEdit, 200, "/applications?limit=100", func(t *testing.T, o *servertest.Client, a string) (string, string, any) {
			return "PATCH", A(a, "/applications/"+app(t, o, a)), map[string]string{"name": "Renamed"}
		}},
		{"delete application", roster.ApplicationsEdit, 204, "/applications?limit=100", func(t *testing.T, o *servertest.Client, a string) (string, string, any) {
			return "DELETE", A(a, "/applications/"+app(t, o, a)), nil
		}},
		{"show settings", roster.SettingsView, 200, "", fixed("GET", "/settings", nil)},
		{"edit settings", roster.SettingsEdit, 200, "/settings", func(t *testing.T, o *servertest.Client, a string) (string, string, any) {
			return "PATCH", A(a, "/settings"), map[string]string{"company": fmt.Sprint("Acme ", seqNo.Add(1)), "timezone": "Europe/Paris"}
		}},
		{"show credentials", roster.CredentialsView, 200, "", fixed("GET", "/credentials", nil)},
		{"rotate credentials", roster.CredentialsEdit, 200, "/credentials", fixed("POST", "/credentials/rotate", map[string]string{})},
		{"show billing", roster.BillingView, 200, "", fixed("GET", "/billing", nil)},
		{"edit auto-recharge", roster.BillingEdit, 200, "/billing", func(t *testing.T, o *servertest.Client, a string) (string, string, any) {
			card(t, o, a) // turning auto-recharge on needs a card on file
			return "PATCH", A(a, "/billing"), map[string]any{"auto_recharge": map[string]any{"enabled": true, "threshold_usd": float64(seqNo.Add(1) % 50), "amount_usd": 25}}
		}},
		{"add payment method", roster.BillingEdit, 201, "/billing", fixed("POST", "/billing/payment-methods", map[string]any{"card_number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030})},
		{"delete payment method", roster.BillingEdit, 204, "/billing", func(t *testing.T, o *servertest.Client, a string) (string, string, any) {
			r := o.Must(201, "POST", A(a, "/billing/payment-methods"), map[string]any{"card_number": "5555555555554444", "exp_month": 1, "exp_year": 2031})
			return "DELETE", A(a, fmt.Sprintf("/billing/payment-methods/%d", int64(r.JSON["id"].(float64)))), nil
		}},
		{"recharge", roster.BillingEdit, 201, "/billing", func(t *testing.T, o *servertest.Client, a string) (string, string, any) {
			card(t, o, a) // a recharge needs a card on file
			return "POST", A(a, "/billing/recharges"), map[string]any{"amount_usd": 10}
		}},
		{"show pricing", roster.PricingView, 200, "", fixed("GET", "/pricing?country=US", nil)},
		{"list logs", roster.LogsView, 200, "", fixed("GET", "/logs?kind=call", nil)},
	}
}

// TestAreas_RoleMatrix: every role × every area route × every way in ×
// {own, foreign account}, expected outcomes computed from the matrix.
func TestAreas_RoleMatrix(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ops := areaOps()
	// The table covers every area route the server registers.
	covered := map[roster.Permission]bool{}
	for _, o := range ops {
		covered[o.perm] = true
	}
	for p := roster.NumbersView; p < roster.TeamView; p++ {
		if !covered[p] {
			t.Errorf("no area operation tests %s", p)
		}
	}
	type caller struct {
		role roster.Role // the role the request acts with
		way  string
		c    func() *servertest.Client
	}
	var callers []caller
	for _, r := range roster.Roles {
		for _, way := range []string{"session", "api_key"} {
			callers = append(callers, caller{r, way, func() *servertest.Client { return w.as(t, r, way) }})
		}
	}
	callers = append(callers, caller{roster.RoleDeveloper, "basic", func() *servertest.Client { return w.as(t, roster.RoleOwner, "basic") }})

	for _, o := range ops {
		for _, cl := range callers {
			for _, target := range []string{"own", "foreign"} {
				name := fmt.Sprintf("%s/%s/%s/%s", o.name, cl.role, cl.way, target)
				t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
					acct, owner := w.acct, w.owner
					if target == "foreign" {
						acct, owner = w.foreign, w.fOwner
					}
					method, path, body := o.prepare(t, owner, acct)
					var before []byte
					if o.snapshot != "" {
						before = owner.Must(200, "GET", "/v1/accounts/"+acct+o.snapshot, nil).Body
					}
					got := cl.c().Do(method, path, body)
					switch {
					case target == "foreign":
						if got.Status != 404 || got.Code() != "not_found" {
							t.Fatalf("%s %s: %d %s, want 404 not_found", method, path, got.Status, got.Body)
						}
					case authz.Allowed(cl.role, o.perm) && !(cl.way == "basic" && machineDenied(o.perm)):
						if got.Status != o.status {
							t.Fatalf("%s %s: %d %s, want %d", method, path, got.Status, got.Body, o.status)
						}
						return
					default:
						if got.Status != 403 || got.Code() != "forbidden" {
							t.Fatalf("%s %s: %d %s, want 403 forbidden", method, path, got.Status, got.Body)
						}
					}
					if o.snapshot != "" {
						after := owner.Must(200, "GET", "/v1/accounts/"+acct+o.snapshot, nil).Body
						if !bytes.Equal(before, after) {
							t.Errorf("a refused %s changed %s:\nbefore %s\nafter  %s", o.name, o.snapshot, before, after)
						}
					}
				})
			}
		}
	}
}

func TestAreas_RemovalSuspensionAndRoleChangeOnTheNextRequest(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	e, acct := w.e, w.acct
	numbers := "/v1/accounts/" + acct + "/numbers"
	devKey := w.as(t, roster.RoleDeveloper, "api_key")
	devKey.Must(200, "GET", numbers, nil)

	// Role change: the key acts with the new role at once.
	w.owner.Must(200, "PATCH", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, w.ids[roster.RoleDeveloper]), map[string]string{"role": "finance_analyst"})
	devKey.Refused(403, "forbidden", "GET", numbers, nil)
	w.sessions[roster.RoleDeveloper].Refused(403, "forbidden", "GET", numbers, nil)
	devKey.Must(200, "GET", "/v1/accounts/"+acct+"/billing", nil)

	// Suspension: plan to standard, then back.
	sup := w.as(t, roster.RoleSupport, "api_key")
	e.Operator(t).Must(200, "PUT", "/v1/admin/accounts/"+acct+"/plan", map[string]any{"plan": "standard"})
	sup.Refused(403, "plan_required", "GET", numbers, nil)
	w.sessions[roster.RoleSupport].Refused(403, "plan_required", "GET", numbers, nil)
	w.owner.Must(200, "GET", numbers, nil)
	e.Commit(t, acct)
	sup.Must(200, "GET", numbers, nil)

	// Removal: the session and the key lose the account on the next request.
	w.owner.Must(204, "DELETE", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, w.ids[roster.RoleSupport]), nil)
	sup.Refused(401, "unauthenticated", "GET", numbers, nil)
	w.sessions[roster.RoleSupport].Refused(404, "not_found", "GET", numbers, nil)
	if n := w.sessions[roster.RoleSupport].Must(200, "GET", "/v1/me/api-keys", nil).Total(); n != 0 {
		t.Errorf("the removed member still lists %d keys", n)
	}
	r := e.Platform(t).Must(200, "POST", "/v1/authz/check", map[string]any{"account_id": acct, "api_key": w.keys[roster.RoleSupport], "permission": "numbers.view"})
	if r.JSON["allowed"] != false {
		t.Errorf("check with a removed member's key: %s", r.Body)
	}

	// Deleting a key kills it; a key never reaches another account.
	adm := w.sessions[roster.RoleAdmin]
	keys := adm.Must(200, "GET", "/v1/me/api-keys", nil).Objects()
	if len(keys) != 1 || keys[0]["prefix"] == "" || keys[0]["key"] != nil {
		t.Fatalf("keys = %v", keys)
	}
	admKey := w.as(t, roster.RoleAdmin, "api_key")
	admKey.Refused(404, "not_found", "GET", "/v1/accounts/"+w.foreign+"/numbers", nil)
	adm.Refused(404, "not_found", "DELETE", fmt.Sprintf("/v1/me/api-keys/%d", 999999), nil)
	adm.Must(204, "DELETE", fmt.Sprintf("/v1/me/api-keys/%d", int64(keys[0]["id"].(float64))), nil)
	admKey.Refused(401, "unauthenticated", "GET", numbers, nil)
	// API keys cannot act as a login.
	admKey.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
	adm.Refused(404, "not_found", "POST", "/v1/me/api-keys", map[string]string{"account_id": w.foreign, "name": "x"})
}

func TestAreas_CredentialsRotation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	creds := "/v1/accounts/" + w.acct + "/credentials"
	basic := func(token string) *servertest.Client {
		c := w.e.Client(t)
		c.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(w.acct+":"+token)))
		return c
	}
	first := w.owner.Must(200, "GET", creds, nil)
	if first.Str("auth_id") != w.acct || len(first.Str("auth_token")) < 32 {
		t.Fatalf("credentials = %s", first.Body)
	}
	old := first.Str("auth_token")
	basic(old).Must(200, "GET", "/v1/accounts/"+w.acct+"/numbers", nil)
	basic("wrong").Refused(401, "unauthenticated", "GET", "/v1/accounts/"+w.acct+"/numbers", nil)

	// Rotation without a grace period: the old token dies at once.
	second := w.owner.Must(200, "POST", creds+"/rotate", nil).Str("auth_token")
	basic(old).Refused(401, "unauthenticated", "GET", "/v1/accounts/"+w.acct+"/numbers", nil)
	basic(second).Must(200, "GET", "/v1/accounts/"+w.acct+"/numbers", nil)
	// With a grace period both work; the new one is shown.
	third := w.owner.Must(200, "POST", creds+"/rotate", map[string]string{"keep_old_for": "24h"})
	if third.JSON["previous_token_valid_until"] == nil {
		t.Errorf("rotation with grace: %s", third.Body)
	}
	basic(second).Must(200, "GET", "/v1/accounts/"+w.acct+"/numbers", nil)
	basic(third.Str("auth_token")).Must(200, "GET", "/v1/accounts/"+w.acct+"/numbers", nil)
	w.owner.Refused(400, "invalid_request", "POST", creds+"/rotate", map[string]string{"keep_old_for": "30d"})
	w.owner.Refused(400, "invalid_request", "POST", creds+"/rotate", map[string]string{"keep_old_for": "1000h"})
	if got := w.owner.Must(200, "GET", creds, nil).Str("auth_token"); got != third.Str("auth_token") {
		t.Error("a refused rotation changed the token")
	}
	// Basic acts as a developer: no team, no billing.
	basic(third.Str("auth_token")).Refused(403, "forbidden", "GET", "/v1/accounts/"+w.acct+"/members", nil)
	basic(third.Str("auth_token")).Refused(403, "forbidden", "GET", "/v1/accounts/"+w.acct+"/billing", nil)
	// A machine credential can neither read nor rotate itself, so the
	// holder of a leaked token cannot follow a rotation or lock the owner
	// out; it still reaches the developer's areas.
	leaked := basic(second)
	leaked.Refused(403, "forbidden", "GET", creds, nil)
	leaked.Refused(403, "forbidden", "POST", creds+"/rotate", nil)
	leaked.Refused(403, "forbidden", "POST", creds+"/rotate", map[string]string{"keep_old_for": "1h"})
	if got := w.owner.Must(200, "GET", creds, nil).Str("auth_token"); got != third.Str("auth_token") {
		t.Error("a refused rotation by account credentials changed the token")
	}
	leaked.Must(200, "GET", "/v1/accounts/"+w.acct+"/numbers", nil)
	// After a rotation without grace the leaked token is dead.
	fourth := w.owner.Must(200, "POST", creds+"/rotate", nil).Str("auth_token")
	leaked.Refused(401, "unauthenticated", "GET", "/v1/accounts/"+w.acct+"/numbers", nil)
	basic(fourth).Must(200, "GET", "/v1/accounts/"+w.acct+"/numbers", nil)
	// Views and rotations are audited.
	actions := map[string]int{}
	for _, ev := range w.owner.Must(200, "GET", "/v1/accounts/"+w.acct+"/audit?limit=100", nil).Objects() {
		actions[ev["action"].(string)]++
	}
	if actions["credentials.rotate"] != 3 || actions["credentials.view"] < 2 {
		t.Errorf("audit: %v", actions)
	}
}

func TestAreas_CardNumberNeverStoredOrLogged(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const card = "4000056655665556"
	r := w.owner.Must(201, "POST", "/v1/accounts/"+w.acct+"/billing/payment-methods", map[string]any{"card_number": card, "exp_month": 11, "exp_year": 2031})
	if r.Str("brand") != "visa" || r.Str("last4") != "5556" || strings.Contains(string(r.Body), card) {
		t.Errorf("answer: %s", r.Body)
	}
	bill := w.owner.Must(200, "GET", "/v1/accounts/"+w.acct+"/billing", nil)
	if strings.Contains(string(bill.Body), card) {
		t.Error("billing shows the card number")
	}
	if strings.Contains(w.e.Logs.String(), card) {
		t.Error("the card number is in the log")
	}
	if strings.HasPrefix(w.e.DSN, "postgres") {
		var n int
		// Every text and bytea column of every table, searched in SQL.
		rows, err := w.e.Server.DB.SQL().Query(`SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND data_type IN ('text', 'bytea')`)
		if err != nil {
			t.Fatal(err)
		}
		var cols [][2]string
		for rows.Next() {
			var tbl, col string
			rows.Scan(&tbl, &col)
			cols = append(cols, [2]string{tbl, col})
		}
		rows.Close()
		for _, c := range cols {
			w.e.Server.DB.SQL().QueryRow(fmt.Sprintf(`SELECT COUNT(*) FROM %q WHERE position('%s' in encode(convert_to(%q::text, 'UTF8'), 'escape')) > 0`, c[0], card, c[1])).Scan(&n)
			if n > 0 {
				t.Errorf("the card number is in %s.%s", c[0], c[1])
			}
		}
		return
	}
	w.e.Server.DB.SQL().Exec(`PRAGMA wal_checkpoint(FULL)`)
	for _, f := range []string{w.e.DSN, w.e.DSN + "-wal"} {
		data, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(card)) {
			t.Errorf("the card number is in %s", f)
		}
	}
}

func TestAreas_ValidationRefusals(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	A := "/v1/accounts/" + w.acct
	n := uniqueNumber()
	w.owner.Must(201, "POST", A+"/numbers", map[string]string{"number": n})
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		code, snap   string
	}{
		{"POST", A + "/numbers", map[string]string{"number": "4155550100"}, 400, "invalid_request", A + "/numbers"},
		{"POST", A + "/numbers", map[string]string{"number": "+0155550100"}, 400, "invalid_request", A + "/numbers"},
		{"POST", A + "/numbers", map[string]string{"number": n}, 409, "conflict", A + "/numbers"},
		{"POST", A + "/numbers", map[string]any{"number": uniqueNumber(), "application_id": 999999}, 400, "invalid_request", A + "/numbers"},
		{"PATCH", A + "/numbers/+19999999999", map[string]string{"alias": "x"}, 404, "not_found", A + "/numbers"},
		{"POST", A + "/applications", map[string]string{"name": "X", "answer_url": "ftp://acme.example/a"}, 400, "invalid_request", A + "/applications"},
		{"POST", A + "/applications", map[string]string{"name": "X"}, 400, "invalid_request", A + "/applications"},
		{"POST", A + "/applications", map[string]string{"name": "X", "answer_url": "https://a.example", "answer_method": "PUT"}, 400, "invalid_request", A + "/applications"},
		{"PATCH", A + "/settings", map[string]string{"timezone": "Mars/Olympus"}, 400, "invalid_request", A + "/settings"},
		{"PATCH", A + "/settings", map[string]string{"name": ""}, 400, "invalid_request", A + "/settings"},
		{"POST", A + "/billing/payment-methods", map[string]any{"card_number": "4242424242424241", "exp_month": 12, "exp_year": 2030}, 400, "invalid_request", A + "/billing"},
		{"POST", A + "/billing/payment-methods", map[string]any{"card_number": "4242424242424242", "exp_month": 1, "exp_year": 2020}, 400, "invalid_request", A + "/billing"},
		{"POST", A + "/billing/payment-methods", map[string]any{"card_number": "4242424242424242", "exp_month": 13, "exp_year": 2030}, 400, "invalid_request", A + "/billing"},
		{"POST", A + "/billing/recharges", map[string]any{"amount_usd": 0}, 400, "invalid_request", A + "/billing"},
		{"POST", A + "/billing/recharges", map[string]any{"amount_usd": 10000.01}, 400, "invalid_request", A + "/billing"},
		{"POST", A + "/billing/recharges", map[string]any{"amount_usd": 1.005}, 400, "invalid_request", A + "/billing"},
		{"PATCH", A + "/billing", map[string]any{"auto_recharge": map[string]any{"enabled": true, "threshold_usd": -1, "amount_usd": 10}}, 400, "invalid_request", A + "/billing"},
		{"DELETE", A + "/billing/payment-methods/999999", nil, 404, "not_found", A + "/billing"},
	} {
		before := w.owner.Must(200, "GET", tc.snap, nil).Body
		w.owner.Refused(tc.status, tc.code, tc.method, tc.path, tc.body)
		if after := w.owner.Must(200, "GET", tc.snap, nil).Body; !bytes.Equal(before, after) {
			t.Errorf("refused %s %s changed %s", tc.method, tc.path, tc.snap)
		}
	}
	w.owner.Refused(400, "invalid_request", "GET", A+"/pricing?country=USA", nil)
	w.owner.Refused(404, "not_found", "GET", A+"/pricing?country=FR", nil)
	w.owner.Refused(400, "invalid_request", "GET", A+"/logs?kind=fax", nil)
	w.owner.Refused(400, "invalid_request", "GET", A+"/logs?from=yesterday", nil)
}

func TestAreas_BillingAndInvoices(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	A := "/v1/accounts/" + w.acct
	w.owner.Must(201, "POST", A+"/billing/payment-methods", map[string]any{"card_number": "4242424242424242", "exp_month": 12, "exp_year": 2030})
	w.owner.Must(201, "POST", A+"/billing/recharges", map[string]any{"amount_usd": 25.5})
	w.owner.Must(201, "POST", A+"/billing/recharges", map[string]any{"amount_usd": 100})
	b := w.owner.Must(200, "GET", A+"/billing", nil)
	if b.JSON["balance_usd"].(float64) != 125.5 {
		t.Errorf("balance = %v", b.JSON["balance_usd"])
	}
	inv := b.JSON["invoices"].([]any)
	if len(inv) != 1 || inv[0].(map[string]any)["total_usd"].(float64) != 125.5 || inv[0].(map[string]any)["recharge_count"].(float64) != 2 {
		t.Errorf("invoices = %v", inv)
	}
	p := w.owner.Must(200, "GET", A+"/pricing?country=us", nil)
	if p.JSON["voice_per_minute_usd"].(float64) != 0.0085 || p.JSON["sms_per_message_usd"].(float64) != 0.0079 {
		t.Errorf("pricing = %s", p.Body)
	}
}

func TestLogs_IngestAndFilter(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	platform := w.e.Platform(t)
	rec := func(acct, kind, from string, when string) map[string]any {
		return map[string]any{"account_id": acct, "kind": kind, "from_number": from, "to_number": "+14155550000",
			"direction": "outbound", "status": "completed", "started_at": when}
	}
	platform.Must(201, "POST", "/v1/ingest/logs", rec(w.acct, "message", "+14155551111", "2026-11-01T10:00:00Z"))
	platform.Must(201, "POST", "/v1/ingest/logs", map[string]any{"records": []any{
		rec(w.acct, "call", "+14155552222", "2026-11-02T10:00:00Z"),
		rec(w.acct, "call", "+14155553333", "2026-11-03T10:00:00Z"),
		rec(w.foreign, "call", "+14155554444", "2026-11-03T10:00:00Z"),
	}})
	// A batch is all or nothing.
	platform.Refused(400, "invalid_request", "POST", "/v1/ingest/logs", map[string]any{"records": []any{
		rec(w.acct, "call", "+14155555555", "2026-11-04T10:00:00Z"), rec(w.acct, "fax", "+14155555555", "2026-11-04T10:00:00Z")}})
	platform.Refused(404, "not_found", "POST", "/v1/ingest/logs", rec("MA000000000000000000", "call", "+14155555555", "2026-11-04T10:00:00Z"))
	w.owner.Refused(401, "unauthenticated", "POST", "/v1/ingest/logs", rec(w.acct, "call", "+14155555555", "2026-11-04T10:00:00Z"))

	A := "/v1/accounts/" + w.acct + "/logs"
	sup := w.sessions[roster.RoleSupport]
	if n := sup.Must(200, "GET", A, nil).Total(); n != 3 {
		t.Errorf("%d records, want 3 (the refused batch stored nothing)", n)
	}
	if n := sup.Must(200, "GET", A+"?kind=call", nil).Total(); n != 2 {
		t.Errorf("%d calls", n)
	}
	if n := sup.Must(200, "GET", A+"?from=2026-11-02T00:00:00Z&to=2026-11-03T00:00:00Z", nil).Total(); n != 1 {
		t.Errorf("%d in range", n)
	}
	if n := sup.Must(200, "GET", A+"?number=%2B14155553333", nil).Total(); n != 1 {
		t.Errorf("%d for number", n)
	}
	page := sup.Must(200, "GET", A+"?limit=1&offset=1", nil)
	if len(page.Objects()) != 1 || page.Objects()[0]["from_number"] != "+14155552222" {
		t.Errorf("page = %s", page.Body)
	}
}

func TestApplications_DeleteUnlinksNumbers(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	A := "/v1/accounts/" + w.acct
	app := w.owner.Must(201, "POST", A+"/applications", map[string]string{"name": "IVR", "answer_url": "https://acme.example/answer"})
	id := int64(app.JSON["id"].(float64))
	n := uniqueNumber()
	w.owner.Must(201, "POST", A+"/numbers", map[string]any{"number": n, "application_id": id})
	if got := w.owner.Must(200, "GET", A+"/numbers/"+n, nil).JSON["application_id"]; got != float64(id) {
		t.Fatalf("linked app = %v", got)
	}
	w.owner.Must(204, "DELETE", fmt.Sprintf("%s/applications/%d", A, id), nil)
	if got := w.owner.Must(200, "GET", A+"/numbers/"+n, nil).JSON["application_id"]; got != nil {
		t.Errorf("number still linked to %v", got)
	}
	// Another account's application cannot be linked.
	other := w.fOwner.Must(201, "POST", "/v1/accounts/"+w.foreign+"/applications", map[string]string{"name": "X", "answer_url": "https://b.example"})
	w.owner.Refused(400, "invalid_request", "PATCH", A+"/numbers/"+n, map[string]any{"application_id": other.JSON["id"]})
}

// TestRoutes_DenyByDefault: every registered route has an access entry,
// and every member route names a permission.
func TestRoutes_DenyByDefault(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	seen := map[string]bool{}
	var anyMember []string
	for _, rt := range w.e.Server.API.Routes() {
		if seen[rt.Pattern] {
			t.Errorf("%s registered twice", rt.Pattern)
		}
		seen[rt.Pattern] = true
		if strings.Contains(rt.Pattern, "/v1/accounts/{id}") && rt.Access != httpapi.Member {
			t.Errorf("%s is under an account but not a member route", rt.Pattern)
		}
		if rt.Access == httpapi.Member && rt.Perm == httpapi.AnyMember {
			anyMember = append(anyMember, rt.Pattern)
		}
		// The zero Permission means "not declared": a member route must
		// name what it needs; other routes must not pretend to.
		if rt.Access == httpapi.Member && rt.Perm == roster.PermissionNone {
			t.Errorf("%s is a member route with no permission declared", rt.Pattern)
		}
		if rt.Access != httpapi.Member && rt.Perm != roster.PermissionNone {
			t.Errorf("%s declares %s but is not a member route", rt.Pattern, rt.Perm)
		}
	}
	if want := "GET /v1/accounts/{id} DELETE /v1/accounts/{id}/members/me"; strings.Join(anyMember, " ") != want {
		t.Errorf("routes open to any member: %v, want %s", anyMember, want)
	}
	if len(seen) < 40 {
		t.Errorf("only %d routes", len(seen))
	}
	w.owner.Refused(404, "not_found", "GET", "/v1/accounts/"+w.acct+"/secrets", nil)
}

// machineDenied: what account credentials over HTTP Basic may not do even
// though the developer role may.
func machineDenied(p roster.Permission) bool {
	return p == roster.CredentialsView || p == roster.CredentialsEdit
}
