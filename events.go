package roster

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
	}
	return event
}
