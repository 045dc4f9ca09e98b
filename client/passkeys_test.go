package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/rosterhq/roster/client"
	"github.com/rosterhq/roster/server/servertest"
)

// The passkey routes through the client, with the software authenticator:
// add, list, rename, passwordless sign-in, the second factor after the
// password (the error's methods and token), removal.
func TestClient_Passkeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := servertest.New(t, servertest.Options{Tweak: servertest.Localhost})
	e.SignUp(t, "ada@acme-corp.com", "Ada")
	c := newClient(t, e.URL, client.WithSession())
	if _, err := c.Login(ctx, client.LoginRequest{Email: "ada@acme-corp.com", Password: servertest.Password}); err != nil {
		t.Fatal(err)
	}
	a := servertest.NewAuthenticator(e.BaseURL)
	opts := func(o client.PasskeyOptions, err error) map[string]any {
		t.Helper()
		var m map[string]any
		if err != nil || json.Unmarshal(o, &m) != nil {
			t.Fatalf("options %s: %v", o, err)
		}
		return m
	}
	refused(t, mustErr(c.BeginPasskeyRegistration(ctx, client.StepUp{Password: "wrong password here"})), 401, client.CodeUnauthenticated)
	p, err := c.FinishPasskeyRegistration(ctx, "Laptop", a.Create(opts(c.BeginPasskeyRegistration(ctx, client.StepUp{Password: servertest.Password}))))
	if err != nil || p.Name != "Laptop" || p.ID == 0 {
		t.Fatalf("add: %+v %v", p, err)
	}
	if p, err = c.RenamePasskey(ctx, p.ID, "Work"); err != nil || p.Name != "Work" {
		t.Fatalf("rename: %+v %v", p, err)
	}

	anon := newClient(t, e.URL, client.WithSession())
	o, flow, err := anon.BeginPasskeyLogin(ctx)
	if err != nil || flow == "" {
		t.Fatal(err)
	}
	if u, err := anon.FinishPasskeyLogin(ctx, flow, a.Get(opts(o, nil))); err != nil || u.Email != "ada@acme-corp.com" {
		t.Fatalf("passwordless: %+v %v", u, err)
	}
	if ps, err := anon.Passkeys(ctx); err != nil || len(ps) != 1 || ps[0].LastUsedAt.IsZero() {
		t.Fatalf("list after sign-in: %+v %v", ps, err)
	}

	second := newClient(t, e.URL, client.WithSession())
	_, err = second.Login(ctx, client.LoginRequest{Email: "ada@acme-corp.com", Password: servertest.Password})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Code != client.CodeMFARequired || !slices.Equal(ce.Methods, []string{"passkey"}) || ce.MFAToken == "" {
		t.Fatalf("login: %v", err)
	}
	if _, err := second.FinishPasskeySecondFactor(ctx, ce.MFAToken, a.Get(opts(second.BeginPasskeySecondFactor(ctx, ce.MFAToken)))); err != nil {
		t.Fatal(err)
	}
	if err := second.DeletePasskey(ctx, p.ID, client.StepUp{Password: servertest.Password}); err != nil {
		t.Fatal(err)
	}
	if ps, err := second.Passkeys(ctx); err != nil || len(ps) != 0 {
		t.Fatalf("after removal: %+v %v", ps, err)
	}
}
