package servertest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

// OIDCProvider is a real OpenID provider running in the test
// (zitadel/oidc's example OP over its in-memory storage) with one web
// client registered for the server's redirect URI. Its login page signs
// in at once as the person SignInAs set, with no form: a plain
// http.Client following redirects goes through it.
type OIDCProvider struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	users        *opUsers
}

// NewOIDCProvider starts a provider on a free port of 127.0.0.1 whose
// client accepts redirectURI (the server's {BASE_URL}/sso/oidc/callback).
// It signs in as "person@example.com", verified, until SignInAs says
// otherwise.
func NewOIDCProvider(tb testing.TB, redirectURI string) *OIDCProvider {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &OIDCProvider{Issuer: "http://" + ln.Addr().String(), ClientID: "roster-test-client", ClientSecret: "roster-test-secret-0123456789",
		users: &opUsers{u: storage.User{ID: "person", Username: "person", Password: "pw", FirstName: "Pat", LastName: "Person",
			Email: "person@example.com", EmailVerified: true}}}
	st := storage.NewStorageWithClients(p.users, map[string]*storage.Client{
		p.ClientID: storage.WebClient(p.ClientID, p.ClientSecret, redirectURI),
	})
	router := exampleop.SetupServer(p.Issuer, st, nil, false)
	mux := http.NewServeMux()
	// The example's login form, answered at once for the set person.
	mux.HandleFunc("/login/username", func(w http.ResponseWriter, r *http.Request) {
		id := r.FormValue("authRequestID")
		if err := st.CheckUsernamePassword("person", "pw", id); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, p.Issuer+"/auth/callback?id="+url.QueryEscape(id), http.StatusFound)
	})
	mux.Handle("/", router)
	hs := httptest.NewUnstartedServer(mux)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	tb.Cleanup(hs.Close)
	return p
}

// SignInAs sets who the provider signs in next: the address, whether it
// says the address is verified, and the display name.
func (p *OIDCProvider) SignInAs(email string, verified bool, first, last string) {
	p.users.mu.Lock()
	defer p.users.mu.Unlock()
	p.users.u.Email, p.users.u.EmailVerified, p.users.u.FirstName, p.users.u.LastName = email, verified, first, last
}

// opUsers is the provider's one person, changed by SignInAs.
type opUsers struct {
	mu sync.Mutex
	u  storage.User
}

func (s *opUsers) get(id string) *storage.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id != s.u.ID {
		return nil
	}
	u := s.u
	return &u
}

func (s *opUsers) GetUserByID(id string) *storage.User         { return s.get(id) }
func (s *opUsers) GetUserByUsername(name string) *storage.User { return s.get(name) }
func (s *opUsers) ExampleClientID() string                     { return "service" }
