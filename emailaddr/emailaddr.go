// Package emailaddr normalizes email addresses and tells personal (free
// mail) domains from work ones.
//
// Normalization trims, refuses anything but a bare address (no display
// name, comments or control characters, so no header injection), lower-cases
// it, and turns an internationalized domain into its ASCII (punycode) form:
// two spellings of one address compare equal.
//
// The personal domain check matches the address's domain exactly against the
// shipped list (data/) and the operator's additions. Exact matching is a
// decision: matching parent domains would also refuse work addresses on
// subdomains of hosting providers that the list names.
package emailaddr

import (
	_ "embed"
	"net/mail"
	"strings"

	"golang.org/x/net/idna"

	"github.com/rosterhq/roster"
)

//go:embed data/free_email_domains.txt
var freeDomains string

// Normalize returns the canonical form of a bare address.
// Errors: EINVALID with a message for a person.
func Normalize(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", roster.Errorf(roster.EINVALID, "an email address is required")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", roster.Errorf(roster.EINVALID, "the email address contains a control character")
		}
	}
	if strings.ContainsAny(s, "<>()\", ;:\\[]") {
		return "", roster.Errorf(roster.EINVALID, "%q is not a plain email address like name@company.com", s)
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.Count(s, "@") != 1 {
		return "", roster.Errorf(roster.EINVALID, "%q is not an email address like name@company.com", s)
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 {
		return "", roster.Errorf(roster.EINVALID, "the part before @ is longer than 64 characters")
	}
	ascii, err := idna.Lookup.ToASCII(strings.ToLower(domain))
	if err != nil || !strings.Contains(ascii, ".") || strings.HasSuffix(ascii, ".") {
		return "", roster.Errorf(roster.EINVALID, "%q is not a valid email domain", domain)
	}
	addr := strings.ToLower(local) + "@" + ascii
	if len(addr) > 254 {
		return "", roster.Errorf(roster.EINVALID, "the email address is longer than 254 characters")
	}
	if p, err := mail.ParseAddress(addr); err != nil || p.Address != addr || p.Name != "" {
		return "", roster.Errorf(roster.EINVALID, "%q is not a valid email address", s)
	}
	return addr, nil
}

// Domain returns the part after the last @.
func Domain(addr string) string {
	return addr[strings.LastIndexByte(addr, '@')+1:]
}

// Checker tells personal email domains. It is immutable, so safe for
// concurrent use.
type Checker struct {
	domains map[string]struct{}
}

// NewChecker returns a checker of the shipped list plus extra domains
// (trimmed, lower-cased, punycode; empty or invalid entries are ignored).
func NewChecker(extra []string) *Checker {
	c := &Checker{domains: make(map[string]struct{}, 15000)}
	for _, d := range strings.Split(freeDomains, "\n") {
		if d = strings.TrimSpace(d); d != "" {
			c.domains[d] = struct{}{}
		}
	}
	for _, d := range extra {
		d = strings.ToLower(strings.TrimSpace(d))
		if a, err := idna.Lookup.ToASCII(d); err == nil && a != "" {
			c.domains[a] = struct{}{}
		}
	}
	return c
}

// IsPersonal reports whether the normalized address's domain is listed.
func (c *Checker) IsPersonal(addr string) bool {
	_, ok := c.domains[Domain(addr)]
	return ok
}

// Len returns how many domains are listed.
func (c *Checker) Len() int { return len(c.domains) }
