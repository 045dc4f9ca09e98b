package store

import (
	"context"
	"log/slog"
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
	nudge(wake) // catch up on whatever was committed while not listening
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		nudge(wake)
	}
}

func nudge(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}
