package scim

import (
	"context"
	"crypto/subtle"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
)

// The tokens a directory presents as "Authorization: Bearer" to
// {BASE_URL}/scim/v2: each names its account, is shown once when made,
// stored as its SHA-256 (core.HashToken) and revocable. A revoked token is
// refused at once on every replica: each request reads the token's row.

const (
	// TokenPrefix starts every SCIM token, so a leaked one is recognizable
	// (secret scanners, logs) and never mistaken for a personal API key.
	TokenPrefix = "rscim_"
	// maxTokens bounds an account's tokens: one per directory, and room
	// to rotate each.
	maxTokens = 10
	// maxTokenLen bounds what is hashed of a presented token: a real one
	// is 49 characters.
	maxTokenLen = 200
	// touchEvery is how often a token's last use is recorded at most.
	touchEvery = time.Minute
)

// errBadToken is the one refusal of a token, whatever was wrong with it.
func errBadToken() error {
	return roster.Errorf(roster.EUNAUTHENTICATED, "The SCIM token is not valid: it was revoked, or is not a provisioning token of this Roster")
}

// CreateSCIMToken makes a token for the account's directory and returns
// it with the token itself: the only time it is shown. The caller holds
// team.edit. The committed plan is not needed (the directory may be set
// up first; it adds members only on the committed plan). Errors: EINVALID
// (the name; the account's limit of tokens), EDOMAINUNVERIFIED (no
// verified domain: the directory provisions only addresses on them).
func (s *SCIM) CreateSCIMToken(ctx context.Context, a roster.Account, name string, actor roster.Actor) (roster.SCIMToken, string, error) {
	name, err := core.CleanName(name, "token's name")
	if err != nil {
		return roster.SCIMToken{}, "", err
	}
	raw, _ := core.NewToken()
	token := TokenPrefix + raw
	var t roster.SCIMToken
	err = s.c.Write(ctx, func(tx *store.Tx) error {
		if n, err := tx.CountVerifiedDomains(ctx, a.Seq); err != nil {
			return err
		} else if n == 0 {
			return roster.Errorf(roster.EDOMAINUNVERIFIED, "Verify a domain first: the directory provisions only addresses on the account's verified domains")
		}
		if n, err := tx.CountSCIMTokens(ctx, a.Seq); err != nil {
			return err
		} else if n >= maxTokens {
			return roster.Errorf(roster.EINVALID, "An account has at most %d provisioning tokens: revoke one first", maxTokens)
		}
		var err error
		if t, err = tx.CreateSCIMToken(ctx, a.Seq, name, core.HashToken(token)); err != nil {
			return err
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionSCIMTokenCreate, strconv.FormatInt(t.ID, 10), name)
	})
	if err != nil {
		return roster.SCIMToken{}, "", err
	}
	return t, token, nil
}

// SCIMTokens lists the account's tokens, oldest first, never the tokens
// themselves. The caller holds team.edit.
func (s *SCIM) SCIMTokens(ctx context.Context, a roster.Account) ([]roster.SCIMToken, error) {
	return s.c.DB.SCIMTokens(ctx, a.Seq)
}

// SCIMToken returns one of the account's tokens (never the token
// itself). The caller holds team.edit. Errors: ENOTFOUND.
func (s *SCIM) SCIMToken(ctx context.Context, a roster.Account, id int64) (roster.SCIMToken, error) {
	ts, err := s.c.DB.SCIMTokens(ctx, a.Seq)
	if err != nil {
		return roster.SCIMToken{}, err
	}
	for _, t := range ts {
		if t.ID == id {
			return t, nil
		}
	}
	return roster.SCIMToken{}, roster.Errorf(roster.ENOTFOUND, "No such provisioning token in this account")
}

// DeleteSCIMToken revokes one of the account's tokens and returns it: the
// next request that presents it is refused, on every replica. The caller
// holds team.edit. Errors: ENOTFOUND (another account's token too).
func (s *SCIM) DeleteSCIMToken(ctx context.Context, a roster.Account, id int64, actor roster.Actor) (roster.SCIMToken, error) {
	var t roster.SCIMToken
	err := s.c.Write(ctx, func(tx *store.Tx) error {
		var err error
		if t, err = tx.DeleteSCIMToken(ctx, a.Seq, id); err != nil {
			return err
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionSCIMTokenDelete, strconv.FormatInt(t.ID, 10), t.Name)
	})
	return t, core.DBErr(err, "No such provisioning token in this account")
}

// SCIMTokenAccount authenticates a directory's bearer token: the account
// it names and the token. The row is found by the token's hash and the
// hash compared again in constant time; the token's last use is recorded
// at most once a minute. Errors: EUNAUTHENTICATED (an unknown or revoked
// token, or anything that is not one).
func (s *SCIM) SCIMTokenAccount(ctx context.Context, token string) (roster.Account, roster.SCIMToken, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > maxTokenLen {
		return roster.Account{}, roster.SCIMToken{}, errBadToken()
	}
	hash := core.HashToken(token)
	t, stored, a, err := s.c.DB.SCIMTokenByHash(ctx, hash)
	if errors.Is(err, store.ErrNoRows) {
		return roster.Account{}, roster.SCIMToken{}, errBadToken()
	} else if err != nil {
		return roster.Account{}, roster.SCIMToken{}, err
	}
	if subtle.ConstantTimeCompare(stored, hash) != 1 {
		return roster.Account{}, roster.SCIMToken{}, errBadToken()
	}
	if now := s.c.DB.Now(); t.LastUsedAt.IsZero() || now.Sub(t.LastUsedAt) >= touchEvery {
		// Best effort: a request is not refused for its bookkeeping.
		if err := s.c.DB.TouchSCIMToken(context.WithoutCancel(ctx), t.ID); err != nil {
			s.c.Log().Warn("record SCIM token use", "err", err)
		}
	}
	return a, t, nil
}
