// Package password holds the rules a new password must meet.
//
// The rules are a minimum length, a generous maximum, no composition rules
// (no "one digit, one symbol"), and a refusal of passwords attackers try
// first: a single character repeated, one on a list of common passwords
// (data/), or one containing the user's own email name.
package password

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/rosterhq/roster"
)

// Limits on a password's length.
const (
	MinRunes = 10   // characters (Unicode code points)
	MaxBytes = 1024 // bytes of UTF-8
)

//go:embed data/common_passwords.txt
var commonText string

// common returns the common-password list as a sorted slice of substrings of
// the embedded text: one string header (16 bytes) an entry, no copies of the
// strings and no map. It is split on first use.
var common = sync.OnceValue(func() []string {
	lines := strings.Split(commonText, "\n")
	n := 0
	for _, l := range lines {
		if l = strings.TrimSuffix(l, "\r"); l != "" {
			lines[n] = l
			n++
		}
	}
	lines = lines[:n]
	if !slices.IsSorted(lines) {
		slices.Sort(lines)
	}
	return lines
})

// Common returns how many common passwords are listed.
func Common() int { return len(common()) }

// Check returns nil when pw may be set as the password of the account with
// the given email address (which may be empty). The checks, in order: at
// most MaxBytes bytes, at least MinRunes characters, not one character
// repeated, not on the common-password list (ignoring case), and not
// containing the part of email before its last @ (all of it when there is
// no @; ignoring case; only when that part is at least 3 characters).
// Errors: EINVALID with a message for a person.
func Check(pw, email string) error {
	if len(pw) > MaxBytes {
		return roster.FieldErrorf("password", roster.EINVALID, "Password must be at most %d bytes", MaxBytes)
	}
	if utf8.RuneCountInString(pw) < MinRunes {
		return roster.FieldErrorf("password", roster.EINVALID, "Password must be at least %d characters", MinRunes)
	}
	if _, size := utf8.DecodeRuneInString(pw); strings.Count(pw, pw[:size])*size == len(pw) {
		return roster.FieldErrorf("password", roster.EINVALID, "Password must not be one character repeated")
	}
	lower := strings.ToLower(pw)
	if _, ok := slices.BinarySearch(common(), lower); ok {
		return roster.FieldErrorf("password", roster.EINVALID,
			"This password is one of the most commonly used passwords (it appears in lists attackers try first): choose another")
	}
	local := strings.TrimSpace(email)
	if at := strings.LastIndexByte(local, '@'); at >= 0 {
		local = local[:at]
	}
	// Folded both ways, so case variants such as ſ/s and µ/μ match too.
	fold := func(s string) string { return strings.ToLower(strings.ToUpper(s)) }
	if utf8.RuneCountInString(local) >= 3 && strings.Contains(fold(pw), fold(local)) {
		return roster.FieldErrorf("password", roster.EINVALID, "Password must not contain your email address's name part (%q)", local)
	}
	return nil
}

// Rules says, for a person choosing a password, what Check asks of it, in
// Check's order and from the same limits: a form shows them before the
// first try instead of restating the numbers. MaxBytes is left out: no
// one typing a password meets it, and bytes mean nothing to a person.
func Rules() []string {
	return []string{
		fmt.Sprintf("At least %d characters (spaces count: a few words make a good one)", MinRunes),
		"Not one character repeated",
		"Not one of the most commonly used passwords",
		"Not containing the part of your email address before the @",
	}
}
