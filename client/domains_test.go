package client_test

import (
	"context"
	"testing"

	"github.com/rosterhq/roster/client"
	"github.com/rosterhq/roster/server/servertest"
)

// The domain routes through the client: add, refused until the record
// is published in the test DNS server, verified, listed, removed.
func TestClient_Domains(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := servertest.New(t)
	_, acct := e.SignUp(t, "owner@acme-corp.com", "Olga")
	owner := newClient(t, e.URL, client.WithSession())
	if _, err := owner.Login(ctx, client.LoginRequest{Email: "owner@acme-corp.com", Password: servertest.Password}); err != nil {
		t.Fatal(err)
	}
	d, err := owner.AddDomain(ctx, acct, "Acme-Corp.com")
	if err != nil || d.Domain != "acme-corp.com" || d.Status != "pending" || d.Verification.Type != "TXT" || !d.VerifiedAt.IsZero() {
		t.Fatalf("add: %+v %v", d, err)
	}
	refused(t, mustErr(owner.AddDomain(ctx, acct, "gmail.com")), 422, client.CodePersonalEmailDomain)
	refused(t, mustErr(owner.VerifyDomain(ctx, acct, d.ID)), 409, client.CodeDomainUnverified)
	e.DNS.SetTXT(d.Verification.Name, d.Verification.Value)
	v, err := owner.VerifyDomain(ctx, acct, d.ID)
	if err != nil || v.Status != "verified" || v.VerifiedAt.IsZero() {
		t.Fatalf("verify: %+v %v", v, err)
	}
	l, err := owner.Domains(ctx, acct)
	if err != nil || l.Meta.TotalCount != 1 || l.Objects[0].Status != "verified" {
		t.Fatalf("list: %+v %v", l, err)
	}
	if err := owner.DeleteDomain(ctx, acct, d.ID); err != nil {
		t.Fatal(err)
	}
	refused(t, owner.DeleteDomain(ctx, acct, d.ID), 404, client.CodeNotFound)
}
