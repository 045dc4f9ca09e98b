package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
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

	"github.com/rosterhq/roster/httpapi"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// Every body the API reads is capped at 1 MiB (413 request_too_large with
// the JSON envelope, nothing done), a multipart body is refused unread
// (415 unsupported_media_type; no route takes a file), and at the cap a
// body is read as usual.
func TestAPI_BodyCaps(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir) // where a parsed multipart form would spill
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	invitations := "/v1/accounts/" + acct + "/invitations"
	invite := map[string]string{"email": "ana@acme-corp.com", "role": "developer"}
	batch := map[string]any{"invitations": []map[string]string{invite}}

	// Over the cap: valid JSON followed by blanks past 1 MiB (64 KiB on
	// the routes anyone may call).
	padded := func(v any, n int) string {
		b, _ := json.Marshal(v)
		return string(b) + strings.Repeat(" ", n-len(b))
	}
	over := func(v any) string { return padded(v, httpapi.MaxBody+1) }
	login := map[string]string{"email": "olga@acme-corp.com", "password": servertest.Password}
	anon := e.Client(t)
	sessions := func() int {
		var n int
		e.Server.DB.SQL().QueryRow(`SELECT COUNT(*) FROM sessions`).Scan(&n)
		return n
	}
	before := sessions()
	mails := func() int {
		return servertest.MailCount(e.Mail, "ana@acme-corp.com") + servertest.MailCount(e.Mail, "olga@acme-corp.com")
	}
	mailsBefore := mails()
	for path, v := range map[string]any{"/v1/login": login, "/v1/password-reset": map[string]string{"email": "olga@acme-corp.com"},
		"/v1/signup": map[string]string{"email": "ana@acme-corp.com", "password": servertest.Password, "name": "Ana"}} {
		anon.Refused(413, "request_too_large", "POST", path, padded(v, httpapi.PublicMaxBody+1))
	}
	time.Sleep(200 * time.Millisecond) // a reset request is worked after its answer: give a wrongly queued one time to mail
	if n := mails(); n != mailsBefore {
		t.Errorf("refused bodies sent %d mails", n-mailsBefore)
	}
	if n := sessions(); n != before {
		t.Errorf("refused logins made %d sessions", n-before)
	}
	owner.Refused(413, "request_too_large", "POST", invitations, over(invite))
	owner.Refused(413, "request_too_large", "POST", invitations+"/batch", over(batch))

	// Multipart, small or large: 415, unread.
	for _, size := range []int{1, 8 << 20} {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("email", "ana@acme-corp.com")
		fw, _ := mw.CreateFormFile("file", "team.csv")
		fw.Write(bytes.Repeat([]byte("a"), size))
		mw.Close()
		for _, c := range []*servertest.Client{anon, owner} {
			c.Header.Set("Content-Type", mw.FormDataContentType())
		}
		anon.Refused(415, "unsupported_media_type", "POST", "/v1/login", buf.Bytes())
		owner.Refused(415, "unsupported_media_type", "POST", invitations+"/batch", buf.Bytes())
		owner.Refused(415, "unsupported_media_type", "DELETE", "/v1/me/sessions", buf.Bytes())
	}
	for _, c := range []*servertest.Client{anon, owner} {
		c.Header.Del("Content-Type")
	}
	if n := owner.Must(200, "GET", invitations, nil).Total(); n != 0 {
		t.Errorf("refused bodies made %d invitations", n)
	}
	if des, _ := os.ReadDir(dir); len(des) != 0 {
		t.Errorf("the temporary folder holds %d files", len(des))
	}
	owner.Must(200, "GET", "/v1/me", nil) // the session is alive: DELETE /v1/me/sessions was refused

	// At the cap, the same bodies work.
	at := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b) + strings.Repeat(" ", httpapi.MaxBody-len(b))
	}
	anon.Must(200, "POST", "/v1/login", padded(login, httpapi.PublicMaxBody))
	owner.Must(201, "POST", invitations, at(invite))
	if n := owner.Must(200, "GET", invitations, nil).Total(); n != 1 {
		t.Errorf("%d invitations, want 1", n)
	}
}

// A body that stalls mid-way answers 408 request_timeout with the JSON
// envelope, never 500, on a public route, a member route and the check.
func TestAPI_StalledBodyAnswers408(t *testing.T) {
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.ReadTimeout = time.Second }})
	owner, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	u, _ := url.Parse(e.URL)
	var cookie string
	for _, ck := range owner.HTTP.Jar.Cookies(u) {
		cookie = ck.Name + "=" + ck.Value
	}
	for _, tc := range []struct{ path, header string }{
		{"/v1/login", ""},
		{"/v1/accounts/" + acct + "/invitations", "Cookie: " + cookie},
		{"/v1/authz/check", "Authorization: Bearer " + servertest.ServiceToken},
	} {
		st, ct, body := stallJSON(t, e, tc.path, tc.header)
		if st != 408 || !strings.HasPrefix(ct, "application/json") || !strings.Contains(body, `"code":"request_timeout"`) {
			t.Errorf("%s stalled: %d %s %s", tc.path, st, ct, body)
		}
	}
}

// stallJSON sends a POST whose body stops after its first bytes (of a
// declared 100 KiB), and returns the answer.
func stallJSON(t *testing.T, e *servertest.Env, path, header string) (int, string, string) {
	t.Helper()
	host := strings.TrimPrefix(e.URL, "http://")
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if header != "" {
		header += "\r\n"
	}
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n{\"email\": \"olga@",
		path, host, header, 100<<10)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s: no answer to a stalled body: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}
