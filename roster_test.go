package roster_test

import (
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

func TestRolesAndPermissions_HaveWordsForPeople(t *testing.T) {
	for _, r := range roster.Roles {
		if r.Label() == "" || r.Description() == "" {
			t.Errorf("role %s: label %q, description %q", r, r.Label(), r.Description())
		}
	}
	seen := map[string]roster.Permission{}
	for _, p := range roster.AllPermissions {
		ph := p.Phrase()
		if ph == "" || ph == p.String() {
			t.Errorf("permission %s has no phrase (%q)", p, ph)
		}
		if q, dup := seen[ph]; dup {
			t.Errorf("permissions %s and %s share the phrase %q", p, q, ph)
		}
		seen[ph] = p
	}
	if roster.LeastPowerful == roster.RoleOwner || roster.LeastPowerful == roster.RoleAdmin {
		t.Errorf("LeastPowerful is %s", roster.LeastPowerful)
	}
}

func TestDurationWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		40 * time.Second: "40 seconds", time.Second: "1 second", 61 * time.Second: "2 minutes",
		time.Hour: "1 hour", 90 * time.Minute: "90 minutes", 2 * time.Hour: "2 hours", 3*time.Hour + time.Second: "4 hours",
		24 * time.Hour: "1 day", 36 * time.Hour: "36 hours", 168 * time.Hour: "7 days", 72 * time.Hour: "3 days",
	} {
		if got := roster.DurationWords(d); got != want {
			t.Errorf("DurationWords(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestPermissionAreaAndAction(t *testing.T) {
	for _, p := range roster.AllPermissions {
		if p.Area() == "" || p.Area() == p.Phrase() || p.Action() == "" {
			t.Errorf("%s: area %q action %q", p, p.Area(), p.Action())
		}
	}
	if roster.NumbersEdit.Area() != "Phone numbers" || roster.NumbersEdit.Action() != "Edit" || roster.TeamEdit.Action() != "Manage" {
		t.Errorf("numbers.edit: %q %q; team.edit: %q", roster.NumbersEdit.Area(), roster.NumbersEdit.Action(), roster.TeamEdit.Action())
	}
	for _, e := range roster.WebhookEvents {
		if l := roster.EventLabel(e); l == e || l == "" {
			t.Errorf("event %s has no label", e)
		}
	}
}
