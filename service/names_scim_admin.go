package service

import (
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/scim"
)

// The names of the scim room's tokens and settings (issue 23) that the
// edges use.

// SCIMTokenPrefix starts every SCIM token (scim.TokenPrefix).
const SCIMTokenPrefix = scim.TokenPrefix

// MaxSCIMGroupRoles is the most groups an account maps to roles.
const MaxSCIMGroupRoles = scim.MaxGroupRoles

// SCIMSettingsInput is scim.SettingsInput: a PUT of the provisioning
// settings, with role names.
type SCIMSettingsInput = scim.SettingsInput

// SortedSCIMGroups is the settings' group names in reading order.
func SortedSCIMGroups(set roster.SCIMSettings) []string { return scim.SortedGroups(set) }
