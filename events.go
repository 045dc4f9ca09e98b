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
