package service

import "github.com/rosterhq/roster/service/identity"

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

// MaskEmail is identity.MaskEmail.
var MaskEmail = identity.MaskEmail

// KeyPrefix is identity.KeyPrefix.
const KeyPrefix = identity.KeyPrefix
