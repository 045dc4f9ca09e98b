// Package emailaddr normalizes email addresses and tells work domains from
// personal (free mail) and disposable (throwaway) ones.
//
// Normalization trims, refuses anything but a bare address (no display
// name, comments or control characters, so no header injection), lower-cases
// it, and turns an internationalized domain into its ASCII (punycode) form:
// two spellings of one address compare equal.
//
// The domain check matches the address's domain and each of its parent
// domains against the shipped lists (data/) and the operator's additions:
// mail.gmail.com is personal and x.y.anonaddy.com is disposable. Matching
// subdomains is a decision: a subdomain of a free-mail provider or of a
// throwaway service is not a company's own domain. The walk up the parents
// stops before an ICANN public suffix (com, co.uk, edu.pl, ...), so a list
// entry that is itself such a suffix (the lists hold a few, such as net.ua
// and edu.pl) matches only exactly and never takes every domain under it.
//
// A domain on both lists is personal: the personal check runs first.
package emailaddr

import (
	_ "embed"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"

	"github.com/rosterhq/roster"
)

//go:embed data/free_email_domains.txt
var freeDomains string

//go:embed data/disposable_email_domains.txt
var disposableText string

// disposableDomains returns the disposable list as a sorted slice of
// substrings of the embedded text: one string header (16 bytes) an entry,
// no copies of the strings and no map. It is split on first use and shared
// by every Checker.
var disposableDomains = sync.OnceValue(func() []string { return sortedLines(disposableText) })

// sortedLines splits text into its non-empty lines (a trailing "\r" dropped,
// in case a checkout rewrote line endings), sorted for binary search. The
// lines are substrings of text.
func sortedLines(text string) []string {
	lines := strings.Split(text, "\n")
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
}

// Normalize returns the canonical form of a bare address.
// Errors: EINVALID with a message for a person.
func Normalize(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", roster.FieldErrorf("email", roster.EINVALID, "An email address is required")
	}
	if !utf8.ValidString(s) {
		return "", roster.FieldErrorf("email", roster.EINVALID, "The email address is not valid UTF-8")
	}
	for _, r := range s {
		// Control, space and invisible formatting characters (C0, C1,
		// NBSP, U+2028, U+202E, U+FEFF, ...) have no place in an address.
		if unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			return "", roster.FieldErrorf("email", roster.EINVALID, "The email address contains a control, space or invisible character")
		}
	}
	if strings.ContainsAny(s, "<>()\", ;:\\[]") {
		return "", roster.FieldErrorf("email", roster.EINVALID, "The address %q is not a plain email address like name@company.com", s)
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.Count(s, "@") != 1 {
		return "", roster.FieldErrorf("email", roster.EINVALID, "The address %q is not an email address like name@company.com", s)
	}
	local, domain := strings.ToLower(s[:at]), s[at+1:]
	if len(local) > 64 { // after lower-casing, which can lengthen it: Normalize is idempotent
		return "", roster.FieldErrorf("email", roster.EINVALID, "The part before @ is longer than 64 characters")
	}
	ascii, err := idna.Lookup.ToASCII(strings.ToLower(domain))
	if err == nil {
		// The ASCII form must stand on its own (some mappings pass the
		// rules before mapping and fail them after).
		_, err = idna.Lookup.ToASCII(ascii)
	}
	if err != nil || !strings.Contains(ascii, ".") || strings.HasSuffix(ascii, ".") {
		return "", roster.FieldErrorf("email", roster.EINVALID, "The domain %q is not a valid email domain", domain)
	}
	addr := local + "@" + ascii
	if len(addr) > 254 {
		return "", roster.FieldErrorf("email", roster.EINVALID, "The email address is longer than 254 characters")
	}
	if p, err := mail.ParseAddress(addr); err != nil || p.Address != addr || p.Name != "" {
		return "", roster.FieldErrorf("email", roster.EINVALID, "The address %q is not a valid email address", s)
	}
	return addr, nil
}

// Domain returns the part after the last @.
func Domain(addr string) string {
	return addr[strings.LastIndexByte(addr, '@')+1:]
}

// DomainKind is what an address's domain is.
type DomainKind int

const (
	// Work is any domain on neither list: presumably a company's own.
	Work DomainKind = iota
	// Personal is a free-mail provider (gmail.com), a subdomain of one, or
	// an operator addition.
	Personal
	// Disposable is a throwaway-mail service (a domain on the disposable
	// list that is not also on the personal one) or a subdomain of one.
	Disposable
)

func (k DomainKind) String() string {
	switch k {
	case Work:
		return "work"
	case Personal:
		return "personal"
	case Disposable:
		return "disposable"
	}
	return "DomainKind(?)"
}

// Checker tells personal and disposable email domains. It is immutable, so
// safe for concurrent use.
type Checker struct {
	personal   map[string]struct{}
	disposable []string // sorted; shared by all checkers, never written
}

// NewChecker returns a checker of the shipped lists plus extra personal
// domains (trimmed, lower-cased, punycode; empty or invalid entries are
// ignored).
func NewChecker(extra []string) *Checker {
	c := &Checker{personal: make(map[string]struct{}, 15000), disposable: disposableDomains()}
	for _, d := range strings.Split(freeDomains, "\n") {
		if d = strings.TrimSpace(d); d != "" {
			c.personal[d] = struct{}{}
		}
	}
	for _, d := range extra {
		d = strings.ToLower(strings.TrimSpace(d))
		if a, err := idna.Lookup.ToASCII(d); err == nil && a != "" {
			c.personal[a] = struct{}{}
		}
	}
	return c
}

// Kind tells the normalized address's domain: Disposable when it or a
// parent domain is on the disposable list (the stronger refusal: several
// throwaway services are on both lists), else Personal when it or a parent
// is on the personal list (shipped or extra), else Work. Parents are tried up to,
// not including, the ICANN public suffix (see the package comment).
func (c *Checker) Kind(addr string) DomainKind {
	d := strings.ToLower(Domain(addr))
	stop := len(icannSuffix(d))
	kind := Work
	for {
		if _, ok := slices.BinarySearch(c.disposable, d); ok {
			return Disposable
		}
		if _, ok := c.personal[d]; ok && kind == Work {
			kind = Personal
		}
		dot := strings.IndexByte(d, '.')
		if dot < 0 || len(d)-dot-1 <= stop {
			return kind
		}
		d = d[dot+1:]
	}
}

// icannSuffix returns the ICANN public suffix of domain d (com, co.uk,
// edu.pl), or its last label when the top-level domain is not in the public
// suffix list. A private suffix (3utilities.com, dyndns.org) is not a stop:
// its subdomains are exactly what the lists' entries for it mean.
func icannSuffix(d string) string {
	for {
		ps, icann := publicsuffix.PublicSuffix(d)
		dot := strings.IndexByte(ps, '.')
		if icann || dot < 0 {
			return ps
		}
		d = ps[dot+1:]
	}
}

// IsPersonal reports whether the normalized address's domain is not a work
// domain: personal or disposable (Kind != Work).
func (c *Checker) IsPersonal(addr string) bool {
	return c.Kind(addr) != Work
}

// Len returns how many personal domains are listed (shipped and extra).
func (c *Checker) Len() int { return len(c.personal) }

// Disposable returns how many disposable domains are listed.
func (c *Checker) Disposable() int { return len(c.disposable) }
