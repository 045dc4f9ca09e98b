package servertest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TCPProxy forwards TCP connections to a target (a database server) and
// fails them on demand, the way a network does: Cut closes every
// connection and refuses new ones; Stall keeps them open but silent (the
// bytes wait, as behind a dead router); Restore forwards again.
type TCPProxy struct {
	// Addr is the proxy's address (127.0.0.1:port): connect here.
	Addr   string
	target string
	ln     net.Listener

	mu      sync.Mutex
	cond    *sync.Cond
	mode    proxyMode
	conns   map[net.Conn]struct{}
	stopped bool
	decide  func(PostgresMessage) CutAction // set by CutWhen
}

type proxyMode int

const (
	proxyOpen proxyMode = iota
	proxyStalled
	proxyCut
)

// NewTCPProxy starts a proxy on a free loopback port to target
// (host:port); it stops when tb ends.
func NewTCPProxy(tb testing.TB, target string) *TCPProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &TCPProxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	go p.serve()
	tb.Cleanup(p.Close)
	return p
}

// NewPostgresProxy starts a proxy to the server of the postgres:// URL dsn
// and returns it with dsn rewritten to go through it.
func NewPostgresProxy(tb testing.TB, dsn string) (*TCPProxy, string) {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "5432")
	}
	p := NewTCPProxy(tb, host)
	u.Host = p.Addr
	return p, u.String()
}

// Cut closes every open connection (both ways) and makes new ones close
// at once, until Restore.
func (p *TCPProxy) Cut() {
	p.mu.Lock()
	p.mode = proxyCut
	for c := range p.conns {
		c.Close()
	}
	p.cond.Broadcast()
	p.mu.Unlock()
}

// Stall holds every connection, open and new, silent: nothing is
// forwarded either way until Restore (or Cut).
func (p *TCPProxy) Stall() {
	p.mu.Lock()
	p.mode = proxyStalled
	p.mu.Unlock()
}

// Restore forwards again: stalled bytes flow on, new connections reach
// the target. Connections closed by Cut stay closed.
func (p *TCPProxy) Restore() {
	p.mu.Lock()
	p.mode = proxyOpen
	p.cond.Broadcast()
	p.mu.Unlock()
}

// Conns is how many connections the proxy holds open now.
func (p *TCPProxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Close stops the proxy and closes its connections.
func (p *TCPProxy) Close() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	for c := range p.conns {
		c.Close()
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	p.ln.Close()
}

func (p *TCPProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

// track adds c to the open connections; false when the proxy is cut or
// stopped (c is closed then).
func (p *TCPProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || p.mode == proxyCut {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *TCPProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// pass waits while the proxy is stalled; false when the connection must
// end (cut or stopped).
func (p *TCPProxy) pass() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.mode == proxyStalled && !p.stopped {
		p.cond.Wait()
	}
	return p.mode == proxyOpen && !p.stopped
}

func (p *TCPProxy) handle(client net.Conn) {
	if !p.track(client) {
		return
	}
	defer p.untrack(client)
	// A new connection while stalled waits silently, as a SYN to a dead
	// route would (the client's own timeout decides).
	if !p.pass() {
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(server) {
		return
	}
	defer p.untrack(server)
	p.mu.Lock()
	decide := p.decide
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	if decide == nil {
		go func() { p.copy(server, client, nil); done <- struct{}{} }()
		go func() { p.copy(client, server, nil); done <- struct{}{} }()
		<-done
		return
	}
	var dropAnswer atomic.Bool
	go func() { p.copyPostgres(server, client, decide, &dropAnswer); done <- struct{}{} }()
	go func() { p.copy(client, server, &dropAnswer); done <- struct{}{} }()
	<-done
}

// copy forwards src to dst, holding each chunk while stalled; when drop
// is set (copyPostgres asked to drop the server's next answer), it closes
// both connections instead of forwarding the next chunk.
func (p *TCPProxy) copy(dst, src net.Conn, drop *atomic.Bool) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if (drop != nil && drop.Load()) || !p.pass() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil { // io.EOF or a closed connection: either way, done
			return
		}
	}
}

// PostgresMessage is one message a PostgreSQL client sends, as CutWhen's
// decide sees it: its type byte ('Q' a simple query, 'P' a statement to
// parse, 'X' goodbye, ...) and, for 'Q' and 'P', the SQL.
type PostgresMessage struct {
	Type  byte
	Query string
}

// IsCommit tells whether m commits a transaction.
func (m PostgresMessage) IsCommit() bool {
	q := strings.ToLower(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(m.Query), ";")))
	return (m.Type == 'Q' || m.Type == 'P') && (q == "commit" || q == "end" || q == "commit transaction")
}

// CutAction is what CutWhen's decide says of a message.
type CutAction int

const (
	// Forward passes the message on.
	Forward CutAction = iota
	// CutBefore closes the connection instead of forwarding the message:
	// the server never sees it.
	CutBefore
	// CutAfterAnswer forwards the message, waits for the server's answer
	// and closes the connection instead of forwarding it: the server did
	// the work (a COMMIT committed), the client never hears so.
	CutAfterAnswer
)

// CutWhen makes the proxy read the PostgreSQL protocol its clients speak
// and ask decide about every message of every connection opened from now
// on. Unlike Cut, whose moment is a matter of timing, the cuts land on
// the messages decide picks however fast or slow the machine is: a test
// of a cut inside COMMIT needs no luck. decide is called from many
// goroutines at once.
func (p *TCPProxy) CutWhen(decide func(PostgresMessage) CutAction) {
	p.mu.Lock()
	p.decide = decide
	p.mu.Unlock()
}

// Cancel, SSL and GSSAPI encryption requests: untyped messages before (or
// instead of) the startup message.
const (
	pgCancelRequest = 80877102
	pgSSLRequest    = 80877103
	pgGSSENCRequest = 80877104
)

// copyPostgres forwards a client's messages to the server one at a time,
// cutting where decide says. A cut closes both connections.
func (p *TCPProxy) copyPostgres(server, client net.Conn, decide func(PostgresMessage) CutAction, dropAnswer *atomic.Bool) {
	defer server.Close()
	defer client.Close()
	r := bufio.NewReaderSize(client, 32<<10)
	forward := func(msg []byte) bool {
		return p.pass() && func() bool { _, err := server.Write(msg); return err == nil }()
	}
	// Untyped messages first: encryption requests (the server answers
	// them with one byte, which copy forwards), then the startup
	// message or a cancel request.
	for {
		msg, err := readUntyped(r)
		if err != nil || !forward(msg) {
			return
		}
		code := binary.BigEndian.Uint32(msg[4:8])
		if code == pgCancelRequest {
			return
		}
		if code != pgSSLRequest && code != pgGSSENCRequest {
			break
		}
	}
	for {
		var head [5]byte
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(head[1:5])
		if n < 4 || n > 1<<30 {
			return
		}
		msg := make([]byte, 1+n)
		copy(msg, head[:])
		if _, err := io.ReadFull(r, msg[5:]); err != nil {
			return
		}
		m := PostgresMessage{Type: head[0]}
		switch m.Type {
		case 'Q':
			m.Query = cString(msg[5:])
		case 'P': // a statement name, then the SQL
			body := msg[5:]
			name := cString(body)
			if len(name) < len(body) {
				m.Query = cString(body[len(name)+1:])
			}
		}
		switch decide(m) {
		case CutBefore:
			return
		case CutAfterAnswer:
			dropAnswer.Store(true)
		}
		if !forward(msg) {
			return
		}
	}
}

// readUntyped reads a message without a type byte: its length (which
// counts itself) and the rest.
func readUntyped(r *bufio.Reader) ([]byte, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(head[:])
	if n < 8 || n > 1<<20 {
		return nil, io.ErrUnexpectedEOF
	}
	msg := make([]byte, n)
	copy(msg, head[:])
	_, err := io.ReadFull(r, msg[4:])
	return msg, err
}

// cString is b up to its first NUL byte.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}
