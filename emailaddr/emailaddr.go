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

// disposableDomains returns the disposable list, split on first use and
// shared by every Checker.
var disposableDomains = sync.OnceValue(func() lineSet { return newLineSet(disposableText) })

// lineSet is a set of the lines of one text, for binary search: the text
// and each line's place in it, sorted by the line. Neither holds a pointer
// per line, so the garbage collector never looks into it; the lists as
// []string and a map of strings were 165,000 pointers (2.4 MB) it marked
// on every cycle of a process that answers checks.
type lineSet struct {
	text  string
	lines []uint64 // start<<32 | end, by line
}

// newLineSet splits text into its non-empty lines (a trailing "\r" dropped,
// in case a checkout rewrote line endings; a line repeated is kept once).
func newLineSet(text string) lineSet {
	l := lineSet{text: text}
	for start := 0; start < len(text); {
		end := strings.IndexByte(text[start:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += start
		}
		e := end
		if e > start && text[e-1] == '\r' {
			e--
		}
		if e > start {
			l.lines = append(l.lines, uint64(start)<<32|uint64(e))
		}
		start = end + 1
	}
	cmpLines := func(a, b uint64) int { return strings.Compare(l.at(a), l.at(b)) }
	if !slices.IsSortedFunc(l.lines, cmpLines) {
		slices.SortFunc(l.lines, cmpLines)
	}
	l.lines = slices.CompactFunc(l.lines, func(a, b uint64) bool { return l.at(a) == l.at(b) })
	l.lines = slices.Clip(l.lines)
	return l
}

func (l lineSet) at(line uint64) string { return l.text[line>>32 : uint32(line)] }

// has reports whether s is one of the lines.
func (l lineSet) has(s string) bool {
	_, ok := slices.BinarySearchFunc(l.lines, s, func(line uint64, s string) int { return strings.Compare(l.at(line), s) })
	return ok
}

// len returns how many lines the set holds.
func (l lineSet) len() int { return len(l.lines) }

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
	personal   lineSet // the shipped list and the extra domains
	disposable lineSet // shared by all checkers
}

// NewChecker returns a checker of the shipped lists plus extra personal
// domains (trimmed, lower-cased, punycode; empty or invalid entries are
// ignored).
func NewChecker(extra []string) *Checker {
	personal := freeDomains
	if len(extra) > 0 {
		var b strings.Builder
		b.WriteString(freeDomains)
		for _, d := range extra {
			d = strings.ToLower(strings.TrimSpace(d))
			if a, err := idna.Lookup.ToASCII(d); err == nil && a != "" && !strings.ContainsAny(a, "\r\n") {
				b.WriteString("\n" + a)
			}
		}
		personal = b.String()
	}
	return &Checker{personal: newLineSet(personal), disposable: disposableDomains()}
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
		if c.disposable.has(d) {
			return Disposable
		}
		if kind == Work && c.personal.has(d) {
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
func (c *Checker) Len() int { return c.personal.len() }

// Disposable returns how many disposable domains are listed.
func (c *Checker) Disposable() int { return c.disposable.len() }
