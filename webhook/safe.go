package webhook

import (
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

// SafeMaxBody is the most a SafeClient reads of one answer.
const SafeMaxBody = 1 << 20

// SafeClient returns a client for URLs an account names (webhook targets,
// identity providers' issuers and metadata): unless allowPrivate it
// speaks https only (redirects included) and its dialer refuses every
// address that is not globally reachable unicast, after resolution, at
// every connection (so DNS rebinding cannot reach one). Each request,
// connecting included, takes at most timeout; an answer is read up to
// SafeMaxBody and fails past it. resolver nil is the system's. Up to 5
// redirects are followed, each checked alike.
func SafeClient(allowPrivate bool, timeout time.Duration, resolver *net.Resolver) *http.Client {
	d := &net.Dialer{Timeout: timeout, Resolver: resolver}
	if !allowPrivate {
		d.Control = dialControl
	}
	tr := &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: timeout, MaxIdleConns: 10, IdleConnTimeout: 30 * time.Second,
		Proxy: nil}
	// otelhttp around the connection's transport: a client span per request
	// sent (redirects each their own) whose traceparent the provider or
	// receiver gets.
	return &http.Client{Transport: safeTransport{otelhttp.NewTransport(tr), tr, allowPrivate}, Timeout: timeout,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("webhook: too many redirects")
			}
			return nil
		}}
}

type safeTransport struct {
	rt           http.RoundTripper // base, traced
	base         *http.Transport
	allowPrivate bool
}

func (t safeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !t.allowPrivate && r.URL.Scheme != "https" {
		return nil, errNotHTTPS
	}
	resp, err := t.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &cappedBody{rc: resp.Body, left: SafeMaxBody}
	return resp, nil
}

// errTooLarge: an answer longer than SafeMaxBody.
var errTooLarge = errors.New("webhook: answer larger than 1 MiB")

type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the cap from a longer one.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }
