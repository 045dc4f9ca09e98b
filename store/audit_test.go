package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// The audit log's filters are queries naming the account, on both
// databases, and each event comes with the names of the people in it.
func TestStore_AuditEventsFilteredInTheAccount(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		olga, a := fixture(t, db, "olga@x.example")
		ada, other := fixture(t, db, "ada@x.example")
		olgaA := roster.Actor{UserID: olga, Email: "olga@x.example", IP: "192.0.2.1"}
		adaA := roster.Actor{UserID: ada, Email: "ada@x.example", IP: "192.0.2.2"}
		err := tx(t, db, func(tx *store.Tx) error {
			for _, e := range []struct {
				seq                    int64
				actor                  roster.Actor
				action, target, detail string
			}{
				{a.Seq, olgaA, "member.role", fmt.Sprint(ada), "developer -> admin"},
				{a.Seq, olgaA, "invitation.create", "cy@x.example", "support"},
				{a.Seq, adaA, "credentials.view", a.ID, ""},
				{a.Seq, adaA, "member.role", fmt.Sprint(olga), "admin -> owner"},
				{a.Seq, roster.Actor{Email: "operator"}, "account.plan", a.ID, "committed usd=1000 months=12"},
				// Another account's events never show.
				{other.Seq, adaA, "credentials.view", other.ID, ""},
				{other.Seq, adaA, "member.role", fmt.Sprint(olga), "developer -> admin"},
			} {
				if err := tx.Audit(ctx, e.seq, e.actor, e.action, e.target, e.detail); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name    string
			f       roster.AuditFilter
			actions []string // newest first
		}{
			{"none", roster.AuditFilter{}, []string{"account.plan", "member.role", "credentials.view", "invitation.create", "member.role"}},
			{"person", roster.AuditFilter{ActorID: ada}, []string{"member.role", "credentials.view"}},
			{"action", roster.AuditFilter{Action: "member.role"}, []string{"member.role", "member.role"}},
			{"both", roster.AuditFilter{ActorID: olga, Action: "member.role"}, []string{"member.role"}},
			{"operator", roster.AuditFilter{ActorEmail: "operator"}, []string{"account.plan"}},
			{"address of a user", roster.AuditFilter{ActorEmail: "ada@x.example"}, []string{"member.role", "credentials.view"}},
			{"no one", roster.AuditFilter{ActorID: 999999}, nil},
			{"nothing", roster.AuditFilter{ActorID: olga, Action: "credentials.view"}, nil},
		} {
			es, total, err := db.AuditEvents(ctx, a, c.f, roster.Page{Limit: 100})
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.Action)
				if e.AccountID != a.ID {
					t.Errorf("%s: an event of %s", c.name, e.AccountID)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.actions) || total != len(c.actions) {
				t.Errorf("%s: %v (total %d), want %v", c.name, got, total, c.actions)
			}
		}
		// A page of one, with the total of all that match.
		es, total, err := db.AuditEvents(ctx, a, roster.AuditFilter{Action: "member.role"}, roster.Page{Limit: 1, Offset: 1})
		if err != nil || len(es) != 1 || total != 2 || es[0].ActorID != olga {
			t.Errorf("second page of role changes: %+v, %d, %v", es, total, err)
		}

		// Names: the actor's, and the member a role change is about (by ID)
		// or an event is about (by address).
		es, _, err = db.AuditEvents(ctx, a, roster.AuditFilter{}, roster.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		byAction := map[string]roster.AuditEvent{}
		for _, e := range es {
			if _, seen := byAction[e.Action]; !seen {
				byAction[e.Action] = e
			}
		}
		// fixture names every user "N".
		if e := byAction["member.role"]; e.ActorName != "N" || e.SubjectEmail != "olga@x.example" || e.SubjectName != "N" {
			t.Errorf("newest role change: %+v", e)
		}
		if e := byAction["invitation.create"]; e.SubjectEmail != "cy@x.example" || e.SubjectName != "" {
			t.Errorf("invitation: %+v", e)
		}
		if e := byAction["account.plan"]; e.ActorID != 0 || e.ActorName != "" || e.ActorEmail != "operator" || e.SubjectEmail != "" {
			t.Errorf("plan: %+v", e)
		}
		if e := byAction["credentials.view"]; e.SubjectEmail != "" || e.SubjectName != "" || e.IP != "192.0.2.2" {
			t.Errorf("credentials view: %+v", e)
		}

		// The people seen acting, each once.
		actors, err := db.AuditActors(ctx, a, 100)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprint([]roster.AuditActor{{UserID: ada, Email: "ada@x.example", Name: "N"}, {UserID: olga, Email: "olga@x.example", Name: "N"}, {UserID: 0, Email: "operator"}})
		if fmt.Sprint(actors) != want {
			t.Errorf("actors %v, want %s", actors, want)
		}
		if actors, err := db.AuditActors(ctx, other, 100); err != nil || len(actors) != 1 || actors[0].UserID != ada {
			t.Errorf("the other account's actors: %v %v", actors, err)
		}
	})
}
