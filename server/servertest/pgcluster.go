package servertest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// PGCluster is a PostgreSQL cluster of the test's own: a primary and its
// streaming standbys, each a real server initialized (initdb) into a
// temporary folder and listening on a free port of 127.0.0.1 only (no
// Unix socket), with trust authentication for the user postgres. It is
// what a platform runs under Patroni or CloudNativePG, small: tests kill
// the primary, promote a standby and delay a standby's replay.
type PGCluster struct {
	Primary  *PGNode
	Standbys []*PGNode

	bin  string
	cred *syscall.Credential // the postgres user's, when the test runs as root
	root string
}

// PGNode is one server of a PGCluster.
type PGNode struct {
	Name string // the standby's application_name; "primary" for the primary
	Port int
	Dir  string // its data folder

	c      *PGCluster
	log    string
	mu     sync.Mutex
	killed bool
}

// PGClusterOptions shape a cluster.
type PGClusterOptions struct {
	// Standbys is how many standbys to make (at least 1).
	Standbys int
	// Sync makes the first standby synchronous: the primary's
	// synchronous_commit = on and synchronous_standby_names names it, so a
	// commit is acknowledged only once the standby has flushed it.
	Sync bool
}

// PGBinDir returns the folder of the PostgreSQL server binaries (initdb,
// pg_ctl, postgres, pg_basebackup): `pg_config --bindir`, else the newest
// /usr/lib/postgresql/*/bin; "" when there are none.
func PGBinDir() string {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "pg_ctl", "postgres", "pg_basebackup"} {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				return false
			}
		}
		return true
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); has(dir) {
			return dir
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a > b
	})
	for _, d := range dirs {
		if has(d) {
			return d
		}
	}
	return ""
}

// NewPGCluster starts a primary and its standbys (pg_basebackup -R, each
// with its own application_name), waits until every standby streams from
// the primary, and stops them all when tb ends. It skips tb when the
// server binaries are absent; when they are present but the cluster
// cannot start, it fails tb.
func NewPGCluster(tb testing.TB, o PGClusterOptions) *PGCluster {
	tb.Helper()
	if o.Standbys < 1 {
		o.Standbys = 1
	}
	bin := PGBinDir()
	if bin == "" {
		tb.Skip("the PostgreSQL server binaries (initdb, pg_ctl, postgres, pg_basebackup) are not installed: skipping the cluster test")
	}
	c := &PGCluster{bin: bin}
	root, err := os.MkdirTemp("", "roster-pgcluster-")
	if err != nil {
		tb.Fatal(err)
	}
	c.root = root
	tb.Cleanup(c.stop)
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: its binaries run as the
		// postgres user, in folders it owns.
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("running as root and there is no postgres user to run the PostgreSQL servers as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chmod(root, 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chown(root, uid, gid); err != nil {
			tb.Fatal(err)
		}
	}

	p := c.node("primary")
	if err := c.run(tb, "initdb", "-D", p.Dir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		tb.Fatalf("initdb: %v", err)
	}
	conf := []string{
		"listen_addresses = '127.0.0.1'",
		"unix_socket_directories = ''",
		"wal_level = replica",
		"max_wal_senders = 10",
		"hot_standby = on",
		// Fast and disposable: nothing here outlives the test.
		"fsync = off",
		"full_page_writes = off",
		"shared_buffers = 16MB",
		"max_connections = 100",
		"wal_sender_timeout = 5s",
		"wal_receiver_status_interval = 1s",
	}
	if o.Sync {
		conf = append(conf, "synchronous_commit = on", "synchronous_standby_names = 'standby1'")
	}
	if err := appendFile(filepath.Join(p.Dir, "postgresql.conf"), strings.Join(conf, "\n")+"\n"); err != nil {
		tb.Fatal(err)
	}
	if err := p.start(tb); err != nil {
		tb.Fatalf("start the primary: %v", err)
	}
	c.Primary = p
	for i := 1; i <= o.Standbys; i++ {
		s := c.node(fmt.Sprintf("standby%d", i))
		conninfo := fmt.Sprintf("host=127.0.0.1 port=%d user=postgres application_name=%s", p.Port, s.Name)
		if err := c.run(tb, "pg_basebackup", "-d", conninfo, "-D", s.Dir, "-R", "-X", "stream", "--no-sync", "-c", "fast"); err != nil {
			tb.Fatalf("pg_basebackup for %s: %v", s.Name, err)
		}
		// The primary's synchronous settings are its own, not a
		// standby's (one promoted would wait for a standby it has not).
		if err := appendFile(filepath.Join(s.Dir, "postgresql.conf"), "synchronous_standby_names = ''\n"); err != nil {
			tb.Fatal(err)
		}
		if err := s.start(tb); err != nil {
			tb.Fatalf("start %s: %v", s.Name, err)
		}
		c.Standbys = append(c.Standbys, s)
	}
	c.waitStreaming(tb, o.Sync)
	return c
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (c *PGCluster) node(name string) *PGNode {
	return &PGNode{Name: name, Dir: filepath.Join(c.root, name), log: filepath.Join(c.root, name+".log"), c: c}
}

// command is one of the server binaries, as the postgres user when the
// test runs as root.
func (c *PGCluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.root
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

func (c *PGCluster) run(tb testing.TB, name string, args ...string) error {
	tb.Helper()
	out, err := c.command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// freePort returns a port of 127.0.0.1 that nothing listens on now.
func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (n *PGNode) start(tb testing.TB) error {
	tb.Helper()
	var err error
	for range 3 { // another process may take the free port first
		n.Port = freePort(tb)
		err = n.c.run(tb, "pg_ctl", "start", "-D", n.Dir, "-l", n.log, "-w", "-t", "30", "-o", fmt.Sprintf("-c port=%d", n.Port))
		if err == nil {
			return nil
		}
	}
	logText, _ := os.ReadFile(n.log)
	return fmt.Errorf("%w\nserver log:\n%s", err, logText)
}

// Addr is the node's host:port.
func (n *PGNode) Addr() string { return fmt.Sprintf("127.0.0.1:%d", n.Port) }

// DSN is the URL of database db on this node alone.
func (n *PGNode) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", n.Addr(), db)
}

// DSN is the multi-host URL of database db naming every node, primary
// first, as an operator names a cluster in ROSTER_DATABASE: pgx tries the
// hosts in order and keeps the first that accepts writes.
func (c *PGCluster) DSN(db string) string {
	hosts := []string{c.Primary.Addr()}
	for _, s := range c.Standbys {
		hosts = append(hosts, s.Addr())
	}
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable&target_session_attrs=read-write&connect_timeout=2", strings.Join(hosts, ","), db)
}

// CreateDatabase makes a new empty database on the primary (the standbys
// replay it) and returns its name.
func (c *PGCluster) CreateDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("roster_cluster_%d", time.Now().UnixNano())
	c.Primary.Exec(tb, "postgres", "CREATE DATABASE "+name)
	return name
}

// Exec runs statements on the node's database db.
func (n *PGNode) Exec(tb testing.TB, db, query string, args ...any) {
	tb.Helper()
	sdb := n.Open(tb, db)
	defer sdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := sdb.ExecContext(ctx, query, args...); err != nil {
		tb.Fatalf("%s on %s: %v", query, n.Name, err)
	}
}

// Open returns a pool of connections to database db on this node alone.
func (n *PGNode) Open(tb testing.TB, db string) *sql.DB {
	tb.Helper()
	sdb, err := sql.Open("pgx", n.DSN(db))
	if err != nil {
		tb.Fatal(err)
	}
	return sdb
}

// Kill kills the node's postmaster and every process of it with SIGKILL,
// as a machine that dies does: nothing is flushed, no connection closed
// politely.
func (n *PGNode) Kill(tb testing.TB) {
	tb.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	pid := n.pid()
	if pid == 0 {
		tb.Fatalf("%s: no postmaster.pid", n.Name)
	}
	// The children first, listed before the postmaster dies (then they
	// would be re-parented), then the postmaster; once more for any
	// child started in between.
	for range 2 {
		for _, child := range childrenOf(pid) {
			syscall.Kill(child, syscall.SIGKILL)
		}
		syscall.Kill(pid, syscall.SIGKILL)
	}
	n.killed = true
}

// pid reads the postmaster's process ID from postmaster.pid (0: none).
func (n *PGNode) pid() int {
	b, err := os.ReadFile(filepath.Join(n.Dir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// childrenOf lists the processes whose parent is pid (from /proc).
func childrenOf(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		id, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, id)
		}
	}
	return out
}

// Promote makes the standby a primary (pg_ctl promote) and waits until it
// accepts writes.
func (n *PGNode) Promote(tb testing.TB) {
	tb.Helper()
	if err := n.c.run(tb, "pg_ctl", "promote", "-D", n.Dir, "-w", "-t", "30"); err != nil {
		tb.Fatalf("promote %s: %v", n.Name, err)
	}
	sdb := n.Open(tb, "postgres")
	defer sdb.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var inRecovery bool
		err := sdb.QueryRow("SELECT pg_is_in_recovery()").Scan(&inRecovery)
		if err == nil && !inRecovery {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s still in recovery 30 s after promotion (%v)", n.Name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SetApplyDelay sets the standby's recovery_min_apply_delay: it replays
// each commit only d after the primary made it, so a test can read
// through a standby that lags by that much.
func (n *PGNode) SetApplyDelay(tb testing.TB, d time.Duration) {
	tb.Helper()
	n.Exec(tb, "postgres", fmt.Sprintf("ALTER SYSTEM SET recovery_min_apply_delay = '%dms'", d.Milliseconds()))
	n.Exec(tb, "postgres", "SELECT pg_reload_conf()")
}

// waitStreaming waits until the primary sees every standby streaming (and
// the synchronous one as sync).
func (c *PGCluster) waitStreaming(tb testing.TB, sync bool) {
	tb.Helper()
	sdb := c.Primary.Open(tb, "postgres")
	defer sdb.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n, syncs int
		err := sdb.QueryRow("SELECT COUNT(*), COUNT(*) FILTER (WHERE sync_state = 'sync') FROM pg_stat_replication WHERE state = 'streaming'").Scan(&n, &syncs)
		if err == nil && n == len(c.Standbys) && (!sync || syncs == 1) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("standbys not streaming after 30 s: %d of %d (%v)", n, len(c.Standbys), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop stops every node still running (immediate mode: nothing of theirs
// is kept) and removes the cluster's folder.
func (c *PGCluster) stop() {
	nodes := append([]*PGNode{c.Primary}, c.Standbys...)
	for _, n := range nodes {
		if n == nil || n.killed {
			continue
		}
		c.command("pg_ctl", "stop", "-D", n.Dir, "-m", "immediate", "-w", "-t", "30").Run()
	}
	// A killed node's processes are gone; its folder may still hold a
	// socket lock: removing it all is fine.
	os.RemoveAll(c.root)
}
