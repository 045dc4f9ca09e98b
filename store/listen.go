package store

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// notifyChannel is the PostgreSQL channel every change is announced on.
const notifyChannel = "roster_changes"

// Listen sends on wake (without blocking) whenever another process commits
// a change, until ctx ends. On PostgreSQL it holds one LISTEN connection
// and reconnects with backoff when it drops, waking once after each
// reconnect so nothing committed meanwhile is missed (the changes table is
// the record; the notification is only a nudge). On SQLite it returns at
// once: followers poll the file.
func (db *DB) Listen(ctx context.Context, wake chan<- struct{}, log *slog.Logger) {
	if db.d.name() != "postgres" {
		return
	}
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := db.listenOnce(ctx, wake, func() { backoff = 50 * time.Millisecond })
		if ctx.Err() != nil {
			return
		}
		log.Warn("change listener lost its connection; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

func (db *DB) listenOnce(ctx context.Context, wake chan<- struct{}, connected func()) error {
	conn, err := pgx.ConnectConfig(ctx, db.cl.cfg.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	connected()
	db.cl.announced.Store(0)
	nudge(wake) // catch up on whatever was committed while not listening
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		rev, err := strconv.ParseInt(n.Payload, 10, 64)
		if err != nil || rev <= 0 {
			db.cl.announced.Store(-1) // unknown: a catch-up must look
		}
		for rev > 0 {
			old := db.cl.announced.Load()
			if old < 0 || rev <= old || db.cl.announced.CompareAndSwap(old, rev) {
				break
			}
		}
		nudge(wake)
	}
}

// TakeAnnounced returns the newest revision the notifications since the
// last call announced, and forgets it: 0 when none did (a wake-up with
// nothing announced: after the listener connected, or on SQLite), -1 when
// one announced no revision (an older Roster's). A commit's notification
// names a revision of its own, so a follower that has applied that one
// has applied the whole commit (it read it in one snapshot): a wake-up
// whose announced revision it holds needs no catch-up (the writer's own
// replica applied its write before answering). On PostgreSQL only.
func (db *DB) TakeAnnounced() int64 {
	if db.cl == nil {
		return 0
	}
	return db.cl.announced.Swap(0)
}

func nudge(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}
