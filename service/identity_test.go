package service_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// The identity room: sign-up and the login throttle.

// TestSignup_OnlyTheVerifiedAttemptsPasswordWorks: two sign-ups for one
// unverified address each get their own link; the link used decides the
// password (and name): the other attempt's password is refused, and the
// other link is dead (EINVALID), including a second use of the one used.
func TestSignup_OnlyTheVerifiedAttemptsPasswordWorks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		useLink int // 1 or 2
	}{
		{"second attempt verified through its own link", 2},
		{"first attempt verified after the second sign-up", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			eachBackend(t, func(t *testing.T, e *env) {
				const email = "ada@acme-corp.com"
				names := [3]string{"", "Ada", "Ada Lovelace"}
				pws := [3]string{"", password1, password2}
				res, err := e.svc.Signup(e.ctx, service.SignupInput{Email: email, Password: pws[1], Name: names[1]}, clientIP)
				if err != nil || !res.Registered {
					t.Fatalf("first sign-up: %+v, %v", res, err)
				}
				links := [3]string{"", e.mail.token(t, email, "verify"), ""}
				// Unverified: the right password says so, nothing more.
				_, _, err = e.login(email, pws[1], clientIP)
				wantCode(t, "login before verifying", err, roster.EEMAILUNVERIFIED)

				e.clock.advance(2 * time.Minute) // one identity mail a minute per address
				res2, err := e.svc.Signup(e.ctx, service.SignupInput{Email: "  ADA@acme-corp.com", Password: pws[2], Name: names[2]}, "198.51.100.20")
				if err != nil {
					t.Fatalf("second sign-up: %v", err)
				}
				if res2.Registered || res2.Account.ID != "" {
					t.Errorf("second sign-up revealed the registered address: %+v", res2)
				}
				if n := len(e.mail.to(email)); n != 2 {
					t.Fatalf("%d mails to %s, want 2", n, email)
				}
				links[2] = e.mail.token(t, email, "verify")
				if links[1] == links[2] {
					t.Fatal("both sign-ups got the same link")
				}

				use, other := tc.useLink, 3-tc.useLink
				u, err := e.svc.VerifyEmail(e.ctx, links[use])
				if err != nil || u.ID != res.User.ID {
					t.Fatalf("VerifyEmail(link %d): %+v, %v", use, u, err)
				}
				_, u, err = e.login(email, pws[use], clientIP)
				if err != nil {
					t.Fatalf("login with attempt %d's password: %v", use, err)
				}
				if u.Name != names[use] || !u.EmailVerified {
					t.Errorf("user %+v, want name %q, verified", u, names[use])
				}
				ms, _, err := e.svc.Memberships(e.ctx, u.ID, roster.Page{Limit: 10})
				if err != nil || len(ms) != 1 || ms[0].Role != roster.RoleOwner || ms[0].Account.Name != names[use]+"'s account" {
					t.Errorf("memberships %+v, %v; want one owned account named for %q", ms, err, names[use])
				}
				_, _, err = e.login(email, pws[other], clientIP)
				wantCode(t, fmt.Sprintf("login with attempt %d's password", other), err, roster.EUNAUTHENTICATED)

				for _, i := range []int{other, use} {
					_, err = e.svc.VerifyEmail(e.ctx, links[i])
					wantCode(t, fmt.Sprintf("link %d after verification", i), err, roster.EINVALID)
				}
				// The dead links changed nothing.
				if _, u2, err := e.login(email, pws[use], clientIP); err != nil || u2.Name != names[use] {
					t.Errorf("login after the dead links: %+v, %v", u2, err)
				}
				_, _, err = e.login(email, pws[other], clientIP)
				wantCode(t, "other password after the dead links", err, roster.EUNAUTHENTICATED)
			})
		})
	}
}

// TestSignup_Refusals: sign-up refusals answer their code and field, make
// no user (the address stays free) and send no mail.
func TestSignup_Refusals(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		cases := []struct {
			name, email, password, personName string
			code, field                       string
		}{
			{"personal domain", "ada@gmail.com", password1, "Ada", roster.EPERSONALDOMAIN, "email"},
			{"disposable domain", "ada@mailinator.com", password1, "Ada", roster.EPERSONALDOMAIN, "email"},
			{"not an address", "ada-at-acme-corp.com", password1, "Ada", roster.EINVALID, "email"},
			{"short password", "ada@acme-corp.com", "short pw", "Ada", roster.EINVALID, "password"},
			{"password holds the address's name", "lovelace@acme-corp.com", "i am lovelace, hello", "Ada", roster.EINVALID, "password"},
			{"name with a link", "ada@acme-corp.com", password1, "visit evil.example.com", roster.EINVALID, "name"},
			{"no name", "ada@acme-corp.com", password1, "  ", roster.EINVALID, "name"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res, err := e.svc.Signup(e.ctx, service.SignupInput{Email: tc.email, Password: tc.password, Name: tc.personName}, clientIP)
				wantCode(t, tc.name, err, tc.code)
				if roster.FieldOf(err) != tc.field {
					t.Errorf("field %q, want %q (%v)", roster.FieldOf(err), tc.field, err)
				}
				if res.User.ID != 0 || res.Account.ID != "" {
					t.Errorf("refused sign-up answered %+v", res)
				}
			})
		}
		if sent := len(e.mail.all()); sent != 0 {
			t.Errorf("refused sign-ups sent %d mails", sent)
		}
		// The addresses are still free: a valid sign-up takes one.
		p, a := e.signup("ada@acme-corp.com", "Ada")
		if p.ID == 0 || a.ID == "" || a.Plan != roster.PlanStandard {
			t.Errorf("sign-up after the refusals: %+v, %+v", p, a)
		}
	})
}

// TestSignup_VerifiedAddressAgainChangesNothing: a sign-up for a verified
// address answers like a new one, mails its owner, and changes neither the
// password nor the accounts.
func TestSignup_VerifiedAddressAgainChangesNothing(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		const email = "ada@acme-corp.com"
		p, acct := e.signup(email, "Ada")
		before := e.state(p, acct.ID)
		e.clock.advance(2 * time.Minute)
		res, err := e.svc.Signup(e.ctx, service.SignupInput{Email: email, Password: password2, Name: "Mallory"}, "198.51.100.66")
		if err != nil || res.Registered {
			t.Fatalf("sign-up of a verified address: %+v, %v; want no error, not registered", res, err)
		}
		msgs := e.mail.to(email)
		if len(msgs) != 2 || linkRE.MatchString(msgs[1].Text) {
			t.Errorf("want one notice without a link after the verification mail, got %d mails: %+v", len(msgs), msgs)
		}
		if _, _, err := e.login(email, password2, clientIP); roster.ErrorCode(err) != roster.EUNAUTHENTICATED {
			t.Errorf("the newcomer's password: %v, want %s", err, roster.EUNAUTHENTICATED)
		}
		if _, u, err := e.login(email, password1, clientIP); err != nil || u.Name != "Ada" {
			t.Errorf("the owner's password: %+v, %v", u, err)
		}
		if after := e.state(p, acct.ID); !reflect.DeepEqual(before.Members, after.Members) || before.Account != after.Account {
			t.Errorf("the account changed:\nbefore %+v\nafter  %+v", before, after)
		}
		if ms, total, _ := e.svc.Memberships(e.ctx, p.ID, roster.Page{Limit: 10}); total != 1 || len(ms) != 1 {
			t.Errorf("the user has %d accounts, want 1", total)
		}
	})
}

// TestLogin_Throttle: wrong passwords for one address from one client are
// free 4 times, then held back (ERATELIMITED with a wait), before any
// hashing, even for the right password; the wait ends when the clock
// passes it. After 10 failures the rest of the window is the wait.
func TestLogin_Throttle(t *testing.T) {
	t.Parallel()
	const attacker = "198.51.100.7"
	eachBackend(t, func(t *testing.T, e *env) {
		t.Run("backoff after the free failures", func(t *testing.T) {
			const email = "ada@acme-corp.com"
			e.signup(email, "Ada")
			throttledAt := 0
			var rl error
			for i := 1; i <= 8 && throttledAt == 0; i++ {
				_, _, err := e.login(email, "wrong password number "+fmt.Sprint(i), attacker)
				switch roster.ErrorCode(err) {
				case roster.EUNAUTHENTICATED:
				case roster.ERATELIMITED:
					throttledAt, rl = i, err
				default:
					t.Fatalf("attempt %d: %v", i, err)
				}
			}
			if throttledAt != 6 {
				t.Fatalf("throttled at attempt %d, want 6 (4 free failures, then 2 s after the 5th)", throttledAt)
			}
			wait := roster.RetryAfter(rl)
			if wait <= 0 || wait > 2*time.Second {
				t.Fatalf("RetryAfter %v, want (0, 2s]", wait)
			}
			// Held back before hashing: the right password is refused too,
			// and nothing is hashed or counted.
			hashes := e.svc.Stats.Hashes.Load()
			_, _, err := e.login(email, password1, attacker)
			wantCode(t, "right password while held back", err, roster.ERATELIMITED)
			if got := e.svc.Stats.Hashes.Load(); got != hashes {
				t.Errorf("a throttled attempt hashed (%d -> %d)", hashes, got)
			}
			if w := roster.RetryAfter(err); w <= 0 || w > wait {
				t.Errorf("second RetryAfter %v, want (0, %v]", w, wait)
			}
			e.clock.advance(wait + time.Millisecond)
			if _, _, err := e.login(email, password1, attacker); err != nil {
				t.Errorf("right password after the wait: %v", err)
			}
		})
		t.Run("the rest of the window after 10 failures", func(t *testing.T) {
			const email = "grace@acme-corp.com"
			e.signup(email, "Grace")
			failures := 0
			var rl error
			for i := 0; i < 40 && rl == nil; i++ {
				_, _, err := e.login(email, "wrong password again", attacker)
				switch roster.ErrorCode(err) {
				case roster.EUNAUTHENTICATED:
					failures++
				case roster.ERATELIMITED:
					w := roster.RetryAfter(err)
					if w <= 0 {
						t.Fatalf("ERATELIMITED without a wait: %v", err)
					}
					if failures >= 10 {
						rl = err
						continue
					}
					e.clock.advance(w + time.Millisecond) // wait out the backoff, keep guessing
				default:
					t.Fatalf("attempt %d: %v", i, err)
				}
			}
			if rl == nil || failures != 10 {
				t.Fatalf("%d failures counted before the window lock (%v), want 10", failures, rl)
			}
			wait := roster.RetryAfter(rl)
			if wait <= 32*time.Second || wait > e.svc.Config.LoginWindow {
				t.Fatalf("RetryAfter after 10 failures %v, want the rest of the %v window", wait, e.svc.Config.LoginWindow)
			}
			// Just before the window ends: still held back.
			e.clock.advance(wait - 5*time.Second)
			_, _, err := e.login(email, password1, attacker)
			wantCode(t, "right password just before the window ends", err, roster.ERATELIMITED)
			e.clock.advance(5*time.Second + time.Millisecond)
			if _, _, err := e.login(email, password1, attacker); err != nil {
				t.Errorf("right password after the window: %v", err)
			}
		})
	})
}

// ---------------------------------------------------------------------------
// 4. CheckUser and CheckKey
