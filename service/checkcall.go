package service

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strconv"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/store"
)

// The permission check as one service call: what the platform's other
// services ask over HTTP (POST /v1/authz/check, check-batch) and over gRPC
// (roster.authz.v1.AuthzService). The rules of the call are here, once:
// the service token, the validation of an item and its messages, the batch
// limit and the checks[i] naming of a bad item, the revision wait, and the
// refusal of a stale index, counted as reason "stale" like the gate's.
// Each edge keeps only its wire format: HTTP its pooled JSON codec, gRPC
// its proto mapping.

// MaxBatch is the most checks in one batch, on every edge.
const MaxBatch = 1000

// RevisionWait is how long a request that names a revision (HTTP
// X-Roster-Revision, gRPC x-roster-revision) waits for this replica to
// apply it.
const RevisionWait = 2 * time.Second

// ServiceToken verifies the platform's service token, which the check and
// log ingest need: made once from the configured token, asked on every
// request. It compares SHA-256 digests in constant time, so neither the
// token's bytes nor its length show in the time an answer takes.
type ServiceToken struct {
	configured bool
	sum        [32]byte
}

// NewServiceToken returns the verifier of token; an empty token is not
// configured and refuses everything.
func NewServiceToken(token string) ServiceToken {
	return ServiceToken{configured: token != "", sum: sha256.Sum256([]byte(token))}
}

// Verify checks what a request presented: got, and whether it came in the
// "Bearer <token>" form at all (bearer). Errors: EFORBIDDEN (no token is
// configured on this server, whatever was presented), EUNAUTHENTICATED.
func (t ServiceToken) Verify(got string, bearer bool) error {
	if !t.configured {
		return roster.Errorf(roster.EFORBIDDEN, "The service token is not configured on this server")
	}
	if bearer {
		h := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(h[:], t.sum[:]) == 1 {
			return nil
		}
	}
	return roster.Errorf(roster.EUNAUTHENTICATED, "A valid service token is required")
}

// CheckRequest is one check: may the user (by ID) or the holder of a
// personal API key use the permission (by its API name) in the account
// (by Auth ID)? Exactly one of UserID and APIKey is given.
type CheckRequest struct {
	AccountID  string
	UserID     int64
	APIKey     string
	Permission string
}

// CheckResult is the answer to one check.
type CheckResult struct {
	Allowed    bool
	Role       roster.Role       // the member's role; RoleNone when not a member
	Permission roster.Permission // the permission asked
	reason     authz.Reason
}

// Reason is why: "allowed", "missing_permission", "not_member",
// "deactivated", "suspended", "mfa_required" or "sso_required" (docs/api.md).
func (r CheckResult) Reason() string { return r.reason.String() }

// MissingPermission reports whether the member's role lacks the
// permission, the one refusal whose answer names the roles that hold it
// (RolesWith(r.Permission)).
func (r CheckResult) MissingPermission() bool { return r.reason == authz.ReasonMissingPermission }

// AwaitRevision returns once this replica has applied rev (0: at once),
// waiting at most RevisionWait; a follower that reads a lagging standby
// is caught up from the primary after index.StandbyWait. Errors:
// EUNAVAILABLE.
func (s *Service) AwaitRevision(ctx context.Context, rev int64) error {
	if rev <= 0 {
		return nil
	}
	return s.core.Keeper.AwaitRevision(ctx, rev, RevisionWait)
}

// ReadAtLeast returns a context in which the read-only pages' reads
// reflect revision rev: from the standby (ROSTER_DATABASE_READ) when it
// has replayed it, else from the primary. Edges call it with the revision
// a request names, after AwaitRevision.
func ReadAtLeast(ctx context.Context, rev int64) context.Context {
	return store.ReadAtLeast(ctx, rev)
}

// freshForCheck refuses a stale index, counted as the gate counts it.
func (s *Service) freshForCheck(ctx context.Context) error {
	if err := s.Fresh(ctx); err != nil {
		s.observeDecision(ReasonStale, time.Now())
		return err
	}
	return nil
}

// Check answers one check, after waiting for minRev (0: none) and
// refusing a stale index. Errors: EINVALID (the request's fault),
// EUNAVAILABLE (stale, or the revision not reached), anything else is
// internal.
func (s *Service) Check(ctx context.Context, minRev int64, req CheckRequest) (CheckResult, error) {
	if err := s.AwaitRevision(ctx, minRev); err != nil {
		return CheckResult{}, err
	}
	if err := s.freshForCheck(ctx); err != nil {
		return CheckResult{}, err
	}
	start := time.Now()
	r, err := s.decideCheck(ctx, &req)
	if err == nil {
		s.observeDecision(r.Reason(), start)
	}
	return r, err
}

// CheckBatch answers 1 to MaxBatch checks in order, appending the answers
// to out (so an edge can reuse its buffer): the count is checked first,
// then minRev is waited for and a stale index refused. One bad item
// refuses the whole batch, naming it: field "checks[3]", message
// "checks[3]: ...".
func (s *Service) CheckBatch(ctx context.Context, minRev int64, reqs []CheckRequest, out []CheckResult) ([]CheckResult, error) {
	if len(reqs) == 0 || len(reqs) > MaxBatch {
		return out, roster.FieldErrorf("checks", roster.EINVALID, "A batch must hold 1 to %d checks, not %d", MaxBatch, len(reqs))
	}
	if err := s.AwaitRevision(ctx, minRev); err != nil {
		return out, err
	}
	if err := s.freshForCheck(ctx); err != nil {
		return out, err
	}
	// One clock reading per decision: each one's time runs from the end
	// of the one before (half the readings of timing each apart, which
	// showed in a batch's profile).
	t := time.Now()
	for i := range reqs {
		r, err := s.decideCheck(ctx, &reqs[i])
		if err != nil {
			if roster.ErrorCode(err) == roster.EINVALID {
				err = roster.FieldErrorf("checks["+strconv.Itoa(i)+"]", roster.EINVALID, "Check %d (counting from 0): %s", i, roster.ErrorMessage(err))
			}
			return out, err
		}
		now := time.Now()
		s.observeTook(r.Reason(), now.Sub(t))
		t = now
		out = append(out, r)
	}
	return out, nil
}

// decideCheck validates one item and answers it from the index; the caller
// reports the decision. Errors: EINVALID (the item's fault); anything
// else is internal.
func (s *Service) decideCheck(ctx context.Context, in *CheckRequest) (CheckResult, error) {
	p, ok := roster.ParsePermission(in.Permission)
	if !ok {
		return CheckResult{}, roster.FieldErrorf("permission", roster.EINVALID, "Unknown permission %q", in.Permission)
	}
	if in.AccountID == "" || (in.UserID == 0) == (in.APIKey == "") {
		return CheckResult{}, roster.Errorf(roster.EINVALID, "Give the account and exactly one of a user or an API key")
	}
	var d authz.Decision
	var err error
	if in.APIKey != "" {
		d, err = s.decideKey(ctx, in.AccountID, in.APIKey, p)
	} else {
		d, err = s.decideUser(ctx, in.AccountID, in.UserID, p)
	}
	if err != nil {
		return CheckResult{}, err
	}
	return CheckResult{Allowed: d.Allowed, Role: d.Role, Permission: p, reason: d.Reason}, nil
}
