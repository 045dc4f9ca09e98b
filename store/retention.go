package store

import (
	"context"
	"math"
	"strings"
	"time"
)

// Retention says how long the tables that grow with use keep their rows.
// A zero field takes its default (a zero SessionIdle or KnownLogins
// disables that rule). Invitations and audit events are never pruned: they
// are the team's history.
type Retention struct {
	// SessionIdle: a session unused this long has ended (sessions past
	// expires_at are deleted regardless). 0: only expires_at.
	SessionIdle time.Duration
	// OutboxRetention: mail sent, logged or given up is kept in the
	// outbox this long (default 168h); mail waiting to be sent is kept.
	OutboxRetention time.Duration
	// ChangesRetention: the change log keeps this long (default 24h). The
	// newest change is always kept, so a replica that loads its index reads
	// the real revision. A replica that fell behind what was pruned must
	// reload its index (see OldestRevision).
	ChangesRetention time.Duration
	// ThrottleRetention: a counter not hit this long is deleted (default
	// 24h; it must be at least the longest throttle window).
	ThrottleRetention time.Duration
	// KnownLogins: where a user logged in from is forgotten after this
	// long (0: kept).
	KnownLogins time.Duration
	// Unverified: a user who never verified their address is deleted,
	// with the accounts they own and no one else belongs to, this long
	// after signing up once no verification or reset link of theirs is
	// live (0: kept). A user who belongs to anyone else's account, or
	// whose account has other members, is kept.
	Unverified time.Duration
	// Batch: rows deleted per statement (default 1000), so that a big table
	// never holds a long lock.
	Batch int
}

// Defaults of Retention.
const (
	DefaultOutboxRetention   = 168 * time.Hour
	DefaultChangesRetention  = 24 * time.Hour
	DefaultThrottleRetention = 24 * time.Hour
	DefaultPruneBatch        = 1000
)

func (r Retention) withDefaults() Retention {
	if r.OutboxRetention <= 0 {
		r.OutboxRetention = DefaultOutboxRetention
	}
	if r.ChangesRetention <= 0 {
		r.ChangesRetention = DefaultChangesRetention
	}
	if r.ThrottleRetention <= 0 {
		r.ThrottleRetention = DefaultThrottleRetention
	}
	if r.Batch <= 0 {
		r.Batch = DefaultPruneBatch
	}
	return r
}

// PruneResult counts the rows Prune deleted, per table.
type PruneResult struct {
	Sessions           int64
	EmailVerifications int64
	PasswordResets     int64
	PendingLogins      int64
	Outbox             int64
	Throttles          int64
	KnownLogins        int64
	UnverifiedUsers    int64 // users who never verified, deleted
	Accounts           int64 // the accounts they made, deleted with them
	Changes            int64
	InvitationMails    int64
	FormStates         int64 // the console's one-time form states, expired unread
	SSOFlows           int64 // single sign-ons started and never finished, expired
	SSOAssertions      int64 // accepted SAML assertion IDs, past the assertion's end
	PasskeyFlows       int64 // passkey ceremonies begun and never finished, expired
}

// Total is the number of rows deleted.
func (p PruneResult) Total() int64 {
	return p.Sessions + p.EmailVerifications + p.PasswordResets + p.PendingLogins + p.Outbox +
		p.Throttles + p.KnownLogins + p.UnverifiedUsers + p.Accounts + p.Changes + p.InvitationMails + p.FormStates +
		p.SSOFlows + p.SSOAssertions + p.PasskeyFlows
}

// LogAttrs returns the counts as key-value pairs for slog.
func (p PruneResult) LogAttrs() []any {
	return []any{"sessions", p.Sessions, "email_verifications", p.EmailVerifications,
		"password_resets", p.PasswordResets, "pending_logins", p.PendingLogins, "outbox", p.Outbox,
		"throttles", p.Throttles, "known_logins", p.KnownLogins, "unverified_users", p.UnverifiedUsers,
		"accounts", p.Accounts, "changes", p.Changes, "invitation_mails", p.InvitationMails, "form_states", p.FormStates,
		"sso_flows", p.SSOFlows, "sso_assertions", p.SSOAssertions, "passkey_flows", p.PasskeyFlows}
}

// Prune deletes what has served its purpose, as of now: sessions past
// their end or idle longer than r.SessionIdle; email verifications,
// password resets and pending logins that were used or expired; outbox mail
// no longer pending older than r.OutboxRetention; throttle counters not hit for
// r.ThrottleRetention; known logins older than r.KnownLogins; users who
// never verified, with their own accounts, after r.Unverified (recording
// the changes replicas apply); changes older than r.ChangesRetention
// (always keeping the newest); invitation mail sends older than
// InvitationMailRetention; console form states that expired unread; single
// sign-on flows that expired unfinished and SAML assertion IDs whose
// assertion expired (a replay of it is refused by its own time limit);
// passkey ceremonies that expired unfinished.
//
// Every statement deletes at most r.Batch rows in its own transaction and
// Prune loops until a statement deletes fewer: a big table is never locked
// for long, and writers go between the batches. It deletes only rows that
// no read would accept any more (the same conditions as the reads), so it
// is safe to run on every replica at once. On an error it returns what it
// deleted so far.
func (db *DB) Prune(ctx context.Context, now time.Time, r Retention) (PruneResult, error) {
	r = r.withDefaults()
	n := micros(now)
	var res PruneResult
	// The conditions are those under which the reads refuse a row:
	// SessionUser wants expires_at > now and last_seen_at > now-idle,
	// KnownLogin last_at > now-maxAge, the token reads used_at IS NULL and
	// expires_at > now.
	idleCut := int64(math.MinInt64)
	if r.SessionIdle > 0 {
		idleCut = micros(now.Add(-r.SessionIdle))
	}
	steps := []pruneStep{
		{&res.Sessions, "sessions", "id", "expires_at <= ? OR last_seen_at <= ?", []any{n, idleCut}},
		{&res.EmailVerifications, "email_verifications", "token_hash", "used_at IS NOT NULL OR expires_at <= ?", []any{n}},
		{&res.PasswordResets, "password_resets", "token_hash", "used_at IS NOT NULL OR expires_at <= ?", []any{n}},
		{&res.PendingLogins, "pending_logins", "token_hash", "used_at IS NOT NULL OR expires_at <= ?", []any{n}},
		// Mail still to be sent is kept whatever its age (the worker gives
		// up on it after a day, and then it goes).
		{&res.Outbox, "outbox", "id", "status <> 'pending' AND created_at < ?", []any{micros(now.Add(-r.OutboxRetention))}},
		{&res.Throttles, "throttles", "key", "last_at < ?", []any{micros(now.Add(-r.ThrottleRetention))}},
		// No invitation mail budget counts further back than a day.
		{&res.InvitationMails, "invitation_mails", "id", "sent_at <= ?", []any{micros(now.Add(-InvitationMailRetention))}},
		{&res.FormStates, "form_states", "key_hash", "expires_at <= ?", []any{n}},
		{&res.SSOFlows, "sso_flows", "key_hash", "expires_at <= ?", []any{n}},
		{&res.SSOAssertions, "sso_assertions", "(connection_id, assertion_id)", "expires_at <= ?", []any{n}},
		{&res.PasskeyFlows, "passkey_flows", "key_hash", "expires_at <= ?", []any{n}},
	}
	if r.KnownLogins > 0 {
		steps = append(steps, pruneStep{&res.KnownLogins, "known_logins", "(user_id, ip)", "last_at <= ?", []any{micros(now.Add(-r.KnownLogins))}})
	}
	// Unverified users go first: the links that keep them are still there
	// to be seen (the steps after delete the dead ones, which keep no one).
	if r.Unverified > 0 {
		var err error
		res.UnverifiedUsers, res.Accounts, err = db.pruneUnverified(ctx, now, r.Unverified, r.Batch)
		if err != nil {
			return res, err
		}
	}
	for _, s := range steps {
		cols := strings.Trim(s.key, "()")
		q := `DELETE FROM ` + s.table + ` WHERE ` + s.key + ` IN (SELECT ` + cols + ` FROM ` + s.table + ` WHERE ` + s.where + ` LIMIT ?)`
		deleted, err := db.deleteBatches(ctx, q, r.Batch, s.args...)
		*s.count += deleted
		if err != nil {
			return res, err
		}
	}
	deleted, err := db.pruneChanges(ctx, micros(now.Add(-r.ChangesRetention)), r.Batch)
	res.Changes = deleted
	return res, err
}

// unverifiedWhere holds the users of u that pruneUnverified deletes: never
// verified, signed up at least the age ago (the first ?), no live
// verification or reset link (at the second and third ?: now; either
// would verify the address), and belonging to no account but ones they own
// alone. So someone else's account never loses a member or its history.
const unverifiedWhere = `u.verified_at IS NULL AND u.created_at <= ?
	AND NOT EXISTS (SELECT 1 FROM email_verifications v WHERE v.user_id = u.id AND v.used_at IS NULL AND v.expires_at > ?)
	AND NOT EXISTS (SELECT 1 FROM password_resets p WHERE p.user_id = u.id AND p.used_at IS NULL AND p.expires_at > ?)
	AND NOT EXISTS (SELECT 1 FROM members m WHERE m.user_id = u.id
		AND (m.` + notOwner + ` OR EXISTS (SELECT 1 FROM members o WHERE o.account_id = m.account_id AND o.user_id <> u.id)))`

// pruneUnverified deletes the users unverifiedWhere holds and the accounts
// they own, batch users at a time, each user in its own short transaction
// that checks the conditions again (a verification that commits first
// keeps the user) and records the changes every replica's index applies.
// It returns how many users and accounts it deleted.
func (db *DB) pruneUnverified(ctx context.Context, now time.Time, age time.Duration, batch int) (users, accounts int64, err error) {
	args := []any{micros(now.Add(-age)), micros(now), micros(now)}
	for {
		rows, err := db.query(ctx, `SELECT u.id FROM users u WHERE `+unverifiedWhere+` ORDER BY u.id LIMIT ?`, append(args, batch)...)
		ids, err := collect(rows, err, scanInt64)
		if err != nil {
			return users, accounts, db.d.mapErr(err)
		}
		for _, id := range ids {
			var n int64
			err := db.Transact(ctx, func(tx *Tx) error {
				n = 0
				var still int
				if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM users u WHERE u.id = ? AND `+unverifiedWhere, append([]any{id}, args...), &still); err != nil || still == 0 {
					return err
				}
				accts, err := tx.UserAccounts(ctx, id)
				if err != nil {
					return err
				}
				for _, a := range accts {
					if _, err := tx.Changed(ctx, a, id); err != nil {
						return err
					}
					if _, err := tx.Changed(ctx, a, 0); err != nil {
						return err
					}
					if _, err := tx.exec(ctx, `DELETE FROM accounts WHERE id = ?`, a); err != nil {
						return err
					}
				}
				if _, err := tx.exec(ctx, `DELETE FROM users WHERE id = ?`, id); err != nil {
					return err
				}
				n = int64(len(accts)) + 1
				return nil
			})
			if err != nil {
				return users, accounts, err
			}
			if n > 0 {
				users, accounts = users+1, accounts+n-1
			}
		}
		if len(ids) < batch {
			return users, accounts, nil
		}
	}
}

// pruneStep is one table's rule: delete the rows (by key) matching where.
type pruneStep struct {
	count *int64
	table string
	key   string // a column, or "(a, b)" for a composite key
	where string
	args  []any
}

// pruneChanges deletes the changes older than cut, as a prefix of
// revisions: every change below the first one recorded at or after cut,
// and never the newest. So whatever was deleted is always older than
// whatever remains, and a replica can tell from the oldest remaining
// revision alone whether it missed some (OldestRevision).
func (db *DB) pruneChanges(ctx context.Context, cut int64, batch int) (int64, error) {
	var bound int64
	// Walks the primary key from the oldest change and stops at the first
	// recent one: after the first prune there are few old ones to pass.
	err := db.oneRow(ctx, `SELECT id FROM changes WHERE at >= ? ORDER BY id LIMIT 1`, cut).Scan(&bound)
	if err != nil {
		if err = db.mapNoRows(err); err != ErrNoRows {
			return 0, err
		}
		// Every change is old: keep the newest.
		if bound, err = db.LatestRevision(ctx); err != nil {
			return 0, err
		}
	}
	if bound <= 1 {
		return 0, nil
	}
	return db.deleteBatches(ctx, `DELETE FROM changes WHERE id IN (SELECT id FROM changes WHERE id < ? ORDER BY id LIMIT ?)`, batch, bound)
}

// deleteBatches runs q (whose last placeholder is the batch size) until it
// deletes fewer than batch rows, pausing briefly between full batches so
// other writers get the database.
func (db *DB) deleteBatches(ctx context.Context, q string, batch int, args ...any) (int64, error) {
	q = db.q(q)
	args = append(args, batch)
	var total int64
	for {
		bctx, cancel := db.Bound(ctx)
		r, err := db.db.ExecContext(bctx, q, args...)
		cancel()
		if err != nil {
			return total, db.mapOut(err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// OldestRevision returns the oldest change still in the change log (0 when
// it is empty). Prune deletes changes as a prefix, so a replica that has
// applied up to A has missed changes when OldestRevision > A+1 (A > 0):
// it must reload its index.
func (db *DB) OldestRevision(ctx context.Context) (int64, error) {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	var rev int64
	err := db.oneRow(ctx, `SELECT COALESCE(MIN(id), 0) FROM changes`).Scan(&rev)
	return rev, db.d.mapErr(err)
}
