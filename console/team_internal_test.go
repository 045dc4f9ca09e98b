package console

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// Every permission reads as the subject of the 403 page's sentence.
func TestForbidden_EveryPermissionReadsAsASubject(t *testing.T) {
	want := map[roster.Permission]string{
		roster.NumbersView: "Viewing phone numbers", roster.CredentialsEdit: "Rotating account credentials",
		roster.TeamEdit: "Managing the team", roster.BillingEdit: "Editing payments and billing", roster.AnyMember: "Being a member of the account",
	}
	for p, w := range want {
		if got := gerund(p.Phrase()); got != w {
			t.Errorf("%s: %q, want %q", p, got, w)
		}
	}
	for _, p := range roster.AllPermissions {
		verb, _, _ := strings.Cut(gerund(p.Phrase()), " ")
		if !strings.HasSuffix(verb, "ing") || strings.Contains(verb, "eing") {
			t.Errorf("%s reads %q", p, gerund(p.Phrase()))
		}
		if got := rolesNeeded(p); !strings.HasPrefix(got, "one of these roles: Owner, Admin") && got != "one of these roles: Owner or Admin" {
			t.Errorf("%s needs %q", p, got)
		}
	}
}
