package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/server/servertest"
)

// The body flood of issue 19: anyone could post large multipart bodies to
// the console's public forms, each parsed with 32 MiB in memory and the
// rest written to a temporary file that was never removed. Here
// bodyFloodWorkers clients post bodyFloodSize-byte multipart bodies for
// bodyFloodFor to the public forms and to the bulk-invite upload (which
// takes a file, up to 1 MiB); the process (server and clients: the test
// server runs in it) stays under bodyFloodMaxRSS (not checked under the
// race detector, whose shadow memory alone takes an idle server near it),
// the flood adds at most bodyFloodMaxGrowth, and the temporary folder gets
// nothing.
const (
	bodyFloodWorkers = 16
	bodyFloodSize    = 48 << 20
	bodyFloodFor     = 4 * time.Second
	bodyFloodMaxRSS  = 300 << 20
	// bodyFloodMaxGrowth bounds what the flood adds to the process's
	// resident memory: bodies parsed whole would add 32 MiB each in memory
	// (16 at once: half a gigabyte); held to their caps, about 50 MB here
	// (70 MB under the race detector).
	bodyFloodMaxGrowth = 150 << 20
)

// multipartFlood is a multipart/form-data body with a form field and a
// file of size bytes, made as it is read (the client holds none of it).
type multipartFlood struct {
	head, tail string
	left       int64 // file bytes still to send
	off        int   // into head, then tail
	stage      int   // 0 head, 1 file, 2 tail
}

const floodBoundary = "roster-flood-boundary"

func newMultipartFlood(size int64) *multipartFlood {
	return &multipartFlood{
		head: "--" + floodBoundary + "\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nolga@acme-corp.com\r\n" +
			"--" + floodBoundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"team.csv\"\r\n" +
			"Content-Type: text/csv\r\n\r\n",
		tail: "\r\n--" + floodBoundary + "--\r\n",
		left: size,
	}
}

func (m *multipartFlood) len() int64 { return int64(len(m.head)+len(m.tail)) + m.left }

func (m *multipartFlood) Read(p []byte) (int, error) {
	switch m.stage {
	case 0:
		n := copy(p, m.head[m.off:])
		if m.off += n; m.off == len(m.head) {
			m.stage, m.off = 1, 0
		}
		return n, nil
	case 1:
		n := min(int64(len(p)), m.left)
		for i := range p[:n] {
			p[i] = 'a'
		}
		if m.left -= n; m.left == 0 {
			m.stage = 2
		}
		return int(n), nil
	case 2:
		n := copy(p, m.tail[m.off:])
		if m.off += n; m.off == len(m.tail) {
			m.stage = 3
		}
		return n, nil
	}
	return 0, io.EOF
}

// bodyFloodChild marks the process that runs the flood: the test runs
// itself again in a fresh process, so that the resident memory it
// measures is the server's and the clients', not what the package's
// earlier tests left behind.
const bodyFloodChild = "ROSTER_TEST_BODYFLOOD_CHILD"

func TestBodyFlood_ConsoleHoldsMemoryAndDisk(t *testing.T) {
	if os.Getenv(bodyFloodChild) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBodyFlood_ConsoleHoldsMemoryAndDisk$", "-test.v", "-test.count=1",
			"-test.timeout=5m")
		cmd.Env = append(os.Environ(), bodyFloodChild+"=1")
		out, err := cmd.CombinedOutput()
		t.Logf("the flood in its own process:\n%s", out)
		if err != nil {
			t.Fatalf("the flood failed: %v", err)
		}
		if !strings.Contains(string(out), "--- PASS: TestBodyFlood_ConsoleHoldsMemoryAndDisk") {
			t.Fatal("the flood's process did not run the test")
		}
		return
	}
	// A fresh temporary folder for the process, made before the server:
	// multipart spills to os.TempDir, which reads TMPDIR on each use.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	e := servertest.New(t)
	// Strangers flood every public form and the upload page (which sends
	// them to the login page unread); a signed-in owner floods the upload
	// page too, where the file is read up to its cap.
	owner, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	u, _ := url.Parse(e.URL)
	var session string
	for _, c := range owner.HTTP.Jar.Cookies(u) {
		if c.Name == edge.CookieName {
			session = c.Value
		}
	}
	if session == "" {
		t.Fatal("the owner has no session cookie")
	}
	upload := "/accounts/" + acct + "/team/invite-batch"
	type target struct {
		path, session, want string
	}
	targets := []target{{"/login", "", " 415"}, {"/signup", "", " 415"}, {"/forgot-password", "", " 415"},
		{"/reset-password/x", "", " 415"}, {upload, "", " 303"}, {upload, session, " 413"}}
	key := func(tg target, status int) string {
		who := "stranger"
		if tg.session != "" {
			who = "owner"
		}
		return fmt.Sprint(who, " ", strings.Replace(tg.path, acct, "{id}", 1), " ", status)
	}

	debug.FreeOSMemory() // what earlier tests left behind is not the flood's
	beforeKB, rssErr := procStatusKB("VmRSS")
	var maxKB atomic.Int64
	// New bodies are sent for bodyFloodFor; those on their way then finish
	// (a body cut short is one the server never parses whole).
	flooding, stop := context.WithTimeout(context.Background(), bodyFloodFor)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), bodyFloodFor+time.Minute)
	defer cancel()
	var sampler sync.WaitGroup
	if rssErr == nil {
		sampler.Add(1)
		go func() {
			defer sampler.Done()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				if kb, err := procStatusKB("VmRSS"); err == nil && kb > maxKB.Load() {
					maxKB.Store(kb)
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}

	var mu sync.Mutex
	answers := map[string]int{} // "path status" -> count
	var sent, failed atomic.Int64
	var workers sync.WaitGroup
	for w := range bodyFloodWorkers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			client := &http.Client{Transport: &http.Transport{},
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			defer client.CloseIdleConnections()
			for i := w; flooding.Err() == nil; i++ {
				tg := targets[i%len(targets)]
				body := newMultipartFlood(bodyFloodSize)
				req, _ := http.NewRequestWithContext(ctx, "POST", e.URL+tg.path, body)
				req.ContentLength = body.len()
				req.Header.Set("Content-Type", "multipart/form-data; boundary="+floodBoundary)
				if tg.session != "" {
					req.AddCookie(&http.Cookie{Name: edge.CookieName, Value: tg.session})
				}
				sent.Add(1)
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1) // the server may close before the body is sent
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				answers[key(tg, resp.StatusCode)]++
				mu.Unlock()
			}
		}()
	}
	workers.Wait()
	cancel()
	sampler.Wait()

	var got []string
	for k, n := range answers {
		got = append(got, fmt.Sprintf("%s ×%d", k, n))
	}
	sort.Strings(got)
	t.Logf("%d bodies of %d MiB sent in %s from %d clients (%d got no answer): %v", sent.Load(), bodyFloodSize>>20,
		bodyFloodFor, bodyFloodWorkers, failed.Load(), got)
	if rssErr == nil {
		t.Logf("VmRSS before %.0f MB, at most %.0f MB during the flood", float64(beforeKB)/1024, float64(maxKB.Load())/1024)
		// Under the race detector an idle server already holds about 240 MB
		// (its shadow memory): there only the growth is bounded.
		if !raceEnabled && maxKB.Load()<<10 > bodyFloodMaxRSS {
			t.Errorf("the process reached %.0f MB of resident memory, more than %d MB", float64(maxKB.Load())/1024, bodyFloodMaxRSS>>20)
		}
		if grew := (maxKB.Load() - beforeKB) << 10; grew > bodyFloodMaxGrowth {
			t.Errorf("the flood added %.0f MB of resident memory, more than %d MB", float64(grew)/(1<<20), bodyFloodMaxGrowth>>20)
		}
	} else {
		t.Logf("no /proc/self/status (%v): resident memory not checked", rssErr)
	}
	// Each target answered, and with its refusal: 415 where no file is
	// taken, the login page for a stranger's upload, 413 for a signed-in
	// user's file over the upload's cap.
	for _, tg := range targets {
		if k := key(tg, 0); answers[strings.TrimSuffix(k, " 0")+tg.want] == 0 {
			t.Errorf("%s never answered%s", strings.TrimSuffix(k, " 0"), tg.want)
		}
	}
	// Nothing in the temporary folder, now or once the handlers are done.
	deadline := time.Now().Add(2 * time.Second)
	for {
		left, size := tempFiles(t, tmp)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("the temporary folder holds %d files of %d MB in all: %v", len(left), size>>20, left[:min(len(left), 5)])
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tempFiles(t *testing.T, dir string) ([]string, int64) {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	var size int64
	for _, de := range des {
		names = append(names, de.Name())
		if fi, err := de.Info(); err == nil {
			size += fi.Size()
		}
	}
	return names, size
}
