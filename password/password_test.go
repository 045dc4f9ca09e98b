package password_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/password"
)

const commonMsg = "This password is one of the most commonly used passwords (it appears in lists attackers try first): choose another"

func TestCheck_Refusals(t *testing.T) {
	for _, tc := range []struct{ pw, email, msg string }{
		{"", "", "Password must be at least 10 characters"},
		{"short", "", "Password must be at least 10 characters"},
		{"ninechars", "", "Password must be at least 10 characters"},
		{"äöüäöüäöü", "", "Password must be at least 10 characters"}, // 9 characters, 18 bytes
		{strings.Repeat("ab", 512) + "c", "", "Password must be at most 1024 bytes"},
		{strings.Repeat("é", 513), "", "Password must be at most 1024 bytes"}, // 513 characters, 1026 bytes
		{"aaaaaaaaaa", "", "Password must not be one character repeated"},
		{"           ", "", "Password must not be one character repeated"},
		{strings.Repeat("ü", 12), "", "Password must not be one character repeated"},
		{"1234567890", "", commonMsg},
		{"qwertyuiop", "", commonMsg},
		{"password123", "", commonMsg},
		{"PassWord123", "", commonMsg},
		{"QWERTYUIOP", "ada@example.com", commonMsg},
		{"ada.lovelace-rocks", "ada.lovelace@example.com", `Password must not contain your email address's name part ("ada.lovelace")`},
		{"I am ADA.Lovelace!", "Ada.Lovelace@Example.com", `Password must not contain your email address's name part ("Ada.Lovelace")`},
		{"my bob password", "bob@example.com", `Password must not contain your email address's name part ("bob")`},
	} {
		err := password.Check(tc.pw, tc.email)
		if roster.ErrorCode(err) != roster.EINVALID || roster.ErrorMessage(err) != tc.msg {
			t.Errorf("Check(%q, %q) = %v, want invalid_request %q", tc.pw, tc.email, err, tc.msg)
		}
	}
}

func TestCheck_Accepted(t *testing.T) {
	for _, tc := range []struct{ pw, email string }{
		{"correct horse battery staple", ""},
		{"correct horse battery staple", "ada@example.com"},
		{"Tr0ub4dor&3-plus", "ada@example.com"},
		{"abcabcabca", ""},                             // repeats, but not one character
		{"my al password", "al@example.com"},           // name part under 3 characters is not checked
		{"ädöüäöüäöü", ""},                             // 10 characters
		{strings.Repeat("ab", 512), "bob@example.com"}, // exactly 1024 bytes
		{"not-an-address-here", "bob"},                 // "bob" is not in the password
		{"1234567890x", ""},                            // not itself on the list
	} {
		if err := password.Check(tc.pw, tc.email); err != nil {
			t.Errorf("Check(%q, %q) = %v, want nil", tc.pw, tc.email, err)
		}
	}
}

// The list is searched by binary search over the lower-cased password, so
// the file must stay sorted (byte order), deduplicated and lower-case.
func TestCommonListFile(t *testing.T) {
	b, err := os.ReadFile("data/common_passwords.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	for i, l := range lines {
		if l == "" || l != strings.ToLower(l) || strings.ContainsAny(l, "\r\n") {
			t.Errorf("line %d: %q is empty or not lower-case", i+1, l)
		}
		if i > 0 && lines[i-1] >= l {
			t.Errorf("line %d: %q is not after %q", i+1, l, lines[i-1])
		}
	}
	if password.Common() != len(lines) || len(lines) < 40000 {
		t.Errorf("Common() = %d, file has %d lines", password.Common(), len(lines))
	}
}

func BenchmarkCheck(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		password.Check("Correct Horse Battery Staple", "ada.lovelace@example.com")
	}
}

// TestRules_SayCheckLimits: the rules shown before a first try carry
// Check's own limits, so the form and the check cannot disagree.
func TestRules_SayCheckLimits(t *testing.T) {
	rules := strings.Join(password.Rules(), "\n")
	for _, want := range []string{"At least " + strconv.Itoa(password.MinRunes) + " characters", "repeated", "commonly used", "email address"} {
		if !strings.Contains(rules, want) {
			t.Errorf("rules %q do not say %q", rules, want)
		}
	}
	if err := password.Check("Tr0ub4dor&3-plus-more"[:password.MinRunes-1], ""); err == nil {
		t.Error("a password one character short of the rule passed")
	}
	if err := password.Check("Tr0ub4dor&3-plus-more"[:password.MinRunes], ""); err != nil {
		t.Errorf("a password as long as the rule says was refused: %v", err)
	}
}
