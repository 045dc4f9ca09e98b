package service_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/service"
	"github.com/rosterhq/roster/store"
)

// TestRetention_PrunesUsersWhoNeverVerified: a user who never verified is
// deleted with the account they made once their link has expired, here and
// on a replica (through the change log); the address is free again, and an
// invitation sent to it meanwhile still works. Kept: a user whose link (or
// reset link) is live, who belongs to someone else's account, or whose
// account has another member, and every verified user.
func TestRetention_PrunesUsersWhoNeverVerified(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		owner, acct := e.signup("owner@acme-corp.com", "Owner")
		acct = e.commit(acct)
		unverified := func(email string) service.SignupResult {
			t.Helper()
			res, err := e.svc.Signup(e.ctx, service.SignupInput{Email: email, Password: password2, Name: "Never"}, clientIP)
			if err != nil || !res.Registered {
				t.Fatalf("Signup(%s): %+v, %v", email, res, err)
			}
			return res
		}
		gone := unverified("never@globex-industries.com")
		invited := unverified("invited@globex-industries.com")
		if _, err := e.svc.Invite(e.ctx, acct, invited.User.Email, "developer", owner.actor()); err != nil {
			t.Fatal(err)
		}
		inAnother := unverified("member@globex-industries.com")
		joined := unverified("joined@globex-industries.com")
		resetting := unverified("resetting@globex-industries.com")
		// Neither the API nor the console lets an unverified user into
		// anyone's account, nor anyone into theirs; the schema allows it,
		// and the prune must then take no account's member or history.
		member := func(accountID string, userID int64) {
			t.Helper()
			q := fmt.Sprintf(`INSERT INTO members (account_id, user_id, role, joined_at)
				SELECT id, %d, %d, 0 FROM accounts WHERE auth_id = '%s'`, userID, roster.RoleDeveloper, accountID)
			if _, err := e.db.SQL().Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		member(acct.ID, inAnother.User.ID)
		member(joined.Account.ID, owner.ID)

		replica := service.New(e.db, e.mail, nil, e.svc.Config, nil)
		if err := replica.LoadIndex(e.ctx); err != nil {
			t.Fatal(err)
		}
		for _, svc := range []*service.Service{e.svc, replica} {
			if d, _ := svc.CheckUser(e.ctx, gone.Account.ID, gone.User.ID, roster.NumbersView); d.Reason == authz.ReasonNotMember {
				t.Fatalf("the unverified owner is not in the index to begin with: %+v", d)
			}
		}
		prune := func() {
			t.Helper()
			if err := e.svc.Prune(e.ctx, store.Retention{}); err != nil {
				t.Fatal(err)
			}
		}
		exists := func(email string) bool {
			t.Helper()
			_, _, err := e.db.UserByEmail(e.ctx, email)
			if err != nil && !errors.Is(err, store.ErrNoRows) {
				t.Fatal(err)
			}
			return err == nil
		}

		// Not before the link expires.
		e.clock.advance(e.svc.Config.VerifyTTL - time.Minute)
		prune()
		if !exists(gone.User.Email) {
			t.Fatal("a user was pruned while their verification link was live")
		}
		e.clock.advance(2 * time.Minute)
		// A reset link proves the address too: while one is live, the user stays.
		_, hash := service.NewToken()
		if err := e.db.Transact(e.ctx, func(tx *store.Tx) error {
			return tx.CreatePasswordReset(e.ctx, resetting.User.ID, hash, time.Hour)
		}); err != nil {
			t.Fatal(err)
		}
		prune()

		if exists(gone.User.Email) || exists(invited.User.Email) {
			t.Error("a user who never verified outlived their link")
		}
		if _, err := e.db.Account(e.ctx, gone.Account.ID); !errors.Is(err, store.ErrNoRows) {
			t.Errorf("the account of a pruned user: %v, want it gone", err)
		}
		for _, email := range []string{owner.Email, inAnother.User.Email, joined.User.Email, resetting.User.Email} {
			if !exists(email) {
				t.Errorf("%s was pruned", email)
			}
		}
		if _, err := e.db.Account(e.ctx, joined.Account.ID); err != nil {
			t.Errorf("the account with another member was pruned: %v", err)
		}
		if n := len(e.state(owner, acct.ID).Members); n != 2 {
			t.Errorf("the owner's account has %d members, want 2", n)
		}
		if err := replica.CatchUpOrReload(e.ctx); err != nil {
			t.Fatal(err)
		}
		for i, svc := range []*service.Service{e.svc, replica} {
			if d, _ := svc.CheckUser(e.ctx, gone.Account.ID, gone.User.ID, roster.NumbersView); d.Allowed || d.Reason != authz.ReasonNotMember {
				t.Errorf("service %d still knows the pruned owner: %+v", i, d)
			}
		}

		// The invitation to the pruned address still works: it names the
		// address, not the user; the address signs up afresh.
		res, err := e.svc.Signup(e.ctx, service.SignupInput{Password: password1, Name: "Invitee",
			InvitationToken: e.mail.token(t, invited.User.Email, "invite")}, clientIP)
		if err != nil || res.Account.ID != acct.ID {
			t.Fatalf("sign-up from the invitation to a pruned address: %+v, %v", res, err)
		}
		if again := unverified(gone.User.Email); again.User.ID == gone.User.ID || again.Account.ID == gone.Account.ID {
			t.Errorf("signing up again reused the pruned user or account: %+v", again)
		}

		// The reset link expired: now that user goes too.
		e.clock.advance(2 * time.Hour)
		prune()
		if exists(resetting.User.Email) {
			t.Error("a user who never verified outlived their reset link")
		}
		wantCode(t, "account of the pruned owner", func() error { _, _, err := e.svc.Account(e.ctx, owner.ID, gone.Account.ID); return err }(), roster.ENOTFOUND)
	})
}
