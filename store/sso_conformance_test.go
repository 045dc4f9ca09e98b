package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// --- sso.go

// countRows counts a table's rows where cond holds (cond built from
// integers only, so no placeholders: the same text on both databases).
func countRows(t *testing.T, db *store.DB, table, cond string) int {
	t.Helper()
	var n int
	must(t, db.SQL().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table+` WHERE `+cond).Scan(&n))
	return n
}

func TestConformance_SSODomains(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := fixture(t, db, "owner@acme-corp.example")
		_, b := fixture(t, db, "owner@rival.example")

		var d, db2 roster.Domain
		mustTx(t, db, func(tx *store.Tx) error {
			var err error
			d, err = tx.CreateDomain(ctx, a.Seq, "acme-corp.example", "token-a")
			return err
		})
		if d.ID == 0 || d.AccountSeq != a.Seq || d.Status != roster.DomainPending || d.CreatedAt.IsZero() || !d.VerifiedAt.IsZero() {
			t.Fatalf("CreateDomain = %+v", d)
		}

		t.Run("CreateDomain: an account claims a domain once, several accounts may claim it while pending", func(t *testing.T) {
			err := tx(t, db, func(tx *store.Tx) error {
				_, err := tx.CreateDomain(ctx, a.Seq, "acme-corp.example", "token-again")
				return err
			})
			if !errors.Is(err, store.ErrUnique) {
				t.Errorf("the same domain again in the same account: %v, want ErrUnique", err)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				db2, err = tx.CreateDomain(ctx, b.Seq, "acme-corp.example", "token-b")
				return err
			})
			mustTx(t, db, func(tx *store.Tx) error {
				_, err := tx.CreateDomain(ctx, a.Seq, "acme-corp-labs.example", "token-labs")
				return err
			})
		})

		t.Run("Domain and Domains read the account's own, oldest first", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				got, err := tx.Domain(ctx, a.Seq, d.ID)
				if err != nil {
					return err
				}
				if got.Domain != "acme-corp.example" || got.Token != "token-a" || got.Status != roster.DomainPending || !got.CreatedAt.Equal(d.CreatedAt) {
					t.Errorf("Domain = %+v", got)
				}
				if got.TXTName() != "_roster-verification.acme-corp.example" || got.TXTValue() != "roster-verification=token-a" {
					t.Errorf("TXT record %s = %s", got.TXTName(), got.TXTValue())
				}
				_, other := tx.Domain(ctx, b.Seq, d.ID)
				_, missing := tx.Domain(ctx, a.Seq, d.ID+1000)
				sameAsMissing(t, "Domain", other, missing, store.ErrNoRows)
				return nil
			})
			ds, err := db.Domains(ctx, a.Seq)
			must(t, err)
			if len(ds) != 2 || ds[0].Domain != "acme-corp.example" || ds[1].Domain != "acme-corp-labs.example" {
				t.Errorf("Domains(a) = %+v", ds)
			}
			ds, err = db.Domains(ctx, b.Seq)
			must(t, err)
			if len(ds) != 1 || ds[0].ID != db2.ID || ds[0].Token != "token-b" {
				t.Errorf("Domains(b) = %+v", ds)
			}
		})

		t.Run("MarkDomainVerified: one account holds a verified domain", func(t *testing.T) {
			if _, err := db.VerifiedDomain(ctx, "acme-corp.example"); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("VerifiedDomain before any verification: %v, want ErrNoRows", err)
			}
			var n int
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				if n, err = tx.CountVerifiedDomains(ctx, a.Seq); err != nil || n != 0 {
					t.Errorf("CountVerifiedDomains before = %d, %v", n, err)
				}
				// Another account's row, and a row that does not exist.
				other := tx.MarkDomainVerified(ctx, b.Seq, d.ID)
				missing := tx.MarkDomainVerified(ctx, a.Seq, d.ID+1000)
				sameAsMissing(t, "MarkDomainVerified", other, missing, store.ErrNoRows)
				return tx.MarkDomainVerified(ctx, a.Seq, d.ID)
			})
			got, err := db.VerifiedDomain(ctx, "acme-corp.example")
			must(t, err)
			if got.ID != d.ID || got.AccountSeq != a.Seq || got.Status != roster.DomainVerified || got.VerifiedAt.IsZero() {
				t.Errorf("VerifiedDomain = %+v", got)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				if n, err = tx.CountVerifiedDomains(ctx, a.Seq); err != nil || n != 1 {
					t.Errorf("CountVerifiedDomains after = %d, %v", n, err)
				}
				// Verified already: nothing to mark (the first time stands).
				if err := tx.MarkDomainVerified(ctx, a.Seq, d.ID); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("MarkDomainVerified of a verified domain: %v, want ErrNoRows", err)
				}
				return nil
			})
			// The other account's claim of the same domain cannot be verified.
			err = tx(t, db, func(tx *store.Tx) error { return tx.MarkDomainVerified(ctx, b.Seq, db2.ID) })
			if !errors.Is(err, store.ErrUnique) {
				t.Errorf("MarkDomainVerified of a domain another account verified: %v, want ErrUnique", err)
			}
			ds, err := db.Domains(ctx, b.Seq)
			must(t, err)
			if len(ds) != 1 || ds[0].Status != roster.DomainPending {
				t.Errorf("the refused claim changed: %+v", ds)
			}
		})

		t.Run("DeleteDomain removes the account's own; the domain is free again", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				other := tx.DeleteDomain(ctx, b.Seq, d.ID)
				missing := tx.DeleteDomain(ctx, a.Seq, d.ID+1000)
				sameAsMissing(t, "DeleteDomain", other, missing, store.ErrNoRows)
				return tx.DeleteDomain(ctx, a.Seq, d.ID)
			})
			if _, err := db.VerifiedDomain(ctx, "acme-corp.example"); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("VerifiedDomain after the delete: %v", err)
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.MarkDomainVerified(ctx, b.Seq, db2.ID) })
			got, err := db.VerifiedDomain(ctx, "acme-corp.example")
			if err != nil || got.AccountSeq != b.Seq {
				t.Errorf("VerifiedDomain after the other account verified = %+v, %v", got, err)
			}
			ds, err := db.Domains(ctx, a.Seq)
			must(t, err)
			if len(ds) != 1 || ds[0].Domain != "acme-corp-labs.example" {
				t.Errorf("Domains(a) after the delete = %+v", ds)
			}
		})
	})
}

func TestConformance_SSOConnections(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		uid, a := fixture(t, db, "owner@conn.example")
		_, b := fixture(t, db, "owner@conn-other.example")
		var oidc, saml, bsaml roster.SSOConnection
		mustTx(t, db, func(tx *store.Tx) error {
			var err error
			if oidc, err = tx.CreateSSOConnection(ctx, roster.SSOConnection{AccountSeq: a.Seq, Type: roster.SSOOIDC, Name: "Okta",
				Enabled: true, DefaultRole: roster.RoleDeveloper, CountsAsMFA: true,
				Issuer: "https://acme.okta.example", ClientID: "client", ClientSecret: "secret"}); err != nil {
				return err
			}
			if saml, err = tx.CreateSSOConnection(ctx, roster.SSOConnection{AccountSeq: a.Seq, Type: roster.SSOSAML, Name: "Entra",
				Enabled: true, MetadataXML: "<EntityDescriptor/>", MetadataURL: "https://idp.example/metadata",
				IdPEntityID: "https://idp.example/entity", AllowIdPInitiated: true}); err != nil {
				return err
			}
			bsaml, err = tx.CreateSSOConnection(ctx, roster.SSOConnection{AccountSeq: b.Seq, Type: roster.SSOSAML, Name: "Other",
				Enabled: false, IdPEntityID: "https://idp.example/entity"})
			return err
		})
		if oidc.ID == 0 || saml.ID == 0 || oidc.CreatedAt.IsZero() {
			t.Fatalf("CreateSSOConnection = %+v, %+v", oidc, saml)
		}

		t.Run("SSOConnection, SSOConnectionByID and SSOConnections read every field", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				got, err := tx.SSOConnection(ctx, a.Seq, oidc.ID)
				if err != nil {
					return err
				}
				if got != oidc {
					t.Errorf("SSOConnection = %+v, want %+v", got, oidc)
				}
				_, other := tx.SSOConnection(ctx, b.Seq, oidc.ID)
				_, missing := tx.SSOConnection(ctx, a.Seq, oidc.ID+1000)
				sameAsMissing(t, "SSOConnection", other, missing, store.ErrNoRows)
				return nil
			})
			got, err := db.SSOConnectionByID(ctx, saml.ID)
			if err != nil || got != saml {
				t.Errorf("SSOConnectionByID = %+v, %v, want %+v", got, err, saml)
			}
			if _, err := db.SSOConnectionByID(ctx, saml.ID+1000); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("SSOConnectionByID of nothing: %v", err)
			}
			cs, err := db.SSOConnections(ctx, a.Seq)
			must(t, err)
			if len(cs) != 2 || cs[0] != oidc || cs[1] != saml {
				t.Errorf("SSOConnections = %+v", cs)
			}
		})

		t.Run("SSOConnectionsForSAMLEntity lists the enabled SAML connections of the provider", func(t *testing.T) {
			cs, err := db.SSOConnectionsForSAMLEntity(ctx, "https://idp.example/entity")
			must(t, err)
			if len(cs) != 1 || cs[0].ID != saml.ID {
				t.Errorf("SSOConnectionsForSAMLEntity = %+v (b's is disabled)", cs)
			}
			if cs, err := db.SSOConnectionsForSAMLEntity(ctx, "https://acme.okta.example"); err != nil || len(cs) != 0 {
				t.Errorf("an OIDC issuer is no SAML entity: %+v, %v", cs, err)
			}
		})

		t.Run("UpdateSSOConnection saves every field; CountEnabledSSOConnections counts the enabled", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				if n, err := tx.CountEnabledSSOConnections(ctx, a.Seq); err != nil || n != 2 {
					t.Errorf("CountEnabledSSOConnections = %d, %v", n, err)
				}
				c := oidc
				c.Name, c.Enabled, c.DefaultRole, c.CountsAsMFA, c.ClientSecret = "Okta (new)", false, roster.RoleNone, false, "secret-2"
				if err := tx.UpdateSSOConnection(ctx, c); err != nil {
					return err
				}
				got, err := tx.SSOConnection(ctx, a.Seq, oidc.ID)
				if err != nil {
					return err
				}
				if got != c {
					t.Errorf("after UpdateSSOConnection: %+v, want %+v", got, c)
				}
				if n, err := tx.CountEnabledSSOConnections(ctx, a.Seq); err != nil || n != 1 {
					t.Errorf("CountEnabledSSOConnections after disabling one = %d, %v", n, err)
				}
				wrong := c
				wrong.AccountSeq = b.Seq
				other := tx.UpdateSSOConnection(ctx, wrong)
				wrong.AccountSeq, wrong.ID = a.Seq, oidc.ID+1000
				missing := tx.UpdateSSOConnection(ctx, wrong)
				sameAsMissing(t, "UpdateSSOConnection", other, missing, store.ErrNoRows)
				c.Enabled = true
				oidc = c
				return tx.UpdateSSOConnection(ctx, c)
			})
		})

		t.Run("sessions: CreateSSOSession, SessionSSO, EndSSOSessions", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.CreateSession(ctx, uid, hash("password-session"), time.Hour, "10.0.0.1", "ua"); err != nil {
					return err
				}
				if err := tx.CreateSSOSession(ctx, uid, hash("sso-1"), time.Hour, "10.0.0.1", "ua", oidc.ID); err != nil {
					return err
				}
				return tx.CreateSSOSession(ctx, uid, hash("sso-2"), time.Hour, "10.0.0.2", "ua", oidc.ID)
			})
			sid := func(token string) int64 {
				t.Helper()
				_, id, err := db.SessionUser(ctx, hash(token), time.Hour)
				must(t, err)
				return id
			}
			acct, conn, err := db.SessionSSO(ctx, sid("sso-1"))
			if err != nil || acct != a.Seq || conn != oidc.ID {
				t.Errorf("SessionSSO of an SSO session = %d, %d, %v; want %d, %d", acct, conn, err, a.Seq, oidc.ID)
			}
			acct, conn, err = db.SessionSSO(ctx, sid("password-session"))
			if err != nil || acct != 0 || conn != 0 {
				t.Errorf("SessionSSO of a password session = %d, %d, %v", acct, conn, err)
			}
			if _, _, err := db.SessionSSO(ctx, 1<<40); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("SessionSSO of no session: %v, want ErrNoRows", err)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				if n, err := tx.EndSSOSessions(ctx, saml.ID); err != nil || n != 0 {
					t.Errorf("EndSSOSessions of a connection with none = %d, %v", n, err)
				}
				n, err := tx.EndSSOSessions(ctx, oidc.ID)
				if err != nil || n != 2 {
					t.Errorf("EndSSOSessions = %d, %v; want 2", n, err)
				}
				return err
			})
			if _, _, err := db.SessionUser(ctx, hash("sso-1"), time.Hour); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("an ended SSO session still works: %v", err)
			}
			if _, _, err := db.SessionUser(ctx, hash("password-session"), time.Hour); err != nil {
				t.Errorf("the password session was ended too: %v", err)
			}
		})

		t.Run("MarkMemberSSO records the member's sign-in, in that account only", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.AddMember(ctx, b.Seq, uid, roster.RoleDeveloper); err != nil {
					return err
				}
				return tx.MarkMemberSSO(ctx, a.Seq, uid)
			})
			if n := countRows(t, db, "members", fmt.Sprintf("account_id = %d AND user_id = %d AND sso_at IS NOT NULL", a.Seq, uid)); n != 1 {
				t.Errorf("sso_at not set in the account")
			}
			if n := countRows(t, db, "members", fmt.Sprintf("account_id = %d AND sso_at IS NOT NULL", b.Seq)); n != 0 {
				t.Errorf("sso_at set in another account")
			}
		})

		t.Run("SetRequireSSO sets the account's requirement and records a change", func(t *testing.T) {
			for _, on := range []bool{true, false} {
				mustTx(t, db, func(tx *store.Tx) error {
					if err := tx.SetRequireSSO(ctx, a.Seq, on); err != nil {
						return err
					}
					if tx.Revision() == 0 {
						t.Errorf("SetRequireSSO(%v) recorded no change for the index", on)
					}
					return nil
				})
				got, err := db.Account(ctx, a.ID)
				must(t, err)
				if got.RequireSSO != on {
					t.Errorf("after SetRequireSSO(%v): RequireSSO %v", on, got.RequireSSO)
				}
				other, err := db.Account(ctx, b.ID)
				must(t, err)
				if other.RequireSSO {
					t.Errorf("SetRequireSSO changed another account")
				}
			}
		})

		t.Run("DeleteSSOConnection takes its sessions, flows and assertions with it", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				return tx.CreateSSOSession(ctx, uid, hash("saml-session"), time.Hour, "10.0.0.3", "ua", saml.ID)
			})
			must(t, db.CreateSSOFlow(ctx, hash("saml-flow"), store.SSOFlow{ConnectionID: saml.ID}, time.Minute))
			must(t, db.UseSSOAssertion(ctx, saml.ID, "_assertion-1", time.Now().Add(time.Hour)))
			mustTx(t, db, func(tx *store.Tx) error {
				other := tx.DeleteSSOConnection(ctx, b.Seq, saml.ID)
				missing := tx.DeleteSSOConnection(ctx, a.Seq, saml.ID+1000)
				sameAsMissing(t, "DeleteSSOConnection", other, missing, store.ErrNoRows)
				return tx.DeleteSSOConnection(ctx, a.Seq, saml.ID)
			})
			if _, err := db.SSOConnectionByID(ctx, saml.ID); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("the deleted connection is still read: %v", err)
			}
			if _, _, err := db.SessionUser(ctx, hash("saml-session"), time.Hour); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("the deleted connection's session still works: %v", err)
			}
			if _, err := db.TakeSSOFlow(ctx, hash("saml-flow")); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("the deleted connection's flow is still there: %v", err)
			}
			if n := countRows(t, db, "sso_assertions", fmt.Sprintf("connection_id = %d", saml.ID)); n != 0 {
				t.Errorf("%d assertions of the deleted connection remain", n)
			}
			if _, err := db.SSOConnectionByID(ctx, bsaml.ID); err != nil {
				t.Errorf("another account's connection went too: %v", err)
			}
		})
	})
}

func TestConformance_SSOFlowsAndAssertions(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := setClock(db, time.Now().UTC().Truncate(time.Microsecond))
		_, a := fixture(t, db, "owner@flows.example")
		var conn, conn2 roster.SSOConnection
		mustTx(t, db, func(tx *store.Tx) error {
			var err error
			if conn, err = tx.CreateSSOConnection(ctx, roster.SSOConnection{AccountSeq: a.Seq, Type: roster.SSOOIDC, Name: "One", Enabled: true}); err != nil {
				return err
			}
			conn2, err = tx.CreateSSOConnection(ctx, roster.SSOConnection{AccountSeq: a.Seq, Type: roster.SSOSAML, Name: "Two", Enabled: true})
			return err
		})

		t.Run("TakeSSOFlow reads a flow once", func(t *testing.T) {
			want := store.SSOFlow{ConnectionID: conn.ID, Verifier: "verifier", Nonce: "nonce"}
			must(t, db.CreateSSOFlow(ctx, hash("state-1"), want, 10*time.Minute))
			got, err := db.TakeSSOFlow(ctx, hash("state-1"))
			if err != nil || got != want {
				t.Errorf("TakeSSOFlow = %+v, %v; want %+v", got, err, want)
			}
			if _, err := db.TakeSSOFlow(ctx, hash("state-1")); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("second TakeSSOFlow: %v, want ErrNoRows", err)
			}
			if _, err := db.TakeSSOFlow(ctx, hash("never")); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("TakeSSOFlow of nothing: %v, want ErrNoRows", err)
			}
			// A key is one flow: the same key again is refused.
			must(t, db.CreateSSOFlow(ctx, hash("state-2"), want, 10*time.Minute))
			if err := db.CreateSSOFlow(ctx, hash("state-2"), want, 10*time.Minute); !errors.Is(err, store.ErrUnique) {
				t.Errorf("CreateSSOFlow of a key in use: %v, want ErrUnique", err)
			}
		})

		t.Run("UseSSOAssertion accepts an assertion ID once per connection", func(t *testing.T) {
			exp := c.now.Add(time.Hour)
			must(t, db.UseSSOAssertion(ctx, conn2.ID, "_id-1", exp))
			if err := db.UseSSOAssertion(ctx, conn2.ID, "_id-1", exp); !errors.Is(err, store.ErrUnique) {
				t.Errorf("a replayed assertion: %v, want ErrUnique", err)
			}
			must(t, db.UseSSOAssertion(ctx, conn.ID, "_id-1", exp)) // another connection's provider
			must(t, db.UseSSOAssertion(ctx, conn2.ID, "_id-2", exp))
		})

		t.Run("an expired flow is not taken, and Prune sweeps expired flows and assertions", func(t *testing.T) {
			must(t, db.CreateSSOFlow(ctx, hash("short"), store.SSOFlow{ConnectionID: conn.ID}, time.Minute))
			must(t, db.CreateSSOFlow(ctx, hash("short-2"), store.SSOFlow{ConnectionID: conn.ID}, time.Minute))
			must(t, db.CreateSSOFlow(ctx, hash("long"), store.SSOFlow{ConnectionID: conn.ID}, time.Hour))
			must(t, db.UseSSOAssertion(ctx, conn2.ID, "_short", c.now.Add(time.Minute)))
			c.add(time.Minute)
			if _, err := db.TakeSSOFlow(ctx, hash("short")); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("TakeSSOFlow of an expired flow: %v, want ErrNoRows", err)
			}
			flows := countRows(t, db, "sso_flows", "1 = 1")
			assertions := countRows(t, db, "sso_assertions", "1 = 1")
			if _, err := db.Prune(ctx, c.now, store.Retention{}); err != nil {
				t.Fatal(err)
			}
			// short-2 swept (short is there too, unread); state-2 and long live.
			if got := countRows(t, db, "sso_flows", "1 = 1"); got != flows-2 {
				t.Errorf("flows %d then %d after Prune, want 2 fewer", flows, got)
			}
			if got := countRows(t, db, "sso_assertions", "1 = 1"); got != assertions-1 {
				t.Errorf("assertions %d then %d after Prune, want 1 fewer", assertions, got)
			}
			if _, err := db.TakeSSOFlow(ctx, hash("long")); err != nil {
				t.Errorf("the live flow after Prune: %v", err)
			}
			// Once swept, the expired assertion's ID is accepted again (it
			// could not be replayed anyway: the provider's response expired).
			must(t, db.UseSSOAssertion(ctx, conn2.ID, "_short", c.now.Add(time.Minute)))
			if err := db.UseSSOAssertion(ctx, conn2.ID, "_id-2", c.now.Add(time.Hour)); !errors.Is(err, store.ErrUnique) {
				t.Errorf("a live assertion was swept: %v", err)
			}
		})
	})
}
