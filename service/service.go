// Package service holds Roster's rules: sign-up, accounts, the team,
// invitations and plans. It runs each change in one store transaction,
// writes the audit event in that transaction, updates the in-memory check
// index before returning, and sends mail after the commit.
//
// Callers (the HTTP API and the console) authorize first: each route names
// the permission it needs and the edge checks it through the index. The
// methods here enforce the rules that do not depend on who asks (owner
// immutability, the plan, one pending invitation, ...).
//
// The package is the door: Service composes the rooms (identity, team,
// areas, sso, scim), each its own package over the shared floor (internal/core), and
// keeps the gate, the check and the index's keeper (package index) in
// reach of the edges. See docs/decisions.md, "Issue 20: the rooms of
// service".
package service

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/emailaddr"
	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/service/areas"
	"github.com/rosterhq/roster/service/identity"
	"github.com/rosterhq/roster/service/index"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/service/scim"
	"github.com/rosterhq/roster/service/sso"
	"github.com/rosterhq/roster/service/team"
	"github.com/rosterhq/roster/store"
)

// Config holds the service's settings, read once by cmd/roster. The type
// is the floor's; the value is the door's (Service.Config), and every room
// reads it through the floor.
type Config = core.Config

// Stats counts identity events since the process started.
type Stats = core.Stats

// DefaultConfig returns the defaults SPEC names.
func DefaultConfig() Config { return core.DefaultConfig() }

// Service is Roster's application service, and the only door to its
// storage and check index: the edges call its methods.
//
// Its rooms are embedded, so each room's methods are the door's; the floor
// under them is not, so the database, the index and the mail sender stay
// out of the edges' reach.
type Service struct {
	Config Config
	Log    *slog.Logger
	// Stats counts failed and throttled logins and suppressed mail.
	Stats Stats

	core *core.Core
	*identity.Identity
	*team.Team
	*areas.Areas
	*sso.SSO
	*scim.SCIM

	decisionHook atomic.Pointer[DecisionHook]
	draining     atomic.Bool // Drain was called: the process is shutting down
}

// New returns a service over the database (not yet loaded: call
// LoadIndex). sender and domains may be nil for tools that send no mail and
// take no sign-ups.
func New(db *store.DB, sender mail.Sender, domains *emailaddr.Checker, cfg Config, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{Config: cfg, Log: log}
	c := core.New(db, sender, domains, &s.Config, func() *slog.Logger { return s.Log }, &s.Stats)
	s.core = c
	s.Identity, s.Team, s.Areas, s.SSO, s.SCIM = identity.New(c), team.New(c), areas.New(c), sso.New(c), scim.New(c)
	return s
}

// Account returns the account a member asks for. ENOTFOUND when it does not
// exist or the user is not a member: never reveal that it exists.
func (s *Service) Account(ctx context.Context, userID int64, authID string) (roster.Account, roster.Role, error) {
	return s.core.Account(ctx, userID, authID)
}

// AccountSeq returns the integer ID of the account with the Auth ID, from
// the check index, which holds every Auth ID: an unknown one costs no
// database query. Errors: ENOTFOUND.
func (s *Service) AccountSeq(ctx context.Context, authID string) (int64, error) {
	return s.core.AccountSeq(ctx, authID)
}

// IndexedMembers returns how many memberships the check index holds.
func (s *Service) IndexedMembers() int { return s.core.Index.Members() }

// NewToken returns a random token of 256 bits, URL-safe, and its hash.
func NewToken() (token string, hash []byte) { return core.NewToken() }

// HashToken is how every token is stored: SHA-256.
func HashToken(token string) []byte { return core.HashToken(token) }

// WithRevisionSink returns a context in which the service records the
// revision of the writes it makes, for the X-Roster-Revision header.
func WithRevisionSink(ctx context.Context) (context.Context, *atomic.Int64) {
	return index.WithRevisionSink(ctx)
}

// LoadIndex fills the check index from the database.
func (s *Service) LoadIndex(ctx context.Context) error { return s.core.Keeper.LoadIndex(ctx) }

// CatchUp applies every change after the applied revision to the index.
func (s *Service) CatchUp(ctx context.Context) error { return s.core.Keeper.CatchUp(ctx) }

// CatchUpOrReload is CatchUp that reloads the whole index when this
// replica fell behind the pruned change log (see index.Keeper).
func (s *Service) CatchUpOrReload(ctx context.Context) error {
	return s.core.Keeper.CatchUpOrReload(ctx)
}

// Revision is the revision this replica's index has applied.
func (s *Service) Revision() int64 { return s.core.Keeper.Revision() }

// LastCatchUp is the moment as of which the index was last confirmed
// current (the start of the last successful catch-up's read); zero before
// the first load.
func (s *Service) LastCatchUp() time.Time { return s.core.Keeper.LastCatchUp() }

// SetPropagationHook sets the function told how long after its commit each
// change reached this replica's check index (see
// index.Keeper.SetPropagationHook); nil: none.
func (s *Service) SetPropagationHook(h func(time.Duration)) { s.core.Keeper.SetPropagationHook(h) }

// CatchUps is how many catch-ups this replica's change-log follower made.
func (s *Service) CatchUps() int64 { return s.core.Keeper.CatchUps() }

// WaitFor returns once this replica has applied rev, for read-after-write.
// Errors: EUNAVAILABLE when it has not within timeout.
func (s *Service) WaitFor(ctx context.Context, rev int64, timeout time.Duration) error {
	return s.core.Keeper.WaitFor(ctx, rev, timeout)
}

// Follow catches up every interval, and at once when wake fires, until ctx
// ends.
func (s *Service) Follow(ctx context.Context, interval time.Duration, wake <-chan struct{}) {
	s.core.Keeper.Follow(ctx, interval, wake)
}

// Fresh reports whether the index can be trusted: confirmed current
// within Config.MaxStaleness, or confirmed now by a short catch-up (see
// index.Keeper.Fresh). Errors: EUNAVAILABLE with Retry-After.
func (s *Service) Fresh(ctx context.Context) error { return s.core.Keeper.Fresh(ctx) }

// Drain marks the process as shutting down, for every readiness probe that
// asks the service (the admin listener's /readyz, the public /healthz, gRPC
// health): from now on Draining is true. Requests are still served (the
// check and the gate do not ask); there is no way back.
func (s *Service) Drain() { s.draining.Store(true) }

// Draining reports whether Drain was called.
func (s *Service) Draining() bool { return s.draining.Load() }
