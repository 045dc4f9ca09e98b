package roster

// AuditAction is one kind of audit event: its code, as stored and as the
// API names it, and what it is in words, for a list to choose from.
type AuditAction struct {
	Code  string // "member.role"
	Label string // "Changed a member's role"
}

// The audit actions, as stored and as the API names them. The service
// writes these constants, never a bare string (a root test reads its
// source for that).
const (
	ActionAccountCreate              = "account.create"
	ActionAccountPlan                = "account.plan"
	ActionAccountRequireMfa          = "account.require_mfa"
	ActionAccountRequireSso          = "account.require_sso"
	ActionSettingsUpdate             = "settings.update"
	ActionMemberRole                 = "member.role"
	ActionMemberDelete               = "member.delete"
	ActionMemberLeave                = "member.leave"
	ActionMemberDeactivate           = "member.deactivate"
	ActionMemberReactivate           = "member.reactivate"
	ActionInvitationCreate           = "invitation.create"
	ActionInvitationRole             = "invitation.role"
	ActionInvitationResend           = "invitation.resend"
	ActionInvitationRevoke           = "invitation.revoke"
	ActionInvitationAccept           = "invitation.accept"
	ActionCredentialsView            = "credentials.view"
	ActionCredentialsRotate          = "credentials.rotate"
	ActionApiKeyCreate               = "api_key.create"
	ActionApiKeyDelete               = "api_key.delete"
	ActionWebhookCreate              = "webhook.create"
	ActionWebhookUpdate              = "webhook.update"
	ActionWebhookDelete              = "webhook.delete"
	ActionWebhookTest                = "webhook.test"
	ActionWebhookRedeliver           = "webhook.redeliver"
	ActionNumberAdd                  = "number.add"
	ActionNumberUpdate               = "number.update"
	ActionNumberRelease              = "number.release"
	ActionApplicationCreate          = "application.create"
	ActionApplicationUpdate          = "application.update"
	ActionApplicationDelete          = "application.delete"
	ActionBillingRecharge            = "billing.recharge"
	ActionBillingAutoRecharge        = "billing.auto_recharge"
	ActionBillingPaymentMethodAdd    = "billing.payment_method.add"
	ActionBillingPaymentMethodDelete = "billing.payment_method.delete"
	ActionUserLogin                  = "user.login"
	ActionUserRecoveryCodeUsed       = "user.recovery_code_used"
	ActionUserPasswordChange         = "user.password_change"
	ActionUserPasswordReset          = "user.password_reset"
	ActionUserSessionsEnd            = "user.sessions_end"
	ActionUserMfaEnable              = "user.mfa_enable"
	ActionUserMfaDisable             = "user.mfa_disable"
	ActionUserRecoveryCodes          = "user.recovery_codes"
	ActionUserMfaReset               = "user.mfa_reset"
	ActionUserPasskeyAdd             = "user.passkey_add"
	ActionUserPasskeyRename          = "user.passkey_rename"
	ActionUserPasskeyDelete          = "user.passkey_delete"
	ActionPasskeyCloneDetected       = "passkey.clone_detected"
	ActionLoginSSO                   = "login.sso"
	ActionMemberJoinSSO              = "member.join_sso"
	ActionSSOConnectionCreate        = "sso_connection.create"
	ActionSSOConnectionUpdate        = "sso_connection.update"
	ActionSSOConnectionDelete        = "sso_connection.delete"
	ActionDomainAdd                  = "domain.add"
	ActionDomainVerify               = "domain.verify"
	ActionDomainDelete               = "domain.delete"
	ActionLoginSsoBypass             = "login.sso_bypass"
	ActionSCIMTokenCreate            = "scim_token.create"
	ActionSCIMTokenDelete            = "scim_token.delete"
	ActionSCIMSettingsUpdate         = "scim_settings.update"
	ActionMemberProvision            = "member.provision"
	ActionSCIMUserUpdate             = "scim_user.update"
	ActionSCIMGroupCreate            = "scim_group.create"
	ActionSCIMGroupUpdate            = "scim_group.update"
	ActionSCIMGroupDelete            = "scim_group.delete"
)

// AuditActions is every action the service writes to the audit log, in
// the order a person would look for them. A test reads the service's
// source and fails when it writes an action missing here; the console
// words each one from this list, and the API refuses a filter on a code
// not in it.
var AuditActions = []AuditAction{
	{ActionAccountCreate, "Created the account"},
	{ActionAccountPlan, "Changed the plan"},
	{ActionAccountRequireMfa, "Changed the two-factor requirement"},
	{ActionAccountRequireSso, "Changed the single sign-on requirement"},
	{ActionSettingsUpdate, "Updated the settings"},
	{ActionMemberRole, "Changed a member's role"},
	{ActionMemberDelete, "Removed a member"},
	{ActionMemberLeave, "Left the account"},
	{ActionMemberDeactivate, "Deactivated a member"},
	{ActionMemberReactivate, "Reactivated a member"},
	{ActionInvitationCreate, "Invited someone"},
	{ActionInvitationRole, "Changed an invitation's role"},
	{ActionInvitationResend, "Sent an invitation again"},
	{ActionInvitationRevoke, "Revoked an invitation"},
	{ActionInvitationAccept, "Accepted an invitation"},
	{ActionCredentialsView, "Viewed the credentials"},
	{ActionCredentialsRotate, "Rotated the Auth Token"},
	{ActionApiKeyCreate, "Created an API key"},
	{ActionApiKeyDelete, "Deleted an API key"},
	{ActionWebhookCreate, "Added a webhook"},
	{ActionWebhookUpdate, "Changed a webhook"},
	{ActionWebhookDelete, "Deleted a webhook"},
	{ActionWebhookTest, "Sent a test event to a webhook"},
	{ActionWebhookRedeliver, "Sent a webhook event again"},
	{ActionNumberAdd, "Added a phone number"},
	{ActionNumberUpdate, "Updated a phone number"},
	{ActionNumberRelease, "Released a phone number"},
	{ActionApplicationCreate, "Created an application"},
	{ActionApplicationUpdate, "Updated an application"},
	{ActionApplicationDelete, "Deleted an application"},
	{ActionBillingRecharge, "Added credit"},
	{ActionBillingAutoRecharge, "Changed automatic recharge"},
	{ActionBillingPaymentMethodAdd, "Added a payment method"},
	{ActionBillingPaymentMethodDelete, "Removed a payment method"},
	{ActionUserLogin, "Signed in"},
	{ActionUserRecoveryCodeUsed, "Signed in with a recovery code"},
	{ActionUserPasswordChange, "Changed their password"},
	{ActionUserPasswordReset, "Reset their password"},
	{ActionUserSessionsEnd, "Signed out their other sessions"},
	{ActionUserMfaEnable, "Turned on two-factor sign-in"},
	{ActionUserMfaDisable, "Turned off two-factor sign-in"},
	{ActionUserRecoveryCodes, "Made new recovery codes"},
	{ActionUserMfaReset, "Two-factor sign-in reset by the operator"},
	{ActionUserPasskeyAdd, "Added a passkey"},
	{ActionUserPasskeyRename, "Renamed a passkey"},
	{ActionUserPasskeyDelete, "Removed a passkey"},
	{ActionPasskeyCloneDetected, "A copied passkey was refused"},
	{ActionLoginSSO, "Signed in through single sign-on"},
	{ActionMemberJoinSSO, "Joined through single sign-on"},
	{ActionSSOConnectionCreate, "Added a single sign-on connection"},
	{ActionSSOConnectionUpdate, "Changed a single sign-on connection"},
	{ActionSSOConnectionDelete, "Deleted a single sign-on connection"},
	{ActionDomainAdd, "Added a domain"},
	{ActionDomainVerify, "Verified a domain"},
	{ActionDomainDelete, "Removed a domain"},
	{ActionSCIMTokenCreate, "Created a provisioning (SCIM) token"},
	{ActionSCIMTokenDelete, "Revoked a provisioning (SCIM) token"},
	{ActionSCIMSettingsUpdate, "Changed the provisioning (SCIM) roles"},
	{ActionLoginSsoBypass, "Owner used the account without single sign-on"},
	{ActionMemberProvision, "Provisioned a member from the directory"},
	{ActionSCIMUserUpdate, "Changed a provisioned member"},
	{ActionSCIMGroupCreate, "Added a directory group"},
	{ActionSCIMGroupUpdate, "Changed a directory group"},
	{ActionSCIMGroupDelete, "Deleted a directory group"},
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
