package service

import (
	"github.com/rosterhq/roster/service/identity"
	"github.com/rosterhq/roster/service/internal/guard"
)

// The names of the identity room, as the edges have always spelled them.

// SignupInput is identity.SignupInput.
type SignupInput = identity.SignupInput

// SignupResult is identity.SignupResult.
type SignupResult = identity.SignupResult

// LoginInput is identity.LoginInput.
type LoginInput = identity.LoginInput

// LoginResult is identity.LoginResult.
type LoginResult = identity.LoginResult

// TOTPEnrollment is identity.TOTPEnrollment.
type TOTPEnrollment = identity.TOTPEnrollment

// StepUp is identity.StepUp.
type StepUp = identity.StepUp

// MaskEmail shortens an address for logs: its first letter and domain.
func MaskEmail(email string) string { return guard.MaskEmail(email) }

// KeyPrefix is identity.KeyPrefix.
const KeyPrefix = identity.KeyPrefix
