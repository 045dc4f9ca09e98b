package servertest

import (
	"net"
	"net/url"
	"sync"
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
	done := make(chan struct{}, 2)
	go func() { p.copy(server, client); done <- struct{}{} }()
	go func() { p.copy(client, server); done <- struct{}{} }()
	<-done
}

// copy forwards src to dst, holding each chunk while stalled.
func (p *TCPProxy) copy(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.pass() {
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
