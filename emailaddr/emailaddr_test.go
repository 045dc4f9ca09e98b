package emailaddr_test

import (
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
