// Package guard holds what keeps identity from being guessed or flooded: the
// bound on password hashing, the login throttle and the mail limits. Each
// limit is kept in the database (store.Hit), so it holds across replicas.
package guard

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
)

// passwordParams: argon2id as OWASP recommends (19 MiB, 2 passes, 1 lane).
var passwordParams = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// dummyHash is compared against when no user has the address, so a login
// for an unknown address takes as long as one for a known one.
var dummyHash, _ = argon2id.CreateHash("not a password of anyone", passwordParams)

// HashSlot waits for one of the Config.HashConcurrency slots for an argon2id
// computation (19 MiB and tens of milliseconds of one core each). Without
// a bound, a flood of logins takes all memory and every core; with it, the
// extra attempts wait up to Config.HashWait and then get EUNAVAILABLE.
func (s *Guard) HashSlot(ctx context.Context) (release func(), err error) {
	s.hashOnce.Do(func() {
		n := s.c.Config.HashConcurrency
		if n < 1 {
			n = 1
		}
		s.hashSlots = make(chan struct{}, n)
	})
	release = func() { <-s.hashSlots }
	select {
	case s.hashSlots <- struct{}{}:
		s.c.Stats.Hashes.Add(1)
		return release, nil
	default:
	}
	t := time.NewTimer(s.c.Config.HashWait)
	defer t.Stop()
	select {
	case s.hashSlots <- struct{}{}:
		s.c.Stats.Hashes.Add(1)
		return release, nil
	case <-t.C:
		s.c.Stats.HashBusy.Add(1)
		return nil, roster.Retry(roster.EUNAVAILABLE, time.Second, "Too many sign-ins at once: try again in a second")
	case <-ctx.Done():
		// The client gave up waiting: not a server fault.
		return nil, roster.Retry(roster.EUNAVAILABLE, time.Second, "Too many sign-ins at once: try again in a second")
	}
}

// HashPassword checks a new password against the rules and hashes it.
// Errors: EINVALID (with why), EUNAVAILABLE.
func (s *Guard) HashPassword(ctx context.Context, pw, email string) (string, error) {
	if err := password.Check(pw, email); err != nil {
		return "", err
	}
	release, err := s.HashSlot(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return argon2id.CreateHash(pw, passwordParams)
}

// ComparePassword compares pw with hash ("" compares with a dummy, so an
// unknown address costs the same). The caller holds a hashing slot.
func ComparePassword(pw, hash string) (bool, error) {
	if len(pw) > 1024 {
		pw = pw[:1024] // longer passwords are never set; bound the work
	}
	if hash == "" {
		argon2id.ComparePasswordAndHash(pw, dummyHash)
		return false, nil
	}
	return argon2id.ComparePasswordAndHash(pw, hash)
}

// The login throttle. Three counters per attempt, each over a window of
// LoginWindow: the address, the address from this client, and the client.
// Hits are counted before the password is hashed; a success takes them back.
//   - address and address-from-client: 4 failures free, then a wait of
//     2^(n-4) s after the n-th (2 s ... 32 s), and after 10 the rest of
//     the window. The address-wide counter is not applied from a client the
//     user has logged in from before (KnownLoginAge), so an attacker cannot
//     lock the user out where they usually sign in.
//   - client: 50 failures free, then 2^(n-50) s, at most the window; 300
//     in a window is the cap.
const (
	loginAddrFree = 4
	loginAddrMax  = 10
	loginIPFree   = 50
	loginIPMax    = 300
)

type throttleKey struct {
	key       string
	free, max int
	enforced  bool
}

// IPKey is the client part of a throttle key: the address for IPv4, the
// /64 network for IPv6 (one host usually has a whole /64).
func IPKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// wait is how long a counter holds further attempts back.
func (k throttleKey) wait(t store.Throttle, now time.Time, window time.Duration) time.Duration {
	if t.Hits == 0 || !t.WindowStart.Add(window).After(now) {
		return 0
	}
	if t.Hits >= k.max {
		return t.WindowStart.Add(window).Sub(now)
	}
	if t.Hits <= k.free {
		return 0
	}
	d := time.Second << min(t.Hits-k.free, 20)
	if d > window {
		d = window
	}
	return t.LastAt.Add(d).Sub(now)
}

// LoginTry is one login attempt's place in the throttle.
type LoginTry struct {
	s     *Guard
	email string
	ip    string
	keys  []throttleKey
}

// LoginCheck reads the throttle for an attempt on email from ip. Errors:
// ERATELIMITED with RetryAfter; nothing is hashed or written then.
func (s *Guard) LoginCheck(ctx context.Context, email, ip string, knownClient bool) (*LoginTry, error) {
	s.PruneThrottles(ctx)
	client := IPKey(ip)
	t := &LoginTry{s: s, email: email, ip: ip, keys: []throttleKey{
		{key: "login:addr:" + email, free: loginAddrFree, max: loginAddrMax, enforced: !knownClient},
		{key: "login:pair:" + email + "|" + client, free: loginAddrFree, max: loginAddrMax, enforced: true},
		{key: "login:ip:" + client, free: loginIPFree, max: loginIPMax, enforced: true},
	}}
	state, err := s.c.DB.Throttles(ctx, t.keys[0].key, t.keys[1].key, t.keys[2].key)
	if err != nil {
		return nil, err
	}
	now, window := s.c.DB.Now(), s.c.Config.LoginWindow
	var wait time.Duration
	for _, k := range t.keys {
		if k.enforced {
			wait = max(wait, k.wait(state[k.key], now, window))
		}
	}
	if wait > 0 {
		return nil, t.Throttled(wait)
	}
	return t, nil
}

// Throttled counts and logs a refused attempt and returns its error:
// ERATELIMITED, to retry after d.
func (t *LoginTry) Throttled(d time.Duration) error {
	t.s.c.Stats.LoginThrottled.Add(1)
	t.s.c.Log().Warn("login throttled", "email", MaskEmail(t.email), "ip", t.ip, "retry_after", d.Round(time.Second))
	return roster.Retry(roster.ERATELIMITED, d, "Too many failed sign-ins: try again in %s", roster.DurationWords(d))
}

// Hit counts the attempt as a failure before its password is hashed, so
// parallel guesses count too; Succeeded takes it back. Each counter's
// limit holds in the database even under contention. Errors: ERATELIMITED.
func (t *LoginTry) Hit(ctx context.Context) error {
	for _, k := range t.keys {
		_, ok, err := t.s.c.DB.Hit(ctx, k.key, t.s.c.Config.LoginWindow, k.max, 0)
		if err != nil {
			return err
		}
		if !ok && k.enforced {
			return t.Throttled(t.s.c.Config.LoginWindow)
		}
	}
	return nil
}

// Undo takes the attempt's hits back: the password was right, but the
// login waits for its second factor.
func (t *LoginTry) Undo(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	for _, k := range t.keys {
		if err := t.s.c.DB.Unhit(ctx, k.key); err != nil {
			t.s.c.Log().Warn("clear login throttle", "err", err)
		}
	}
}

// Succeeded is called when the password was right: the address's counters
// start again; the client's loses this attempt.
func (t *LoginTry) Succeeded(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	for _, k := range t.keys {
		var err error
		if strings.HasPrefix(k.key, "login:ip:") {
			err = t.s.c.DB.Unhit(ctx, k.key)
		} else {
			err = t.s.c.DB.ClearThrottles(ctx, k.key)
		}
		if err != nil {
			t.s.c.Log().Warn("clear login throttle", "err", err)
		}
	}
}

// ClientCheck starts a sign-in whose address is not known yet (a
// passkey's, until its credential is found): only the client's counter
// is checked; Hit counts it. Found adds the address's counters once the
// address is known. Errors: ERATELIMITED (with the wait), EUNAVAILABLE.
func (s *Guard) ClientCheck(ctx context.Context, ip string) (*LoginTry, error) {
	s.PruneThrottles(ctx)
	t := &LoginTry{s: s, ip: ip, keys: []throttleKey{
		{key: "login:ip:" + IPKey(ip), free: loginIPFree, max: loginIPMax, enforced: true},
	}}
	return t, t.check(ctx, t.keys)
}

// Found adds the address's counters (as LoginCheck has them) to a try
// ClientCheck started, checks them and counts this attempt against them.
// Errors: ERATELIMITED, EUNAVAILABLE.
func (t *LoginTry) Found(ctx context.Context, email string, knownClient bool) error {
	t.email = email
	client := IPKey(t.ip)
	more := []throttleKey{
		{key: "login:addr:" + email, free: loginAddrFree, max: loginAddrMax, enforced: !knownClient},
		{key: "login:pair:" + email + "|" + client, free: loginAddrFree, max: loginAddrMax, enforced: true},
	}
	if err := t.check(ctx, more); err != nil {
		return err
	}
	t.keys = append(t.keys, more...)
	for _, k := range more {
		_, ok, err := t.s.c.DB.Hit(ctx, k.key, t.s.c.Config.LoginWindow, k.max, 0)
		if err != nil {
			return err
		}
		if !ok && k.enforced {
			return t.Throttled(t.s.c.Config.LoginWindow)
		}
	}
	return nil
}

// check refuses the try while one of keys' enforced counters asks to wait.
func (t *LoginTry) check(ctx context.Context, keys []throttleKey) error {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.key
	}
	state, err := t.s.c.DB.Throttles(ctx, names...)
	if err != nil {
		return err
	}
	now, window := t.s.c.DB.Now(), t.s.c.Config.LoginWindow
	var wait time.Duration
	for _, k := range keys {
		if k.enforced {
			wait = max(wait, k.wait(state[k.key], now, window))
		}
	}
	if wait > 0 {
		return t.Throttled(wait)
	}
	return nil
}

// ResetWindow is the window of the password-reset limits, here because
// pruning keeps each counter as long as its window.
const ResetWindow = 15 * time.Minute

// FlowStartWindow is the window of the sign-in flows a client may start
// (FlowStartsPerIP of each kind: single sign-on, passkey sign-in). Each
// start stores a row until it expires (and a single sign-on asks the
// provider), so a client's starts are bounded; the bound is high enough
// for a company's office behind one address signing in at nine.
const FlowStartWindow = 10 * time.Minute

// FlowStartsPerIP is the most starts of one kind per client (IPv4
// address, IPv6 /64) per FlowStartWindow.
const FlowStartsPerIP = 300

// PruneThrottles deletes counters whose window has passed, at most once a
// minute per process, so a flood of made-up addresses does not grow the
// table without end.
func (s *Guard) PruneThrottles(ctx context.Context) {
	now := s.c.DB.Now()
	last := s.lastPrune.Load()
	if now.Unix()-last < 60 || !s.lastPrune.CompareAndSwap(last, now.Unix()) {
		return
	}
	n, err := s.c.DB.PruneThrottles(context.WithoutCancel(ctx), map[string]time.Duration{
		"login:": s.c.Config.LoginWindow, "mail:": 24 * time.Hour, "reset:": ResetWindow, "signup:": s.c.Config.SignupWindow,
		"verify:": ResetWindow, "sso:": FlowStartWindow, "passkey:": FlowStartWindow,
	})
	if err != nil {
		s.c.Log().Warn("prune throttles", "err", err)
	} else if n > 0 {
		s.c.Log().Info("pruned throttles", "rows", n)
	}
}

// Limit counts one request of kind ("reset:ip:", "signup:ip:", ...) from
// who, at most most in a window of window. Past it the request is refused
// with ERATELIMITED and the time until the window ends (format gets it, as
// "N seconds" or "N minutes"), and refused is counted. The count holds in
// the database, across replicas and under contention.
func (s *Guard) Limit(ctx context.Context, kind, who string, window time.Duration, most int, refused *atomic.Int64, format string) error {
	key := kind + who
	_, ok, err := s.c.DB.Hit(ctx, key, window, most, 0)
	if err != nil || ok {
		return err
	}
	wait := window
	if st, err := s.c.DB.Throttles(ctx, key); err == nil {
		if t, found := st[key]; found {
			wait = max(time.Second, t.WindowStart.Add(window).Sub(s.c.DB.Now()))
		}
	}
	refused.Add(1)
	if strings.Contains(who, "@") {
		who = MaskEmail(who)
	}
	s.c.Log().Warn("throttled", "kind", strings.TrimSuffix(kind, ":"), "who", who, "retry_after", wait.Round(time.Second))
	return roster.Retry(roster.ERATELIMITED, wait, format, roster.DurationWords(wait))
}

// MaskEmail shortens an address for logs: its first letter and domain.
func MaskEmail(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at <= 0 {
		if len(email) > 3 {
			return email[:1] + "***"
		}
		return "***"
	}
	return email[:1] + "***" + email[at:]
}

// MailAllowed takes one identity mail (verification, sign-up notice,
// password reset) from the address's allowance: one a minute and
// Config.MailsPerDay a day. A false answer sends nothing; the caller's
// HTTP answer stays the same, so it reveals nothing.
func (s *Guard) MailAllowed(ctx context.Context, email string) bool {
	_, ok, err := s.c.DB.Hit(ctx, "mail:"+email, 24*time.Hour, s.c.Config.MailsPerDay, time.Minute)
	if err != nil {
		s.c.Log().Error("mail limit", "err", err)
		return false
	}
	if !ok {
		s.c.Stats.MailSuppressed.Add(1)
		s.c.Log().Warn("mail limit reached: not sent", "to", MaskEmail(email))
	}
	return ok
}

// Guard is the identity room's bound on hashing and its throttles, over
// the floor.
type Guard struct {
	c         *core.Core
	hashOnce  sync.Once
	hashSlots chan struct{}
	lastPrune atomic.Int64 // unix seconds of the last throttle pruning
}

// New returns the guard over the floor c.
func New(c *core.Core) *Guard { return &Guard{c: c} }
