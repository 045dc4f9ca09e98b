package scim

// TEMPORARY (issue 23): stand-ins with the exact signatures the scimadmin
// helper builds (service/scim/tokens.go, settings.go), so the protocol's
// tests run before that branch merges. The lead deletes this file (and
// store.StubSCIMToken, store.StubSCIMSettings) at merge.

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
)

// SCIMTokenAccount returns the account a SCIM bearer token names.
// Errors: EUNAUTHENTICATED for an unknown token.
func (s *SCIM) SCIMTokenAccount(ctx context.Context, token string) (roster.Account, roster.SCIMToken, error) {
	t, err := s.c.DB.StubSCIMToken(ctx, core.HashToken(token))
	if errors.Is(err, store.ErrNoRows) {
		return roster.Account{}, t, roster.Errorf(roster.EUNAUTHENTICATED, "The SCIM token is not valid")
	} else if err != nil {
		return roster.Account{}, t, err
	}
	var a roster.Account
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		a, err = tx.AccountBySeq(ctx, t.AccountSeq)
		return err
	})
	return a, t, err
}

// SCIMSettings returns the account's provisioning settings, the defaults
// when none were saved.
func (s *SCIM) SCIMSettings(ctx context.Context, accountSeq int64) (roster.SCIMSettings, error) {
	role, groups, err := s.c.DB.StubSCIMSettings(ctx, accountSeq)
	if errors.Is(err, store.ErrNoRows) {
		return roster.SCIMSettings{DefaultRole: roster.RoleSupport, GroupRoles: map[string]roster.Role{}}, nil
	} else if err != nil {
		return roster.SCIMSettings{}, err
	}
	set := roster.SCIMSettings{DefaultRole: role, GroupRoles: map[string]roster.Role{}}
	var raw map[string]string
	if err := json.Unmarshal([]byte(groups), &raw); err != nil {
		return set, err
	}
	for name, r := range raw {
		if role, err := roster.ParseAssignableRole(r); err == nil {
			set.GroupRoles[name] = role
		}
	}
	return set, nil
}
