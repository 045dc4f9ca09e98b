package core

import (
	"context"
	"errors"

	"github.com/rosterhq/roster/store"
)

// FindOrMakeUser returns the user with the address, in tx, made when
// there is none: without a password (an empty hash never verifies; they
// sign in through single sign-on, or set one by a password reset) and
// with the address verified, because whoever calls this vouches for it (a
// single sign-on provider, or the company's directory over SCIM on a
// domain the account verified). A found user who never verified the
// address may be a stranger's sign-up: the address is now proven to be
// this person's, so it is marked verified and the stranger's name (name
// replaces it), password and open links end, as when an invitation
// proves it. made says whether the user was created.
func (s *Core) FindOrMakeUser(ctx context.Context, tx *store.Tx, email, name string) (uid int64, made bool, err error) {
	uid, err = tx.UserIDByEmail(ctx, email)
	if errors.Is(err, store.ErrNoRows) {
		uid, err = tx.CreateUser(ctx, email, name, "", true)
		return uid, err == nil, err
	} else if err != nil {
		return 0, false, err
	}
	u, err := tx.User(ctx, uid)
	if err != nil || u.EmailVerified {
		return uid, false, err
	}
	if err := tx.SetUserProfile(ctx, uid, "", name); err != nil {
		return 0, false, err
	}
	if err := tx.EndVerifications(ctx, uid); err != nil {
		return 0, false, err
	}
	return uid, false, tx.MarkVerified(ctx, uid)
}
