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
	EventMemberDeactivated  = "member.deactivated" // the company's directory deactivated the member (SCIM)
	EventMemberReactivated  = "member.reactivated"
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
	EventMemberDeactivated,
	EventMemberReactivated,
	EventInvitationCreated,
	EventInvitationRevoked,
	EventInvitationAccepted,
	EventPlanChanged,
	EventCredentialsRotated,
}

// EventLabel is an event type for a person choosing webhook events, e.g.
// "A member's role changed" for member.role_changed; an unknown type is
// given back as it is.
func EventLabel(event string) string {
	switch event {
	case EventMemberJoined:
		return "A member joined"
	case EventMemberRoleChanged:
		return "A member's role changed"
	case EventMemberRemoved:
		return "A member was removed"
	case EventMemberLeft:
		return "A member left"
	case EventMemberDeactivated:
		return "A member was deactivated"
	case EventMemberReactivated:
		return "A member was reactivated"
	case EventInvitationCreated:
		return "An invitation was sent"
	case EventInvitationRevoked:
		return "An invitation was revoked"
	case EventInvitationAccepted:
		return "An invitation was accepted"
	case EventPlanChanged:
		return "The account's plan changed"
	case EventCredentialsRotated:
		return "The Auth Token was rotated"
	case EventWebhookTest:
		return "A test event"
	}
	return event
}

// WebhookMemberEvent reports whether e is a member event: one about the
// people of an account (member.* and invitation.*), the events a new
// webhook starts with in the console. Plan and credential events are
// chosen on purpose.
func WebhookMemberEvent(e string) bool {
	return strings.HasPrefix(e, "member.") || strings.HasPrefix(e, "invitation.")
}
