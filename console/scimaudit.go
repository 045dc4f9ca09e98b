package console

import "github.com/rosterhq/roster"

// The words of the SCIM protocol's audit actions (auditWords), kept with
// their own file (issue 23).
func init() {
	auditWords[roster.ActionMemberProvision] = func(e roster.AuditEvent) string {
		return "provisioned " + e.Target + " from the directory as " + e.Detail
	}
	auditWords[roster.ActionSCIMUserUpdate] = func(e roster.AuditEvent) string {
		return "changed the provisioned member " + e.Target + ": " + e.Detail
	}
	auditWords[roster.ActionSCIMGroupCreate] = func(e roster.AuditEvent) string {
		return "added the directory group " + quoted(e.Target)
	}
	auditWords[roster.ActionSCIMGroupUpdate] = func(e roster.AuditEvent) string {
		return "changed the directory group " + quoted(e.Target) + ": " + e.Detail
	}
	auditWords[roster.ActionSCIMGroupDelete] = func(e roster.AuditEvent) string {
		return "deleted the directory group " + quoted(e.Target)
	}
}
