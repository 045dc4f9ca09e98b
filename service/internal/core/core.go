// Package core is the floor under the rooms of service: the dependencies
// they share (the database, the check index and its keeper, the mail
// sender, the domain checker, the settings, the log and the counters) and
// the helpers every room writes through: one transaction that brings the
// index up to date, mail and webhook events in the transaction, tokens,
// the mapping of store errors and the name rules.
// It holds no rule of its own that a room could disagree with.
package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/emailaddr"
	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/service/index"
	"github.com/rosterhq/roster/store"
)

// Config holds the service's settings, read once by cmd/roster.
type Config struct {
	BaseURL        string        // links in mails: {BaseURL}/invite/{token}
	InviteTTL      time.Duration // how long an invitation link works
	VerifyTTL      time.Duration // how long a verification link works
	SessionTTL     time.Duration // how long a login lasts at most
	SessionIdle    time.Duration // a session unused this long ends
	ResendInterval time.Duration // the least time between two sends of one invitation
	MaxSends       int           // the most sends of one invitation, and of invitations to one address in a day
	// MaxStaleness is the staleness bound: a replica whose index was not
	// confirmed current (a catch-up read the database) within it refuses
	// checks and member requests with 503 rather than answer from an index
	// that may hold revoked access (0: no bound, for tools and tests that
	// follow nothing). ROSTER_MAX_STALENESS.
	MaxStaleness time.Duration

	// InviteMailsPerHour and InviteMailsPerDay are an account's budget of
	// invitation mail (invites and resends, each row of a batch counted).
	InviteMailsPerHour int
	InviteMailsPerDay  int

	HashConcurrency int           // argon2id computations at once
	HashWait        time.Duration // how long an attempt waits for a hashing slot before EUNAVAILABLE
	LoginWindow     time.Duration // the login throttle's window
	KnownLoginAge   time.Duration // a client the user logged in from this recently is exempt from the address-wide throttle
	MailsPerDay     int           // identity mails per address a day (and at most one a minute)
	ResetTTL        time.Duration // how long a password-reset link works
	PendingLoginTTL time.Duration // how long the console's second sign-in step waits for a code
	ResetQueue      int           // password-reset requests waiting for a worker; past it 503
	ResetWorkers    int           // workers that look up, store and mail password resets
	SignupsPerIP    int           // sign-ups without an invitation per client (IPv4 address, IPv6 /64) per SignupWindow
	SignupWindow    time.Duration // the sign-up throttle's window

	WebhookRetryBase    time.Duration // the first retry of a failed webhook delivery (doubling, at most 1h); 0: 10s
	MailRetryBase       time.Duration // the first retry of a mail the sender refused (doubling, at most 1h, jittered); 0: 30s
	WebhookAllowPrivate bool          // webhooks may use plain http and addresses that are not globally reachable
	WebhookTimeout      time.Duration // how long one delivery attempt may take, connecting included; 0: 5s
	// WebhookResolver resolves webhook hosts, at creation and at every
	// connection; nil: the system's. Tests point it at their own DNS server.
	WebhookResolver *net.Resolver

	// DNSResolver looks up the TXT records that prove a domain
	// (ROSTER_DNS_SERVER); nil: the system's.
	DNSResolver *net.Resolver
	// SSOAllowPrivate lets issuer and metadata URLs use plain http and
	// addresses that are not globally reachable (ROSTER_SSO_ALLOW_PRIVATE:
	// tests, providers inside a private network).
	SSOAllowPrivate bool
}

// DefaultConfig returns the defaults SPEC names.
func DefaultConfig() Config {
	return Config{
		BaseURL:        "http://127.0.0.1:8080",
		InviteTTL:      168 * time.Hour,
		VerifyTTL:      48 * time.Hour,
		SessionTTL:     14 * 24 * time.Hour,
		SessionIdle:    12 * time.Hour,
		ResendInterval: time.Minute,
		MaxSends:       10,
		MaxStaleness:   time.Second,

		InviteMailsPerHour: 100,
		InviteMailsPerDay:  500,

		HashConcurrency: max(1, runtime.GOMAXPROCS(0)/2),
		HashWait:        time.Second,
		LoginWindow:     15 * time.Minute,
		KnownLoginAge:   30 * 24 * time.Hour,
		MailsPerDay:     5,
		ResetTTL:        time.Hour,
		PendingLoginTTL: 5 * time.Minute,
		ResetQueue:      1000,
		ResetWorkers:    4,
		SignupsPerIP:    5,
		SignupWindow:    10 * time.Minute,

		WebhookRetryBase: 10 * time.Second,
	}
}

// Stats counts identity events since the process started.
type Stats struct {
	Hashes          atomic.Int64 // argon2id computations started
	LoginFailures   atomic.Int64 // wrong address, password or second factor
	LoginThrottled  atomic.Int64 // attempts refused with 429 before any hashing
	HashBusy        atomic.Int64 // attempts refused with 503: every hashing slot busy
	MailSuppressed  atomic.Int64 // identity mails not sent because of the limits
	SignupThrottled atomic.Int64 // sign-ups refused with 429 by the per-client limit
	SSOThrottled    atomic.Int64 // single sign-on starts refused with 429 by the per-client limit
	ResetThrottled  atomic.Int64 // password-reset requests refused with 429 by the client's or the address's limit
	ResetsQueued    atomic.Int64 // password-reset requests answered and queued for a worker
	ResetsDone      atomic.Int64 // queued password-reset requests a worker finished
	ResetQueueFull  atomic.Int64 // password-reset requests refused with 503: the queue was full
	// VerifyAgainThrottled counts requests to send a verification link
	// again refused with 429; VerifyAgainDone those a worker finished.
	VerifyAgainThrottled atomic.Int64
	VerifyAgainDone      atomic.Int64
	// MailSent counts mails the outbox worker handed to the sender (the
	// SMTP server accepted them, or they were logged); MailFailed its
	// attempts that failed; MailGivenUp the mails it gave up on.
	MailSent    atomic.Int64
	MailFailed  atomic.Int64
	MailGivenUp atomic.Int64
}

// Core is what every room stands on. Each room holds the same *Core, and
// the settings, the log and the counters it points to are the door's own
// fields, so a setting changed on the door (tests do, before serving) is
// the setting every room reads.
type Core struct {
	DB      *store.DB
	Keeper  *index.Keeper // loads and follows the check index
	Index   *authz.Index  // Keeper.Index, named once for the rooms
	Sender  mail.Sender   // what the outbox worker sends through; nil for tools that run none
	Domains *emailaddr.Checker
	Config  *Config
	Stats   *Stats // failed and throttled logins, suppressed mail, ...
	log     func() *slog.Logger
}

// New returns the floor over the database. sender may be nil for tools
// that send no mail; domains nil checks against the built-in lists. cfg
// and stats are the door's; log returns the door's logger when asked.
func New(db *store.DB, sender mail.Sender, domains *emailaddr.Checker, cfg *Config, log func() *slog.Logger, stats *Stats) *Core {
	if domains == nil {
		domains = emailaddr.NewChecker(nil)
	}
	c := &Core{DB: db, Sender: sender, Domains: domains, Config: cfg, Stats: stats, log: log}
	c.Keeper = index.New(db, log, func() time.Duration { return c.Config.MaxStaleness })
	c.Index = c.Keeper.Index
	return c
}

// Log is the door's logger as it is now.
func (s *Core) Log() *slog.Logger { return s.log() }

// Write runs fn in a transaction and, when it recorded changes to who
// may do what, brings the index up to date before returning.
func (s *Core) Write(ctx context.Context, fn func(tx *store.Tx) error) error {
	var last *store.Tx // the attempt that committed; its revision is known after the commit
	err := s.DB.Transact(ctx, func(tx *store.Tx) error {
		last = tx
		return fn(tx)
	})
	if err == nil && last.Revision() > 0 {
		s.Keeper.Committed(ctx, last.Revision())
	}
	return err
}

// WriteIn is Write for a change to the account's members (their roles,
// removal, deactivation, the directory's changes): such writes to one
// account take turns (store.OneWriterIn), where at once they would fail
// one another and be retried.
func (s *Core) WriteIn(ctx context.Context, accountSeq int64, fn func(tx *store.Tx) error) error {
	return s.Write(store.OneWriterIn(ctx, accountSeq), fn)
}

// NewToken returns a random token of 256 bits, URL-safe, and its hash.
func NewToken() (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is how every token is stored: SHA-256. Tokens carry 256 random
// bits, so a fast hash is enough; a slow one would only slow every request.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Mail writes a mail to the outbox in tx, the transaction of the change
// that causes it: committed with the change or not at all, and sent by
// the outbox worker (RunMail) after the commit, with retries, so no
// request waits for the mail server and none is lost while it is down.
// A transaction that is retried writes it once more with everything
// else: one mail per committed change.
func (s *Core) Mail(ctx context.Context, tx *store.Tx, m mail.Message) error {
	return tx.QueueMail(ctx, m.To, m.Subject, m.Text)
}

// MailAlone writes a mail that belongs to no change to the outbox, on its
// own (one insert).
func (s *Core) MailAlone(ctx context.Context, m mail.Message) error {
	return s.DB.QueueMail(ctx, m.To, m.Subject, m.Text)
}

// DBErr turns a store error into an application error where one fits.
func DBErr(err error, notFound string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNoRows):
		return roster.Errorf(roster.ENOTFOUND, "%s", notFound)
	}
	return err
}

// WorkEmail normalizes the address and refuses personal domains.
func (s *Core) WorkEmail(raw string) (string, error) {
	email, err := emailaddr.Normalize(raw)
	if err != nil {
		return "", err
	}
	switch s.Domains.Kind(email) {
	case emailaddr.Personal:
		return "", roster.FieldErrorf("email", roster.EPERSONALDOMAIN,
			"The domain %s is a personal email provider: use a work address", emailaddr.Domain(email))
	case emailaddr.Disposable:
		return "", roster.FieldErrorf("email", roster.EPERSONALDOMAIN,
			"The domain %s is a disposable (temporary) email service: use a work address", emailaddr.Domain(email))
	}
	return email, nil
}

// CleanName trims a name (of a person, an account, an API key...) and
// refuses an empty, overlong or multi-line one; what names it in the message.
func CleanName(name, what string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", roster.FieldErrorf("name", roster.EINVALID, "The %s is required", what)
	}
	if len(name) > 200 {
		return "", roster.FieldErrorf("name", roster.EINVALID, "The %s is longer than 200 characters", what)
	}
	if strings.ContainsAny(name, "\r\n\x00") {
		return "", roster.FieldErrorf("name", roster.EINVALID, "The %s cannot contain line breaks", what)
	}
	return name, nil
}

// Link is the address of a mailed link: {BaseURL}/{kind}/{token}.
func (s *Core) Link(kind, token string) string {
	return fmt.Sprintf("%s/%s/%s", strings.TrimRight(s.Config.BaseURL, "/"), kind, token)
}

// AccountSeq returns the integer ID of the account with the Auth ID, from
// the check index, which holds every Auth ID: an unknown one costs no
// database query. Errors: ENOTFOUND.
func (s *Core) AccountSeq(ctx context.Context, authID string) (int64, error) {
	if seq, ok := s.Index.Account(authID); ok {
		return seq, nil
	}
	return 0, roster.Errorf(roster.ENOTFOUND, "No such account")
}

// Account returns the account a member asks for. ENOTFOUND when it does not
// exist or the user is not a member: never reveal that it exists.
func (s *Core) Account(ctx context.Context, userID int64, authID string) (roster.Account, roster.Role, error) {
	a, err := s.DB.Account(ctx, authID)
	if err != nil {
		return a, 0, DBErr(err, "No such account")
	}
	role, _, ok := s.Index.Member(a.Seq, userID)
	if !ok {
		return roster.Account{}, 0, roster.Errorf(roster.ENOTFOUND, "No such account")
	}
	return a, role, nil
}
