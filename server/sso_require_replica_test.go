package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/rosterhq/roster/store"
)

// Requiring single sign-on on one replica binds the member on the other
// at once (the revision), and deleting the verified domain on one unbinds
// them on the other: the domain's change reloads the account's entries in
// every replica's index.
func TestReplicas_RequireSSOAndDomainDeletion(t *testing.T) {
	a, b := replicas(t, nil)
	owner, acct := a.SignUp(t, "owner@acme-corp.com", "Owner")
	a.Commit(t, acct)
	dev, devID := a.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	a.SSOConnection(t, acct, "acme-corp.com", "Okta", false)
	b.Reload(t) // the helper wrote the domain and connection straight to the database
	devB := on(t, b, dev, a)
	platformB := b.Platform(t)
	check := map[string]any{"account_id": acct, "user_id": devID, "permission": "numbers.view"}

	r := owner.Must(200, "PATCH", "/v1/accounts/"+acct+"/security", map[string]bool{"require_sso": true})
	platformB.Header.Set("X-Roster-Revision", r.Header.Get("X-Roster-Revision"))
	if r := platformB.Must(200, "POST", "/v1/authz/check", check); r.JSON["reason"] != "sso_required" {
		t.Fatalf("check on B after the requirement: %s", r.Body)
	}
	devB.Refused(403, "sso_required", "GET", "/v1/accounts/"+acct+"/numbers", nil)

	ctx := context.Background()
	seq := int64(a.Count(t, `SELECT id FROM accounts WHERE auth_id = ?`, acct))
	did := int64(a.Count(t, `SELECT id FROM domains WHERE account_id = ?`, seq))
	if err := a.Server.DB.Transact(ctx, func(tx *store.Tx) error { return tx.DeleteDomain(ctx, seq, did) }); err != nil {
		t.Fatal(err)
	}
	platformB.Header.Del("X-Roster-Revision")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if r := platformB.Must(200, "POST", "/v1/authz/check", check); r.JSON["allowed"] == true {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("B never unbound the member after the domain was deleted")
		}
	}
	devB.Must(200, "GET", "/v1/accounts/"+acct+"/numbers", nil)
}
