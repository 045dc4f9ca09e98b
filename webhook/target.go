package webhook

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"code.dny.dev/ssrf"
	"github.com/rosterhq/roster"
)

// webhookTargets refuses every address that is not globally reachable
// unicast. Its table is code.dny.dev/ssrf's, generated from the IANA IPv4
// and IPv6 Special-Purpose Address Registries (every entry, plus
// multicast 224.0.0.0/4): 0/8, 10/8, 100.64/10, 127/8, 169.254/16,
// 172.16/12, 192.0.0/24, the documentation and benchmarking ranges
// (198.18/15), 240/4 (so 255.255.255.255), ...; for IPv6 everything
// outside global unicast 2000::/3 (::/128, ::1, ::/96 IPv4-compatible,
// ::ffff:0:0/96, 64:ff9b::/96 and 64:ff9b:1::/48 NAT64, 100::/64, 5f00::/16,
// fc00::/7, fe80::/10, fec0::/10, ff00::/8) and, inside it, 2001::/23,
// 2001:db8::/32, 2002::/16 (6to4), 2620:4f:8000::/48 and 3fff::/20.
// NAT64 and 6to4 are refused although the registry calls 64:ff9b::/96
// globally reachable: they embed an IPv4 address a gateway would reach
// for us, a private one included.
//
// Only its SafeAddr is used: a webhook may name any port.
var webhookTargets = ssrf.New()

// errRefusedAddr: the address a webhook's name resolved to is not
// globally reachable unicast.
var errRefusedAddr = errors.New("webhook: address not allowed")

// allowedTarget reports whether a webhook may connect to ip. An
// IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as the IPv4 address
// it carries, which is where a connection to it goes.
func allowedTarget(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && ip.Zone() == "" && webhookTargets.SafeAddr(ip) == nil
}

// CheckURL enforces the URL rules at creation: https, and a host that
// resolves to globally reachable unicast addresses only (both lifted by
// allowPrivate). resolver nil is the system's. Deliveries check again when
// they dial. Errors: EINVALID on the field "url".
func CheckURL(ctx context.Context, raw string, allowPrivate bool, resolver *net.Resolver) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || len(raw) > 2000 {
		return "", roster.FieldErrorf("url", roster.EINVALID, "The URL must be an absolute https:// URL without credentials")
	}
	if allowPrivate {
		return raw, nil
	}
	if u.Scheme != "https" {
		return "", roster.FieldErrorf("url", roster.EINVALID, "The URL must use https")
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if resolver == nil {
			resolver = net.DefaultResolver
		}
		ips, err := resolver.LookupNetIP(rctx, "ip", host)
		if err != nil || len(ips) == 0 {
			return "", roster.FieldErrorf("url", roster.EINVALID, "The URL's host %s does not resolve", host)
		}
		addrs = ips
	}
	for _, ip := range addrs {
		if !allowedTarget(ip) {
			return "", roster.FieldErrorf("url", roster.EINVALID, "The URL's host %s is a private, loopback or link-local address, or one reserved for special use: webhooks go to globally reachable addresses only", host)
		}
	}
	return raw, nil
}
