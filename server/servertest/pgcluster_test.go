package servertest_test

import (
	"testing"
	"time"

	"github.com/rosterhq/roster/server/servertest"
)

// TestPGCluster_SyncStandbyKeepsCommitsThroughPromotion: a commit the
// synchronous standby acknowledged is there after the primary is killed
// and the standby promoted, and the promoted standby takes writes.
func TestPGCluster_SyncStandbyKeepsCommitsThroughPromotion(t *testing.T) {
	c := servertest.NewPGCluster(t, servertest.PGClusterOptions{Standbys: 1, Sync: true})
	db := c.CreateDatabase(t)
	c.Primary.Exec(t, db, "CREATE TABLE t (id int PRIMARY KEY)")
	for i := 1; i <= 50; i++ {
		c.Primary.Exec(t, db, "INSERT INTO t VALUES ($1)", i)
	}
	c.Primary.Kill(t)
	s := c.Standbys[0]
	s.Promote(t)
	sdb := s.Open(t, db)
	defer sdb.Close()
	var n int
	if err := sdb.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 50 {
		t.Fatalf("%d of 50 acknowledged rows after the promotion", n)
	}
	s.Exec(t, db, "INSERT INTO t VALUES (51)")
}

// TestPGCluster_ApplyDelay: a standby with recovery_min_apply_delay shows
// a commit only after the delay.
func TestPGCluster_ApplyDelay(t *testing.T) {
	c := servertest.NewPGCluster(t, servertest.PGClusterOptions{Standbys: 1})
	db := c.CreateDatabase(t)
	c.Primary.Exec(t, db, "CREATE TABLE t (id int PRIMARY KEY)")
	s := c.Standbys[0]
	sdb := s.Open(t, db)
	defer sdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ok bool
		if sdb.QueryRow("SELECT to_regclass('t') IS NOT NULL").Scan(&ok); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the standby never replayed CREATE TABLE")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.SetApplyDelay(t, 1500*time.Millisecond)
	time.Sleep(200 * time.Millisecond) // the reload reaches the startup process
	start := time.Now()
	c.Primary.Exec(t, db, "INSERT INTO t VALUES (1)")
	var n int
	for {
		if err := sdb.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Since(start) > 15*time.Second {
			t.Fatal("the standby never replayed the insert")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if took := time.Since(start); took < time.Second {
		t.Fatalf("the standby showed the insert after %v, before its apply delay of 1.5 s", took)
	} else {
		t.Logf("replayed after %v", took)
	}
}
