package service

import (
	"context"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
)

// Operator is the platform operator's reads (roster account list,
// account show, user show, audit export): they see every account, so
// they are reached from the command line only, never from an edge. Each
// "not found" is an ENOTFOUND roster.Error; other errors are the
// database's. They write nothing.
type Operator struct{ db *store.DB }

// Operator returns the operator's reads over the service's database.
func (s *Service) Operator() Operator { return Operator{db: s.core.DB} }

// AccountSummary is an account and how many members it has.
type AccountSummary = store.AccountSummary

// ListAccounts lists up to limit accounts in the order they were made,
// after the account with the Auth ID after ("": from the first), and how
// many accounts there are. ENOTFOUND when after names no account.
func (o Operator) ListAccounts(ctx context.Context, after string, limit int) ([]AccountSummary, int, error) {
	accounts, total, err := o.db.ListAccounts(ctx, after, limit)
	return accounts, total, core.DBErr(err, "No such account")
}

// Account returns the account with the Auth ID. ENOTFOUND when there is
// none.
func (o Operator) Account(ctx context.Context, id string) (roster.Account, error) {
	a, err := o.db.Account(ctx, id)
	return a, core.DBErr(err, "No such account")
}

// AccountTeam is an account's members and pending invitations, each with
// how many there are in all.
type AccountTeam struct {
	Members         []roster.Member
	MemberCount     int
	Invitations     []roster.Invitation // pending
	InvitationCount int
}

// Team returns the account's members (a page at a time along the list's
// index) and pending invitations, at most most of each (0: all).
func (o Operator) Team(ctx context.Context, a roster.Account, most int) (AccountTeam, error) {
	var t AccountTeam
	p := roster.Page{Limit: 500}
	for {
		if most > 0 {
			p.Limit = min(500, most-len(t.Members))
		}
		page, n, next, err := o.db.Members(ctx, a, p)
		if err != nil {
			return AccountTeam{}, err
		}
		t.Members, t.MemberCount = append(t.Members, page...), n
		if next == "" || (most > 0 && len(t.Members) >= most) {
			break
		}
		p.After = next
	}
	invLimit := most
	if invLimit == 0 {
		invLimit = 1 << 20
	}
	var err error
	t.Invitations, t.InvitationCount, err = o.db.Invitations(ctx, a.Seq, roster.Page{Limit: invLimit})
	if err != nil {
		return AccountTeam{}, err
	}
	return t, nil
}

// User returns the user with the (normalized) address and every account
// they are in. ENOTFOUND when no user has the address.
func (o Operator) User(ctx context.Context, email string) (roster.User, []roster.Membership, error) {
	u, _, err := o.db.UserByEmail(ctx, email)
	if err != nil {
		return roster.User{}, nil, core.DBErr(err, "No such user")
	}
	var ms []roster.Membership
	for {
		page, _, err := o.db.Memberships(ctx, u.ID, roster.Page{Limit: 500, Offset: len(ms)})
		if err != nil {
			return roster.User{}, nil, err
		}
		ms = append(ms, page...)
		if len(page) < 500 {
			break
		}
	}
	return u, ms, nil
}

// ExportAudit calls each with every audit event of the account at or
// after since (zero: all), oldest first, read a thousand at a time, and
// returns how many it passed. An error of each stops the export.
func (o Operator) ExportAudit(ctx context.Context, a roster.Account, since time.Time, each func(roster.AuditEvent) error) (int, error) {
	var after int64
	n := 0
	for {
		events, err := o.db.AuditEventsAfter(ctx, a, since, after, 1000)
		if err != nil {
			return n, err
		}
		for _, e := range events {
			if err := each(e); err != nil {
				return n, err
			}
			after = e.ID
		}
		n += len(events)
		if len(events) < 1000 {
			return n, nil
		}
	}
}
