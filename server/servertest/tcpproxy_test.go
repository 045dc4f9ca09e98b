package servertest_test

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/rosterhq/roster/server/servertest"
)

// echo starts a line echo server and returns its address.
func echo(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					c.Write([]byte(line))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(c net.Conn, within time.Duration) (string, error) {
	c.SetDeadline(time.Now().Add(within))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func TestTCPProxy_CutStallRestore(t *testing.T) {
	p := servertest.NewTCPProxy(t, echo(t))
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := roundTrip(c, 5*time.Second); err != nil || got != "ping\n" {
		t.Fatalf("open: %q, %v", got, err)
	}

	p.Stall()
	if got, err := roundTrip(c, 200*time.Millisecond); err == nil {
		t.Fatalf("stalled: got %q, want a timeout", got)
	}
	p.Restore()
	// The stalled ping flows on after Restore.
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if got, err := bufio.NewReader(c).ReadString('\n'); err != nil || got != "ping\n" {
		t.Fatalf("restored: %q, %v", got, err)
	}

	p.Cut()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
		t.Fatal("cut: the open connection still reads")
	}
	c2, err := net.Dial("tcp", p.Addr)
	if err == nil {
		if got, err := roundTrip(c2, 2*time.Second); err == nil {
			t.Fatalf("cut: a new connection answered %q", got)
		}
		c2.Close()
	}
	p.Restore()
	c3, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if got, err := roundTrip(c3, 5*time.Second); err != nil || got != "ping\n" {
		t.Fatalf("after restore: %q, %v", got, err)
	}
}
