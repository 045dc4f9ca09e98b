package webhook

import (
	"errors"
	"net/netip"
	"testing"
)

// specialPurpose is every range a webhook must not reach, transcribed by
// hand from the IANA IPv4 and IPv6 Special-Purpose Address Registries
// (as published in 2025-2026): each entry whose "Globally Reachable" is
// False or N/A, the deprecated ones, multicast, and the IPv6 ranges the
// issue names. It is kept apart from the table the code uses (the ssrf
// module's, generated from the same registries), so a range that module
// drops or misses fails here.
var specialPurpose = []struct{ prefix, what string }{
	// IPv4
	{"0.0.0.0/8", `"This network" (RFC 791, Section 3.2)`},
	{"0.0.0.0/32", `"This host on this network" (RFC 1122, Section 3.2.1.3)`},
	{"10.0.0.0/8", "Private-Use (RFC 1918)"},
	{"100.64.0.0/10", "Shared Address Space (RFC 6598)"},
	{"127.0.0.0/8", "Loopback (RFC 1122, Section 3.2.1.3)"},
	{"169.254.0.0/16", "Link Local (RFC 3927)"},
	{"172.16.0.0/12", "Private-Use (RFC 1918)"},
	{"192.0.0.0/24", "IETF Protocol Assignments (RFC 6890, Section 2.1)"},
	{"192.0.0.0/29", "IPv4 Service Continuity Prefix (RFC 7335)"},
	{"192.0.0.8/32", "IPv4 dummy address (RFC 7600)"},
	{"192.0.0.170/32", "NAT64/DNS64 Discovery (RFC 8880, RFC 7050)"},
	{"192.0.0.171/32", "NAT64/DNS64 Discovery (RFC 8880, RFC 7050)"},
	{"192.0.2.0/24", "Documentation (TEST-NET-1) (RFC 5737)"},
	{"192.88.99.0/24", "Deprecated (6to4 Relay Anycast) (RFC 7526)"},
	{"192.168.0.0/16", "Private-Use (RFC 1918)"},
	{"198.18.0.0/15", "Benchmarking (RFC 2544)"},
	{"198.51.100.0/24", "Documentation (TEST-NET-2) (RFC 5737)"},
	{"203.0.113.0/24", "Documentation (TEST-NET-3) (RFC 5737)"},
	{"224.0.0.0/4", "Multicast (RFC 5771)"},
	{"240.0.0.0/4", "Reserved (RFC 1112, Section 4)"},
	{"255.255.255.255/32", "Limited Broadcast (RFC 8190, RFC 919 Section 7)"},
	// IPv6
	{"::/128", "Unspecified Address (RFC 4291)"},
	{"::1/128", "Loopback Address (RFC 4291)"},
	{"::/96", "IPv4-compatible, deprecated (RFC 4291, Section 2.5.5.1)"},
	{"::ffff:0:0/96", "IPv4-mapped Address (RFC 4291): unwrapped, 0.0.0.0 and 255.255.255.255 at its ends"},
	{"64:ff9b::/96", "IPv4-IPv6 Translation, NAT64 (RFC 6052): reachable, refused all the same"},
	{"64:ff9b:1::/48", "IPv4-IPv6 Translation, local use (RFC 8215)"},
	{"100::/64", "Discard-Only Address Block (RFC 6666)"},
	{"100:0:0:1::/64", "Dummy IPv6 Prefix (RFC 9780)"},
	{"2001::/23", "IETF Protocol Assignments (RFC 2928)"},
	{"2001::/32", "TEREDO (RFC 4380, RFC 8190)"},
	{"2001:2::/48", "Benchmarking (RFC 5180)"},
	{"2001:10::/28", "Deprecated (previously ORCHID) (RFC 4843)"},
	{"2001:db8::/32", "Documentation (RFC 3849)"},
	{"2002::/16", "6to4 (RFC 3056)"},
	{"3fff::/20", "Documentation (RFC 9637)"},
	{"5f00::/16", "Segment Routing (SRv6) SIDs (RFC 9602)"},
	{"fc00::/7", "Unique-Local (RFC 4193, RFC 8190)"},
	{"fe80::/10", "Link-Local Unicast (RFC 4291)"},
	{"fec0::/10", "Site-local, deprecated (RFC 3879)"},
	{"ff00::/8", "Multicast (RFC 4291)"},
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// TestWebhookTargets_SpecialPurposeRefused: the first and the last
// address of every special-purpose range are refused, at creation
// (allowedTarget) and by the dialer's Control; globally reachable unicast
// addresses pass, an IPv4-mapped one as the IPv4 address it carries.
func TestWebhookTargets_SpecialPurposeRefused(t *testing.T) {
	for _, r := range specialPurpose {
		p := netip.MustParsePrefix(r.prefix)
		for _, a := range []netip.Addr{p.Masked().Addr(), lastAddr(p)} {
			if allowedTarget(a) {
				t.Errorf("%s (%s %s) is allowed", a, r.prefix, r.what)
			}
			if err := dialControl("tcp", netip.AddrPortFrom(a, 443).String(), nil); !errors.Is(err, errRefusedAddr) {
				t.Errorf("the dialer connects to %s (%s %s): %v", a, r.prefix, r.what, err)
			}
		}
	}
	for _, s := range []string{
		"1.1.1.1", "8.8.8.8", "9.9.9.9", "100.63.255.255", "100.128.0.0", "198.17.255.255", "198.20.0.0",
		"223.255.255.255", "2606:4700:4700::1111", "2001:4860:4860::8888", "2001:200::1", "2a00:1450:4001::1",
		"::ffff:8.8.8.8", "::ffff:1.1.1.1",
	} {
		a := netip.MustParseAddr(s)
		if !allowedTarget(a) {
			t.Errorf("%s, a globally reachable address, is refused", s)
		}
		if err := dialControl("tcp", netip.AddrPortFrom(a, 443).String(), nil); err != nil {
			t.Errorf("the dialer refuses %s: %v", s, err)
		}
	}
	for _, s := range []string{"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:100.64.0.1", "::ffff:198.18.0.1", "fe80::1%eth0"} {
		if allowedTarget(netip.MustParseAddr(s)) {
			t.Errorf("%s is allowed", s)
		}
	}
	if err := dialControl("tcp", "not an address", nil); !errors.Is(err, errRefusedAddr) {
		t.Errorf("the dialer accepts an address it cannot read: %v", err)
	}
}
