package servertest_test

import (
	"bufio"
	"database/sql"
	"net"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/store/storetest"
)

// echo starts a line echo server and returns its address.
func echo(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					c.Write([]byte(line))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(c net.Conn, within time.Duration) (string, error) {
	c.SetDeadline(time.Now().Add(within))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func TestTCPProxy_CutStallRestore(t *testing.T) {
	p := servertest.NewTCPProxy(t, echo(t))
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := roundTrip(c, 5*time.Second); err != nil || got != "ping\n" {
		t.Fatalf("open: %q, %v", got, err)
	}

	p.Stall()
	if got, err := roundTrip(c, 200*time.Millisecond); err == nil {
		t.Fatalf("stalled: got %q, want a timeout", got)
	}
	p.Restore()
	// The stalled ping flows on after Restore.
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if got, err := bufio.NewReader(c).ReadString('\n'); err != nil || got != "ping\n" {
		t.Fatalf("restored: %q, %v", got, err)
	}

	p.Cut()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
		t.Fatal("cut: the open connection still reads")
	}
	c2, err := net.Dial("tcp", p.Addr)
	if err == nil {
		if got, err := roundTrip(c2, 2*time.Second); err == nil {
			t.Fatalf("cut: a new connection answered %q", got)
		}
		c2.Close()
	}
	p.Restore()
	c3, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if got, err := roundTrip(c3, 5*time.Second); err != nil || got != "ping\n" {
		t.Fatalf("after restore: %q, %v", got, err)
	}
}

// TestTCPProxy_CutWhenAtCommit: on a real PostgreSQL server through pgx,
// a COMMIT cut before it is sent leaves nothing; one cut after its answer
// leaves the row committed while the client gets an error; other
// statements pass.
func TestTCPProxy_CutWhenAtCommit(t *testing.T) {
	base, ok := storetest.PostgresBase(t)
	if !ok {
		t.Skip("needs PostgreSQL; none reachable")
	}
	p, dsn := servertest.NewPostgresProxy(t, servertest.NewPostgresDatabase(t, base))
	var next atomic.Int32 // the action for the next COMMIT
	var seen atomic.Int32
	p.CutWhen(func(m servertest.PostgresMessage) servertest.CutAction {
		if m.IsCommit() {
			seen.Add(1)
			return servertest.CutAction(next.Load())
		}
		return servertest.Forward
	})
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE t (id int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	insert := func(id int) error {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec("INSERT INTO t VALUES ($1)", id); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	}
	exists := func(id int) bool {
		var n int
		for range 3 { // the pool may hand out the connection the cut closed
			if err = db.QueryRow("SELECT COUNT(*) FROM t WHERE id = $1", id).Scan(&n); err == nil {
				return n == 1
			}
		}
		t.Fatal(err)
		return false
	}

	next.Store(int32(servertest.Forward))
	if err := insert(1); err != nil || !exists(1) {
		t.Fatalf("forwarded: %v, row there %v", err, exists(1))
	}
	next.Store(int32(servertest.CutBefore))
	if err := insert(2); err == nil || exists(2) {
		t.Fatalf("cut before COMMIT: error %v, row there %v; want an error and no row", err, exists(2))
	}
	next.Store(int32(servertest.CutAfterAnswer))
	if err := insert(3); err == nil || !exists(3) {
		t.Fatalf("cut after COMMIT's answer: error %v, row there %v; want an error and the row", err, exists(3))
	}
	if seen.Load() != 3 {
		t.Errorf("%d COMMITs seen, want 3", seen.Load())
	}
	for q, want := range map[string]bool{"COMMIT": true, " commit; ": true, "end": true, "SELECT 'commit'": false, "commit prepared 'x'": false} {
		if got := (servertest.PostgresMessage{Type: 'Q', Query: q}).IsCommit(); got != want {
			t.Errorf("IsCommit(%q) = %v", q, got)
		}
	}
}
