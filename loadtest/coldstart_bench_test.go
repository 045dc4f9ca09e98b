package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/build"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/store/storetest"
)

const (
	coldPerAccount = 10
	coldRuns       = 3
	coldTimeout    = 5 * time.Minute // a start that takes longer fails
	coldToken      = "loadtest-service-token"
)

var regen = flag.Bool("loadtest.regen", false, "BenchmarkColdStart: generate the database again even when a complete cached copy exists")

// coldDBPath is where the generated SQLite database of n memberships is
// cached between runs.
func coldDBPath(n int) string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("roster-coldstart-%d.db", n))
}

// coldPostgresName is the PostgreSQL database the generated data of n
// memberships is cached in between runs.
func coldPostgresName(n int) string { return fmt.Sprintf("roster_coldstart_%d", n) }

// coldDB returns the cached SQLite database of -loadtest.members
// memberships (10 an account), generating it first when it is missing or
// incomplete (or -loadtest.regen is given); generated is how long that
// took (0 when the cached copy served).
func coldDB(b *testing.B) (path string, generated time.Duration) {
	b.Helper()
	coldAccounts, coldMembers := scaleAccounts(b), *scaleMembers
	path = coldDBPath(coldMembers)
	if !*regen {
		a, m, err := GenCounts(path)
		if err == nil && a == int64(coldAccounts) && m == int64(coldMembers) {
			return path, 0
		}
		if err == nil {
			b.Logf("cached %s holds %d accounts and %d members: generating it again", path, a, m)
		} else if !errors.Is(err, os.ErrNotExist) {
			b.Logf("cached %s unusable (%v): generating it again", path, err)
		}
	}
	for _, s := range []string{"", "-wal", "-shm"} {
		os.Remove(path + s)
	}
	// Written under another name and renamed when complete, so a run
	// killed part-way leaves no file that looks complete.
	partial := fmt.Sprintf("%s.partial-%d", path, os.Getpid())
	start := time.Now()
	if err := Generate(partial, coldAccounts, coldPerAccount); err != nil {
		b.Fatalf("generate: %v", err)
	}
	generated = time.Since(start)
	for _, s := range []string{"-wal", "-shm"} {
		os.Remove(partial + s)
	}
	if err := os.Rename(partial, path); err != nil {
		b.Fatal(err)
	}
	return path, generated
}

// buildRoster builds cmd/roster into dir and returns the binary's path.
func buildRoster(b *testing.B, dir string) string {
	b.Helper()
	goBin := filepath.Join(build.Default.GOROOT, "bin", "go")
	if p, err := exec.LookPath("go"); err == nil {
		goBin = p
	}
	bin := filepath.Join(dir, "roster")
	cmd := exec.Command(goBin, "build", "-o", bin, "github.com/rosterhq/roster/cmd/roster")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build ./cmd/roster: %v\n%s", err, out)
	}
	return bin
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	// On disk before the start it is copied for: the kernel writing back
	// gigabytes of the copy would take the CPU the start is measured on
	// (a restarted server does not find its database just written).
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// procCPU is the user and system CPU time a process has used so far
// (/proc/<pid>/stat, in USER_HZ = 100 ticks a second): on a shared
// machine, what a start cost whatever else ran.
func procCPU(pid string) (time.Duration, error) {
	raw, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: the fields after it.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, errors.New("/proc/" + pid + "/stat: no command name")
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("/proc/" + pid + "/stat: too few fields")
	}
	var ticks int64
	for _, v := range f[11:13] { // utime, stime (fields 14 and 15)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// probe is a membership of the generated data and the answer expected.
type probe struct {
	item    checkItem
	role    string
	allowed bool
}

// coldProbes names memberships spread over the generated data: the first
// account's owner, a developer in the middle, a support member of the
// last account, a user of another account, and an Auth ID that is not
// there.
func coldProbes(b *testing.B, dsn string) []probe {
	b.Helper()
	db, err := store.Open(dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	authID := func(seq int64) string {
		var s string
		if err := db.SQL().QueryRow(fmt.Sprintf(`SELECT auth_id FROM accounts WHERE id = %d`, seq)).Scan(&s); err != nil {
			b.Fatalf("account %d: %v", seq, err)
		}
		return s
	}
	coldAccounts := int64(scaleAccounts(b))
	first, mid, last := authID(1), authID(coldAccounts/2), authID(coldAccounts)
	roleName := []string{"", "owner", "admin", "developer", "finance_analyst", "support"}
	p := func(acct string, seq int64, i int, perm string, allowed bool) probe {
		return probe{checkItem{AccountID: acct, UserID: GenUserID(seq, coldPerAccount, i), Permission: perm}, roleName[GenRole(i)], allowed}
	}
	out := []probe{
		p(first, 1, 0, "team.edit", true),                   // owner
		p(mid, coldAccounts/2, 2, "numbers.edit", true),     // developer
		p(mid, coldAccounts/2, 2, "billing.view", false),    // developer
		p(last, coldAccounts, 8, "numbers.view", true),      // support (i = 8)
		p(last, coldAccounts, 8, "credentials.view", false), // support
		{checkItem{AccountID: first, UserID: GenUserID(2, coldPerAccount, 0), Permission: "numbers.view"}, "", false},
		{checkItem{AccountID: "MA000000000000000000", UserID: 1, Permission: "numbers.view"}, "", false},
	}
	if GenRole(8) != 5 || GenRole(2) != 3 {
		b.Fatalf("probes assume member 8 is support and member 2 a developer")
	}
	return out
}

// coldRun is one start of the server.
type coldRun struct {
	startup time.Duration // process start to the "roster serving" line
	hwmKB   int64         // VmHWM when that line was read
	cpu     time.Duration // the process's user and system CPU time then
	indexed int64         // members_indexed in that line
	line    string
}

var (
	servingURL     = regexp.MustCompile(`\burl=(http://\S+)`)
	servingIndexed = regexp.MustCompile(`\bmembers_indexed=(\d+)`)
)

// startOnce starts `roster serve` on db, waits for its "roster serving"
// line, reads its VmHWM, checks the probes through it, and kills it.
func startOnce(b *testing.B, bin, db string, probes []probe) coldRun {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), coldTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--database", db)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROSTER_") {
			env = append(env, kv)
		}
	}
	// A token is never a flag (serve refuses it): the environment.
	cmd.Env = append(env, "ROSTER_SERVICE_TOKEN="+coldToken)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	var (
		run  coldRun
		logs bytes.Buffer
	)
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		logs.WriteString(line + "\n")
		if strings.Contains(line, `msg="roster serving"`) {
			run.startup = time.Since(start)
			run.line = line
			break
		}
	}
	if run.line == "" {
		cmd.Process.Kill()
		cmd.Wait()
		b.Fatalf("roster serve ended or timed out without \"roster serving\" (%v): %s", sc.Err(), clip(logs.Bytes()))
	}
	hwm, hwmErr := procStatusKB(pid, "VmHWM")
	run.cpu, _ = procCPU(pid)
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, stderr); close(done) }()
	defer func() {
		cmd.Process.Kill()
		<-done
		cmd.Wait()
	}()
	if hwmErr != nil {
		b.Fatalf("VmHWM of %s: %v", pid, hwmErr)
	}
	run.hwmKB = hwm
	m := servingIndexed.FindStringSubmatch(run.line)
	u := servingURL.FindStringSubmatch(run.line)
	if m == nil || u == nil {
		b.Fatalf("no url= or members_indexed= in %q", run.line)
	}
	run.indexed, _ = strconv.ParseInt(m[1], 10, 64)

	// The server that came up answers from the data: a batch of probes.
	var batch checkBatch
	for _, p := range probes {
		batch.Checks = append(batch.Checks, p.item)
	}
	body, _ := json.Marshal(batch)
	req, _ := http.NewRequestWithContext(ctx, "POST", u[1]+"/v1/authz/check-batch", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+coldToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatalf("check-batch after start: %v", err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("check-batch after start: %d %v: %s", resp.StatusCode, err, clip(raw))
	}
	var got struct {
		Results []struct {
			Allowed bool   `json:"allowed"`
			Role    string `json:"role"`
		} `json:"results"`
	}
	if err := json.Unmarshal(raw, &got); err != nil || len(got.Results) != len(probes) {
		b.Fatalf("check-batch after start: %v: %s", err, clip(raw))
	}
	for i, p := range probes {
		if r := got.Results[i]; r.Allowed != p.allowed || r.Role != p.role {
			b.Fatalf("probe %+v: allowed %v role %q, want %v %q", p.item, r.Allowed, r.Role, p.allowed, p.role)
		}
	}
	return run
}

// BenchmarkColdStart starts `roster serve` 3 times on a database of
// -loadtest.members memberships (default 1,000,000: 100,000 committed
// accounts x 10 members, each a distinct user; issue 26's figures are at
// 10,000,000), on SQLite and, when one answers, on PostgreSQL, and reports
// the median time from starting the process to its "roster serving" log
// line (coldstart_s; the targets: under 1 s at 1M, under 10 s at 10M) and
// the median of the process's peak resident memory (VmHWM) read at that
// line (peakRSS_MB; under 120 MB at 1M, under 1 GiB at 10M). The line's
// members_indexed must be the generated count, and each started server
// must answer a batch of probe checks (owner, developer, support, another
// account's user, an unknown account) as the generated data says.
//
// SQLite: the database is made by Generate and cached as
// os.TempDir()/roster-coldstart-<members>.db (reused when it holds exactly
// the expected accounts and members; -loadtest.regen makes it again); each
// start gets a fresh copy of it (in the page cache: the disk is not cold,
// the process is). PostgreSQL: GeneratePostgres fills the database
// roster_coldstart_<members> on the server of storetest.PostgresBase
// (kept between runs likewise; loadtest/scale.sh drops it), and each start
// reads the same database. The binary is built once with go build.
//
// The reference: the same binary started 3 times on a database of one
// account and one member (ref_coldstart_s, ref_peakRSS_MB, medians);
// ratio is coldstart_s over ref_coldstart_s. other_cpu: see the package
// documentation.
//
// About 10 s a database at 1M with the cached data, plus the generation
// when there is none; once whatever b.N is:
//
//	go test -run XXX -bench ColdStart/ -benchtime 1x ./loadtest
//	go test -run XXX -bench ColdStart/ -benchtime 1x -timeout 2h ./loadtest -loadtest.members 10000000
func BenchmarkColdStart(b *testing.B) {
	bin := buildRoster(b, b.TempDir())
	b.Run("sqlite", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if i == 0 {
				measureColdStart(b, bin, false)
			}
		}
	})
	b.Run("postgres", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if i == 0 {
				measureColdStart(b, bin, true)
			}
		}
	})
}

// coldPostgres returns the URL of the cached PostgreSQL database of
// -loadtest.members memberships, generating it first when it is missing
// or incomplete (or -loadtest.regen is given); it skips when no
// PostgreSQL answers.
func coldPostgres(b *testing.B) (dsn string, generated time.Duration) {
	b.Helper()
	base, ok := storetest.PostgresBase(b)
	if !ok {
		b.Skip("no PostgreSQL to start on")
	}
	accounts, members := scaleAccounts(b), *scaleMembers
	name := coldPostgresName(members)
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + name
	dsn = u.String()
	if !*regen {
		if db, err := store.Open(dsn); err == nil {
			var a, m int64
			err = db.SQL().QueryRow(`SELECT (SELECT COUNT(*) FROM accounts), (SELECT COUNT(*) FROM members)`).Scan(&a, &m)
			db.Close()
			if err == nil && a == int64(accounts) && m == int64(members) {
				return dsn, 0
			}
			b.Logf("cached database %s: %d accounts and %d members (%v): generating it again", name, a, m, err)
		}
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
		b.Fatal(err)
	}
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := GeneratePostgres(dsn, accounts, coldPerAccount); err != nil {
		b.Fatalf("generate on PostgreSQL: %v", err)
	}
	return dsn, time.Since(start)
}

func measureColdStart(b *testing.B, bin string, postgres bool) {
	b.StopTimer()
	coldMembers := int64(*scaleMembers)
	var (
		cached, size string
		genTime      time.Duration
	)
	if postgres {
		cached, genTime = coldPostgres(b)
		db, err := store.Open(cached)
		if err != nil {
			b.Fatal(err)
		}
		var bytes int64
		err = db.SQL().QueryRow(`SELECT pg_database_size(current_database())`).Scan(&bytes)
		db.Close()
		if err != nil {
			b.Fatal(err)
		}
		size = fmt.Sprintf("%.0f MB", float64(bytes)/(1<<20))
	} else {
		cached, genTime = coldDB(b)
		fi, err := os.Stat(cached)
		if err != nil {
			b.Fatal(err)
		}
		size = fmt.Sprintf("%.0f MB", float64(fi.Size())/(1<<20))
	}
	dir := b.TempDir()
	probes := coldProbes(b, cached)

	// The reference: the same binary started the same way on a database
	// of one account with one member (fixed costs: exec, runtime, migrate
	// check, listen), of the same kind.
	var baseDB string
	if postgres {
		base, _ := storetest.PostgresBase(b)
		baseDB = storetest.NewPostgresDatabase(b, base)
		if err := GeneratePostgres(baseDB, 1, 1); err != nil {
			b.Fatal(err)
		}
	} else {
		baseDB = filepath.Join(dir, "base.db")
		if err := Generate(baseDB, 1, 1); err != nil {
			b.Fatal(err)
		}
	}
	var baseAuthID string
	if db, err := store.Open(baseDB); err != nil {
		b.Fatal(err)
	} else {
		err = db.SQL().QueryRow(`SELECT auth_id FROM accounts WHERE id = 1`).Scan(&baseAuthID)
		db.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	baseProbes := []probe{
		{checkItem{AccountID: baseAuthID, UserID: 1, Permission: "team.edit"}, "owner", true},
		{checkItem{AccountID: baseAuthID, UserID: 2, Permission: "numbers.view"}, "", false},
	}
	// fresh returns the database a start runs on: a copy of a SQLite
	// file (removed by done), or the PostgreSQL database itself.
	fresh := func(src, name string) (db string, done func()) {
		if postgres {
			return src, func() {}
		}
		db = filepath.Join(dir, name)
		if err := copyFile(db, src); err != nil {
			b.Fatal(err)
		}
		return db, func() {
			for _, s := range []string{"", "-wal", "-shm"} {
				os.Remove(db + s)
			}
		}
	}
	var baseSecs, baseMBs []float64
	for r := range coldRuns {
		db, done := fresh(baseDB, fmt.Sprintf("base%d.db", r+1))
		run := startOnce(b, bin, db, baseProbes)
		done()
		if run.indexed != 1 {
			b.Fatalf("reference: members_indexed=%d, want 1: %s", run.indexed, run.line)
		}
		baseSecs = append(baseSecs, run.startup.Seconds())
		baseMBs = append(baseMBs, float64(run.hwmKB)/1024)
	}

	var secs, cpus, mbs []float64
	var runs []string
	var indexed int64
	meter := startCPU()
	for r := range coldRuns {
		db, done := fresh(cached, fmt.Sprintf("run%d.db", r+1))
		b.StartTimer()
		run := startOnce(b, bin, db, probes)
		b.StopTimer()
		done()
		if run.indexed != coldMembers {
			b.Fatalf("members_indexed=%d, want %d: %s", run.indexed, coldMembers, run.line)
		}
		indexed = run.indexed
		secs = append(secs, run.startup.Seconds())
		cpus = append(cpus, run.cpu.Seconds())
		mbs = append(mbs, float64(run.hwmKB)/1024)
		runs = append(runs, fmt.Sprintf("%.3fs/%.2fs CPU/%.1fMB", run.startup.Seconds(), run.cpu.Seconds(), float64(run.hwmKB)/1024))
	}
	other := meter.other()
	b.ReportMetric(median(secs), "coldstart_s")
	b.ReportMetric(median(mbs), "peakRSS_MB")
	b.ReportMetric(median(cpus), "cpu_s")
	b.ReportMetric(other, "other_cpu")
	b.ReportMetric(median(baseSecs), "ref_coldstart_s")
	b.ReportMetric(median(baseMBs), "ref_peakRSS_MB")
	b.ReportMetric(median(secs)/median(baseSecs), "ratio")
	gen := "cached"
	if genTime > 0 {
		gen = "generated in " + genTime.Round(time.Millisecond).String()
	}
	b.Logf("cold start on %d memberships: median %.3f s (median %.2f s of CPU), median peak RSS %.1f MB; runs %v; members_indexed=%d; "+
		"reference on 1 member: %.3f s, %.1f MB (ratio %.1f); other processes used %.0f%% of the CPU during the starts; database %s (%s, %s); NumCPU %d",
		coldMembers, median(secs), median(cpus), median(mbs), runs, indexed, median(baseSecs), median(baseMBs), median(secs)/median(baseSecs),
		100*other, cached, size, gen, runtime.NumCPU())
}

// BenchmarkColdStartInProcess is BenchmarkColdStart's start on SQLite
// without the process around it, so that `-cpuprofile` sees it:
// server.Open (what `roster serve` does before it logs "roster serving":
// open, migrate, load the check index) on a fresh copy of the same cached
// database, 3 times. Reported: open_s (median), and heap_MB, the Go heap
// in use after a garbage collection with the last server still open (what
// the index and the rest keep), median.
//
//	go test -run XXX -bench ColdStartInProcess -benchtime 1x -cpuprofile cold.prof ./loadtest
//	go tool pprof -top -nodecount=25 loadtest.test cold.prof
func BenchmarkColdStartInProcess(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if i == 0 {
			measureColdStartInProcess(b)
		}
	}
}

func measureColdStartInProcess(b *testing.B) {
	b.StopTimer()
	coldMembers := *scaleMembers
	cached, _ := coldDB(b)
	dir := b.TempDir()
	var secs, heap []float64
	var indexed int
	for r := range coldRuns {
		db := filepath.Join(dir, fmt.Sprintf("run%d.db", r+1))
		if err := copyFile(db, cached); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		cfg := server.Config{Addr: "127.0.0.1:0", Database: db, ServiceToken: coldToken}
		b.StartTimer()
		start := time.Now()
		srv, err := server.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		took := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		indexed = srv.Service.IndexedMembers()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		srv.Close()
		if indexed != coldMembers {
			b.Fatalf("indexed %d members, want %d", indexed, coldMembers)
		}
		secs = append(secs, took.Seconds())
		heap = append(heap, float64(ms.HeapInuse)/(1<<20))
		for _, s := range []string{"", "-wal", "-shm"} {
			os.Remove(db + s)
		}
	}
	b.ReportMetric(median(secs), "open_s")
	b.ReportMetric(median(heap), "heap_MB")
	b.Logf("in-process server.Open on %d memberships: median %.3f s, runs %v; heap in use after GC %.1f MB (runs %v); NumCPU %d",
		indexed, median(secs), secs, median(heap), heap, runtime.NumCPU())
}
