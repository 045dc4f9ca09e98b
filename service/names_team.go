package service

import (
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/team"
)

// The names of the team room, as the edges have always spelled them.

// ParseAuditFilter is team.ParseAuditFilter: the audit log's filter from
// the query's actor and action.
func ParseAuditFilter(actor, action string) (roster.AuditFilter, error) {
	return team.ParseAuditFilter(actor, action)
}

// MaxAuditActors is team.MaxAuditActors.
const MaxAuditActors = team.MaxAuditActors

// InvitationPreview is team.InvitationPreview.
type InvitationPreview = team.InvitationPreview

// InvitationLink is team.InvitationLink.
type InvitationLink = team.InvitationLink

// RolePreview is team.RolePreview.
type RolePreview = team.RolePreview

// MemberAccess is team.MemberAccess.
type MemberAccess = team.MemberAccess

// InviteRow is team.InviteRow.
type InviteRow = team.InviteRow

// InviteResult is team.InviteResult.
type InviteResult = team.InviteResult

// MaxInviteBatch is team.MaxInviteBatch.
const MaxInviteBatch = team.MaxInviteBatch

// Webhook is team.Webhook.
type Webhook = team.Webhook

// Delivery is team.Delivery.
type Delivery = team.Delivery

// WebhookChange is team.WebhookChange.
type WebhookChange = team.WebhookChange

// WebhookEvents is team.WebhookEvents.
var WebhookEvents = team.WebhookEvents

// ListMaxSearch is team.ListMaxSearch: the longest search the team list
// takes, in characters.
const ListMaxSearch = team.ListMaxSearch

// ListMaxLimit is team.ListMaxLimit: the most rows a team list page holds.
const ListMaxLimit = team.ListMaxLimit
