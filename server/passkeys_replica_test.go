package server_test

import (
	"fmt"
	"testing"

	"github.com/rosterhq/roster/httpapi"
	"github.com/rosterhq/roster/server/servertest"
)

// A member's first passkey, added on one replica, satisfies require_mfa
// on the other at once (the revision), and removing it there binds them
// again: the passkey changes the user's second-factor fact in every
// replica's index.
func TestReplicas_PasskeySatisfiesRequireMFAEverywhere(t *testing.T) {
	a, b := replicas(t, servertest.Localhost)
	owner, acct := a.SignUp(t, "owner@acme-corp.com", "Owner")
	a.Commit(t, acct)
	dev, devID := a.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	platformB := b.Platform(t)
	check := map[string]any{"account_id": acct, "user_id": devID, "permission": "numbers.view"}

	addPasskey := func(c *servertest.Client) int64 {
		t.Helper()
		r := c.Must(200, "POST", "/v1/me/passkeys/registration", map[string]string{"password": servertest.Password})
		pk := r.JSON["public_key"].(map[string]any)
		f := c.Must(201, "POST", "/v1/me/passkeys/registration/finish",
			map[string]any{"name": "Key", "credential": servertest.NewAuthenticator(a.BaseURL).Create(pk)})
		platformB.Header.Set(httpapi.RevisionHeader, f.Header.Get(httpapi.RevisionHeader))
		return int64(f.JSON["id"].(float64))
	}
	addPasskey(owner)
	r := owner.Must(200, "PATCH", "/v1/accounts/"+acct+"/security", map[string]bool{"require_mfa": true})
	platformB.Header.Set(httpapi.RevisionHeader, r.Header.Get(httpapi.RevisionHeader))
	if r := platformB.Must(200, "POST", "/v1/authz/check", check); r.JSON["reason"] != "mfa_required" {
		t.Fatalf("check on B before the passkey: %s", r.Body)
	}
	id := addPasskey(dev)
	if platformB.Header.Get(httpapi.RevisionHeader) == "" {
		t.Fatal("adding the first passkey answered no revision")
	}
	if r := platformB.Must(200, "POST", "/v1/authz/check", check); r.JSON["allowed"] != true {
		t.Fatalf("check on B after the passkey: %s", r.Body)
	}
	d := dev.Must(204, "DELETE", fmt.Sprintf("/v1/me/passkeys/%d", id), map[string]string{"password": servertest.Password})
	platformB.Header.Set(httpapi.RevisionHeader, d.Header.Get(httpapi.RevisionHeader))
	if r := platformB.Must(200, "POST", "/v1/authz/check", check); r.JSON["reason"] != "mfa_required" {
		t.Fatalf("check on B after the removal: %s", r.Body)
	}
}
