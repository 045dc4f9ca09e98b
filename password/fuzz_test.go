package password_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/password"
)

// FuzzCheck checks password.Check's contract:
//   - it never panics;
//   - a refusal is an *roster.Error with code EINVALID and a message;
//   - an accepted password has at least MinRunes (10) characters, at most
//     MaxBytes (1024) bytes, is not one character repeated, and does not
//     contain the email's name part (the trimmed email up to its last "@",
//     all of it without one) when that part has at least 3 characters,
//     ignoring case as Unicode simple case folding does (strings.EqualFold:
//     "ADA" and "ada", "K" (Kelvin sign) and "k", "ſ" (long s) and "s").
//
// The name-part property is asserted for valid UTF-8 only: real callers
// pass a normalized address (valid UTF-8), and with invalid bytes "contains"
// has no case-insensitive meaning.
func FuzzCheck(f *testing.F) {
	for _, s := range []struct{ pw, email string }{
		{"correct horse battery staple", ""},
		{"correct horse battery staple", "ada@example.com"},
		{"Tr0ub4dor&3-plus", "ada@example.com"},
		{"abcabcabca", ""},
		{"my al password", "al@example.com"},
		{"ädöüäöüäöü", ""},
		{strings.Repeat("ab", 512), "bob@example.com"},
		{strings.Repeat("ab", 512) + "c", ""},
		{strings.Repeat("é", 513), ""},
		{"not-an-address-here", "bob"},
		{"1234567890x", ""},
		{"1234567890", ""},
		{"PassWord123", ""},
		{"aaaaaaaaaa", ""},
		{strings.Repeat("ü", 12), ""},
		{"ninechars", ""},
		{"äöüäöüäöü", ""},
		{"I am ADA.Lovelace!", "Ada.Lovelace@Example.com"},
		{"my bob password", "  bob@example.com  "},
		{"my BOB password", "bob@a@example.com"},
		{"the KELVIN password", "\u212aelvin@example.com"},
		{"xxxxxxxxsam", "SAM@example.com"},
		{"ÄÖÜ-passphrase", "äöü@example.com"},
		{"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", "\x00\x00\x00@x"},
		{"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6", "\xff\xfe\xfd"},
		{"", ""},
		{"@@@@@@@@@@b", "@@@"},
		// Case variants that ToLower alone misses (ſ/s, µ/μ), fixed.
		{"xxxxxxxx\u017fam", "sam@example.com"},
		{"\u00b5-and-more-0", "\u03bc-a@example.com"},
	} {
		f.Add(s.pw, s.email)
	}
	f.Fuzz(func(t *testing.T, pw, email string) {
		err := password.Check(pw, email)
		if err != nil {
			if e, ok := err.(*roster.Error); !ok || roster.ErrorCode(err) != roster.EINVALID || e.Message == "" {
				t.Fatalf("Check(%q, %q) = %v: want an *roster.Error with code %s and a message", pw, email, err, roster.EINVALID)
			}
			return
		}
		if n := utf8.RuneCountInString(pw); n < password.MinRunes {
			t.Fatalf("Check(%q, %q) accepted %d characters, under %d", pw, email, n, password.MinRunes)
		}
		if len(pw) > password.MaxBytes {
			t.Fatalf("Check(%q, %q) accepted %d bytes, over %d", pw, email, len(pw), password.MaxBytes)
		}
		if r, size := utf8.DecodeRuneInString(pw); strings.Repeat(pw[:size], len(pw)/size) == pw {
			t.Fatalf("Check(%q, %q) accepted %q repeated", pw, email, r)
		}
		local := strings.TrimSpace(email)
		if at := strings.LastIndexByte(local, '@'); at >= 0 {
			local = local[:at]
		}
		if utf8.RuneCountInString(local) < 3 {
			return
		}
		if utf8.ValidString(pw) && utf8.ValidString(local) && containsFold(pw, local) {
			t.Fatalf("Check(%q, %q) accepted a password that contains the name part %q, ignoring case", pw, email, local)
		}
	})
}

// containsFold reports whether s has a substring equal to sub under Unicode
// simple case folding. Simple folding maps one rune to one rune, so such a
// substring has as many runes as sub.
func containsFold(s, sub string) bool {
	rs, rsub := []rune(s), []rune(sub)
next:
	for i := 0; i+len(rsub) <= len(rs); i++ {
		for j, r := range rsub {
			if !foldEqual(rs[i+j], r) {
				continue next
			}
		}
		return true
	}
	return false
}

// foldEqual reports whether a and b are in one simple case-folding orbit
// (as strings.EqualFold compares runes).
func foldEqual(a, b rune) bool {
	if a == b {
		return true
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}
