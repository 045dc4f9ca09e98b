package store

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Throttle is the state of one counter: hits since WindowStart, the last
// at LastAt. A missing counter is the zero Throttle.
type Throttle struct {
	Hits        int
	WindowStart time.Time
	LastAt      time.Time
}

// Throttles returns the counters named by keys, missing ones left out.
// Counters are written outside transactions (one statement each, atomic on
// both databases), so a login flood does not serialize on them.
func (db *DB) Throttles(ctx context.Context, keys ...string) (map[string]Throttle, error) {
	out := make(map[string]Throttle, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := db.query(ctx, `SELECT key, hits, window_start, last_at FROM throttles
		WHERE key IN (?`+strings.Repeat(", ?", len(keys)-1)+`)`, args...)
	err = eachRow(rows, err, func(rows *sql.Rows) error {
		var k string
		var hits, start, last int64
		if err := rows.Scan(&k, &hits, &start, &last); err != nil {
			return err
		}
		out[k] = Throttle{Hits: int(hits), WindowStart: fromMicros(start), LastAt: fromMicros(last)}
		return nil
	})
	if err != nil {
		return nil, db.d.mapErr(err)
	}
	return out, nil
}

// Hit counts one hit on key in one conditional statement. A counter whose
// window (of length window) has ended starts again at 1. Otherwise the hit
// is refused, and ok is false, when the counter already holds max hits or
// its last hit is less than minGap ago: concurrent hits can never pass the
// limit together.
func (db *DB) Hit(ctx context.Context, key string, window time.Duration, max int, minGap time.Duration) (hits int, ok bool, err error) {
	now := db.Now().UTC()
	n, cut, gap := micros(now), micros(now.Add(-window)), micros(now.Add(-minGap))
	if minGap <= 0 {
		gap = math.MaxInt64 // concurrent callers' clocks need not be in order
	}
	var h int64
	err = db.row(ctx, `INSERT INTO throttles (key, hits, window_start, last_at) VALUES (?, 1, ?, ?)
		ON CONFLICT (key) DO UPDATE SET
			hits = CASE WHEN throttles.window_start <= ? THEN 1 ELSE throttles.hits + 1 END,
			window_start = CASE WHEN throttles.window_start <= ? THEN ? ELSE throttles.window_start END,
			last_at = ?
		WHERE throttles.window_start <= ? OR (throttles.hits < ? AND throttles.last_at <= ?)
		RETURNING hits`, key, n, n, cut, cut, n, n, cut, max, gap).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	} else if err != nil {
		return 0, false, db.d.mapErr(err)
	}
	return int(h), true, nil
}

// Unhit takes one hit back (an attempt that turned out not to be a failure).
func (db *DB) Unhit(ctx context.Context, key string) error {
	_, err := db.exec(ctx, `UPDATE throttles SET hits = hits - 1 WHERE key = ? AND hits > 0`, key)
	return db.d.mapErr(err)
}

// ClearThrottles deletes the counters.
func (db *DB) ClearThrottles(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if _, err := db.exec(ctx, `DELETE FROM throttles WHERE key = ?`, k); err != nil {
			return db.d.mapErr(err)
		}
	}
	return nil
}

// KnownLogin reports whether the user has logged in from ip within maxAge.
func (db *DB) KnownLogin(ctx context.Context, userID int64, ip string, maxAge time.Duration) (bool, error) {
	var n int
	err := db.row(ctx, `SELECT COUNT(*) FROM known_logins WHERE user_id = ? AND ip = ? AND last_at > ?`,
		userID, ip, micros(db.Now().Add(-maxAge))).Scan(&n)
	return n > 0, db.d.mapErr(err)
}

// RememberLogin records a successful login of the user from ip.
func (tx *Tx) RememberLogin(ctx context.Context, userID int64, ip string) error {
	_, err := tx.exec(ctx, `INSERT INTO known_logins (user_id, ip, last_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id, ip) DO UPDATE SET last_at = excluded.last_at`, userID, ip, micros(tx.now))
	return err
}

// PruneThrottles deletes the counters under each key prefix whose last hit
// is older than that prefix's window. It returns how many it deleted.
func (db *DB) PruneThrottles(ctx context.Context, windows map[string]time.Duration) (int64, error) {
	var total int64
	now := db.Now()
	for prefix, window := range windows {
		// substr, not LIKE: SQLite's LIKE folds ASCII case and PostgreSQL's
		// does not, and both read _ in a prefix as any character.
		res, err := db.exec(ctx, `DELETE FROM throttles WHERE substr(key, 1, ?) = ? AND last_at < ?`,
			utf8.RuneCountInString(prefix), prefix, micros(now.Add(-window)))
		if err != nil {
			return total, db.d.mapErr(err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
