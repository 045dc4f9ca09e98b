package service

import "github.com/rosterhq/roster/service/areas"

// The names of the areas room, as the edges have always spelled them.

// NumberInput is areas.NumberInput.
type NumberInput = areas.NumberInput

// ApplicationInput is areas.ApplicationInput.
type ApplicationInput = areas.ApplicationInput

// SettingsInput is areas.SettingsInput.
type SettingsInput = areas.SettingsInput

// TokenReader is areas.TokenReader.
type TokenReader = areas.TokenReader

// TokenExposure is areas.TokenExposure.
type TokenExposure = areas.TokenExposure

// TokenReads is areas.TokenReads.
type TokenReads = areas.TokenReads

// ParseGrace is areas.ParseGrace.
var ParseGrace = areas.ParseGrace

// MaxGrace is areas.MaxGrace.
const MaxGrace = areas.MaxGrace

// Cents is areas.Cents.
var Cents = areas.Cents

// CheckLogRecord is areas.CheckLogRecord.
var CheckLogRecord = areas.CheckLogRecord

// ErrNoPaymentMethod is areas.ErrNoPaymentMethod.
const ErrNoPaymentMethod = areas.ErrNoPaymentMethod
