package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Dial is the SSRF guard: it decides whether the proxy may connect to ip,
// the address actually dialled for host after DNS. It refuses every address
// that is not plainly public: loopback, unspecified, private (RFC 1918,
// fc00::/7), link-local, CGNAT, multicast, broadcast, 0.0.0.0/8, reserved,
// documentation and benchmarking ranges, cloud metadata addresses, and the
// IPv6 forms that embed such an IPv4 address (IPv4-mapped, IPv4-compatible,
// NAT64 64:ff9b::/96, 6to4 2002::/16; Teredo and local-use NAT64 are refused
// outright). It allows the address anyway if host has an --upstream override
// or if ip (or the IPv4 address it embeds) is inside an AllowPrivate prefix;
// a cloud metadata address is exempted only by an AllowPrivate entry naming
// that single address, never by a wider prefix.
func (p *Policy) Dial(host string, ip netip.Addr) Decision {
	if !ip.IsValid() {
		return Decision{Reason: fmt.Sprintf("no valid address to dial for %q", host)}
	}
	if len(p.upstreams) > 0 && p.upstreams[strings.TrimSuffix(strings.ToLower(host), ".")] {
		return Decision{Allow: true, Reason: fmt.Sprintf("%q has an --upstream override", host)}
	}
	why, embedded, metadata := classify(ip)
	if why == "" {
		return publicAddress
	}
	plain := ip.WithZone("").Unmap()
	for _, pr := range p.private {
		if metadata && pr.prefix.Bits() != pr.prefix.Addr().BitLen() {
			continue
		}
		if pr.prefix.Contains(plain) || embedded.IsValid() && pr.prefix.Contains(embedded) {
			return Decision{Allow: true, Reason: fmt.Sprintf("%s for %q is allowed by allow_private %s", ip, host, ruleRef(pr.rule)), Rule: pr.rule}
		}
	}
	return Decision{Reason: fmt.Sprintf("dialling %s for %q refused: %s", ip, host, why)}
}

var publicAddress = Decision{Allow: true, Reason: "public address"}

type netRange struct {
	prefix netip.Prefix
	what   string
}

func ranges(kv ...string) []netRange {
	r := make([]netRange, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		r = append(r, netRange{netip.MustParsePrefix(kv[i]), kv[i+1]})
	}
	return r
}

// metadataAddrs are cloud instance metadata services: AWS, GCP, Azure,
// OpenStack, ... (169.254.169.254), AWS over IPv6 (fd00:ec2::254), Alibaba
// (100.100.100.200). Their wider ranges are refused too; these are named so
// that AllowPrivate cannot open them by accident.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("100.100.100.200"),
}

// forbidden4 lists the IPv4 ranges that are not public: the IANA
// special-purpose registry, with the broadcast address named first.
var forbidden4 = ranges(
	"255.255.255.255/32", "broadcast address",
	"0.0.0.0/8", `"this network" address (0.0.0.0/8)`,
	"10.0.0.0/8", "private address (10.0.0.0/8)",
	"100.64.0.0/10", "carrier-grade NAT address (100.64.0.0/10)",
	"127.0.0.0/8", "loopback address",
	"169.254.0.0/16", "link-local address",
	"172.16.0.0/12", "private address (172.16.0.0/12)",
	"192.0.0.0/24", "IETF protocol assignment (192.0.0.0/24)",
	"192.0.2.0/24", "documentation address (192.0.2.0/24)",
	"192.88.99.0/24", "6to4 relay anycast address",
	"192.168.0.0/16", "private address (192.168.0.0/16)",
	"198.18.0.0/15", "benchmarking address (198.18.0.0/15)",
	"198.51.100.0/24", "documentation address (198.51.100.0/24)",
	"203.0.113.0/24", "documentation address (203.0.113.0/24)",
	"224.0.0.0/4", "multicast address",
	"240.0.0.0/4", "reserved address (240.0.0.0/4)",
)

// forbidden6 lists the IPv6 ranges refused outright, most specific first.
// IPv4-mapped addresses are unmapped before this; NAT64 and 6to4 are judged
// by the IPv4 address they embed; anything outside 2000::/3 is refused last.
var forbidden6 = ranges(
	"::/128", "unspecified address",
	"::1/128", "loopback address",
	"::/96", "IPv4-compatible IPv6 address (deprecated)",
	"64:ff9b:1::/48", "local-use NAT64 address",
	"100::/64", "discard-only address (100::/64)",
	"2001::/32", "Teredo address",
	"2001:2::/48", "benchmarking address (2001:2::/48)",
	"2001:db8::/32", "documentation address (2001:db8::/32)",
	"2001::/23", "IETF protocol assignment (2001::/23)",
	"3fff::/20", "documentation address (3fff::/20)",
	"fc00::/7", "unique local (private) address (fc00::/7)",
	"fe80::/10", "link-local address",
	"fec0::/10", "site-local address (deprecated)",
	"ff00::/8", "multicast address",
)

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	global6   = netip.MustParsePrefix("2000::/3")
)

// classify says why ip must not be dialled ("" if it is public), the IPv4
// address it embeds (if any), and whether the address that makes it
// forbidden is a cloud metadata address.
func classify(ip netip.Addr) (why string, embedded netip.Addr, metadata bool) {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		v4 := ip.Unmap()
		why, metadata = classify4(v4)
		if why != "" {
			why = "IPv4-mapped form of " + v4.String() + ": " + why
		}
		return why, v4, metadata
	}
	if ip.Is4() {
		why, metadata = classify4(ip)
		return why, netip.Addr{}, metadata
	}
	if slices.Contains(metadataAddrs, ip) {
		return "cloud metadata address", netip.Addr{}, true
	}
	b := ip.As16()
	var v4 netip.Addr
	var form string
	switch {
	case nat64.Contains(ip):
		v4, form = netip.AddrFrom4([4]byte(b[12:16])), "NAT64"
	case sixToFour.Contains(ip):
		v4, form = netip.AddrFrom4([4]byte(b[2:6])), "6to4"
	case ip.Is6() && b[0] == 0 && [12]byte(b[:12]) == [12]byte{} && !ip.IsUnspecified() && !ip.IsLoopback():
		v4, form = netip.AddrFrom4([4]byte(b[12:16])), "IPv4-compatible"
	}
	if v4.IsValid() {
		if why4, md := classify4(v4); why4 != "" {
			return form + " address embedding " + v4.String() + ": " + why4, v4, md
		}
		if form == "NAT64" {
			return "", v4, false // a public IPv4 address through the NAT64 gateway
		}
	}
	for _, r := range forbidden6 {
		if r.prefix.Contains(ip) {
			return r.what, v4, false
		}
	}
	if !global6.Contains(ip) {
		return "not a global unicast IPv6 address (outside 2000::/3)", v4, false
	}
	return "", v4, false
}

func classify4(ip netip.Addr) (why string, metadata bool) {
	if slices.Contains(metadataAddrs, ip) {
		return "cloud metadata address", true
	}
	for _, r := range forbidden4 {
		if r.prefix.Contains(ip) {
			return r.what, false
		}
	}
	return "", false
}
