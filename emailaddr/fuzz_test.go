package emailaddr_test

import (
	"os"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/emailaddr"
)

// normalizeSeeds are inputs for both targets: ordinary and hostile addresses.
var normalizeSeeds = []string{
	"ada@example.com",
	"  Ada.Lovelace@Example.COM\t",
	"first+tag@sub.example.co.uk",
	"user@bücher.example",
	"user@BÜCHER.example",
	"user@xn--bcher-kva.example",
	"user@XN--BCHER-KVA.EXAMPLE",
	"user@xn--.example",
	"user@xn--zz.example",
	"nul\x00@example.com",
	"a@example.com\x00",
	"a@b.com\r\nBcc: c@d.com",
	"a@b.com\nX: y",
	"<a@b.c>",
	"Bob <bob@example.com>",
	"bob@example.com, eve@example.com",
	"\"quoted local\"@example.com",
	"a(comment)@example.com",
	strings.Repeat("a", 64) + "@example.com",
	strings.Repeat("a", 65) + "@example.com",
	strings.Repeat("A", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 57) + ".com",
	"user@" + strings.Repeat("a", 250) + ".com",
	"@", "a@", "@b", "a@b", "a@b.", "a@.b", "a@b..c", "a@@b.c", "a@b@c.d",
	"", " ", "\t\r\n",
	"a.b@c.d", ".a@b.cd", "a.@b.cd", "a..b@c.de",
	"ü@example.com", "Ü@example.com", "\u0130x@example.com", "\u212a@example.com",
	"a\u202eb@example.com", "a\ufeffb@example.com", "\xff@example.com",
	"user@gmail.com", "user@mail.GMAIL.com", "user@mailinator.com", "user@a.b.10minutemail.pl",
	"user@net.ua", "user@acme.net.ua", "user@edu.pl", "user@uw.edu.pl",
	"user@anonaddy.com", "user@x.3utilities.com", "user@co.uk", "user@example.co.uk",
	// Found by fuzzing, fixed: C1 controls and Unicode spaces in the local
	// part, a local part that lower-casing lengthens past 64 bytes, and a
	// domain whose ASCII form fails the rules its Unicode form passed.
	"\u008c@0.0", "a\u0085b@example.com", "a\u00a0b@example.com", "a\u2028b@example.com",
	strings.Repeat("a", 62) + "\u023a@example.com", "0@\u2135.0",
}

// FuzzNormalize checks Normalize's contract: an accepted address is
// canonical (normalizing it again gives it back), lower-case, one "@" with
// a non-empty local part of at most 64 bytes and an ASCII (punycode) domain
// with a dot, no control characters or spaces anywhere, at most 254 bytes;
// a refusal is an EINVALID application error.
//
// The local part may hold non-ASCII letters (net/mail accepts RFC 6532
// UTF-8 local parts, and Normalize only lower-cases them), so "ASCII" is
// asserted of the domain only.
func FuzzNormalize(f *testing.F) {
	for _, s := range normalizeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := emailaddr.Normalize(in)
		if err != nil {
			if e, ok := err.(*roster.Error); !ok || roster.ErrorCode(err) != roster.EINVALID || e.Message == "" {
				t.Fatalf("Normalize(%q) error %v: want an *roster.Error with code %s and a message", in, err, roster.EINVALID)
			}
			if out != "" {
				t.Fatalf("Normalize(%q) = %q with error %v: want no address with an error", in, out, err)
			}
			return
		}
		if again, err := emailaddr.Normalize(out); err != nil || again != out {
			t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %v: not idempotent", in, out, out, again, err)
		}
		if len(out) > 254 {
			t.Fatalf("Normalize(%q) = %q: %d bytes, over 254", in, out, len(out))
		}
		if n := strings.Count(out, "@"); n != 1 {
			t.Fatalf("Normalize(%q) = %q: %d @ signs, want 1", in, out, n)
		}
		local, domain, _ := strings.Cut(out, "@")
		if local == "" || len(local) > 64 {
			t.Fatalf("Normalize(%q) = %q: local part of %d bytes, want 1 to 64", in, out, len(local))
		}
		if !utf8.ValidString(out) {
			t.Fatalf("Normalize(%q) = %q: not valid UTF-8", in, out)
		}
		if out != strings.ToLower(out) {
			t.Fatalf("Normalize(%q) = %q: not lower-case", in, out)
		}
		for i := 0; i < len(domain); i++ {
			if c := domain[i]; c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
				t.Fatalf("Normalize(%q) = %q: domain %q is not lower-case ASCII", in, out, domain)
			}
		}
		if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
			t.Fatalf("Normalize(%q) = %q: domain %q is not a dotted name", in, out, domain)
		}
		for _, r := range out {
			if unicode.IsControl(r) || unicode.IsSpace(r) {
				t.Fatalf("Normalize(%q) = %q: contains control or space character %U", in, out, r)
			}
		}
		if emailaddr.Domain(out) != domain {
			t.Fatalf("Domain(%q) = %q, want %q", out, emailaddr.Domain(out), domain)
		}
	})
}

var (
	listsOnce  sync.Once
	listed     []string        // every entry of both shipped lists
	disposable map[string]bool // entries of the disposable list
	checker    *emailaddr.Checker
)

func loadLists(t *testing.T) {
	listsOnce.Do(func() {
		disposable = map[string]bool{}
		for _, name := range []string{"data/free_email_domains.txt", "data/disposable_email_domains.txt"} {
			b, err := os.ReadFile(name)
			if err != nil {
				panic(err)
			}
			for _, l := range strings.Split(string(b), "\n") {
				if l = strings.TrimSpace(l); l != "" {
					listed = append(listed, l)
					if strings.HasPrefix(name, "data/disposable") {
						disposable[l] = true
					}
				}
			}
		}
		checker = emailaddr.NewChecker(nil)
	})
	if len(listed) == 0 {
		t.Fatal("no listed domains read")
	}
}

// isICANNSuffix reports whether d is itself an ICANN public suffix (com,
// co.uk, net.ua, edu.pl): list entries that are match only exactly.
func isICANNSuffix(d string) bool {
	ps, icann := publicsuffix.PublicSuffix(d)
	return icann && ps == d
}

// FuzzKind checks Checker.Kind (shipped lists, no extras):
//   - it never panics, on raw input or on a normalized address;
//   - IsPersonal is Kind != Work, and the domain's case does not matter;
//   - a listed domain (an entry of either list, in canonical form) is never
//     Work, and an entry of the disposable list is Disposable;
//   - a subdomain ("x." + domain, or label + "." + domain) is never less
//     than its domain: under a Disposable domain it is Disposable, under a
//     Personal one it is Personal or Disposable. Excepted, as the package
//     documents, are domains that are themselves ICANN public suffixes
//     (net.ua, edu.pl): those entries match only exactly.
//
// pick chooses a list entry, so the fuzzer reaches listed domains that it
// would never spell by chance.
func FuzzKind(f *testing.F) {
	for i, s := range normalizeSeeds {
		f.Add(s, uint32(i*7919), "x")
	}
	f.Add("a@gmail.com", uint32(0), "mail")
	f.Add("a@mailinator.com", uint32(1), "a.b")
	f.Add("a@net.ua", uint32(2), "acme")
	f.Add("a@edu.pl", uint32(3), "uw")
	f.Add("a@x.y.anonaddy.com", uint32(4), "-")
	f.Add("a@b", uint32(5), "")
	f.Add("a", uint32(6), "ü")
	f.Add("@", uint32(7), "xn--bcher-kva")
	f.Fuzz(func(t *testing.T, in string, pick uint32, label string) {
		loadLists(t)
		c := checker

		_ = c.Kind(in) // out of contract (not normalized), but must not panic
		_ = c.IsPersonal(in)

		if addr, err := emailaddr.Normalize(in); err == nil {
			checkKind(t, c, addr, "", label)
		}

		entry := listed[int(pick%uint32(len(listed)))]
		addr := "u@" + entry
		if n, err := emailaddr.Normalize(addr); err != nil || n != addr {
			return // an entry Normalize refuses or rewrites cannot be an address's domain
		}
		k := c.Kind(addr)
		if k == emailaddr.Work {
			t.Fatalf("Kind(%q) = Work, but %q is listed", addr, entry)
		}
		if disposable[entry] && k != emailaddr.Disposable {
			t.Fatalf("Kind(%q) = %v, but %q is on the disposable list", addr, k, entry)
		}
		checkKind(t, c, addr, entry, label)
	})
}

// checkKind checks the properties of one normalized address and of its
// subdomains "x." and label + ".".
func checkKind(t *testing.T, c *emailaddr.Checker, addr, entry, label string) {
	t.Helper()
	k := c.Kind(addr)
	if got := c.IsPersonal(addr); got != (k != emailaddr.Work) {
		t.Fatalf("IsPersonal(%q) = %v, Kind = %v", addr, got, k)
	}
	at := strings.LastIndexByte(addr, '@')
	local, domain := addr[:at], addr[at+1:]
	if up := local + "@" + strings.ToUpper(domain); c.Kind(up) != k {
		t.Fatalf("Kind(%q) = %v, Kind(%q) = %v: case matters", addr, k, up, c.Kind(up))
	}
	if k == emailaddr.Work || isICANNSuffix(domain) {
		return
	}
	for _, l := range []string{"x", label} {
		sub, err := emailaddr.Normalize(local + "@" + l + "." + domain)
		if err != nil || !strings.HasSuffix(sub, "."+domain) {
			continue // not a valid label, or one that normalizes into another domain
		}
		sk := c.Kind(sub)
		if sk == emailaddr.Work || (k == emailaddr.Disposable && sk != emailaddr.Disposable) {
			t.Fatalf("Kind(%q) = %v but Kind(%q) = %v (listed entry %q): a subdomain is weaker than its domain", addr, k, sub, sk, entry)
		}
	}
}
