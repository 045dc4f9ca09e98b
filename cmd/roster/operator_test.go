package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/server/servertest"
)

// runSplit runs the command and returns its standard output apart.
func runSplit(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

// operatorFixture: Acme (committed, owner + developer + one pending
// invitation) and Globex (standard, its owner alone); the developer also
// belongs to Globex as support.
type operatorFixture struct {
	e            *servertest.Env
	db           string
	acme, globex string
}

func newOperatorFixture(t *testing.T) *operatorFixture {
	t.Helper()
	e := servertest.New(t)
	owner, acme := e.SignUp(t, "owner@acme-corp.com", "Owner")
	// A name with a tab and a terminal escape: the table must not pass them on.
	q := `UPDATE accounts SET name = ? WHERE auth_id = ?`
	if e.Server.DB.Dialect() == "postgres" {
		q = `UPDATE accounts SET name = $1 WHERE auth_id = $2`
	}
	if _, err := e.Server.DB.SQL().Exec(q, "Acme\tCorp \x1b[31mred", acme); err != nil {
		t.Fatal(err)
	}
	e.Commit(t, acme)
	e.Join(t, owner, acme, "dev@acme-corp.com", "developer")
	owner.Must(201, "POST", "/v1/accounts/"+acme+"/invitations", map[string]string{"email": "later@acme-corp.com", "role": "support"})
	boss, globex := e.SignUp(t, "boss@globex-industries.com", "Boss")
	e.Commit(t, globex)
	token, _ := e.InviteToken(t, boss, globex, "dev@acme-corp.com", "support")
	dev := e.Client(t)
	dev.Must(200, "POST", "/v1/login", map[string]string{"email": "dev@acme-corp.com", "password": servertest.Password})
	dev.Must(200, "POST", "/v1/invitations/"+token+"/accept", nil)
	e.Operator(t).Must(200, "PUT", "/v1/admin/accounts/"+globex+"/plan", map[string]any{"plan": "standard"})
	return &operatorFixture{e: e, db: "--database=" + e.DSN, acme: acme, globex: globex}
}

func TestCLI_AccountList(t *testing.T) {
	f := newOperatorFixture(t)
	out, _, err := runSplit(t, "account", "list", f.db)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("account list:\n%s", out)
	}
	for i, want := range [][]string{
		{f.acme, "Acme?Corp ?[31mred", "committed: 1000 USD a month for 12 months", " 2 "},
		{f.globex, "Boss's account", "standard", " 2 "},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i+1], w) {
				t.Errorf("account list line %d %q: no %q", i+1, lines[i+1], w)
			}
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Error("account list printed a control character from an account name")
	}
	if !strings.Contains(lines[3], "2 shown, 2 accounts in all") {
		t.Errorf("account list footer: %q", lines[3])
	}

	// JSON, a page at a time.
	type page struct {
		Accounts []struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Plan    string `json:"plan"`
			Members int    `json:"members"`
		} `json:"accounts"`
		Total     int    `json:"total"`
		NextAfter string `json:"next_after"`
	}
	var p page
	out, _, err = runSplit(t, "account", "list", f.db, "--json", "--limit", "1")
	if err != nil || json.Unmarshal([]byte(out), &p) != nil {
		t.Fatalf("account list --json: %v %q", err, out)
	}
	if len(p.Accounts) != 1 || p.Accounts[0].ID != f.acme || p.Accounts[0].Members != 2 || p.Accounts[0].Plan != "committed" ||
		p.Total != 2 || p.NextAfter != f.acme {
		t.Errorf("first page: %+v", p)
	}
	out, _, err = runSplit(t, "account", "list", f.db, "--json", "--limit=1", "--after", p.NextAfter)
	p = page{}
	if err != nil || json.Unmarshal([]byte(out), &p) != nil {
		t.Fatalf("account list --after: %v %q", err, out)
	}
	if len(p.Accounts) != 1 || p.Accounts[0].ID != f.globex || p.NextAfter != f.globex {
		t.Errorf("second page: %+v", p)
	}
	out, _, _ = runSplit(t, "account", "list", f.db, "--json", "--after", f.globex)
	p = page{}
	if json.Unmarshal([]byte(out), &p) != nil || len(p.Accounts) != 0 || p.NextAfter != "" || p.Total != 2 {
		t.Errorf("past the end: %q", out)
	}
	out, _, _ = runSplit(t, "account", "list", f.db, "--limit", "1")
	if !strings.Contains(out, "next page: roster account list --after "+f.acme) {
		t.Errorf("account list --limit 1 does not say how to get the next page:\n%s", out)
	}

	for _, tc := range []struct {
		args  []string
		want  string
		usage bool
	}{
		{[]string{"--limit", "0"}, "--limit 0", true},
		{[]string{"--after", "acme"}, "not an account ID", true},
		{[]string{"--after", "MA000000000000000000"}, "no such account", false},
		{[]string{"extra"}, "unexpected argument", true},
	} {
		_, _, err := runSplit(t, append([]string{"account", "list", f.db}, tc.args...)...)
		_, isUsage := err.(usageError)
		if err == nil || !strings.Contains(err.Error(), tc.want) || isUsage != tc.usage {
			t.Errorf("account list %v: %v, want %q (usage error: %v)", tc.args, err, tc.want, tc.usage)
		}
	}
}

func TestCLI_AccountShow(t *testing.T) {
	f := newOperatorFixture(t)
	out, _, err := runSplit(t, "account", "show", f.acme, f.db)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Account     " + f.acme, "committed: 1000 USD a month for 12 months", "Members: 2",
		"owner@acme-corp.com", "owner ", "dev@acme-corp.com", "developer", "active", "Pending invitations: 1", "later@acme-corp.com", "support"} {
		if !strings.Contains(out, want) {
			t.Errorf("account show: no %q in\n%s", want, out)
		}
	}
	// Flags before the ID work too; --members bounds the list.
	out, _, err = runSplit(t, "account", "show", f.db, "--members", "1", f.acme)
	if err != nil || !strings.Contains(out, "... and 1 more") || strings.Contains(out, "dev@acme-corp.com") {
		t.Errorf("account show --members 1: %v\n%s", err, out)
	}

	var doc struct {
		Account struct {
			ID   string `json:"id"`
			Plan string `json:"plan"`
		} `json:"account"`
		MemberCount int `json:"member_count"`
		Members     []struct {
			UserID int64  `json:"user_id"`
			Email  string `json:"email"`
			Role   string `json:"role"`
			Status string `json:"status"`
		} `json:"members"`
		PendingCount int `json:"pending_invitation_count"`
		Pending      []struct {
			Email string `json:"email"`
			Role  string `json:"role"`
		} `json:"pending_invitations"`
	}
	out, _, err = runSplit(t, "account", "show", f.acme, f.db, "--json")
	if err != nil || json.Unmarshal([]byte(out), &doc) != nil {
		t.Fatalf("account show --json: %v %q", err, out)
	}
	if doc.Account.ID != f.acme || doc.Account.Plan != "committed" || doc.MemberCount != 2 || len(doc.Members) != 2 ||
		doc.Members[0].Role != "owner" || doc.Members[1].Email != "dev@acme-corp.com" || doc.Members[1].Role != "developer" ||
		doc.PendingCount != 1 || len(doc.Pending) != 1 || doc.Pending[0].Role != "support" {
		t.Errorf("account show --json: %+v", doc)
	}
	// Globex is back on the standard plan: its support member is suspended.
	out, _, _ = runSplit(t, "account", "show", f.globex, f.db)
	if !strings.Contains(out, "suspended") || !strings.Contains(out, "Pending invitations: 0") {
		t.Errorf("account show of a standard account:\n%s", out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"account", "show", f.db}, "give one ACCOUNT_ID"},
		{[]string{"account", "show", "acme", f.db}, "not an account ID"},
		{[]string{"account", "show", f.acme, f.globex, f.db}, "give one ACCOUNT_ID"},
		{[]string{"account", "show", "MA000000000000000000", f.db}, "no such account"},
		{[]string{"account", "show", f.acme, "--database", filepath.Join(t.TempDir(), "none.db")}, "no SQLite database"},
	} {
		if _, _, err := runSplit(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("roster %v: %v, want %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(t.TempDir(), "none.db")); err == nil {
		t.Error("a read-only command created a database file")
	}
}

func TestCLI_UserShow(t *testing.T) {
	f := newOperatorFixture(t)
	out, _, err := runSplit(t, "user", "show", "  Dev@ACME-corp.com ", f.db)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dev@acme-corp.com", "Verified    yes", "Accounts: 2", f.acme, f.globex, "developer", "support", "suspended"} {
		if !strings.Contains(out, want) {
			t.Errorf("user show: no %q in\n%s", want, out)
		}
	}
	var doc struct {
		User struct {
			ID    int64  `json:"id"`
			Email string `json:"email"`
		} `json:"user"`
		Accounts []struct {
			AccountID string `json:"account_id"`
			Role      string `json:"role"`
			Status    string `json:"status"`
			Default   bool   `json:"default"`
		} `json:"accounts"`
	}
	out, _, err = runSplit(t, "user", "show", f.db, "--json", "dev@acme-corp.com")
	if err != nil || json.Unmarshal([]byte(out), &doc) != nil {
		t.Fatalf("user show --json: %v %q", err, out)
	}
	if doc.User.Email != "dev@acme-corp.com" || len(doc.Accounts) != 2 ||
		doc.Accounts[0].AccountID != f.acme || doc.Accounts[0].Role != "developer" || doc.Accounts[0].Status != "active" || !doc.Accounts[0].Default ||
		doc.Accounts[1].AccountID != f.globex || doc.Accounts[1].Role != "support" || doc.Accounts[1].Status != "suspended" {
		t.Errorf("user show --json: %+v", doc)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "show", f.db}, "give one EMAIL"},
		{[]string{"user", "show", "not-an-address", f.db}, "not-an-address"},
		{[]string{"user", "show", "nobody@acme-corp.com", f.db}, "no user with the address nobody@acme-corp.com"},
		{[]string{"user", "list"}, "unknown command"},
	} {
		if _, _, err := runSplit(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("roster %v: %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestCLI_AuditExport(t *testing.T) {
	f := newOperatorFixture(t)
	out, errOut, err := runSplit(t, "audit", "export", f.acme, f.db)
	if err != nil {
		t.Fatal(err)
	}
	var events []roster.AuditEvent
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var e roster.AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("not a JSON line: %q: %v", sc.Text(), err)
		}
		events = append(events, e)
	}
	var actions []string
	for i, e := range events {
		actions = append(actions, e.Action)
		if e.AccountID != f.acme {
			t.Errorf("event %d of another account: %+v", i, e)
		}
		if i > 0 && e.ID <= events[i-1].ID {
			t.Errorf("events out of order: %d after %d", e.ID, events[i-1].ID)
		}
	}
	got := strings.Join(actions, " ")
	for _, want := range []string{"account.create", "account.plan", "invitation.create", "invitation.accept"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit export: no %s in %s", want, got)
		}
	}
	if !strings.HasPrefix(got, "account.create") {
		t.Errorf("audit export does not start with the account's creation: %s", got)
	}
	if !strings.Contains(errOut, fmt.Sprintf("exported %d audit events", len(events))) {
		t.Errorf("stderr: %q", errOut)
	}

	// --since: only what happened at or after it (RFC 3339, fractions of a
	// second allowed).
	since := events[len(events)/2].At
	want := 0
	for _, e := range events {
		if !e.At.Before(since) {
			want++
		}
	}
	out, _, err = runSplit(t, "audit", "export", "--since", since.Format(time.RFC3339Nano), f.acme, f.db, "--json")
	if n := strings.Count(out, "\n"); err != nil || n != want || want == len(events) {
		t.Errorf("audit export --since %s: %v, %d events, want %d of %d\n%s", since.Format(time.RFC3339Nano), err, n, want, len(events), out)
	}
	out, _, err = runSplit(t, "audit", "export", f.acme, f.db, "--since", time.Now().Add(time.Hour).Format(time.RFC3339))
	if err != nil || out != "" {
		t.Errorf("audit export --since the future: %v %q", err, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"audit", "export", f.acme, f.db, "--since", "yesterday"}, `--since "yesterday"`},
		{[]string{"audit", "export", f.db}, "give one ACCOUNT_ID"},
		{[]string{"audit", "export", "MA000000000000000000", f.db}, "no such account"},
	} {
		if _, _, err := runSplit(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("roster %v: %v, want %q", tc.args, err, tc.want)
		}
	}
}
