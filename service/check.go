package service

import (
	"context"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
)

// DecisionHook is told of every permission check decision: the reason
// (authz.Reason's String, or "stale" when a stale index refused it) and
// how long the decision took.
type DecisionHook func(reason string, took time.Duration)

// SetDecisionHook sets the hook (nil: none). Safe at any time.
func (s *Service) SetDecisionHook(h DecisionHook) {
	if h == nil {
		s.decisionHook.Store(nil)
		return
	}
	s.decisionHook.Store(&h)
}

// observeDecision reports a decision to the hook, if any.
func (s *Service) observeDecision(reason string, start time.Time) {
	if h := s.decisionHook.Load(); h != nil {
		(*h)(reason, time.Since(start))
	}
}

// observeTook reports a decision that took took to the hook, if any.
func (s *Service) observeTook(reason string, took time.Duration) {
	if h := s.decisionHook.Load(); h != nil {
		(*h)(reason, took)
	}
}

// CheckUser answers whether the user may use the permission in the
// account, from memory: the platform's other services ask this. It sees
// no session, so a member bound to the account's single sign-on counts as
// signed in through it once they have ever been (else sso_required).
func (s *Service) CheckUser(ctx context.Context, authID string, userID int64, p roster.Permission) (authz.Decision, error) {
	start := time.Now()
	d, err := s.decideUser(ctx, authID, userID, p)
	if err == nil {
		s.observeDecision(d.Reason.String(), start)
	}
	return d, err
}

// decideUser is CheckUser without reporting the decision.
func (s *Service) decideUser(ctx context.Context, authID string, userID int64, p roster.Permission) (authz.Decision, error) {
	seq, err := s.AccountSeq(ctx, authID)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return authz.Decision{Reason: authz.ReasonNotMember}, nil
	} else if err != nil {
		return authz.Decision{}, err
	}
	return s.core.Index.Check(seq, userID, p), nil
}

// CheckKey answers whether a personal API key may use the permission in
// the account: the key's member's current role, from memory. A key of
// another account, or an unknown key, is not a member.
func (s *Service) CheckKey(ctx context.Context, authID, key string, p roster.Permission) (authz.Decision, error) {
	start := time.Now()
	d, err := s.decideKey(ctx, authID, key, p)
	if err == nil {
		s.observeDecision(d.Reason.String(), start)
	}
	return d, err
}

// decideKey is CheckKey without reporting the decision.
func (s *Service) decideKey(ctx context.Context, authID, key string, p roster.Permission) (authz.Decision, error) {
	seq, err := s.AccountSeq(ctx, authID)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return authz.Decision{Reason: authz.ReasonNotMember}, nil
	} else if err != nil {
		return authz.Decision{}, err
	}
	_, keySeq, userID, ok := s.KeyMember(key)
	if !ok || keySeq != seq {
		return authz.Decision{Reason: authz.ReasonNotMember}, nil
	}
	// A key never came through single sign-on: a member bound to it is
	// sso_required.
	return s.core.Index.CheckBy(seq, userID, p, authz.ByKey), nil
}
