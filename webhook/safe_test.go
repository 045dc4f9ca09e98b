package webhook

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// SafeClient refuses plain http and private addresses unless allowed, and
// fails an answer past SafeMaxBody.
func TestSafeClient_RefusesAndCaps(t *testing.T) {
	big := strings.Repeat("x", SafeMaxBody+1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			io.WriteString(w, big)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer tls.Close()

	if _, err := SafeClient(false, time.Second, nil).Get(srv.URL); !errors.Is(err, errNotHTTPS) {
		t.Errorf("plain http: %v, want errNotHTTPS", err)
	}
	c := SafeClient(false, time.Second, nil)
	c.Transport.(safeTransport).base.TLSClientConfig = tls.Client().Transport.(*http.Transport).TLSClientConfig
	if _, err := c.Get(tls.URL); err == nil || !strings.Contains(err.Error(), "address not allowed") {
		t.Errorf("loopback over https: %v, want address not allowed", err)
	}
	open := SafeClient(true, time.Second, nil)
	resp, err := open.Get(srv.URL)
	if err != nil {
		t.Fatalf("allowed private: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok" {
		t.Errorf("body %q", b)
	}
	resp, err = open.Get(srv.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, errTooLarge) {
		t.Errorf("a body past the cap: %v, want errTooLarge", err)
	}
}
