package servertest

import (
	"net"
	"net/http/httptest"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

// OIDC provider login for the browser tests (issue 22): the person types
// a user name and a password into the provider's own page.

// OIDCUsername and OIDCPassword are what a person types into the login
// form of a provider from NewOIDCProviderWithForm.
const (
	OIDCUsername = "person"
	OIDCPassword = "provider password"
)

// NewOIDCProviderWithForm starts a provider like NewOIDCProvider, but
// its login page is the example provider's own form (user name and
// password, OIDCUsername and OIDCPassword), as a person meets it in a
// browser. SignInAs sets who that user is.
func NewOIDCProviderWithForm(tb testing.TB, redirectURI string) *OIDCProvider {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &OIDCProvider{Issuer: "http://" + ln.Addr().String(), ClientID: "roster-test-client", ClientSecret: "roster-test-secret-0123456789",
		users: &opUsers{u: storage.User{ID: OIDCUsername, Username: OIDCUsername, Password: OIDCPassword, FirstName: "Pat",
			LastName: "Person", Email: "person@example.com", EmailVerified: true}}}
	st := storage.NewStorageWithClients(p.users, map[string]*storage.Client{
		p.ClientID: storage.WebClient(p.ClientID, p.ClientSecret, redirectURI),
	})
	hs := httptest.NewUnstartedServer(exampleop.SetupServer(p.Issuer, st, nil, false))
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	tb.Cleanup(hs.Close)
	return p
}
