package emailaddr_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/emailaddr"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ada@example.com", "ada@example.com"},
		{"  Ada.Lovelace@Example.COM\t", "ada.lovelace@example.com"},
		{"user@Bücher.example", "user@xn--bcher-kva.example"},
		{"user@BÜCHER.example", "user@xn--bcher-kva.example"},
		{"first+tag@sub.example.co.uk", "first+tag@sub.example.co.uk"},
	} {
		got, err := emailaddr.Normalize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNormalize_Refusals(t *testing.T) {
	for _, in := range []string{
		"", "   ", "no-at-sign", "two@@example.com", "a@b@example.com", "@example.com", "user@",
		"Bob <bob@example.com>", "bob@example.com, eve@example.com",
		"a@b.com\r\nBcc: c@d.com", "a@b.com\nX: y", "nul\x00@example.com",
		strings.Repeat("a", 65) + "@example.com", "user@localhost", "user@example.",
		"user@exa mple.com", "user@" + strings.Repeat("a", 250) + ".com",
	} {
		_, err := emailaddr.Normalize(in)
		if roster.ErrorCode(err) != roster.EINVALID {
			t.Errorf("Normalize(%q): %v, want invalid_request", in, err)
		}
	}
}

func TestChecker(t *testing.T) {
	c := emailaddr.NewChecker([]string{" Personal.Example ", "", "Bücher.example"})
	if c.Len() < 2000 {
		t.Errorf("only %d domains listed", c.Len())
	}
	for addr, want := range map[string]bool{
		"a@gmail.com": true, "a@yahoo.com": true, "a@hotmail.com": true, "a@outlook.com": true,
		"a@acme-corp.example": false, "a@mail.acme-corp.example": false,
		"a@personal.example": true, "a@xn--bcher-kva.example": true,
	} {
		if got := c.IsPersonal(addr); got != want {
			t.Errorf("IsPersonal(%q) = %v, want %v", addr, got, want)
		}
	}
	if emailaddr.NewChecker(nil).IsPersonal("a@personal.example") {
		t.Error("extra domains leaked between checkers")
	}
}

func TestChecker_Kind(t *testing.T) {
	c := emailaddr.NewChecker([]string{"Personal.Example"})
	for _, tc := range []struct {
		addr string
		want emailaddr.DomainKind
	}{
		{"a@gmail.com", emailaddr.Personal},
		{"a@mail.gmail.com", emailaddr.Personal},
		{"a@GMAIL.com", emailaddr.Personal},
		{"a@x.y.GMail.COM", emailaddr.Personal},
		// mailinator.com is on both lists: disposable is checked first.
		{"a@mailinator.com", emailaddr.Disposable},
		{"a@a.b.mailinator.com", emailaddr.Disposable},
		// On the disposable list only.
		{"a@10minutemail.pl", emailaddr.Disposable},
		{"a@a.b.10minutemail.pl", emailaddr.Disposable},
		{"a@anonaddy.com", emailaddr.Disposable},         // wildcard.json
		{"a@someone.anonaddy.com", emailaddr.Disposable}, // wildcard.json, subdomain
		{"a@x.3utilities.com", emailaddr.Disposable},     // wildcard.json, a private public suffix
		{"a@acme.com", emailaddr.Work},
		{"a@mail.acme.com", emailaddr.Work},
		{"a@notgmail.com", emailaddr.Work},
		{"a@gmail.com.acme-corp.example", emailaddr.Work},
		{"a@com", emailaddr.Work},
		// Entries that are ICANN public suffixes match only exactly.
		{"a@edu.pl", emailaddr.Disposable},
		{"a@uw.edu.pl", emailaddr.Work},
		{"a@net.ua", emailaddr.Personal},
		{"a@acme.net.ua", emailaddr.Work},
		// Operator addition and its subdomain.
		{"a@personal.example", emailaddr.Personal},
		{"a@team.personal.example", emailaddr.Personal},
		{"a@impersonal.example", emailaddr.Work},
	} {
		if got := c.Kind(tc.addr); got != tc.want {
			t.Errorf("Kind(%q) = %v, want %v", tc.addr, got, tc.want)
		}
		if got, want := c.IsPersonal(tc.addr), tc.want != emailaddr.Work; got != want {
			t.Errorf("IsPersonal(%q) = %v, want %v", tc.addr, got, want)
		}
	}
	if n := c.Disposable(); n < 100000 {
		t.Errorf("only %d disposable domains listed", n)
	}
}

// The disposable list is searched by binary search, so the file must stay
// sorted (byte order), deduplicated, lower-case punycode.
func TestDisposableListFile(t *testing.T) {
	b, err := os.ReadFile("data/disposable_email_domains.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	valid := regexp.MustCompile(`^[a-z0-9-]+(\.[a-z0-9-]+)+$`)
	for i, l := range lines {
		if !valid.MatchString(l) {
			t.Errorf("line %d: %q is not a lower-case ASCII domain", i+1, l)
		}
		if i > 0 && lines[i-1] >= l {
			t.Errorf("line %d: %q is not after %q", i+1, l, lines[i-1])
		}
	}
	if c := emailaddr.NewChecker(nil); c.Disposable() != len(lines) {
		t.Errorf("Disposable() = %d, file has %d lines", c.Disposable(), len(lines))
	}
}

func BenchmarkKind(b *testing.B) {
	c := emailaddr.NewChecker(nil)
	b.ReportAllocs()
	for b.Loop() {
		c.Kind("ada@mail.eng.acme-corp.example.co.uk")
	}
}
