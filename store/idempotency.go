package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/rosterhq/roster"
)

// Idempotency keys (issue 26): a request that presents an Idempotency-Key
// claims its row first, in a small transaction of its own; every
// transaction the request then runs marks the row committed before its
// COMMIT (the hook in transactOnce), so the database knows, atomically with
// the change, that the key's work was done; the answer is stored after.
// The row is keyed and its contents sealed by the service: the store keeps
// bytes.

// IdempotencyState is what a claim found.
type IdempotencyState int

const (
	// IdempotencyClaimed: the key is the caller's now (new, expired, or
	// held by a request that died before anything committed): run the
	// request.
	IdempotencyClaimed IdempotencyState = iota + 1
	// IdempotencyAnswered: the first request's answer is stored.
	IdempotencyAnswered
	// IdempotencyRunning: the first request holds the key and may still be
	// running (its lease has not ended).
	IdempotencyRunning
	// IdempotencyLost: the first request committed its work but its answer
	// was never stored, and it no longer holds the key.
	IdempotencyLost
	// IdempotencyMismatch: the key was used for another request.
	IdempotencyMismatch
)

// IdempotencyClaim is the outcome of ClaimIdempotencyKey.
type IdempotencyClaim struct {
	State  IdempotencyState
	Answer []byte // the stored answer, for IdempotencyAnswered
}

// ClaimIdempotencyKey claims the row id for a request with fingerprint,
// held by token until lease from now. A row created IdempotencyRetention
// ago or earlier is expired: it is claimed as if absent. Claims of one id take turns (the
// row's primary key, and a retry when two inserts race), so exactly one
// concurrent claimant gets IdempotencyClaimed.
func (db *DB) ClaimIdempotencyKey(ctx context.Context, id, fingerprint, token []byte, lease time.Duration) (IdempotencyClaim, error) {
	// A new key (the usual case) is claimed by one statement; a key in use
	// is read and decided in a transaction.
	now := db.Now().UTC()
	r, err := db.execUnflushed(ctx, `INSERT INTO idempotency_keys (fingerprint, token, created_at, lease_until, id) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, fingerprint, token, micros(now), micros(now.Add(lease)), id)
	if err := db.changedOne(r, err); err == nil {
		return IdempotencyClaim{State: IdempotencyClaimed}, nil
	} else if !errors.Is(err, ErrNoRows) {
		return IdempotencyClaim{}, err
	}
	for attempt := 0; ; attempt++ {
		c, err := db.claimIdempotencyKey(ctx, id, fingerprint, token, lease)
		if errors.Is(err, ErrUnique) && attempt < 3 {
			continue // another claim inserted the row first: read it
		}
		return c, err
	}
}

func (db *DB) claimIdempotencyKey(ctx context.Context, id, fingerprint, token []byte, lease time.Duration) (IdempotencyClaim, error) {
	var c IdempotencyClaim
	err := db.Transact(withoutIdempotencyMark(ctx), func(tx *Tx) error {
		now := micros(tx.now)
		var (
			fp                    []byte
			created, leaseUntil   int64
			committedAt           int64
			answer                []byte
			claim                 = []any{fingerprint, token, now, micros(tx.now.Add(lease)), id}
			insertIdempotencyRow  = `INSERT INTO idempotency_keys (fingerprint, token, created_at, lease_until, id) VALUES (?, ?, ?, ?, ?)`
			reclaimIdempotencyRow = `UPDATE idempotency_keys SET fingerprint = ?, token = ?, created_at = ?, lease_until = ?, committed_at = 0, answer = NULL WHERE id = ?`
		)
		err := tx.queryRow(ctx, `SELECT fingerprint, created_at, lease_until, committed_at, answer FROM idempotency_keys WHERE id = ?`,
			[]any{id}, &fp, &created, &leaseUntil, &committedAt, &answer)
		switch {
		case errors.Is(err, ErrNoRows):
			c = IdempotencyClaim{State: IdempotencyClaimed}
			_, err = tx.exec(ctx, insertIdempotencyRow, claim...)
			return err
		case err != nil:
			return err
		case created <= micros(tx.now.Add(-IdempotencyRetention)):
			// Past its retention: a new request, whatever it was.
			c = IdempotencyClaim{State: IdempotencyClaimed}
			_, err = tx.exec(ctx, reclaimIdempotencyRow, claim...)
			return err
		case !bytes.Equal(fp, fingerprint):
			c = IdempotencyClaim{State: IdempotencyMismatch}
		case answer != nil:
			c = IdempotencyClaim{State: IdempotencyAnswered, Answer: answer}
		case leaseUntil > now:
			c = IdempotencyClaim{State: IdempotencyRunning}
		case committedAt != 0:
			c = IdempotencyClaim{State: IdempotencyLost}
		default:
			// Its holder died before anything committed: nothing was
			// done, so the request may run (once more, from scratch).
			c = IdempotencyClaim{State: IdempotencyClaimed}
			_, err = tx.exec(ctx, `UPDATE idempotency_keys SET token = ?, lease_until = ? WHERE id = ? AND committed_at = 0`,
				token, micros(tx.now.Add(lease)), id)
			return err
		}
		return nil
	})
	return c, err
}

// AnswerIdempotencyKey stores the answer of the request that holds the row
// (by token). ErrNoRows when it no longer holds it.
func (db *DB) AnswerIdempotencyKey(ctx context.Context, id, token, answer []byte) error {
	r, err := db.execUnflushed(ctx, `UPDATE idempotency_keys SET answer = ? WHERE id = ? AND token = ?`, answer, id, token)
	return db.changedOne(r, err)
}

// execUnflushed runs one statement that need not wait for its commit to
// reach the disk (PostgreSQL's synchronous_commit = off, for this
// transaction only): a new key's claim, which the change's own commit
// flushes with it (the log is written in order), and an answer, whose loss
// in a crash only turns a replay into "the answer was lost". Each would
// otherwise add a flush to every keyed request.
func (db *DB) execUnflushed(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if db.d.name() != "postgres" {
		return db.exec(ctx, q, args...)
	}
	ctx, cancel := db.Bound(ctx)
	defer cancel()
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, db.mapOut(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return nil, db.mapOut(err)
	}
	r, err := tx.ExecContext(ctx, db.q(q), args...)
	if err != nil {
		return nil, db.mapOut(err)
	}
	return r, db.mapOut(tx.Commit())
}

// ReleaseIdempotencyKey gives up the row that token holds, for a request
// that failed: when nothing it did committed, the row is deleted (a retry
// runs afresh); otherwise its lease ends now, and retries learn that the
// work was done but its answer lost. ErrNoRows when it no longer holds it.
func (db *DB) ReleaseIdempotencyKey(ctx context.Context, id, token []byte) error {
	r, err := db.exec(ctx, `DELETE FROM idempotency_keys WHERE id = ? AND token = ? AND committed_at = 0`, id, token)
	if err := db.changedOne(r, err); !errors.Is(err, ErrNoRows) {
		return err
	}
	r, err = db.exec(ctx, `UPDATE idempotency_keys SET lease_until = ? WHERE id = ? AND token = ?`, micros(db.Now()), id, token)
	return db.changedOne(r, err)
}

// changedOne is nil when a statement changed a row, ErrNoRows when none.
func (db *DB) changedOne(r sql.Result, err error) error {
	if err != nil {
		return db.mapOut(err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNoRows
	}
	return nil
}

// idempotencyMark is what WithIdempotencyKey puts in a context.
type idempotencyMark struct {
	id, token []byte
}

type idempotencyMarkKey struct{}

// WithIdempotencyKey returns a context in which every transaction (Transact)
// marks the row id, held by token, committed before it commits: the key's
// work and the record that it was done commit together or not at all.
func WithIdempotencyKey(ctx context.Context, id, token []byte) context.Context {
	return context.WithValue(ctx, idempotencyMarkKey{}, &idempotencyMark{id: id, token: token})
}

// withoutIdempotencyMark hides the mark from the claim's own transaction.
func withoutIdempotencyMark(ctx context.Context) context.Context {
	if ctx.Value(idempotencyMarkKey{}) == nil {
		return ctx
	}
	return context.WithValue(ctx, idempotencyMarkKey{}, (*idempotencyMark)(nil))
}

// ErrIdempotencyTaken: the request no longer holds its Idempotency-Key (it
// ran past its lease and a retry claimed the key): its transaction is
// rolled back, so the work is done once, by the retry.
var ErrIdempotencyTaken = roster.Retry(roster.ECONFLICT, time.Second,
	"A retry with the same Idempotency-Key took over this request: nothing was done by this one")

// markIdempotent is the hook transactOnce runs before each COMMIT: when ctx
// carries an idempotency key, the key's row is marked committed in the
// transaction.
func (db *DB) markIdempotent(ctx context.Context, tx *Tx) error {
	m, _ := ctx.Value(idempotencyMarkKey{}).(*idempotencyMark)
	if m == nil {
		return nil
	}
	// A later transaction of the same request keeps the first time.
	r, err := tx.exec(ctx, `UPDATE idempotency_keys SET committed_at = CASE WHEN committed_at = 0 THEN ? ELSE committed_at END
		WHERE id = ? AND token = ?`, micros(tx.now), m.id, m.token)
	if err := db.changedOne(r, err); errors.Is(err, ErrNoRows) {
		return ErrIdempotencyTaken
	} else if err != nil {
		return err
	}
	return nil
}
