package policy

import (
	"net/netip"
	"strings"
	"testing"
)

// forbiddenV4 has one address per forbidden IPv4 range, with a word the
// refusal must contain.
var forbiddenV4 = []struct{ ip, why string }{
	{"127.0.0.1", "loopback"},
	{"127.255.255.254", "loopback"},
	{"0.0.0.0", "this network"},
	{"0.1.2.3", "this network"},
	{"10.0.0.1", "private"},
	{"10.255.255.255", "private"},
	{"172.16.0.1", "private"},
	{"172.31.255.255", "private"},
	{"192.168.1.1", "private"},
	{"169.254.0.1", "link-local"},
	{"169.254.169.254", "metadata"},
	{"100.100.100.200", "metadata"},
	{"100.64.0.1", "carrier-grade NAT"},
	{"100.127.255.255", "carrier-grade NAT"},
	{"224.0.0.1", "multicast"},
	{"239.255.255.250", "multicast"},
	{"255.255.255.255", "broadcast"},
	{"240.0.0.1", "reserved"},
	{"192.0.0.170", "IETF"},
	{"192.0.2.1", "documentation"},
	{"198.51.100.1", "documentation"},
	{"203.0.113.1", "documentation"},
	{"198.18.0.1", "benchmarking"},
	{"198.19.255.255", "benchmarking"},
	{"192.88.99.1", "6to4 relay"},
}

var forbiddenV6 = []struct{ ip, why string }{
	{"::", "unspecified"},
	{"::1", "loopback"},
	{"fc00::1", "unique local"},
	{"fd12:3456::1", "unique local"},
	{"fd00:ec2::254", "metadata"},
	{"fe80::1", "link-local"},
	{"fe80::1%eth0", "link-local"},
	{"febf::1", "link-local"},
	{"fec0::1", "site-local"},
	{"ff02::1", "multicast"},
	{"ff05::2", "multicast"},
	{"2001:db8::1", "documentation"},
	{"3fff::1", "documentation"},
	{"2001:2::1", "benchmarking"},
	{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"},
	{"100::1", "discard"},
	{"64:ff9b:1::a00:1", "local-use NAT64"},
	{"::8.8.8.8", "IPv4-compatible"}, // deprecated even when the embedded address is public
	{"4000::1", "global unicast"},
	{"1::1", "global unicast"},
}

// embed returns the IPv6 forms that carry v4.
func embed(v4 netip.Addr) map[string]netip.Addr {
	b := v4.As4()
	var compat, n64, s24 [16]byte
	copy(compat[12:], b[:])
	n64 = [16]byte{0, 0x64, 0xff, 0x9b}
	copy(n64[12:], b[:])
	s24 = [16]byte{0x20, 0x02}
	copy(s24[2:], b[:])
	s24[15] = 1
	return map[string]netip.Addr{
		"IPv4-mapped":     netip.AddrFrom16(v4.As16()),
		"IPv4-compatible": netip.AddrFrom16(compat),
		"NAT64":           netip.AddrFrom16(n64),
		"6to4":            netip.AddrFrom16(s24),
	}
}

func TestDialForbidden(t *testing.T) {
	p := mustNew(t, Config{})
	for _, tt := range forbiddenV4 {
		ip := netip.MustParseAddr(tt.ip)
		d := p.Dial("x.com", ip)
		if d.Allow || !strings.Contains(d.Reason, tt.why) || !strings.Contains(d.Reason, tt.ip) {
			t.Errorf("Dial(%s) = %+v, want refused as %s", ip, d, tt.why)
		}
		for form, ip6 := range embed(ip) {
			d := p.Dial("x.com", ip6)
			if ip6.IsUnspecified() && !d.Allow {
				continue // ::, the IPv4-compatible form of 0.0.0.0
			}
			if d.Allow || !strings.Contains(d.Reason, tt.why) || !strings.Contains(d.Reason, form) {
				t.Errorf("Dial(%s) (%s form of %s) = %+v, want refused as %s", ip6, form, ip, d, tt.why)
			}
		}
	}
	for _, tt := range forbiddenV6 {
		ip := netip.MustParseAddr(tt.ip)
		if d := p.Dial("x.com", ip); d.Allow || !strings.Contains(d.Reason, tt.why) {
			t.Errorf("Dial(%s) = %+v, want refused as %s", ip, d, tt.why)
		}
	}
	for _, s := range []string{"::ffff:127.0.0.1", "::127.0.0.1", "64:ff9b::127.0.0.1", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "2002:7f00:1::"} {
		if d := p.Dial("x.com", netip.MustParseAddr(s)); d.Allow {
			t.Errorf("Dial(%s) = %+v, want refused", s, d)
		}
	}
	if d := p.Dial("x.com", netip.Addr{}); d.Allow {
		t.Errorf("Dial(invalid address) = %+v, want refused", d)
	}
}

func TestDialPublic(t *testing.T) {
	p := mustNew(t, Config{})
	for _, s := range []string{
		"1.1.1.1", "8.8.8.8", "140.82.112.3", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1",
		"169.253.255.255", "198.17.255.255", "223.255.255.255", "11.0.0.1", "192.169.0.1",
		"::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1", "2606:4700::1111", "2a00:1450:4001::200e",
		"2001:4860:4860::8888", "2600::1",
	} {
		if d := p.Dial("x.com", netip.MustParseAddr(s)); !d.Allow || d.Reason == "" {
			t.Errorf("Dial(%s) = %+v, want allowed", s, d)
		}
	}
}

func TestDialAllowPrivate(t *testing.T) {
	p := mustNew(t, Config{
		AllowPrivate: []Rule{
			{"10.0.0.0/8", "p.toml:1:1"},
			{"192.168.1.10", "p.toml:2:1"},
			{"fd00::/8", "p.toml:3:1"},
			{"::1", "p.toml:4:1"},
			{"169.254.0.0/16", "p.toml:5:1"},
			{"100.100.100.200", "p.toml:6:1"},
			{"::ffff:172.16.0.0/108", "p.toml:7:1"},
			{"127.0.0.5/8", "p.toml:8:1"}, // host bits set: means 127.0.0.0/8
		},
	})
	for _, tt := range []struct {
		ip   string
		from string // "" = refused
	}{
		{"10.1.2.3", "p.toml:1:1"},
		{"::ffff:10.1.2.3", "p.toml:1:1"},
		{"64:ff9b::10.1.2.3", "p.toml:1:1"},
		{"192.168.1.10", "p.toml:2:1"},
		{"192.168.1.11", ""},
		{"fd12::1", "p.toml:3:1"},
		{"fc00::1", ""},
		{"::1", "p.toml:4:1"},
		{"169.254.1.1", "p.toml:5:1"},
		{"169.254.169.254", ""}, // metadata needs its own single-address entry
		{"fd00:ec2::254", ""},
		{"100.100.100.200", "p.toml:6:1"},
		{"172.16.3.4", "p.toml:7:1"},
		{"127.9.9.9", "p.toml:8:1"},
	} {
		d := p.Dial("lan.example", netip.MustParseAddr(tt.ip))
		from := ""
		if d.Rule != nil {
			from = d.Rule.From
		}
		if d.Allow != (tt.from != "") || from != tt.from {
			t.Errorf("Dial(%s) = %+v, want allowed by %q", tt.ip, d, tt.from)
		}
	}
}

func TestDialUpstreams(t *testing.T) {
	p := mustNew(t, Config{Upstreams: map[string]bool{"api.anthropic.com": true, "Gateway.Local": true, "off.com": false}})
	for _, tt := range []struct {
		host string
		want bool
	}{
		{"api.anthropic.com", true},
		{"API.Anthropic.com.", true},
		{"gateway.local", true},
		{"off.com", false},
		{"other.com", false},
	} {
		if d := p.Dial(tt.host, netip.MustParseAddr("127.0.0.1")); d.Allow != tt.want {
			t.Errorf("Dial(%q, 127.0.0.1) = %+v, want allow=%v", tt.host, d, tt.want)
		}
	}
}
