package service

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/rosterhq/roster/authz"
)

// ReadyPingTimeout bounds the database ping of Ready: a database slower
// than this to answer a ping is as good as gone for a load balancer.
const ReadyPingTimeout = time.Second

// The kinds of NotReadyError, for errors.Is: each probe answers them in
// its own words (the public /healthz says less than the admin /readyz).
var (
	// ErrDraining: Drain was called, the process is shutting down.
	ErrDraining = errors.New("shutting down")
	// ErrDatabaseUnreachable: the database did not answer a ping in time.
	ErrDatabaseUnreachable = errors.New("database unreachable")
	// ErrIndexStale: the check index lost touch with the database (Fresh).
	ErrIndexStale = errors.New("check index stale")
)

// NotReadyError is why Ready failed. Error is the reason an operator may
// read (the admin /readyz shows it); Err is the detail behind it, for the
// log only, because a driver's error may name hosts and users.
type NotReadyError struct {
	Kind   error // ErrDraining, ErrDatabaseUnreachable or ErrIndexStale
	Reason string
	Err    error // nil for ErrDraining
}

func (e *NotReadyError) Error() string { return e.Reason }

// Is matches the kind, so callers branch with errors.Is(err, ErrIndexStale).
func (e *NotReadyError) Is(target error) bool { return target == e.Kind }

// Unwrap returns the detail.
func (e *NotReadyError) Unwrap() error { return e.Err }

// Ready is the one readiness of a replica, asked by every probe (the admin
// listener's /readyz, the public /healthz, gRPC health): nil when it can
// serve, that is it is not shutting down (Drain), the database answers a
// ping within ReadyPingTimeout and the check index is fresh (Fresh). Else
// a *NotReadyError, tested in that order.
func (s *Service) Ready(ctx context.Context) error {
	if s.Draining() {
		return &NotReadyError{Kind: ErrDraining, Reason: ErrDraining.Error()}
	}
	pctx, cancel := context.WithTimeout(ctx, ReadyPingTimeout)
	defer cancel()
	if err := s.core.DB.SQL().PingContext(pctx); err != nil {
		return &NotReadyError{Kind: ErrDatabaseUnreachable,
			Reason: fmt.Sprintf("database did not answer a ping within %s", ReadyPingTimeout), Err: err}
	}
	if err := s.Fresh(ctx); err != nil {
		return &NotReadyError{Kind: ErrIndexStale, Reason: fmt.Sprintf("check index stale: %v", err), Err: err}
	}
	return nil
}

// DBStats returns the database pool's numbers, for metrics; it reads
// memory only, so it answers with the database gone.
func (s *Service) DBStats() sql.DBStats { return s.core.DB.SQL().Stats() }

// ReasonStale is the decision reason of a check refused because the index
// is stale (Fresh), besides the reasons of the matrix.
const ReasonStale = "stale"

// DecisionReasons returns every reason a decision hook is called with
// (SetDecisionHook): the matrix's (allowed, not_member, ...) and
// ReasonStale, so metrics can label by a fixed set.
func DecisionReasons() []string {
	var out []string
	for r := authz.Reason(0); r.String() != "unknown"; r++ {
		out = append(out, r.String())
	}
	return append(out, ReasonStale)
}
