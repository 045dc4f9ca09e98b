package console

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// Every action the service writes (roster.AuditActions, which a root test
// checks against the source) has its words here, and nothing else does.
func TestAuditWords_EveryActionHasWords(t *testing.T) {
	listed := map[string]bool{}
	for _, a := range roster.AuditActions {
		listed[a.Code] = true
		f, ok := auditWords[a.Code]
		if !ok {
			t.Errorf("%s has no words in the console", a.Code)
			continue
		}
		e := roster.AuditEvent{Action: a.Code, Target: "t@example.com", Detail: "d"}
		if w := f(e); w == "" || strings.Contains(w, a.Code) {
			t.Errorf("%s is worded %q", a.Code, w)
		}
	}
	for code := range auditWords {
		if !listed[code] {
			t.Errorf("the console words %s, which roster.AuditActions does not list", code)
		}
	}
}

func TestAuditWords_Sentences(t *testing.T) {
	for _, c := range []struct {
		e    roster.AuditEvent
		want string
	}{
		{roster.AuditEvent{Action: "member.role", Target: "7", Detail: "developer -> admin", SubjectName: "Ada Lovelace", SubjectEmail: "ada@acme.com"},
			"changed Ada Lovelace's role from Developer to Admin"},
		{roster.AuditEvent{Action: "member.role", Target: "7", Detail: "admin -> support"}, "changed a member's role from Admin to Support"},
		{roster.AuditEvent{Action: "member.delete", Target: "jo@acme.com", Detail: "finance_analyst", SubjectEmail: "jo@acme.com"},
			"removed jo@acme.com from the account (they were Finance analyst)"},
		{roster.AuditEvent{Action: "invitation.create", Target: "ada@acme.com", Detail: "support"}, "invited ada@acme.com as Support"},
		{roster.AuditEvent{Action: "credentials.rotate", Detail: "keep_old_for=24h0m0s"}, "rotated the Auth Token (the old one kept working for 1 day)"},
		{roster.AuditEvent{Action: "credentials.rotate", Detail: "keep_old_for=0s"}, "rotated the Auth Token (the old one stopped working at once)"},
		{roster.AuditEvent{Action: "credentials.view"}, "viewed the credentials"},
		{roster.AuditEvent{Action: "account.plan", Detail: "standard usd=0 months=0"}, "moved the account to the standard plan"},
		{roster.AuditEvent{Action: "account.require_mfa", Detail: "true"}, "required two-factor sign-in for every member"},
		{roster.AuditEvent{Action: "billing.auto_recharge", Detail: "enabled=false"}, "turned automatic recharge off"},
		{roster.AuditEvent{Action: "billing.payment_method.add", Target: "Visa 4242"}, "added the Visa card ending 4242"},
		{roster.AuditEvent{Action: "api_key.create", Target: "rk_ab12", Detail: "CI"}, "created the API key “CI” (rk_ab12…)"},
		{roster.AuditEvent{Action: "something.new", Target: "x", Detail: "y"}, "something.new x (y)"},
	} {
		if got := wordsOf(c.e); got != c.want {
			t.Errorf("%s %q %q: %q, want %q", c.e.Action, c.e.Target, c.e.Detail, got, c.want)
		}
	}
}
