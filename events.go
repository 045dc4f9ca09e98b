package roster

import "strings"

// The webhook event types, as a delivery's "type" names them. The service
// emits these constants, never a bare string (a root test reads its source
// for that).
const (
	EventMemberJoined       = "member.joined"
	EventMemberRoleChanged  = "member.role_changed"
	EventMemberRemoved      = "member.removed"
	EventMemberLeft         = "member.left"
	EventInvitationCreated  = "invitation.created"
	EventInvitationRevoked  = "invitation.revoked"
	EventInvitationAccepted = "invitation.accepted"
	EventPlanChanged        = "plan.changed"
	EventCredentialsRotated = "credentials.rotated"

	// EventWebhookTest is the test event a person sends to one webhook
	// on demand, to see that it arrives and its signature checks out. It
	// goes to that webhook alone, whatever it subscribes to: it is not in
	// WebhookEvents (nothing subscribes to it, no change emits it).
	EventWebhookTest = "webhook.test"
)

// WebhookEvents are the event types a webhook may subscribe to, in the
// order a person would choose them.
var WebhookEvents = []string{
	EventMemberJoined,
	EventMemberRoleChanged,
	EventMemberRemoved,
	EventMemberLeft,
	EventInvitationCreated,
	EventInvitationRevoked,
	EventInvitationAccepted,
	EventPlanChanged,
	EventCredentialsRotated,
}

// WebhookMemberEvent reports whether e is a member event: one about the
// people of an account (member.* and invitation.*), the events a new
// webhook starts with in the console. Plan and credential events are
// chosen on purpose.
func WebhookMemberEvent(e string) bool {
	return strings.HasPrefix(e, "member.") || strings.HasPrefix(e, "invitation.")
}
