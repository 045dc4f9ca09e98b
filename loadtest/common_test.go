package loadtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/server/servertest"
)

// checkItem is the body of POST /v1/authz/check: the same four fields as
// the server's own (httpapi.checkItem), decoded the same way by the bare
// reference server.
type checkItem struct {
	AccountID  string `json:"account_id"`
	UserID     int64  `json:"user_id"`
	APIKey     string `json:"api_key"`
	Permission string `json:"permission"`
}

// checkBatch is the body of POST /v1/authz/check-batch.
type checkBatch struct {
	Checks []checkItem `json:"checks"`
}

// newLoadClient is the one client every throughput window uses, against
// Roster and against the bare reference alike.
func newLoadClient(tb testing.TB) *http.Client {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	tb.Cleanup(c.CloseIdleConnections)
	return c
}

// window is one fixed-time load phase: answers that were right, over the
// elapsed time, and the first failure ("" when none).
type window struct {
	ok      int64
	elapsed time.Duration
	failure string
}

func (w window) perSecond() float64 { return float64(w.ok) / w.elapsed.Seconds() }

// add sums windows (counts and times), keeping the first failure.
func (w window) add(o window) window {
	w.ok += o.ok
	w.elapsed += o.elapsed
	if w.failure == "" {
		w.failure = o.failure
	}
	return w
}

// load runs workers goroutines that POST body to url with the service
// token for d, each answer having to be 200 with exactly the bytes want.
// A request in flight when the window closes still counts, and the
// elapsed time runs until the last one is answered.
func load(client *http.Client, url string, body, want []byte, workers int, d time.Duration) window {
	var (
		ok      atomic.Int64
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
	deadline := start.Add(d)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for !failed.Load() && time.Now().Before(deadline) {
				req, err := http.NewRequest("POST", url, bytes.NewReader(body))
				if err != nil {
					fail("new request: %v", err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+servertest.ServiceToken)
				resp, err := client.Do(req)
				if err != nil {
					fail("POST %s: %v", url, err)
					return
				}
				buf.Reset()
				_, err = buf.ReadFrom(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					fail("POST %s: read answer: %v", url, err)
					return
				case resp.StatusCode != http.StatusOK:
					fail("POST %s: status %d: %s", url, resp.StatusCode, clip(buf.Bytes()))
					return
				case !bytes.Equal(buf.Bytes(), want):
					fail("POST %s: 200 with %s, want %s", url, clip(buf.Bytes()), clip(want))
					return
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	return window{ok: ok.Load(), elapsed: time.Since(start), failure: failure}
}

func clip(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// bareServer is the reference: plain net/http that decodes each request
// body with encoding/json into into() and answers the fixed body with
// the given headers (those of Roster's own answer). A body that does not
// decode, or whose decoded value ok() refuses, gets a 400.
func bareServer(tb testing.TB, into func() any, ok func(any) bool, header http.Header, body []byte) *httptest.Server {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := into()
		if err := json.NewDecoder(r.Body).Decode(v); err != nil || !ok(v) {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		h := w.Header()
		for k, vs := range header {
			h[k] = vs
		}
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	}))
	tb.Cleanup(hs.Close)
	return hs
}

// answerHeader keeps the headers of a Roster answer that describe its
// body (Content-Type and Cache-Control), for the bare server to send too.
func answerHeader(h http.Header) http.Header {
	out := http.Header{}
	for _, k := range []string{"Content-Type", "Cache-Control"} {
		if v := h.Values(k); len(v) > 0 {
			out[k] = v
		}
	}
	return out
}

// percentile is the nearest-rank percentile (0 < p <= 1) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// procStatusKB reads a "kB" field (VmRSS, VmHWM) of /proc/<pid>/status
// ("self" for this process).
func procStatusKB(pid, field string) (int64, error) {
	fh, err := os.Open("/proc/" + pid + "/status")
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
	return 0, errors.New("/proc/" + pid + "/status has no " + field)
}

// cpuMeter tells how much of the machine other processes used while a
// measurement ran: the machine's busy CPU time (/proc/stat) less this
// process's own and that of its waited-for children (getrusage). On a
// shared machine a figure taken while others ran builds or benchmarks is
// not Roster's alone; the benchmarks report this share beside it.
type cpuMeter struct {
	start       time.Time
	busy, owned time.Duration
	err         error
}

func startCPU() cpuMeter {
	m := cpuMeter{start: time.Now()}
	m.busy, m.err = machineBusy()
	m.owned = ownCPU()
	return m
}

// other returns the share (0..1) of all cores' time in the interval used
// by other processes, or -1 when /proc/stat cannot be read.
func (m cpuMeter) other() float64 {
	busy, err := machineBusy()
	if err != nil || m.err != nil {
		return -1
	}
	wall := time.Since(m.start)
	o := float64((busy-m.busy)-(ownCPU()-m.owned)) / float64(wall*time.Duration(runtime.NumCPU()))
	return max(0, o)
}

// busyTime returns the CPU time every process used in the interval (all
// cores'), or 0 when /proc/stat cannot be read.
func (m cpuMeter) busyTime() time.Duration {
	busy, err := machineBusy()
	if err != nil || m.err != nil {
		return 0
	}
	return busy - m.busy
}

// machineBusy is the CPU time all cores spent on anything but idle and
// I/O wait since boot (/proc/stat, in USER_HZ = 100 ticks a second).
func machineBusy() (time.Duration, error) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected %q", line)
	}
	var ticks int64
	for i, v := range f[1:9] { // user nice system idle iowait irq softirq steal
		if i == 3 || i == 4 {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// ownCPU is the user and system CPU time of this process and of the
// children it has waited for.
func ownCPU() time.Duration {
	var t time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			t += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return t
}
