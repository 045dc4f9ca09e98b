package sso

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/emailaddr"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
)

// Verified domains: an account claims a domain, publishes the TXT record
// _roster-verification.<domain> holding roster-verification=<token>, and
// asks Roster to look it up. The first account to be seen holding a
// domain holds it (store: one verified row per domain).

const (
	// maxDomains bounds an account's domains, pending and verified.
	maxDomains = 50
	// lookupTimeout bounds one verification's DNS lookup.
	lookupTimeout = 5 * time.Second
	// shownValues is how many of the values found a refusal quotes.
	shownValues = 5
)

// tokenEncoding writes a domain's token in lower-case base32, which DNS
// consoles and their users copy without surprises.
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newDomainToken returns 160 random bits: the TXT record's token.
func newDomainToken() string {
	b := make([]byte, 20)
	rand.Read(b)
	return tokenEncoding.EncodeToString(b)
}

// NormalizeDomain returns the canonical form of a domain as a person
// types it: trimmed, without a final dot, IDNA to ASCII (punycode), lower
// case, as addresses' domains are normalized (package emailaddr).
// Errors: EINVALID (field domain) for anything that is not a registrable
// host name: an address, a URL, one label, a public suffix (com, co.uk),
// a numeric top-level label.
func NormalizeDomain(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", roster.FieldErrorf("domain", roster.EINVALID, "A domain is required, like example.com")
	}
	if !utf8.ValidString(s) {
		return "", roster.FieldErrorf("domain", roster.EINVALID, "The domain is not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			return "", roster.FieldErrorf("domain", roster.EINVALID, "The domain contains a control, space or invisible character")
		}
	}
	if strings.ContainsAny(s, "@/:") {
		return "", roster.FieldErrorf("domain", roster.EINVALID, "Enter the domain alone, like example.com, not an address or a link")
	}
	s = strings.TrimSuffix(s, ".")
	ascii, err := idna.Lookup.ToASCII(strings.ToLower(s))
	if err == nil {
		// The ASCII form must stand on its own, as for addresses.
		_, err = idna.Lookup.ToASCII(ascii)
	}
	if err != nil || !strings.Contains(ascii, ".") || strings.HasPrefix(ascii, ".") || strings.Contains(ascii, "..") {
		return "", roster.FieldErrorf("domain", roster.EINVALID, "The domain %q is not a valid domain name like example.com", raw)
	}
	// Room for the record's name, _roster-verification.<domain>, within
	// DNS's 253 characters; a label is at most 63.
	if len(roster.DomainVerificationPrefix)+len(ascii) > 253 {
		return "", roster.FieldErrorf("domain", roster.EINVALID, "The domain is too long")
	}
	labels := strings.Split(ascii, ".")
	for _, l := range labels {
		if len(l) > 63 {
			return "", roster.FieldErrorf("domain", roster.EINVALID, "The domain %q has a part longer than 63 characters", raw)
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", roster.FieldErrorf("domain", roster.EINVALID, "The domain %q is an IP address, not a domain name", raw)
	}
	if ps, _ := publicsuffix.PublicSuffix(ascii); ps == ascii {
		return "", roster.FieldErrorf("domain", roster.EINVALID, "The domain %s is a public suffix that no one organization holds: enter your own domain under it", ascii)
	}
	return ascii, nil
}

// AddDomain claims a domain for the account, pending until its TXT record
// is seen (VerifyDomain). The caller holds team.edit. Errors: EINVALID
// (field domain: not a domain name; or the account's limit),
// EPERSONALDOMAIN (a personal or disposable email provider's domain),
// ECONFLICT (the account claims it already).
func (s *SSO) AddDomain(ctx context.Context, a roster.Account, raw string, actor roster.Actor) (roster.Domain, error) {
	name, err := NormalizeDomain(raw)
	if err != nil {
		return roster.Domain{}, err
	}
	switch s.c.Domains.Kind("postmaster@" + name) {
	case emailaddr.Personal:
		return roster.Domain{}, roster.FieldErrorf("domain", roster.EPERSONALDOMAIN,
			"The domain %s is a personal email provider's: add your organization's own domain", name)
	case emailaddr.Disposable:
		return roster.Domain{}, roster.FieldErrorf("domain", roster.EPERSONALDOMAIN,
			"The domain %s is a disposable (temporary) email service's: add your organization's own domain", name)
	}
	// A bound, not an invariant: two adds at once may pass it together.
	if ds, err := s.c.DB.Domains(ctx, a.Seq); err != nil {
		return roster.Domain{}, err
	} else if len(ds) >= maxDomains {
		return roster.Domain{}, roster.Errorf(roster.EINVALID, "An account has at most %d domains: remove one first", maxDomains)
	}
	var d roster.Domain
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		d, err = tx.CreateDomain(ctx, a.Seq, name, newDomainToken())
		if errors.Is(err, store.ErrUnique) {
			return roster.FieldErrorf("domain", roster.ECONFLICT, "This account has already added %s", name)
		} else if err != nil {
			return err
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionDomainAdd, name, "")
	})
	return d, err
}

// Domains lists the account's domains, oldest first. The caller holds
// team.edit.
func (s *SSO) Domains(ctx context.Context, a roster.Account) ([]roster.Domain, error) {
	return s.c.DB.Domains(ctx, a.Seq)
}

// Domain returns one of the account's domains. Errors: ENOTFOUND.
func (s *SSO) Domain(ctx context.Context, a roster.Account, id int64) (roster.Domain, error) {
	var d roster.Domain
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		d, err = tx.Domain(ctx, a.Seq, id)
		return core.DBErr(err, "No such domain in this account")
	})
	return d, err
}

// DeleteDomain removes one of the account's domains and returns it; a
// verified one is free for another account to verify. The caller holds
// team.edit. Errors: ENOTFOUND.
func (s *SSO) DeleteDomain(ctx context.Context, a roster.Account, id int64, actor roster.Actor) (roster.Domain, error) {
	var d roster.Domain
	err := s.c.Write(ctx, func(tx *store.Tx) error {
		var err error
		if d, err = tx.Domain(ctx, a.Seq, id); err != nil {
			return core.DBErr(err, "No such domain in this account")
		}
		if err := tx.DeleteDomain(ctx, a.Seq, id); err != nil {
			return core.DBErr(err, "No such domain in this account")
		}
		if d.Status == roster.DomainVerified {
			// Which members single sign-on may be required of follows
			// the verified domains: the index reloads the account.
			if _, err := tx.Changed(ctx, a.Seq, 0); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionDomainDelete, d.Domain, string(d.Status))
	})
	return d, err
}

// VerifyDomain looks the domain's TXT record up (Config.DNSResolver, else
// the system's resolver) and, when it holds the domain's value, marks the
// domain verified and returns it. A verified domain is answered as it is,
// without a lookup. The caller holds team.edit. Errors: ENOTFOUND,
// EDOMAINUNVERIFIED (no such record, or not the value: the message says
// what was found), EDOMAINTAKEN (another account verified the domain:
// said only to a caller who showed they hold its DNS).
func (s *SSO) VerifyDomain(ctx context.Context, a roster.Account, id int64, actor roster.Actor) (roster.Domain, error) {
	d, err := s.Domain(ctx, a, id)
	if err != nil || d.Status == roster.DomainVerified {
		return d, err
	}
	if err := s.lookup(ctx, d); err != nil {
		return d, err
	}
	err = s.c.Write(ctx, func(tx *store.Tx) error {
		err := tx.MarkDomainVerified(ctx, a.Seq, id)
		switch {
		case errors.Is(err, store.ErrUnique):
			return roster.Errorf(roster.EDOMAINTAKEN, "The domain %s is verified by another Roster account: it must remove it before this one can verify it", d.Domain)
		case errors.Is(err, store.ErrNoRows):
			// Removed meanwhile (ENOTFOUND), or verified by a request
			// that crossed this one: answer it as it is now.
			d, err = tx.Domain(ctx, a.Seq, id)
			return core.DBErr(err, "No such domain in this account")
		case err != nil:
			return err
		}
		if d, err = tx.Domain(ctx, a.Seq, id); err != nil {
			return err
		}
		if _, err := tx.Changed(ctx, a.Seq, 0); err != nil {
			return err
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionDomainVerify, d.Domain, "")
	})
	return d, err
}

// lookup checks that the domain's TXT record holds its value.
// Errors: EDOMAINUNVERIFIED, saying what was found.
func (s *SSO) lookup(ctx context.Context, d roster.Domain) error {
	r := s.c.Config.DNSResolver
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	name, want := d.TXTName(), d.TXTValue()
	// The final dot: this name and no other (no search domains).
	values, err := r.LookupTXT(ctx, name+".")
	if err != nil {
		var dnsErr *net.DNSError
		switch {
		case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
			return roster.Errorf(roster.EDOMAINUNVERIFIED, "No TXT record named %s was found. Publish it with the value %s and try again: new DNS records can take a few minutes to be seen", name, want)
		case errors.As(err, &dnsErr) && dnsErr.IsTimeout:
			return roster.Errorf(roster.EDOMAINUNVERIFIED, "The DNS lookup of %s did not answer in time: try again in a minute", name)
		}
		s.c.Log().Warn("domain verification lookup", "name", name, "err", err)
		return roster.Errorf(roster.EDOMAINUNVERIFIED, "The DNS lookup of %s failed: try again in a minute", name)
	}
	for _, v := range values {
		if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(v)), []byte(want)) == 1 {
			return nil
		}
	}
	if len(values) == 0 {
		return roster.Errorf(roster.EDOMAINUNVERIFIED, "The name %s has no TXT record. Publish one with the value %s and try again", name, want)
	}
	var seen []string
	for i, v := range values {
		if i == shownValues {
			seen = append(seen, fmt.Sprintf("and %d more", len(values)-shownValues))
			break
		}
		if len(v) > 100 {
			v = v[:100] + "…"
		}
		seen = append(seen, fmt.Sprintf("%q", v))
	}
	return roster.Errorf(roster.EDOMAINUNVERIFIED, "The TXT record %s holds %s, not %s. Change it to that value and try again", name, strings.Join(seen, ", "), want)
}
