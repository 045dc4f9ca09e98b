package service

import (
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/areas"
)

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

// ParseGrace is areas.ParseGrace: how long an old auth token keeps working.
func ParseGrace(s string) (time.Duration, error) { return areas.ParseGrace(s) }

// MaxGrace is areas.MaxGrace.
const MaxGrace = areas.MaxGrace

// Cents is areas.Cents: an amount in dollars, checked, as money.
func Cents(field string, usd, min, max float64) (roster.Money, error) {
	return areas.Cents(field, usd, min, max)
}

// CheckLogRecord is areas.CheckLogRecord: a call-log record's checks.
func CheckLogRecord(r roster.LogRecord) error { return areas.CheckLogRecord(r) }

// ErrNoPaymentMethod is areas.ErrNoPaymentMethod.
const ErrNoPaymentMethod = areas.ErrNoPaymentMethod
