package schema

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// HostPattern is a parsed allowlist entry: "api.x.com", "*.x.com",
// "a.*.x.com", each optionally ":PORT"; or an IP address ("10.0.0.1",
// "[::1]:8080").
type HostPattern struct {
	// Labels are the lowercased DNS labels, "*" for a wildcard; an IP address
	// pattern has its address as the only label.
	Labels []string
	Port   int    // 0 means 443 and 80
	Raw    string // the pattern as written, lowercased
}

// ParseHostPattern parses an allowlist entry. It rejects an empty pattern, a
// pattern of wildcards only, a "*" that is not a whole label, invalid labels
// and ports outside 1-65535.
func ParseHostPattern(s string) (HostPattern, error) {
	raw := strings.ToLower(s)
	host, port, err := splitPort(raw)
	if err != nil {
		return HostPattern{}, err
	}
	p := HostPattern{Port: port, Raw: raw}
	if ip, ok := parseIP(host); ok {
		p.Labels = []string{ip.String()}
		return p, nil
	}
	if strings.HasPrefix(host, "[") {
		return HostPattern{}, errors.New("brackets must hold an IPv6 address")
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return HostPattern{}, errors.New("empty host")
	}
	if len(host) > 253 {
		return HostPattern{}, errors.New("host name longer than 253 characters")
	}
	p.Labels = strings.Split(host, ".")
	literal := false
	for _, l := range p.Labels {
		if l == "*" {
			continue
		}
		if err := checkLabel(l); err != nil {
			return HostPattern{}, err
		}
		literal = true
	}
	if !literal {
		return HostPattern{}, errors.New("a pattern needs at least one label that is not *")
	}
	if last := p.Labels[len(p.Labels)-1]; strings.Trim(last, "0123456789") == "" {
		return HostPattern{}, fmt.Errorf("%q is neither a host name nor an IP address", host)
	}
	return p, nil
}

// splitPort splits "host:port", "[v6]:port", "[v6]" and a bare IPv6 address.
func splitPort(s string) (host string, port int, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, errors.New(`missing "]"`)
		}
		host, rest := s[:end+1], s[end+1:]
		if rest == "" {
			return host, 0, nil
		}
		if rest[0] != ':' {
			return "", 0, fmt.Errorf("unexpected %q after %q", rest, host)
		}
		port, err := parsePort(rest[1:])
		return host, port, err
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.Count(s, ":") > 1 { // no port, or a bare IPv6 address
		return s, 0, nil
	}
	port, err = parsePort(s[i+1:])
	return s[:i], port, err
}

func parsePort(s string) (int, error) {
	if s == "" || len(s) > 5 || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("port %q is not a number", s)
	}
	n, _ := strconv.Atoi(s)
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %d is out of range 1-65535", n)
	}
	return n, nil
}

// parseIP parses an IPv4 address, or an IPv6 address with or without
// brackets; zones are not accepted.
func parseIP(host string) (netip.Addr, bool) {
	v6 := strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]")
	if v6 {
		host = host[1 : len(host)-1]
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" || (v6 && !ip.Is6()) {
		return netip.Addr{}, false
	}
	return ip, true
}

// checkLabel checks one DNS label (underscores allowed, as in real-world
// names such as _dmarc).
func checkLabel(l string) error {
	if l == "" {
		return errors.New("empty label (two dots in a row?)")
	}
	if strings.Contains(l, "*") {
		return fmt.Errorf("%q: a * must be a whole label, as in *.example.com", l)
	}
	if len(l) > 63 {
		return fmt.Errorf("label %q is longer than 63 characters", l)
	}
	for _, c := range l {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("label %q has %q; use letters, digits and '-' (punycode for other scripts)", l, c)
		}
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return fmt.Errorf("label %q starts or ends with '-'", l)
	}
	return nil
}

// Match reports whether host:port matches p. Matching is case-insensitive
// and ignores a trailing dot on host; "*.x.com" matches any subdomain (one or
// more labels) of x.com but not x.com itself; a "*" label elsewhere matches
// exactly one label. Without a port in p only ports 443 and 80 match. An IPv6
// host may be given with or without brackets.
func (p HostPattern) Match(host string, port int) bool {
	if p.Port == 0 && port != 443 && port != 80 || p.Port != 0 && port != p.Port {
		return false
	}
	if len(p.Labels) == 0 {
		return false
	}
	host = strings.ToLower(host)
	if len(p.Labels) == 1 {
		if pip, ok := parseIP(p.Labels[0]); ok {
			hip, ok := parseIP(host)
			return ok && hip.Unmap() == pip.Unmap()
		}
	}
	hl := strings.Split(strings.TrimSuffix(host, "."), ".")
	for _, l := range hl {
		if l == "" {
			return false
		}
	}
	pl := p.Labels
	if pl[0] == "*" {
		if len(hl) < len(pl) {
			return false
		}
		hl, pl = hl[len(hl)-len(pl)+1:], pl[1:]
	} else if len(hl) != len(pl) {
		return false
	}
	for i := range pl {
		if pl[i] != "*" && pl[i] != hl[i] {
			return false
		}
	}
	return true
}
