package core

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/emailaddr"
	"github.com/rosterhq/roster/store"
)

// Names that Roster's own mail quotes: the name a person signs up with
// (which also names their first account) and an account's name, however
// it is set (sign-up, creating an account, the settings). One rule, here.

// hostLike finds what a mail reader could make a link of without a
// scheme: labels of letters, digits and hyphens joined by dots (or the
// dots of other scripts, which IDNA reads as dots).
var hostLike = regexp.MustCompile(`[\p{L}\p{N}\p{M}-]+(?:[.\x{3002}\x{FF0E}\x{FF61}][\p{L}\p{N}\p{M}-]+)+`)

// topLevel is a last label that makes a host name of what precedes it: two
// or more letters (any script), or an IDNA A-label.
var topLevel = regexp.MustCompile(`(?i)^(?:\p{L}{2,63}|xn--[a-z0-9-]+)$`)

// dotted4 is an IPv4 address written out, which some readers link too.
var dotted4 = regexp.MustCompile(`^[0-9]{1,3}(?:\.[0-9]{1,3}){3}$`)

// CleanMailName is the one rule for a name that Roster's mail quotes:
// cleanName's (present, one line, at most 200 bytes), and no link. A
// scheme ("://") or "www." is never allowed; a host name only when it is
// the domain of owner's own address or a parent of it down to the
// registrable domain (an owner at eu.voxly.io may name the account
// "Voxly.io", never "Voxly.com"), so the only link a mail reader can make
// of the name leads where the owner's own address does. owner is the
// address of the account's owner, or of the person for their own name.
// Errors: EINVALID on field "name".
func CleanMailName(name, owner, what string) (string, error) {
	name, err := CleanName(name, what)
	if err != nil {
		return "", err
	}
	if bad := linkIn(name, owner); bad != "" {
		domain := emailaddr.Domain(owner)
		return "", roster.FieldErrorf("name", roster.EINVALID,
			"The %s cannot contain a web address or link (%s): a name may hold no domain but %s, the domain of the owner's address", what, bad, domain)
	}
	return name, nil
}

// linkIn returns the first part of name a mail reader could show as a link
// to somewhere other than owner's own domain, "" when none.
func linkIn(name, owner string) string {
	lower := strings.ToLower(name)
	for _, s := range []string{"://", "www."} {
		if strings.Contains(lower, s) {
			return s
		}
	}
	for _, host := range hostLike.FindAllString(name, -1) {
		labels := strings.FieldsFunc(host, func(r rune) bool { return r == '.' || r == '\u3002' || r == '\uFF0E' || r == '\uFF61' })
		if len(labels) < 2 {
			continue
		}
		if !topLevel.MatchString(labels[len(labels)-1]) && !dotted4.MatchString(host) {
			continue // "v1.2", "J.R": no reader makes a link of these
		}
		if !ownDomain(host, owner) {
			return host
		}
	}
	return ""
}

// ownDomain reports whether host is the domain of the address owner, or a
// parent of it no shorter than its registrable domain (eTLD+1).
func ownDomain(host, owner string) bool {
	domain := emailaddr.Domain(owner)
	if domain == "" {
		return false
	}
	h, err := idna.Lookup.ToASCII(host)
	if err != nil || h == "" {
		return false
	}
	if h == domain {
		return true
	}
	reg, err := publicsuffix.EffectiveTLDPlusOne(domain)
	return err == nil && strings.HasSuffix(domain, "."+h) && len(h) >= len(reg)
}

// MailName is how a mail names an account: its name, quoted, when the
// rule above holds for it today; otherwise (a name stored before the rule
// covered the settings) by its Auth ID, so no mail of Roster's ever
// carries a name a reader would show as a link to someone else's site.
// It reads in tx, the transaction that writes the mail; an error of the
// read is the transaction's (on PostgreSQL it must be retried whole).
func (s *Core) MailName(ctx context.Context, tx *store.Tx, accountSeq int64, authID, name string) (string, error) {
	owner, err := tx.OwnerEmail(ctx, accountSeq)
	switch {
	case errors.Is(err, store.ErrNoRows):
		s.Log().Error("mail: the account has no owner", "account", authID)
	case err != nil:
		return "", err
	case linkIn(name, owner) == "":
		return strconv.Quote(name), nil
	}
	return authID, nil // "the account MA…", "You are invited to MA… on Roster"
}
