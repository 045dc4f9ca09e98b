package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/client"
	"github.com/rosterhq/roster/mail/mailtest"
	"github.com/rosterhq/roster/server/servertest"
)

func newClient(t *testing.T, url string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// refused fails unless err is an *client.Error with the status and code.
func refused(t *testing.T, err error, status int, code string) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want a %d %s *client.Error", err, status, code)
	}
	if e.Status != status || e.Code != code || e.Message == "" {
		t.Fatalf("got %+v, want %d %s", e, status, code)
	}
	return e
}

// The client against a real server: a session, the team, the check, and
// each way in.
func TestClient_AgainstARealServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := servertest.New(t)
	ownerST, acct := e.SignUp(t, "owner@acme-corp.com", "Olga")
	e.Commit(t, acct)

	// A session: log in, who am I, my accounts.
	owner := newClient(t, e.URL, client.WithSession(), client.WithUserAgent("client-test"))
	refused(t, mustErr(owner.Login(ctx, client.LoginRequest{Email: "owner@acme-corp.com", Password: "wrong password!!"})), 401, client.CodeUnauthenticated)
	u, err := owner.Login(ctx, client.LoginRequest{Email: "owner@acme-corp.com", Password: servertest.Password})
	if err != nil || u.Email != "owner@acme-corp.com" || u.DefaultAccountID != acct {
		t.Fatalf("login: %+v %v", u, err)
	}
	if me, err := owner.Me(ctx); err != nil || me.ID != u.ID {
		t.Fatalf("me: %+v %v", me, err)
	}
	accts, err := owner.Accounts(ctx, client.Page{})
	if err != nil || accts.Meta.TotalCount != 1 || accts.Objects[0].Account.ID != acct || accts.Objects[0].Role != client.RoleOwner {
		t.Fatalf("accounts: %+v %v", accts, err)
	}
	a, err := owner.Account(ctx, acct)
	if err != nil || a.Role != client.RoleOwner || a.Plan != "committed" || len(a.Permissions) != 15 {
		t.Fatalf("account: %+v %v", a, err)
	}
	refused(t, mustErr(owner.Account(ctx, "MA000000000000000000")), 404, client.CodeNotFound)

	// Invite through the client; the invitee signs up from the mailed link.
	inv, err := owner.Invite(ctx, acct, "dev@acme-corp.com", client.RoleDeveloper)
	if err != nil || inv.Status != "pending" || inv.Role != client.RoleDeveloper || inv.ID == 0 {
		t.Fatalf("invite: %+v %v", inv, err)
	}
	m := e.Mail.WaitFor(t, "dev@acme-corp.com", 1, 10*time.Second)
	token := strings.TrimPrefix(mailtest.Link(t, m.Text, e.URL+"/invite/"), e.URL+"/invite/")
	e.Client(t).Must(201, "POST", "/v1/signup", map[string]string{"password": servertest.Password, "name": "Dev", "invitation_token": token})
	e2 := refused(t, mustErr(owner.Invite(ctx, acct, "dev@acme-corp.com", client.RoleSupport)), 409, client.CodeAlreadyMember)
	if !client.IsCode(e2, client.CodeAlreadyMember) || !strings.Contains(e2.Error(), "409 already_member") {
		t.Errorf("error: %v", e2)
	}
	e3 := refused(t, mustErr(owner.Invite(ctx, acct, "x@gmail.com", client.RoleSupport)), 422, client.CodePersonalEmailDomain)
	if e3.Field != "email" {
		t.Errorf("field: %+v", e3)
	}
	pending, err := owner.Invite(ctx, acct, "later@acme-corp.com", client.RoleSupport)
	if err != nil {
		t.Fatal(err)
	}
	// A resend within the minute: 429 with Retry-After.
	e4 := refused(t, owner.Do(ctx, "POST", fmt.Sprintf("/v1/accounts/%s/invitations/%d/resend", acct, pending.ID), nil, nil), 429, client.CodeRateLimited)
	if e4.RetryAfter <= 0 {
		t.Errorf("429 without RetryAfter: %+v", e4)
	}
	if l, err := owner.Invitations(ctx, acct, client.Page{Limit: 10}); err != nil || l.Meta.TotalCount != 1 || l.Objects[0].ID != pending.ID {
		t.Errorf("invitations: %+v %v", l, err)
	}
	if err := owner.RevokeInvitation(ctx, acct, pending.ID); err != nil {
		t.Fatal(err)
	}

	// More members, then the list by cursor: every one once, owner first.
	for i := range 4 {
		e.Join(t, ownerST, acct, fmt.Sprintf("s%d@acme-corp.com", i), client.RoleSupport)
	}
	var seen []string
	q := client.MembersQuery{Limit: 2}
	for pages := 0; pages < 10; pages++ {
		page, err := owner.Members(ctx, acct, q)
		if err != nil {
			t.Fatal(err)
		}
		if page.Meta.TotalCount != 6 || page.Meta.Limit != 2 {
			t.Fatalf("meta: %+v", page.Meta)
		}
		for _, m := range page.Objects {
			seen = append(seen, m.Email)
		}
		if page.Meta.Next == "" {
			break
		}
		q.After = page.Meta.Next
	}
	var all []string
	var devID int64
	for m, err := range owner.AllMembers(ctx, acct) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, m.Email)
		if m.Email == "dev@acme-corp.com" {
			devID = m.UserID
		}
	}
	if len(seen) != 6 || seen[0] != "owner@acme-corp.com" || strings.Join(seen, " ") != strings.Join(all, " ") {
		t.Errorf("by cursor %v, all %v", seen, all)
	}
	refused(t, mustErr(owner.Members(ctx, acct, client.MembersQuery{After: "not-a-cursor"})), 400, client.CodeInvalidRequest)

	// The platform's check.
	platform := newClient(t, e.URL, client.WithServiceToken(servertest.ServiceToken))
	d, err := platform.Check(ctx, client.CheckRequest{AccountID: acct, UserID: devID, Permission: client.PermNumbersEdit})
	if err != nil || !d.Allowed || d.Role != client.RoleDeveloper || d.Reason != client.ReasonAllowed {
		t.Fatalf("check: %+v %v", d, err)
	}
	ds, err := platform.CheckBatch(ctx, []client.CheckRequest{
		{AccountID: acct, UserID: devID, Permission: client.PermTeamEdit},
		{AccountID: acct, UserID: u.ID, Permission: client.PermTeamEdit},
		{AccountID: "MA000000000000000000", UserID: devID, Permission: client.PermNumbersView},
	})
	if err != nil || len(ds) != 3 || ds[0].Reason != client.ReasonMissingPermission || !ds[1].Allowed || ds[2].Reason != client.ReasonNotMember || ds[2].Role != "" {
		t.Fatalf("batch: %+v %v", ds, err)
	}
	if got := strings.Join(ds[0].RolesWithPermission, ","); got != "owner,admin" || ds[1].RolesWithPermission != nil {
		t.Errorf("roles_with_permission: %q, %v", got, ds[1].RolesWithPermission)
	}
	e5 := refused(t, mustErr(platform.CheckBatch(ctx, []client.CheckRequest{
		{AccountID: acct, UserID: devID, Permission: client.PermTeamEdit},
		{AccountID: acct, UserID: devID, Permission: "numbers.fly"},
	})), 400, client.CodeInvalidRequest)
	if e5.Field != "checks[1]" {
		t.Errorf("field: %+v", e5)
	}
	refused(t, mustErr(newClient(t, e.URL, client.WithServiceToken("wrong")).Check(ctx, client.CheckRequest{AccountID: acct, UserID: devID, Permission: client.PermNumbersView})), 401, client.CodeUnauthenticated)

	// A refusal: the developer's session may not invite (403 forbidden),
	// and nothing was stored.
	dev := newClient(t, e.URL, client.WithSession())
	if _, err := dev.Login(ctx, client.LoginRequest{Email: "dev@acme-corp.com", Password: servertest.Password}); err != nil {
		t.Fatal(err)
	}
	refused(t, mustErr(dev.Invite(ctx, acct, "esc@acme-corp.com", client.RoleAdmin)), 403, client.CodeForbidden)
	refused(t, mustErr(dev.Members(ctx, acct, client.MembersQuery{})), 403, client.CodeForbidden)
	if l, err := owner.Invitations(ctx, acct, client.Page{}); err != nil || l.Meta.TotalCount != 0 {
		t.Errorf("a refused invitation was stored: %+v %v", l, err)
	}

	// A personal API key acts with the member's role; the account's
	// credentials as a developer.
	key, err := owner.CreateAPIKey(ctx, acct, "ci")
	if err != nil || !strings.HasPrefix(key.Key, "rk_") {
		t.Fatalf("key: %+v %v", key, err)
	}
	byKey := newClient(t, e.URL, client.WithAPIKey(key.Key))
	if l, err := byKey.Members(ctx, acct, client.MembersQuery{Limit: 100}); err != nil || len(l.Objects) != 6 {
		t.Fatalf("members by key: %+v %v", l, err)
	}
	refused(t, mustErr(byKey.Me(ctx)), 401, client.CodeUnauthenticated) // keys are not a login
	var creds struct {
		AuthToken string `json:"auth_token"`
	}
	if err := owner.Do(ctx, "GET", "/v1/accounts/"+acct+"/credentials", nil, &creds); err != nil {
		t.Fatal(err)
	}
	machine := newClient(t, e.URL, client.WithAccountCredentials(acct, creds.AuthToken))
	if err := machine.Do(ctx, "GET", "/v1/accounts/"+acct+"/numbers", nil, nil); err != nil {
		t.Errorf("numbers by account credentials: %v", err)
	}
	refused(t, mustErr(machine.Members(ctx, acct, client.MembersQuery{})), 403, client.CodeForbidden)
	refused(t, mustErr(newClient(t, e.URL, client.WithAccountCredentials(acct, "wrong")).Account(ctx, acct)), 401, client.CodeUnauthenticated)

	// Role change, removal, and the check sees each at once.
	before := owner.LastRevision()
	if m, err := owner.SetMemberRole(ctx, acct, devID, client.RoleFinanceAnalyst); err != nil || m.Role != client.RoleFinanceAnalyst {
		t.Fatalf("role: %+v %v", m, err)
	}
	if owner.LastRevision() <= before {
		t.Errorf("a role change answered no new revision (%d, before %d)", owner.LastRevision(), before)
	}
	refused(t, mustErr(owner.SetMemberRole(ctx, acct, u.ID, client.RoleAdmin)), 403, client.CodeOwnerImmutable)
	if d, err := platform.Check(ctx, client.CheckRequest{AccountID: acct, UserID: devID, Permission: client.PermNumbersEdit}); err != nil || d.Allowed {
		t.Errorf("check after the role change: %+v %v", d, err)
	}
	if err := owner.DeleteMember(ctx, acct, devID); err != nil {
		t.Fatal(err)
	}
	refused(t, owner.DeleteMember(ctx, acct, devID), 404, client.CodeNotFound)
	refused(t, mustErr(dev.Account(ctx, acct)), 404, client.CodeNotFound)
	if d, err := platform.Check(ctx, client.CheckRequest{AccountID: acct, UserID: devID, Permission: client.PermNumbersView}); err != nil || d.Reason != client.ReasonNotMember {
		t.Errorf("check after the removal: %+v %v", d, err)
	}

	// Logout ends the session.
	if err := owner.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	refused(t, mustErr(owner.Me(ctx)), 401, client.CodeUnauthenticated)
}

// Read-own-writes: the client sends back the revision its writes made; an
// explicit revision the server never reaches answers 503 with RetryAfter.
func TestClient_Revisions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := servertest.New(t)
	_, acct := e.SignUp(t, "owner@acme-corp.com", "Olga")
	var got []string
	hc := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		got = append(got, r.Header.Get(client.RevisionHeader))
		return http.DefaultTransport.RoundTrip(r)
	})}
	c := newClient(t, e.URL, client.WithSession(), client.WithReadOwnWrites(), client.WithHTTPClient(hc))
	if _, err := c.Login(ctx, client.LoginRequest{Email: "owner@acme-corp.com", Password: servertest.Password}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAPIKey(ctx, acct, "deploy"); err != nil { // a write that changes who may do what
		t.Fatal(err)
	}
	rev := c.LastRevision()
	if _, err := c.Me(ctx); err != nil {
		t.Fatal(err)
	}
	if rev == 0 || got[len(got)-1] != fmt.Sprint(rev) {
		t.Errorf("revision %d, sent %q", rev, got)
	}
	platform := newClient(t, e.URL, client.WithServiceToken(servertest.ServiceToken))
	err := mustErr(platform.Check(client.AtRevision(ctx, rev+1_000_000), client.CheckRequest{AccountID: acct, UserID: 1, Permission: client.PermNumbersView}))
	if ce := refused(t, err, 503, client.CodeUnavailable); ce.RetryAfter <= 0 {
		t.Errorf("503 without RetryAfter: %+v", ce)
	}
}

func TestClient_New(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "roster.internal:8080", "ftp://roster.internal", "http://roster.internal?x=1"} {
		if _, err := client.New(bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
	if _, err := client.New("http://roster.internal", client.WithAPIKey("not-a-key")); err == nil {
		t.Error("WithAPIKey accepted a key without rk_")
	}
	// A non-API answer (the console's page for an unknown path) is still an *Error.
	e := servertest.New(t)
	err := newClient(t, e.URL).Do(context.Background(), "GET", "/nothing-here", nil, nil)
	if ce := refused(t, err, 404, ""); ce.Code != "" {
		t.Errorf("%+v", ce)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// mustErr drops a result, keeping the error.
func mustErr[T any](_ T, err error) error { return err }

// A POST retried with the same Idempotency-Key is done once: the retry
// gets the first answer; the key with another body is 409 conflict.
func TestClient_IdempotencyKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := servertest.New(t)
	_, acct := e.SignUp(t, "owner@acme-corp.com", "Olga")
	e.Commit(t, acct)
	owner := newClient(t, e.URL, client.WithSession())
	if _, err := owner.Login(ctx, client.LoginRequest{Email: "owner@acme-corp.com", Password: servertest.Password}); err != nil {
		t.Fatal(err)
	}
	once := client.WithIdempotencyKey(ctx, "4f1c7d0e-5b0a-4e57-9a57-2f7f6f0c9b11")
	first, err := owner.Invite(once, acct, "new@acme-corp.com", "developer")
	if err != nil {
		t.Fatal(err)
	}
	again, err := owner.Invite(once, acct, "new@acme-corp.com", "developer")
	if err != nil || again.ID != first.ID {
		t.Errorf("the retry: %+v %v, want invitation %d again", again, err, first.ID)
	}
	refused(t, mustErr(owner.Invite(once, acct, "other@acme-corp.com", "developer")), 409, client.CodeConflict)
	// Without the key, the same request is a new one (refused: pending).
	refused(t, mustErr(owner.Invite(ctx, acct, "new@acme-corp.com", "developer")), 409, client.CodeInvitationPending)
}
