package service_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/service"
	"github.com/rosterhq/roster/store"
)

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRetention_ReplicaBehindThePrunedLogReloads: two services on one
// database. The replica stops at some revision; the writer removes a member
// (the change the replica needs), a day passes, the writer makes another
// change and prunes the day-old changes. Applying what remains would miss
// the removal: the replica reloads instead, and its index then agrees with
// the database. A replica that is not behind does not reload.
func TestRetention_ReplicaBehindThePrunedLogReloads(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		owner, acct := e.signup("owner@acme-corp.com", "Owner")
		acct = e.commit(acct)
		dev := e.join(owner, acct, "dev@acme-corp.com", "developer")

		replica := service.New(e.db, e.mail, nil, e.svc.Config, nil)
		logs := &syncBuffer{}
		replica.Log = slog.New(slog.NewTextHandler(logs, nil))
		if err := replica.LoadIndex(e.ctx); err != nil {
			t.Fatal(err)
		}
		allowed := func(userID int64) bool {
			t.Helper()
			d, err := replica.CheckUser(e.ctx, acct.ID, userID, roster.NumbersView)
			if err != nil {
				t.Fatal(err)
			}
			return d.Allowed
		}
		if !allowed(dev.ID) {
			t.Fatal("the replica does not allow the developer to begin with")
		}
		behind := replica.Revision()

		if err := e.svc.DeleteMember(e.ctx, acct, dev.ID, owner.actor()); err != nil {
			t.Fatal(err)
		}
		e.clock.advance(25 * time.Hour)
		sup := e.join(owner, acct, "support@acme-corp.com", "support")
		if err := e.svc.Prune(e.ctx, store.Retention{}); err != nil {
			t.Fatal(err)
		}
		oldest, err := e.db.OldestRevision(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if oldest <= behind+1 {
			t.Fatalf("the prune left revision %d; the replica is at %d: nothing it needs was pruned", oldest, behind)
		}

		if err := replica.CatchUpOrReload(e.ctx); err != nil {
			t.Fatal(err)
		}
		if allowed(dev.ID) {
			t.Error("the replica behind the pruned log still allows the removed developer")
		}
		if d, _ := replica.CheckUser(e.ctx, acct.ID, dev.ID, roster.NumbersView); d.Reason != authz.ReasonNotMember {
			t.Errorf("removed developer: %+v, want not_member", d)
		}
		if !allowed(sup.ID) {
			t.Error("the replica does not allow the member who joined after the prune")
		}
		if got, want := replica.Revision(), e.svc.Revision(); got != want {
			t.Errorf("replica at revision %d, writer at %d", got, want)
		}
		if n := strings.Count(logs.String(), "reloading the check index"); n != 1 {
			t.Errorf("%d reloads logged, want 1:\n%s", n, logs)
		}

		// Not behind: it applies the changes and does not reload.
		if _, err := e.svc.SetMemberRole(e.ctx, acct, sup.ID, "developer", owner.actor()); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Prune(e.ctx, store.Retention{}); err != nil {
			t.Fatal(err)
		}
		if err := replica.CatchUpOrReload(e.ctx); err != nil {
			t.Fatal(err)
		}
		if d, _ := replica.CheckUser(e.ctx, acct.ID, sup.ID, roster.NumbersEdit); !d.Allowed || d.Role != roster.RoleDeveloper {
			t.Errorf("after the re-role: %+v, want developer allowed numbers.edit", d)
		}
		if got, want := replica.Revision(), e.svc.Revision(); got != want {
			t.Errorf("replica at revision %d, writer at %d", got, want)
		}
		if n := strings.Count(logs.String(), "reloading the check index"); n != 1 {
			t.Errorf("%d reloads logged, want still 1:\n%s", n, logs)
		}
	})
}

// TestRetention_PruneUsesTheServiceSettings: Service.Prune ends sessions
// after the service's SessionIdle without touching one in use, and keeps
// login counters at least a day (the mail counters' window).
func TestRetention_PruneUsesTheServiceSettings(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		e.signup("owner@acme-corp.com", "Owner")
		active, _ := e.signup("active@globex-industries.com", "Active")
		if _, _, err := e.login("owner@acme-corp.com", "wrong password", clientIP); err == nil {
			t.Fatal("a wrong password logged in")
		}
		rows := func(table string) int {
			t.Helper()
			var n int
			if err := e.db.SQL().QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		throttles := rows("throttles")
		if rows("sessions") != 2 || throttles == 0 {
			t.Fatalf("%d sessions and %d throttles to begin with", rows("sessions"), throttles)
		}
		for range 4 {
			e.clock.advance(e.svc.Config.SessionIdle / 4)
			e.session(active) // in use
		}
		e.clock.advance(time.Minute)
		if err := e.svc.Prune(e.ctx, store.Retention{}); err != nil {
			t.Fatal(err)
		}
		if n := rows("sessions"); n != 1 {
			t.Errorf("%d sessions after the prune, want the one in use", n)
		}
		e.session(active)
		if n := rows("throttles"); n == 0 {
			t.Error("login counters less than a day old were pruned")
		}
		e.clock.advance(13 * time.Hour)
		if err := e.svc.Prune(e.ctx, store.Retention{}); err != nil {
			t.Fatal(err)
		}
		if n := rows("throttles"); n != 0 {
			t.Errorf("%d login counters left after a day", n)
		}
	})
}

// TestRetention_RunRetentionPrunesUntilCancelled: the loop prunes every
// interval, logs what it pruned, and returns when its context ends.
func TestRetention_RunRetentionPrunesUntilCancelled(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		for range 3 {
			if err := e.db.QueueMail(e.ctx, "a@x.example", "s", "b"); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(e.mail.to("a@x.example")); n != 3 { // sent: only then pruned
			t.Fatalf("%d mails sent, want 3", n)
		}
		e.clock.advance(8 * 24 * time.Hour)
		logs := &syncBuffer{}
		svc := service.New(e.db, e.mail, nil, e.svc.Config, slog.New(slog.NewTextHandler(logs, nil)))
		ctx, cancel := context.WithCancel(e.ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			svc.RunRetention(ctx, 10*time.Millisecond, store.Retention{})
		}()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(logs.String(), "outbox=3") {
			if time.Now().After(deadline) {
				t.Fatalf("no prune of the outbox logged:\n%s", logs)
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("RunRetention did not return when its context ended")
		}
	})
}
