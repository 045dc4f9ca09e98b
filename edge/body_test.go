package edge_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/edge"
)

// watchTemp points the process's temporary folder (where multipart spills
// files: os.TempDir, read from TMPDIR on each use) at a fresh, empty folder
// and returns it.
func watchTemp(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	if os.TempDir() != dir {
		t.Fatalf("os.TempDir() is %s, not the folder set in TMPDIR", os.TempDir())
	}
	return dir
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// bodyServer serves h behind RequestLog (which hands on a copy of the
// request) and LimitBody with rule b, inside a ServeMux, as both edges
// wire it. A refusal answers its status and code.
func bodyServer(t *testing.T, b edge.Body, h http.HandlerFunc) *httptest.Server {
	fail := func(w http.ResponseWriter, r *http.Request, err error) {
		w.WriteHeader(edge.StatusOf(err))
		fmt.Fprintf(w, "%s: %s", roster.ErrorCode(err), roster.ErrorMessage(err))
	}
	mux := http.NewServeMux()
	mux.Handle("/", edge.LimitBody(b, fail)(h))
	srv := httptest.NewUnstartedServer(edge.RequestLog(nil, nil)(mux))
	srv.Config.ReadTimeout = time.Second
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// multipartBody is a form with a field and a file of size bytes.
func multipartBody(size int) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("email", "ana@acme-corp.com")
	fw, _ := mw.CreateFormFile("file", "team.csv")
	fw.Write(bytes.Repeat([]byte("a"), size))
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func send(t *testing.T, url, method, contentType string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The bug of issue 19: RequestLog hands the handler a copy of the request,
// so net/http's own removal of a parsed form's files (on the request it
// made) missed them, and every multipart post left its file behind.
// LimitBody removes the files of the request the handler parsed.
func TestLimitBody_RemovesTheFilesTheHandlerParsed(t *testing.T) {
	dir := watchTemp(t)
	var onDisk atomic.Int32
	srv := bodyServer(t, edge.Body{Max: 4 << 20, Files: true}, func(w http.ResponseWriter, r *http.Request) {
		// A handler that parses the form itself, keeping 1 KiB in memory:
		// the file goes to disk.
		if err := r.ParseMultipartForm(1 << 10); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		onDisk.Store(int32(len(entries(t, dir))))
		fmt.Fprint(w, r.MultipartForm.File["file"][0].Size)
	})
	ct, body := multipartBody(2 << 20)
	if st, got := send(t, srv.URL, "POST", ct, bytes.NewReader(body)); st != 200 || got != "2097152" {
		t.Fatalf("upload: %d %s", st, got)
	}
	if onDisk.Load() == 0 {
		t.Fatal("the handler's form had no file on disk: the test proves nothing")
	}
	if left := entries(t, dir); len(left) != 0 {
		t.Errorf("after the request the temporary folder holds %v", left)
	}
}

// A form with a file is read by LimitBody, in memory: nothing reaches the
// disk, even at the cap.
func TestLimitBody_FormWithFileHeldInMemory(t *testing.T) {
	dir := watchTemp(t)
	var during atomic.Int32
	during.Store(-1)
	srv := bodyServer(t, edge.Body{Max: edge.UploadMax, Files: true, Form: true}, func(w http.ResponseWriter, r *http.Request) {
		during.Store(int32(len(entries(t, dir))))
		f, fh, err := r.FormFile("file")
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		defer f.Close()
		if _, ok := f.(*os.File); ok {
			http.Error(w, "the file is on disk", 500)
			return
		}
		fmt.Fprint(w, r.PostFormValue("email"), " ", fh.Size)
	})
	ct, body := multipartBody(edge.FileMax)
	if st, got := send(t, srv.URL, "POST", ct, bytes.NewReader(body)); st != 200 || got != "ana@acme-corp.com 1048576" {
		t.Fatalf("upload of 1 MiB: %d %s", st, got)
	}
	if during.Load() != 0 || len(entries(t, dir)) != 0 {
		t.Errorf("the temporary folder held %d files during the request, %v after", during.Load(), entries(t, dir))
	}
	// Past the cap: 413 before the handler, still nothing on disk.
	ct, body = multipartBody(edge.UploadMax)
	if st, got := send(t, srv.URL, "POST", ct, bytes.NewReader(body)); st != 413 || !strings.HasPrefix(got, "request_too_large:") {
		t.Errorf("upload over the cap: %d %s", st, got)
	}
	if left := entries(t, dir); len(left) != 0 {
		t.Errorf("the temporary folder holds %v", left)
	}
}

// countingReader counts what the client sent.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestLimitBody_Refusals(t *testing.T) {
	var called atomic.Int32
	handler := func(w http.ResponseWriter, r *http.Request) {
		called.Add(1)
		fmt.Fprint(w, "ok ", r.PostFormValue("email"))
	}
	form := bodyServer(t, edge.Body{Max: edge.FormMax, Form: true}, handler)
	file := bodyServer(t, edge.Body{Max: edge.UploadMax, Files: true, Form: true}, handler)
	api := bodyServer(t, edge.Body{Max: 1 << 20, UnsafeOnly: true}, handler)
	urlencoded := "application/x-www-form-urlencoded"
	pad := func(n int) string { // a form of exactly n bytes
		s := "email=ana%40acme-corp.com&pad="
		return s + strings.Repeat("a", n-len(s))
	}
	ct, small := multipartBody(10)
	cases := []struct {
		name         string
		srv          *httptest.Server
		method, ct   string
		body         string
		status       int
		prefix       string
		reachHandler bool
	}{
		{"form at the cap", form, "POST", urlencoded, pad(edge.FormMax), 200, "ok ana@acme-corp.com", true},
		{"form over the cap", form, "POST", urlencoded, pad(edge.FormMax + 1), 413, "request_too_large: The request body is larger than 65536 bytes", false},
		{"multipart where no file is taken", form, "POST", ct, string(small), 415, "unsupported_media_type:", false},
		{"multipart, upper case", form, "POST", "Multipart/Form-Data; boundary=x", "--x--", 415, "unsupported_media_type:", false},
		{"multipart on a GET to the console", form, "GET", ct, string(small), 415, "unsupported_media_type:", false},
		{"multipart on a GET to the API: never read", api, "GET", ct, string(small), 200, "ok", true},
		{"multipart to the API", api, "POST", ct, string(small), 415, "unsupported_media_type:", false},
		{"a file form", file, "POST", ct, string(small), 200, "ok ana@acme-corp.com", true},
		{"a file form, url-encoded", file, "POST", urlencoded, "email=bo%40acme-corp.com", 200, "ok bo@acme-corp.com", true},
		{"a file form, url-encoded over the form cap but under the upload cap", file, "POST", urlencoded, pad(edge.FormMax + 1), 200, "ok ana@acme-corp.com", true},
		{"a file form, malformed", file, "POST", "multipart/form-data; boundary=x", "--x\r\nnonsense", 400, "invalid_request:", false},
		{"a file form, multipart/mixed", file, "POST", "multipart/mixed; boundary=x", "--x--\r\n", 400, "invalid_request:", false},
		{"a file form of too many parts", file, "POST", "multipart/form-data; boundary=x",
			strings.Repeat("--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n", 1001) + "--x--\r\n", 413, "request_too_large:", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := called.Load()
			st, got := send(t, tc.srv.URL, tc.method, tc.ct, strings.NewReader(tc.body))
			if st != tc.status || !strings.HasPrefix(got, tc.prefix) {
				t.Errorf("got %d %q, want %d %q", st, got, tc.status, tc.prefix)
			}
			if reached := called.Load() > before; reached != tc.reachHandler {
				t.Errorf("the handler was reached: %v, want %v", reached, tc.reachHandler)
			}
		})
	}

	// A large multipart body is refused unread: the server closes the
	// connection rather than read it, so the client cannot send it all.
	_, big := multipartBody(64 << 20)
	cr := &countingReader{r: bytes.NewReader(big)}
	req, _ := http.NewRequest("POST", form.URL, cr)
	req.Header.Set("Content-Type", ct)
	req.ContentLength = int64(len(big))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != 415 {
			t.Errorf("a 64 MiB multipart body: %d, want 415", resp.StatusCode)
		}
	}
	if n := cr.n.Load(); n > 32<<20 {
		t.Errorf("the client sent %d MiB of a refused 64 MiB body", n>>20)
	}
}

// A body that stalls past the server's read timeout answers 408 (never a
// handler's guess at empty fields, never 500), as does JSON read by a
// handler through BodyError.
func TestLimitBody_StalledBodyAnswers408(t *testing.T) {
	form := bodyServer(t, edge.Body{Max: edge.FormMax, Form: true}, func(w http.ResponseWriter, r *http.Request) {
		t.Error("the handler got a stalled form")
	})
	api := bodyServer(t, edge.Body{Max: 1 << 20, UnsafeOnly: true}, func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		e := edge.BodyError(err)
		if e == nil {
			t.Errorf("BodyError(%v) = nil", err)
			return
		}
		w.WriteHeader(edge.StatusOf(e))
		fmt.Fprint(w, roster.ErrorCode(e))
	})
	for _, tc := range []struct {
		srv        *httptest.Server
		ct, status string
	}{
		{form, "application/x-www-form-urlencoded", "408 request_timeout: The request body did not arrive in time"},
		{api, "application/json", "408 request_timeout"},
	} {
		st, body := stall(t, tc.srv.Listener.Addr().String(), tc.ct)
		if got := fmt.Sprint(st, " ", body); got != tc.status {
			t.Errorf("stalled %s: %s, want %s", tc.ct, got, tc.status)
		}
	}
}

// stall sends the headers and a tenth of a 1,000-byte body, then waits
// for the answer.
func stall(t *testing.T, addr, contentType string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: roster.test\r\nContent-Type: %s\r\nContent-Length: 1000\r\n\r\nemail=ana%%40", contentType)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestBodyError(t *testing.T) {
	if edge.BodyError(nil) != nil || edge.BodyError(errors.New("unexpected EOF")) != nil || edge.BodyError(io.ErrUnexpectedEOF) != nil {
		t.Error("BodyError claims an error that is not the client's")
	}
	if c := roster.ErrorCode(edge.BodyError(fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 10}))); c != roster.ETOOLARGE {
		t.Errorf("MaxBytesError: %s", c)
	}
	if c := roster.ErrorCode(edge.BodyError(fmt.Errorf("multipart: NextPart: %w", os.ErrDeadlineExceeded))); c != roster.ETIMEOUT {
		t.Errorf("deadline: %s", c)
	}
	if edge.StatusOf(roster.Errorf(roster.ETIMEOUT, "")) != 408 || edge.StatusOf(roster.Errorf(roster.EMEDIATYPE, "")) != 415 {
		t.Error("the status table lacks 408 or 415")
	}
}
