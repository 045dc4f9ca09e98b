package console_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// watchTemp points the process's temporary folder (where Go's multipart
// spills files: os.TempDir, which reads TMPDIR on each use) at a fresh,
// empty folder, and returns a check that it is still empty.
func watchTemp(t *testing.T) func(what string) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	return func(what string) {
		t.Helper()
		des, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, de := range des {
			t.Errorf("%s: the temporary folder holds %s", what, de.Name())
		}
	}
}

// paddedForm is form encoded, with a pad field making it exactly n bytes.
func paddedForm(form url.Values, n int) string {
	s := form.Encode() + "&pad="
	return s + strings.Repeat("a", n-len(s))
}

// The public forms refuse a body over 64 KiB with a 413 page, and do
// nothing: no session, no user, no reset link, no mail. At the cap they
// work.
func TestConsole_FormsOverTheCapAnswer413(t *testing.T) {
	e := servertest.New(t)
	e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	mails := len(e.Mail.Messages())
	state := func() string {
		return fmt.Sprint(e.Count(t, `SELECT COUNT(*) FROM sessions`), e.Count(t, `SELECT COUNT(*) FROM users`),
			e.Count(t, `SELECT COUNT(*) FROM email_verifications`), e.Count(t, `SELECT COUNT(*) FROM password_resets`))
	}
	before := state()
	k := newFormClient(t, e, e.Client(t))
	post := func(path, body string) answer {
		t.Helper()
		return k.keep(k.c.HTTP.Post(e.URL+path, "application/x-www-form-urlencoded", strings.NewReader(body)))
	}
	login := url.Values{"email": {"olga@acme-corp.com"}, "password": {servertest.Password}}
	signup := url.Values{"email": {"new@acme-corp.com"}, "password": {servertest.Password}, "name": {"New"}}
	forgot := url.Values{"email": {"olga@acme-corp.com"}}
	for _, tc := range []struct {
		path string
		form url.Values
	}{{"/login", login}, {"/signup", signup}, {"/forgot-password", forgot}} {
		a := post(tc.path, paddedForm(tc.form, edge.FormMax+1))
		a.want(t, tc.path+" over the cap", 413, "<h1>Too much to send</h1>", `role="alert"`, "larger than 65536 bytes")
		if !strings.HasPrefix(a.Header.Get("Content-Type"), "text/html") || a.Header.Get("Set-Cookie") != "" {
			t.Errorf("%s over the cap: Content-Type %q, Set-Cookie %q", tc.path, a.Header.Get("Content-Type"), a.Header.Get("Set-Cookie"))
		}
	}
	// Sessions, users, sign-up links and reset links are as they were.
	if after := state(); after != before {
		t.Errorf("refused forms changed the counts of sessions, users, sign-up and reset links from %s to %s", before, after)
	}

	// At the cap, each form is read as usual.
	post("/login", paddedForm(login, edge.FormMax)).want(t, "login at the cap", 303)
	post("/signup", paddedForm(signup, edge.FormMax)).want(t, "sign-up at the cap", 200, "Check your inbox")
	e.Mail.WaitFor(t, "new@acme-corp.com", 1, 10*time.Second)
	if n := len(e.Mail.Messages()) - mails; n != 1 {
		t.Errorf("%d mails after the refused forms and one sign-up, want 1", n)
	}
}

// multipartForm is a form with a file, as a browser sends it.
func multipartForm(fields url.Values, file []byte) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile("file", "team.csv")
	fw.Write(file)
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// A multipart body (a file) to a form that takes none is refused with 415
// unread: nothing is parsed, nothing reaches the disk, nothing happens.
func TestConsole_MultipartRefusedWhereNoFileIsTaken(t *testing.T) {
	empty := watchTemp(t)
	e := servertest.New(t)
	api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	owner := newFormClient(t, e, api)
	owner.get("/accounts/" + acct + "/settings")
	sessions := e.Count(t, `SELECT COUNT(*) FROM sessions`)
	anon := newFormClient(t, e, e.Client(t))
	big := bytes.Repeat([]byte("a,b\n"), 2<<20) // 8 MiB: past any cap
	for _, tc := range []struct {
		k      *formClient
		path   string
		fields url.Values
	}{
		{anon, "/login", url.Values{"email": {"olga@acme-corp.com"}, "password": {servertest.Password}}},
		{anon, "/signup", url.Values{"email": {"new@acme-corp.com"}, "password": {servertest.Password}, "name": {"New"}}},
		{anon, "/forgot-password", url.Values{"email": {"olga@acme-corp.com"}}},
		{owner, "/accounts/" + acct + "/settings", url.Values{"csrf": {owner.csrf}, "name": {"Renamed"}}},
	} {
		for _, file := range [][]byte{[]byte("x"), big} {
			ct, body := multipartForm(tc.fields, file)
			a := tc.k.keep(tc.k.c.HTTP.Post(e.URL+tc.path, ct, bytes.NewReader(body)))
			a.want(t, fmt.Sprintf("%s with a file of %d bytes", tc.path, len(file)), 415, "<h1>Form not accepted</h1>", `role="alert"`)
		}
	}
	empty("after multipart posts")
	if n := e.Count(t, `SELECT COUNT(*) FROM sessions`); n != sessions {
		t.Errorf("refused logins made %d sessions", n-sessions)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM users`) + e.Count(t, `SELECT COUNT(*) FROM password_resets`); n != 1 {
		t.Errorf("refused forms left %d users and reset links, want Olga alone", n)
	}
	if name := api.Must(200, "GET", "/v1/accounts/"+acct+"/settings", nil).Str("name"); name == "Renamed" {
		t.Error("a refused settings form renamed the account")
	}
}

// The bulk-invite form takes a CSV file of up to 1 MiB, held in memory;
// a larger one answers 413 and invites no one.
func TestConsole_InviteBatchFileUpTo1MiB(t *testing.T) {
	empty := watchTemp(t)
	f := newAccessFixture(t)
	f.owner.get(f.path("/team"))
	batch := f.path("/team/invite-batch")
	// Three rows, then blank lines (which a batch skips) up to size bytes.
	csvOf := func(size int) []byte {
		rows := "email,role\nana@acme-corp.com,developer\nbo@acme-corp.com,admin\ncy@acme-corp.com\n"
		return []byte(rows + strings.Repeat("\n", size-len(rows)))
	}
	post := func(file []byte) answer {
		ct, body := multipartForm(url.Values{"csrf": {f.owner.csrf}}, file)
		return f.owner.keep(f.owner.c.HTTP.Post(f.owner.e.URL+batch, ct, bytes.NewReader(body)))
	}

	post(csvOf(edge.FileMax+1)).want(t, "a file of 1 MiB and a byte", 413, `id="batch-error" role="alert"`, "larger than 1 MiB")
	post(csvOf(3<<20)).want(t, "a file of 3 MiB", 413, "<h1>Too much to send</h1>", `role="alert"`)
	if n := f.invitations(t); n != 0 {
		t.Fatalf("refused files made %d invitations", n)
	}
	empty("after files over the cap")

	post(csvOf(edge.FileMax)).want(t, "a file of 1 MiB", 200, "3 of 3 invitations sent",
		`data-batch="ana@acme-corp.com" data-outcome="created"`, `data-batch="cy@acme-corp.com" data-outcome="created"`)
	if n := f.invitations(t); n != 3 {
		t.Errorf("the file of 1 MiB made %d invitations, want 3", n)
	}
	empty("after a file of 1 MiB")
}

// A body that stalls mid-way answers 408 with the console's page, never
// 500, and does nothing.
func TestConsole_StalledBodyAnswers408(t *testing.T) {
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.ReadTimeout = time.Second }})
	e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	sessions := e.Count(t, `SELECT COUNT(*) FROM sessions`)
	for _, path := range []string{"/login", "/signup", "/forgot-password"} {
		st, header, body := stall(t, e, path, "application/x-www-form-urlencoded", "email=olga%40acme-corp.com&password=correct+horse")
		if st != 408 || !strings.HasPrefix(header.Get("Content-Type"), "text/html") ||
			!strings.Contains(body, "<h1>The form took too long to arrive</h1>") {
			t.Errorf("%s stalled: %d %q %.300s", path, st, header.Get("Content-Type"), body)
		}
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM sessions`); n != sessions {
		t.Errorf("stalled logins made %d sessions", n-sessions)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM password_resets`); n != 0 {
		t.Errorf("a stalled reset request made %d reset links", n)
	}
}

// stall sends a POST whose body stops after part (of a declared 100 KiB),
// and returns the answer.
func stall(t *testing.T, e *servertest.Env, path, contentType, part string) (int, http.Header, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
		path, strings.TrimPrefix(e.URL, "http://"), contentType, 100<<10, part)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s: no answer to a stalled body: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestConsole_UploadReadOnlyForSignedInUsers: the one page that takes a
// file answers a stranger (no session, or a made-up one) at once, with the
// login page, before reading the body: the body here stalls after its
// first bytes, and the answer comes anyway, not a 408 after the read
// timeout. Nothing is invited.
func TestConsole_UploadReadOnlyForSignedInUsers(t *testing.T) {
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.ReadTimeout = 10 * time.Second }})
	_, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	path := "/accounts/" + acct + "/team/invite-batch"
	part := "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nada@acme-corp.com,developer\r\n"
	for _, cookie := range []string{"", "roster_session=made-up"} {
		start := time.Now()
		st, header, _ := stallWithCookie(t, e, path, "multipart/form-data; boundary=b", part, cookie)
		if st != http.StatusSeeOther || header.Get("Location") != "/login" {
			t.Errorf("stranger (cookie %q) uploading: %d to %q, want 303 to /login", cookie, st, header.Get("Location"))
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("stranger (cookie %q) answered after %v: the body was waited for", cookie, d)
		}
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM invitations`); n != 0 {
		t.Errorf("%d invitations made by strangers", n)
	}
}

// stallWithCookie is stall with a Cookie header (none when cookie is "").
func stallWithCookie(t *testing.T, e *servertest.Env, path, contentType, part, cookie string) (int, http.Header, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	extra := ""
	if cookie != "" {
		extra = "Cookie: " + cookie + "\r\n"
	}
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n%s",
		path, strings.TrimPrefix(e.URL, "http://"), contentType, 1<<20, extra, part)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s: no answer: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
