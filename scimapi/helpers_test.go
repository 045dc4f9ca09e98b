package scimapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/service"
)

// directory is a SCIM client with an account's bearer token, as Okta or
// Entra ID would be.
type directory struct {
	t     *testing.T
	e     *servertest.Env
	token string
}

// answer is a SCIM answer: status, headers and the decoded body.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

func (a answer) str(k string) string { s, _ := a.JSON[k].(string); return s }

// scimType is the scimType of an error answer.
func (a answer) scimType() string { return a.str("scimType") }

func (a answer) resources() []map[string]any {
	var out []map[string]any
	list, _ := a.JSON["Resources"].([]any)
	for _, r := range list {
		out = append(out, r.(map[string]any))
	}
	return out
}

func (a answer) total() int { n, _ := a.JSON["totalResults"].(float64); return int(n) }

// role is the Roster extension's role of a user answer.
func (a answer) role() string {
	ext, _ := a.JSON[roster.SCIMUserSchemaExtension].(map[string]any)
	s, _ := ext["role"].(string)
	return s
}

func (a answer) active() bool { b, _ := a.JSON["active"].(bool); return b }

func (d *directory) do(method, path string, body any) answer {
	d.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			d.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, d.e.URL+"/scim/v2"+path, rd)
	if err != nil {
		d.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	if d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	a := answer{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if len(raw) > 0 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/scim+json" {
			d.t.Errorf("%s %s: Content-Type %q, want application/scim+json", method, path, ct)
		}
		if err := json.Unmarshal(raw, &a.JSON); err != nil {
			d.t.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return a
}

func (d *directory) must(want int, method, path string, body any) answer {
	d.t.Helper()
	a := d.do(method, path, body)
	if a.Status != want {
		d.t.Fatalf("%s %s: status %d, want %d: %s", method, path, a.Status, want, a.Body)
	}
	return a
}

// refused sends the request and fails unless it answers the status and
// scimType in the SCIM error schema.
func (d *directory) refused(status int, scimType, method, path string, body any) answer {
	d.t.Helper()
	a := d.do(method, path, body)
	if a.Status != status || a.scimType() != scimType {
		d.t.Fatalf("%s %s: got %d %q, want %d %q: %s", method, path, a.Status, a.scimType(), status, scimType, a.Body)
	}
	if schemas, _ := a.JSON["schemas"].([]any); len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
		d.t.Errorf("%s %s: not a SCIM error: %s", method, path, a.Body)
	}
	if a.str("status") != fmt.Sprint(status) {
		d.t.Errorf("%s %s: status %q in the body, want %d", method, path, a.str("status"), status)
	}
	return a
}

// fixture reads a provider's request from testdata and fills in the ids.
func fixture(t *testing.T, name string, ids ...string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(ids); i += 2 {
		s = strings.ReplaceAll(s, "{{"+ids[i]+"}}", ids[i+1])
	}
	return s
}

// rebind numbers ? placeholders for PostgreSQL.
func rebind(e *servertest.Env, q string) string {
	if e.Server.DB.Dialect() != "sqlite" {
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
		}
	}
	return q
}

func exec(t *testing.T, e *servertest.Env, q string, args ...any) {
	t.Helper()
	if _, err := e.Server.DB.SQL().Exec(rebind(e, q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// newToken makes a SCIM token of the account named name, as the settings
// page does, and returns the directory holding it. The account has a
// verified domain.
func newToken(t *testing.T, e *servertest.Env, accountID, name string) *directory {
	t.Helper()
	a, err := e.Server.DB.Account(context.Background(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := e.Server.Service.CreateSCIMToken(context.Background(), a, name, roster.Actor{Email: "owner@" + a.ID})
	if err != nil {
		t.Fatal(err)
	}
	return &directory{t: t, e: e, token: token}
}

// setRoles saves the account's SCIM settings, as the settings page does:
// the default role and the roles of groups by display name.
func setRoles(t *testing.T, e *servertest.Env, accountID string, def roster.Role, groups map[string]string) {
	t.Helper()
	a, err := e.Server.DB.Account(context.Background(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Server.Service.UpdateSCIMSettings(context.Background(), a, service.SCIMSettingsInput{DefaultRole: def.String(), GroupRoles: groups},
		roster.Actor{Email: "owner@" + a.ID}); err != nil {
		t.Fatal(err)
	}
}

// company is an account on the committed plan with a verified domain
// (acme-corp.com, through the real DNS check) and its owner's client.
func company(t *testing.T, e *servertest.Env, owner, domain string) (*servertest.Client, string) {
	t.Helper()
	c, acct := e.SignUp(t, owner, "Owner")
	e.Commit(t, acct)
	e.VerifyDomain(t, c, acct, domain)
	return c, acct
}

// filterPath is /Users or /Groups with a filter and paging, escaped.
func filterPath(base, filter string, startIndex, count int) string {
	q := url.Values{}
	if filter != "" {
		q.Set("filter", filter)
	}
	if startIndex > 0 {
		q.Set("startIndex", fmt.Sprint(startIndex))
	}
	if count >= 0 {
		q.Set("count", fmt.Sprint(count))
	}
	return base + "?" + q.Encode()
}

// auditBy counts the account's audit events of the action by the actor.
func auditBy(t *testing.T, e *servertest.Env, accountID, action, actor string) int {
	t.Helper()
	return e.Count(t, `SELECT COUNT(*) FROM audit_events WHERE account_id = (SELECT id FROM accounts WHERE auth_id = ?) AND action = ? AND actor_email = ?`,
		accountID, action, actor)
}
