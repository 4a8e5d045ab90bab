package policy

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func FuzzHost(f *testing.F) {
	for _, s := range []string{
		"api.x.com", "API.X.COM.", "a.b.github.com", "github.com", "bedrock-runtime.us-east-1.amazonaws.com",
		"bad.evil.org", "10.0.0.1", "::ffff:10.0.0.1", "[::1]", "", ".", "a..b", "-a.com", "x.com:443",
		"\u212a.github.com", "internal.x", "a.b.deep.com", strings.Repeat("a.", 127) + "x.com",
	} {
		f.Add(s, 443)
		f.Add(s, 8080)
	}
	p := mustNew(f, testConfig)
	f.Fuzz(func(t *testing.T, h string, port int) {
		d := p.Host(h, port)
		if d.Reason == "" {
			t.Fatalf("Host(%q, %d) has no reason", h, port)
		}
		if d.Allow != naive(testConfig, h, port) {
			t.Fatalf("Host(%q, %d).Allow = %v, a plain loop over the rules says otherwise", h, port, d.Allow)
		}
		// Host names are valid exactly when they are valid patterns.
		if isASCII(h) && !strings.ContainsAny(h, ":[*") && !strings.HasSuffix(h, ".") {
			_, _, bad := normalize(h)
			if _, err := parse(h); (err == nil) != (bad == "") {
				t.Fatalf("%q: normalize says %q, ParseHostPattern says %v", h, bad, err)
			}
		}
		// Case and one trailing dot do not matter. Only for ASCII: Unicode
		// case mapping can turn an invalid name into a valid one ("ſ" → "S").
		if isASCII(h) && !strings.HasSuffix(h, ".") {
			if d2 := p.Host(strings.ToUpper(h)+".", port); d2.Allow != d.Allow {
				t.Fatalf("Host(%q, %d).Allow = %v but Host(%q) = %v", h, port, d.Allow, strings.ToUpper(h)+".", d2.Allow)
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func FuzzDial(f *testing.F) {
	for _, s := range []string{
		"127.0.0.1", "8.8.8.8", "::1", "::ffff:127.0.0.1", "::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::808:808",
		"2002:7f00:1::1", "2002:808:808::1", "fe80::1%eth0", "fd00:ec2::254", "2606:4700::1111", "ff02::1",
	} {
		f.Add([]byte(netip.MustParseAddr(s).AsSlice()), "x.com")
	}
	p := mustNew(f, Config{})
	f.Fuzz(func(t *testing.T, b []byte, host string) {
		ip, ok := netip.AddrFromSlice(b)
		if !ok {
			ip, _ = netip.ParseAddr(string(b))
		}
		d := p.Dial(host, ip)
		if d.Reason == "" {
			t.Fatalf("Dial(%s) has no reason", ip)
		}
		if !d.Allow {
			return
		}
		// Whatever is allowed passes the standard library's own checks, in
		// every form it can take.
		check := []netip.Addr{ip.WithZone("").Unmap()}
		if ip.Is4() {
			for _, e := range embed(ip) {
				if d2 := p.Dial(host, e); !d2.Allow && !strings.Contains(d2.Reason, "IPv4-compatible") {
					t.Fatalf("Dial(%s) allowed but its form %s is refused: %s", ip, e, d2.Reason)
				}
			}
		} else {
			b := ip.As16()
			if b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b { // NAT64
				check = append(check, netip.AddrFrom4([4]byte(b[12:])))
			}
			if b[0] == 0x20 && b[1] == 0x02 { // 6to4
				check = append(check, netip.AddrFrom4([4]byte(b[2:6])))
			}
		}
		for _, a := range check {
			if !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() ||
				a.IsMulticast() || a.IsUnspecified() || slices.Contains(metadataAddrs, a) {
				t.Fatalf("Dial(%s) = %+v, but %s is not public", ip, d, a)
			}
		}
	})
}
