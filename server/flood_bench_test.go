package server_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

const (
	checkWindow   = 3 * time.Second        // how long each check phase runs
	checkWorkers  = 32                     // concurrent /v1/authz/check clients
	floodWorkers  = 64                     // concurrent wrong-password login clients
	floodWarmup   = 500 * time.Millisecond // flood alone before the second check phase
	rssSampleStep = 100 * time.Millisecond // VmRSS sampling interval during the flood
)

// BenchmarkLoginFlood shows what a password-guessing botnet does to the
// permission check. 64 clients send wrong-password logins, each with a
// fresh random address at flood-corp.com and a fresh random X-Forwarded-For
// client address (10.x.y.z, the server trusting its immediate peer as a
// proxy), so neither the per-address nor the per-client login throttle
// fires and only the bound on concurrent argon2id hashing
// (Config.HashConcurrency, HashWait, then 503 with Retry-After) protects
// the process. Meanwhile 32 clients call POST /v1/authz/check.
//
// Reported: checks/s alone and under the flood, their ratio (the target is
// at least 0.5), logins answered per second by status, and the peak
// resident memory of the test process (VmHWM; the server, its SQLite and
// every client run in this one process). Speed and memory are reported, not
// asserted; correctness is: every check answers 200 with "allowed":true,
// no login answers a 5xx other than 503, and every 503 carries Retry-After.
//
// The measurement takes about 7 s and runs once whatever b.N is:
//
//	go test -run XXX -bench LoginFlood -benchtime 1x ./server
func BenchmarkLoginFlood(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if i == 0 {
			measureLoginFlood(b)
		}
	}
}

func measureLoginFlood(b *testing.B) {
	b.StopTimer()
	e := servertest.New(b, servertest.Options{Tweak: func(c *server.Config) {
		p, err := edge.ParseProxies("true")
		if err != nil {
			b.Fatalf("parse proxies: %v", err)
		}
		c.Proxies = p
		c.HashWait = time.Second // the production wait (servertest lengthens it for tests)
	}})
	owner, acct := e.SignUp(b, "owner@acme-corp.com", "Owner")
	e.Commit(b, acct)
	_, devID := e.Join(b, owner, acct, "dev@acme-corp.com", "developer")
	checkBody := []byte(fmt.Sprintf(`{"account_id":%q,"user_id":%d,"permission":"numbers.edit"}`, acct, devID))
	// The membership is real and allowed before anything is measured.
	if r := e.Platform(b).Must(200, "POST", "/v1/authz/check", checkBody); r.JSON["allowed"] != true {
		b.Fatalf("check before the flood: %s", r.Body)
	}

	checkClient := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
		Timeout:   30 * time.Second,
	}
	floodTransport := &http.Transport{MaxIdleConnsPerHost: 64}
	floodClient := &http.Client{Transport: floodTransport, Timeout: 30 * time.Second}
	b.Cleanup(func() {
		checkClient.CloseIdleConnections()
		floodClient.CloseIdleConnections()
	})

	b.StartTimer()

	// 1. The check alone.
	alone := runChecks(e.URL, checkClient, checkBody)
	if alone.failure != "" {
		b.Fatalf("check alone: %s", alone.failure)
	}

	// 2. The flood, and the check again once it is under way.
	beforeKB, beforeErr := procStatusKB("VmRSS")
	f := startFlood(e.URL, floodClient)
	// Stop the flood before the server's own cleanup closes it, even when
	// the benchmark fails part-way (cleanups run last-registered first).
	b.Cleanup(f.stop)
	time.Sleep(floodWarmup)
	flooded := runChecks(e.URL, checkClient, checkBody)
	f.stop()

	b.StopTimer()

	if flooded.failure != "" {
		b.Fatalf("check under flood: %s", flooded.failure)
	}
	if f.transportErr != nil {
		b.Fatalf("flood: %d requests failed without an answer, first: %v", f.errors.Load(), f.transportErr)
	}
	if n := f.other.Load(); n > 0 {
		b.Fatalf("flood: %d logins answered an unexpected status, first: %s", n, f.firstOther)
	}
	if n := f.missingRetryAfter.Load(); n > 0 {
		b.Fatalf("flood: %d of %d 503 answers carried no Retry-After", n, f.s503.Load())
	}

	// Memory.
	hwmKB, hwmErr := procStatusKB("VmHWM")
	if hwmErr != nil {
		b.Logf("peak RSS not measured: %v", hwmErr)
	} else {
		b.ReportMetric(float64(hwmKB)/1024, "peakRSS_MB")
	}
	if f.rssErr != nil {
		b.Logf("VmRSS not sampled during the flood: %v", f.rssErr)
	}

	secs := f.elapsed.Seconds()
	ratio := flooded.perSecond() / alone.perSecond()
	b.ReportMetric(alone.perSecond(), "checks/s_alone")
	b.ReportMetric(flooded.perSecond(), "checks/s_flood")
	b.ReportMetric(ratio, "flood_ratio")
	b.ReportMetric(float64(f.s401.Load())/secs, "logins401/s")
	b.ReportMetric(float64(f.s503.Load())/secs, "logins503/s")

	st := &e.Server.Service.Stats
	// Every botnet attempt leaves its throttle counters behind.
	var throttleRows int64
	if err := e.Server.DB.SQL().QueryRow(`SELECT COUNT(*) FROM throttles`).Scan(&throttleRows); err != nil {
		b.Logf("count throttle rows: %v", err)
	}
	b.Logf("checks/s alone %.0f, under flood %.0f (ratio %.2f); flood %.1fs: 401 %d (%.0f/s), 429 %d, 503 %d (%.0f/s), other %d; "+
		"hashes %d, hash-busy %d, throttled %d, throttle rows %d; "+
		"VmRSS before flood %s, max sampled during flood %s, peak (VmHWM) %s; "+
		"NumCPU %d, GOMAXPROCS %d, HashConcurrency %d",
		alone.perSecond(), flooded.perSecond(), ratio, secs,
		f.s401.Load(), float64(f.s401.Load())/secs, f.s429.Load(), f.s503.Load(), float64(f.s503.Load())/secs, f.other.Load(),
		st.Hashes.Load(), st.HashBusy.Load(), st.LoginThrottled.Load(), throttleRows,
		mb(beforeKB, beforeErr), mb(f.maxRSSKB, f.rssErr), mb(hwmKB, hwmErr),
		runtime.NumCPU(), runtime.GOMAXPROCS(0), e.Server.Service.Config.HashConcurrency)
}

// checkResult is one check phase: allowed answers over the elapsed time,
// and the first failure ("" when none).
type checkResult struct {
	allowed int64
	elapsed time.Duration
	failure string
}

func (r checkResult) perSecond() float64 { return float64(r.allowed) / r.elapsed.Seconds() }

// runChecks runs checkWorkers clients against POST /v1/authz/check for
// checkWindow. A request in flight at the end of the window still counts,
// and the elapsed time runs until the last one is answered.
func runChecks(url string, client *http.Client, body []byte) checkResult {
	var (
		allowed atomic.Int64
		failed  atomic.Bool
		once    sync.Once
		failure string
		wg      sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		failed.Store(true)
		once.Do(func() { failure = fmt.Sprintf(format, args...) })
	}
	start := time.Now()
	deadline := start.Add(checkWindow)
	for range checkWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() && time.Now().Before(deadline) {
				req, err := http.NewRequest("POST", url+"/v1/authz/check", bytes.NewReader(body))
				if err != nil {
					fail("new request: %v", err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+servertest.ServiceToken)
				resp, err := client.Do(req)
				if err != nil {
					fail("POST /v1/authz/check: %v", err)
					return
				}
				raw, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					fail("read answer: %v", err)
					return
				case resp.StatusCode != http.StatusOK:
					fail("status %d: %s", resp.StatusCode, bytes.TrimSpace(raw))
					return
				case !bytes.Contains(raw, []byte(`"allowed":true`)):
					fail("200 without \"allowed\":true: %s", bytes.TrimSpace(raw))
					return
				}
				allowed.Add(1)
			}
		}()
	}
	wg.Wait()
	return checkResult{allowed: allowed.Load(), elapsed: time.Since(start), failure: failure}
}

// flood is a running wrong-password login flood and, once stopped, what
// it was answered.
type flood struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	start  time.Time
	once   sync.Once

	s401, s429, s503, other atomic.Int64
	missingRetryAfter       atomic.Int64
	errors                  atomic.Int64

	mu           sync.Mutex
	firstOther   string // the first unexpected answer
	transportErr error  // the first request that got no answer (not counting the stop)

	// Set by stop.
	elapsed  time.Duration
	maxRSSKB int64
	rssErr   error
}

// startFlood starts floodWorkers botnet clients and a VmRSS sampler.
func startFlood(url string, client *http.Client) *flood {
	ctx, cancel := context.WithCancel(context.Background())
	f := &flood{cancel: cancel, start: time.Now()}
	for range floodWorkers {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			for ctx.Err() == nil {
				f.login(ctx, url, client)
			}
		}()
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		t := time.NewTicker(rssSampleStep)
		defer t.Stop()
		for {
			kb, err := procStatusKB("VmRSS")
			f.mu.Lock()
			if err != nil {
				f.rssErr = err
			} else if kb > f.maxRSSKB {
				f.maxRSSKB = kb
			}
			f.mu.Unlock()
			if err != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return f
}

// login sends one wrong-password login from a fresh address and client.
func (f *flood) login(ctx context.Context, url string, client *http.Client) {
	email := fmt.Sprintf("bot-%016x@flood-corp.com", rand.Uint64())
	body := fmt.Sprintf(`{"email":%q,"password":"wrong password 123"}`, email)
	req, err := http.NewRequestWithContext(ctx, "POST", url+"/v1/login", strings.NewReader(body))
	if err != nil {
		f.fail(err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", rand.N(256), rand.N(256), rand.N(256)))
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			f.fail(err)
		}
		return
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		if ctx.Err() == nil {
			f.fail(err)
		}
		return
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		f.s401.Add(1)
	case http.StatusTooManyRequests:
		f.s429.Add(1)
	case http.StatusServiceUnavailable:
		f.s503.Add(1)
		if resp.Header.Get("Retry-After") == "" {
			f.missingRetryAfter.Add(1)
		}
	default:
		f.other.Add(1)
		f.mu.Lock()
		if f.firstOther == "" {
			f.firstOther = fmt.Sprintf("%d: %s", resp.StatusCode, bytes.TrimSpace(raw))
		}
		f.mu.Unlock()
	}
}

func (f *flood) fail(err error) {
	f.errors.Add(1)
	f.mu.Lock()
	if f.transportErr == nil {
		f.transportErr = err
	}
	f.mu.Unlock()
}

// stop cancels the flood and waits for its clients and the sampler. It
// can be called more than once.
func (f *flood) stop() {
	f.once.Do(func() {
		f.cancel()
		f.elapsed = time.Since(f.start)
		f.wg.Wait()
	})
}

// procStatusKB reads a "kB" field (VmRSS, VmHWM) of /proc/self/status.
func procStatusKB(field string) (int64, error) {
	fh, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		v := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB"))
		return strconv.ParseInt(v, 10, 64)
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("/proc/self/status has no " + field)
}

func mb(kb int64, err error) string {
	if err != nil {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MB", float64(kb)/1024)
}
