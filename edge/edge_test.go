package edge_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rosterhq/roster/edge"
)

func TestSafeNext(t *testing.T) {
	cases := []struct {
		next string
		ok   bool
	}{
		{"/accounts", true},
		{"/accounts/MA123?tab=team", true},
		{"/invite/abc-DEF_123", true},
		{"/", true},
		{"", false},
		{"accounts", false},
		{"//evil.example/x", false},
		{"/\\evil.example", false},
		{"/\t/evil.example/x", false},  // what ?next=/%09/evil.example/x decodes to
		{"/%09/evil.example/x", false}, // the same, still encoded
		{"/%2F/evil.example", false},   // "//" after decoding
		{"/%5Cevil.example", false},    // "/\" after decoding
		{"/\n/evil.example", false},    // newline
		{"/a\\b", false},               // a backslash anywhere
		{"https://evil.example/", false},
		{"javascript:alert(1)", false},
		{"/%zz", false}, // not decodable
		{"/\x7f/evil.example", false},
	}
	for _, tc := range cases {
		got := edge.SafeNext(tc.next)
		if tc.ok && got != tc.next {
			t.Errorf("SafeNext(%q) = %q, want it kept", tc.next, got)
		}
		if !tc.ok && got != "" {
			t.Errorf("SafeNext(%q) = %q, want refused", tc.next, got)
		}
	}
}

func TestProxies_ClientIP(t *testing.T) {
	cases := []struct {
		name, trust, peer, xff, want string
		https                        bool
	}{
		{"no proxy trusted: forged header ignored", "", "203.0.113.9:5000", "198.51.100.1", "203.0.113.9", false},
		{"true: right-most hop", "true", "10.0.0.2:5000", "1.2.3.4, 198.51.100.7", "198.51.100.7", true},
		{"true: one hop", "true", "10.0.0.2:5000", "198.51.100.7", "198.51.100.7", true},
		{"true: no header", "true", "10.0.0.2:5000", "", "10.0.0.2", true},
		{"cidr: right-most untrusted", "10.0.0.0/8", "10.0.0.2:5000", "6.6.6.6, 198.51.100.7, 10.1.1.1", "198.51.100.7", true},
		{"cidr: untrusted peer ignored", "10.0.0.0/8", "203.0.113.9:5000", "198.51.100.7", "203.0.113.9", false},
		{"cidr: garbage hop stops the walk", "10.0.0.0/8", "10.0.0.2:5000", "198.51.100.7, nonsense", "10.0.0.2", true},
		{"ipv6 peer", "", "[2001:db8::1]:443", "", "2001:db8::1", false},
		{"single address", "192.0.2.10", "192.0.2.10:1", "198.51.100.8", "198.51.100.8", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := edge.ParseProxies(tc.trust)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			r.Header.Set("X-Forwarded-Proto", "https")
			if got := p.ClientIP(r); got != tc.want {
				t.Errorf("ClientIP = %q, want %q", got, tc.want)
			}
			if got := p.HTTPS(r); got != tc.https {
				t.Errorf("HTTPS = %v, want %v", got, tc.https)
			}
		})
	}
	if _, err := edge.ParseProxies("10.0.0.0/33"); err == nil {
		t.Error("a bad CIDR was accepted")
	}
	if _, err := edge.ParseProxies("yes"); err == nil {
		t.Error("a bad value was accepted")
	}
}

func TestHeaders(t *testing.T) {
	h := edge.Headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for path, policy := range map[string]string{
		"/invite/tok": "no-referrer", "/verify/tok": "no-referrer", "/reset-password/tok": "no-referrer",
		"/login": "strict-origin-when-cross-origin", "/v1/me": "strict-origin-when-cross-origin",
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if got := w.Header().Get("Referrer-Policy"); got != policy {
			t.Errorf("%s: Referrer-Policy %q, want %q", path, got, policy)
		}
		if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", path, got)
		}
	}
}

func TestCSVCell_GuardsFormulas(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "Ada": "Ada", "=SUM(A1)": "'=SUM(A1)", "+1": "'+1", "-2": "'-2", "@cmd": "'@cmd",
		"\tx": "'\tx", "\rx": "'\rx", "a=b": "a=b",
	} {
		if got := edge.CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
	}
}
