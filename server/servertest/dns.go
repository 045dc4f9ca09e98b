package servertest

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/rosterhq/roster/server"
)

// DNS is a real DNS server on 127.0.0.1, UDP and TCP on one free port,
// answering TXT, A and AAAA questions from a table the test may change
// while it runs. A name with no record of any kind is NXDOMAIN; a name
// with records of other kinds answers none (NODATA). A UDP answer too long
// for the question's buffer is truncated, so the resolver asks again over
// TCP, as with a real server.
//
// Every Env has one (Env.DNS), and its service verifies domains through it
// (server.Config.DNSServer).
type DNS struct {
	// Addr is the server's host:port, for server.Config.DNSServer.
	Addr string

	mu    sync.Mutex
	txt   map[string][]string
	addrs map[string][]netip.Addr
	// Queries counts the questions answered, by name and type ("TXT
	// _roster-verification.acme-corp.com.").
	queries map[string]int
}

// NewDNS starts a DNS server, stopped when tb ends.
func NewDNS(tb testing.TB) *DNS {
	tb.Helper()
	d := &DNS{txt: map[string][]string{}, addrs: map[string][]netip.Addr{}, queries: map[string]int{}}
	var pc net.PacketConn
	var ln net.Listener
	var err error
	for range 20 { // the UDP port may be taken for TCP: try another
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			tb.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		tb.Fatalf("dns: no free port for UDP and TCP: %v", err)
	}
	d.Addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(d.answer)
	udp := &dns.Server{PacketConn: pc, Handler: h}
	tcp := &dns.Server{Listener: ln, Handler: h}
	started := make(chan struct{}, 2)
	udp.NotifyStartedFunc = func() { started <- struct{}{} }
	tcp.NotifyStartedFunc = func() { started <- struct{}{} }
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	for range 2 {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			tb.Fatal("dns: the server did not start")
		}
	}
	tb.Cleanup(func() {
		udp.Shutdown()
		tcp.Shutdown()
	})
	return d
}

// fqdn is name as the table keys it: lower case, with the final dot.
func fqdn(name string) string { return dns.Fqdn(strings.ToLower(strings.TrimSuffix(name, "."))) }

// SetTXT makes name answer these TXT records, one per value (none: no TXT
// record). A value longer than 255 bytes is sent as several strings of one
// record, which resolvers join.
func (d *DNS) SetTXT(name string, values ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(values) == 0 {
		delete(d.txt, fqdn(name))
		return
	}
	d.txt[fqdn(name)] = append([]string(nil), values...)
}

// TXT returns the values name answers for TXT.
func (d *DNS) TXT(name string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.txt[fqdn(name)]...)
}

// SetAddrs makes name resolve to addrs (none: no address record).
func (d *DNS) SetAddrs(name string, addrs ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(addrs) == 0 {
		delete(d.addrs, fqdn(name))
		return
	}
	var as []netip.Addr
	for _, a := range addrs {
		as = append(as, netip.MustParseAddr(a))
	}
	d.addrs[fqdn(name)] = as
}

// Queries returns how many questions of the type ("TXT", "A", "AAAA")
// about name were answered.
func (d *DNS) Queries(typ, name string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queries[typ+" "+fqdn(name)]
}

// Resolver returns a resolver that asks this server alone.
func (d *DNS) Resolver() *net.Resolver { return server.DNSResolver(d.Addr) }

func (d *DNS) answer(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative, m.RecursionAvailable = true, true
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	d.mu.Lock()
	d.queries[dns.TypeToString[q.Qtype]+" "+name]++
	txt, addrs := d.txt[name], d.addrs[name]
	d.mu.Unlock()
	if txt == nil && addrs == nil {
		m.Rcode = dns.RcodeNameError
	}
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: 0}
	}
	switch q.Qtype {
	case dns.TypeTXT:
		for _, v := range txt {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: chunks(v)})
		}
	case dns.TypeA, dns.TypeAAAA:
		for _, a := range addrs {
			switch {
			case q.Qtype == dns.TypeA && a.Is4():
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: a.AsSlice()})
			case q.Qtype == dns.TypeAAAA && a.Is6():
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: a.AsSlice()})
			}
		}
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if o := r.IsEdns0(); o != nil {
			size = int(o.UDPSize())
		}
		m.Truncate(size)
	}
	w.WriteMsg(m)
}

// chunks splits a TXT value into the strings of at most 255 bytes a
// record holds, each escaped as package dns reads them (a backslash
// starts an escape).
func chunks(v string) []string {
	var out []string
	for len(v) > 255 {
		out = append(out, v[:255])
		v = v[255:]
	}
	out = append(out, v)
	for i, c := range out {
		out[i] = strings.ReplaceAll(c, `\`, `\\`)
	}
	return out
}
