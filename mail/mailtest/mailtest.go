// Package mailtest is a real SMTP server, in process, for tests: it takes
// every mail (with or without AUTH PLAIN) and decodes it for assertions.
// It can be stopped and started again on the same address (Stop, Start),
// as a mail server that goes down and comes back.
package mailtest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one received message.
type Mail struct {
	From    string
	To      []string
	Subject string
	Text    string
	// MessageID is the Message-ID header, without its angle brackets.
	MessageID string
	Raw       []byte
}

// Server is a running SMTP server on 127.0.0.1.
type Server struct {
	addr string
	mu   sync.Mutex
	msgs []Mail
	srv  *smtp.Server // nil while stopped
	// settlers run before Messages reads (BeforeRead).
	settlers []func()
	// refused: recipients the server refuses, with the reply code
	// (RefuseRecipient).
	refused map[string]int
	conns   int // connections taken (Conns)
}

// Conns returns how many connections the server has taken.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// RefuseRecipient makes the server refuse mail to the address with the
// reply code: 550 (no such mailbox, for good) or 450 (mailbox busy, try
// later), as a real server answers RCPT TO.
func (s *Server) RefuseRecipient(to string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused == nil {
		s.refused = map[string]int{}
	}
	s.refused[strings.ToLower(to)] = code
}

// NewServer starts a server on a free port; tb's cleanup stops it.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{addr: "127.0.0.1:0"}
	s.Start(tb)
	tb.Cleanup(s.stop)
	return s
}

// Start starts the server again on its address after Stop (a no-op
// while it runs).
func (s *Server) Start(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return
	}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "mailtest.localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	var ln net.Listener
	var err error
	// The port was ours a moment ago; allow a little time for the
	// system to let it go.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if ln, err = net.Listen("tcp", s.addr); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		tb.Fatalf("mailtest: listen on %s: %v", s.addr, err)
	}
	s.addr = ln.Addr().String()
	s.srv = srv
	go srv.Serve(ln)
}

// Stop stops the server: connections to its address are refused until
// Start. Mail it took is kept.
func (s *Server) Stop() { s.stop() }

func (s *Server) stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// URL returns "smtp://127.0.0.1:PORT".
func (s *Server) URL() string { return "smtp://" + s.Addr() }

// Addr returns the server's address, "127.0.0.1:PORT".
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// URLWithAuth returns the URL with credentials (any are accepted).
func (s *Server) URLWithAuth(user, pass string) string {
	return "smtp://" + user + ":" + pass + "@" + s.Addr()
}

// BeforeRead registers f to run before every Messages: a server that
// sends its mail after the answer (through an outbox) waits there until
// what it wrote so far was sent, so a count read after a request counts
// the request's mail, and a count that should not have grown can fail.
func (s *Server) BeforeRead(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settlers = append(s.settlers, f)
}

// Messages returns a copy of every message received, in order, once each
// function given to BeforeRead has returned.
func (s *Server) Messages() []Mail {
	s.mu.Lock()
	settlers := append([]func(){}, s.settlers...)
	s.mu.Unlock()
	for _, f := range settlers {
		f()
	}
	return s.received()
}

// received returns a copy of every message received so far, in order.
func (s *Server) received() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.msgs...)
}

// WaitFor waits until at least n messages to the address arrived and
// returns the n-th (1-based); it fails the test after timeout.
func (s *Server) WaitFor(tb testing.TB, to string, n int, timeout time.Duration) Mail {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var found []Mail
		for _, m := range s.received() {
			for _, t := range m.To {
				if strings.EqualFold(t, to) {
					found = append(found, m)
				}
			}
		}
		if len(found) >= n {
			return found[n-1]
		}
		if time.Now().After(deadline) {
			var got []string
			for _, m := range s.received() {
				got = append(got, strings.Join(m.To, ",")+": "+m.Subject)
			}
			tb.Fatalf("mailtest: %d mails to %s after %s, want %d; received: %q", len(found), to, timeout, n, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var urlRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// Link returns the first URL in text that starts with prefix.
func Link(tb testing.TB, text, prefix string) string {
	tb.Helper()
	for _, u := range urlRE.FindAllString(text, -1) {
		if strings.HasPrefix(u, prefix) {
			return u
		}
	}
	tb.Fatalf("mailtest: no link starting with %s in:\n%s", prefix, text)
	return ""
}

func (s *Server) add(m Mail) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) {
	b.s.mu.Lock()
	b.s.conns++
	b.s.mu.Unlock()
	return &session{s: b.s}, nil
}

type session struct {
	s    *Server
	from string
	to   []string
}

func (se *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (se *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error { return nil }), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error { se.from = from; return nil }
func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.s.mu.Lock()
	code := se.s.refused[strings.ToLower(to)]
	se.s.mu.Unlock()
	switch {
	case code >= 500:
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox here"}
	case code >= 400:
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "Mailbox busy, try again later"}
	}
	se.to = append(se.to, to)
	return nil
}
func (se *session) Reset()        { se.from, se.to = "", nil }
func (se *session) Logout() error { return nil }

func (se *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Mail{From: se.from, To: append([]string(nil), se.to...), Raw: raw}
	if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		dec := new(mime.WordDecoder)
		if subj, err := dec.DecodeHeader(msg.Header.Get("Subject")); err == nil {
			m.Subject = subj
		}
		m.MessageID = strings.Trim(msg.Header.Get("Message-Id"), "<> ")
		m.Text, _ = decodeBody(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	}
	se.s.add(m)
	return nil
}

// decodeBody returns the text/plain part, decoded.
func decodeBody(contentType, encoding string, body io.Reader) (string, error) {
	mt, params, _ := mime.ParseMediaType(contentType)
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return "", errors.New("no text/plain part")
			}
			if t, err := decodeBody(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err == nil && strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
				return t, nil
			}
		}
	}
	var rd io.Reader = body
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		rd = quotedprintable.NewReader(body)
	case "base64":
		rd = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(rd)
	return string(b), err
}
