package roster

// AuditAction is one kind of audit event: its code, as stored and as the
// API names it, and what it is in words, for a list to choose from.
type AuditAction struct {
	Code  string // "member.role"
	Label string // "Changed a member's role"
}

// AuditActions is every action the service writes to the audit log, in
// the order a person would look for them. A test reads the service's
// source and fails when it writes an action missing here; the console
// words each one from this list, and the API refuses a filter on a code
// not in it.
var AuditActions = []AuditAction{
	{"account.create", "Created the account"},
	{"account.plan", "Changed the plan"},
	{"account.require_mfa", "Changed the two-factor requirement"},
	{"settings.update", "Updated the settings"},
	{"member.role", "Changed a member's role"},
	{"member.delete", "Removed a member"},
	{"member.leave", "Left the account"},
	{"invitation.create", "Invited someone"},
	{"invitation.role", "Changed an invitation's role"},
	{"invitation.resend", "Sent an invitation again"},
	{"invitation.revoke", "Revoked an invitation"},
	{"invitation.accept", "Accepted an invitation"},
	{"credentials.view", "Viewed the credentials"},
	{"credentials.rotate", "Rotated the Auth Token"},
	{"api_key.create", "Created an API key"},
	{"api_key.delete", "Deleted an API key"},
	{"webhook.create", "Added a webhook"},
	{"webhook.update", "Changed a webhook"},
	{"webhook.delete", "Deleted a webhook"},
	{"number.add", "Added a phone number"},
	{"number.update", "Updated a phone number"},
	{"number.release", "Released a phone number"},
	{"application.create", "Created an application"},
	{"application.update", "Updated an application"},
	{"application.delete", "Deleted an application"},
	{"billing.recharge", "Added credit"},
	{"billing.auto_recharge", "Changed automatic recharge"},
	{"billing.payment_method.add", "Added a payment method"},
	{"billing.payment_method.delete", "Removed a payment method"},
	{"user.login", "Signed in"},
	{"user.recovery_code_used", "Signed in with a recovery code"},
	{"user.password_change", "Changed their password"},
	{"user.password_reset", "Reset their password"},
	{"user.sessions_end", "Signed out their other sessions"},
	{"user.mfa_enable", "Turned on two-factor sign-in"},
	{"user.mfa_disable", "Turned off two-factor sign-in"},
	{"user.recovery_codes", "Made new recovery codes"},
	{"user.mfa_reset", "Two-factor sign-in reset by the operator"},
}

// AuditActionLabel is the action's words from AuditActions, and whether
// the code is one of them.
func AuditActionLabel(code string) (string, bool) {
	for _, a := range AuditActions {
		if a.Code == code {
			return a.Label, true
		}
	}
	return "", false
}

// AuditFilter narrows an account's audit log; a zero field matches every
// event.
type AuditFilter struct {
	// ActorID is the user who acted. ActorEmail, when ActorID is zero, is
	// the address recorded for an actor with no user (the operator).
	ActorID    int64
	ActorEmail string
	Action     string // one of AuditActions' codes
}

// AuditActor is someone seen acting in an account's audit log: a user
// (their name as it is now) or, with UserID zero, an address recorded
// without one (the operator).
type AuditActor struct {
	UserID int64
	Email  string
	Name   string
}
