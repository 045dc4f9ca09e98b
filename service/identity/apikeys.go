package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
)

// KeyPrefix starts every personal API key, so a leaked one is recognizable.
const KeyPrefix = "rk_"

// CreateAPIKey makes a personal API key for the user in the account and
// returns it: the only time the key is shown. It acts with the member's
// current role and dies with the membership. Errors: EINVALID, ENOTFOUND.
func (s *Identity) CreateAPIKey(ctx context.Context, u roster.User, authID, name, ip string) (roster.APIKey, string, error) {
	name, err := core.CleanName(name, "name")
	if err != nil {
		return roster.APIKey{}, "", err
	}
	a, _, err := s.c.Account(ctx, u.ID, authID)
	if err != nil {
		return roster.APIKey{}, "", err
	}
	b := make([]byte, 32)
	rand.Read(b)
	key := KeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	k := roster.APIKey{AccountID: a.ID, Name: name, Prefix: key[:10]}
	err = s.c.Write(ctx, func(tx *store.Tx) error {
		id, err := tx.CreateAPIKey(ctx, a.Seq, u.ID, name, k.Prefix, core.HashToken(key))
		if err != nil {
			return err
		}
		k.ID, k.CreatedAt = id, tx.Now()
		return tx.Audit(ctx, a.Seq, roster.Actor{UserID: u.ID, Email: u.Email, IP: ip}, roster.ActionApiKeyCreate, k.Prefix, name)
	})
	if err != nil {
		return k, "", core.DBErr(err, "No such account")
	}
	return k, key, nil
}

// APIKeys lists the user's keys (never the keys themselves).
func (s *Identity) APIKeys(ctx context.Context, u roster.User) ([]roster.APIKey, error) {
	return s.c.DB.APIKeys(ctx, u.ID)
}

// DeleteAPIKey deletes one of the user's keys and audits it in the key's
// account. Errors: ENOTFOUND.
func (s *Identity) DeleteAPIKey(ctx context.Context, u roster.User, id int64, ip string) error {
	return core.DBErr(s.c.Write(ctx, func(tx *store.Tx) error {
		acct, prefix, name, err := tx.DeleteAPIKey(ctx, u.ID, id)
		if err != nil {
			return err
		}
		return tx.Audit(ctx, acct, roster.Actor{UserID: u.ID, Email: u.Email, IP: ip}, roster.ActionApiKeyDelete, prefix, name)
	}), "No such API key")
}

// KeyMember resolves a personal API key, from memory, to its key ID,
// account and user. ok is false for an unknown or deleted key.
func (s *Identity) KeyMember(key string) (keyID, accountSeq, userID int64, ok bool) {
	return s.c.Index.Key([32]byte(core.HashToken(key)))
}

// TouchAPIKey records a key's use, best effort.
func (s *Identity) TouchAPIKey(ctx context.Context, keyID int64) {
	if err := s.c.DB.TouchAPIKey(ctx, keyID); err != nil && !errors.Is(err, context.Canceled) {
		s.c.Log().Warn("record API key use", "err", err)
	}
}

// KeyExists reports whether a personal API key exists, from memory or,
// when this replica has not seen it yet, from the database.
func (s *Identity) KeyExists(ctx context.Context, key string) (bool, error) {
	if _, _, _, ok := s.KeyMember(key); ok {
		return true, nil
	}
	return s.c.DB.APIKeyExists(ctx, core.HashToken(key))
}
