package policy

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	"github.com/runjail/runjail/schema"
)

// entry is one compiled host rule.
type entry struct {
	pat    schema.HostPattern
	rule   *Rule
	reason string // Decision.Reason when the rule allows
	order  int    // position in the config, so the first matching rule is reported
}

// ruleSet is a list of host patterns indexed so that Host calls
// schema.HostPattern.Match only on the few patterns that can match: a name
// can only match a pattern whose labels after its last "*" are a suffix of
// the name (both the exact and the "*." forms compare the last labels
// position by position). The index only picks candidates; Match decides.
type ruleSet struct {
	bySuffix map[string][]*entry // keyed by the literal labels after the last "*"
	anyName  []*entry            // name patterns ending in "*": tried for every name
	ips      []*entry            // IP address patterns: tried for IP hosts only
	n        int
}

// add parses r and indexes it; verb prefixes the allow reason.
func (s *ruleSet) add(r Rule, verb string) error {
	pat, err := schema.ParseHostPattern(r.Pattern)
	if err != nil {
		return err
	}
	e := &entry{pat: pat, rule: &Rule{Pattern: r.Pattern, From: r.From}, order: s.n}
	e.reason = verb + " " + ruleRef(e.rule)
	s.n++
	if len(pat.Labels) == 1 {
		if _, err := netip.ParseAddr(pat.Labels[0]); err == nil {
			s.ips = append(s.ips, e)
			return nil
		}
	}
	last := -1
	for i, l := range pat.Labels {
		if l == "*" {
			last = i
		}
	}
	if last == len(pat.Labels)-1 {
		s.anyName = append(s.anyName, e)
		return nil
	}
	if s.bySuffix == nil {
		s.bySuffix = make(map[string][]*entry)
	}
	key := strings.Join(pat.Labels[last+1:], ".")
	s.bySuffix[key] = append(s.bySuffix[key], e)
	return nil
}

// match returns the first rule (in config order) matching the normalized
// host h on port, or nil. With anyPort, a rule without a port matches every
// port (deny rules); otherwise it matches 443 and 80 only, as Match does.
func (s *ruleSet) match(h string, isIP bool, port int, anyPort bool) *entry {
	if isIP {
		return first(nil, s.ips, h, port, anyPort)
	}
	var best *entry
	for i := 0; ; {
		if l, ok := s.bySuffix[h[i:]]; ok {
			best = first(best, l, h, port, anyPort)
		}
		j := strings.IndexByte(h[i:], '.')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return first(best, s.anyName, h, port, anyPort)
}

// first returns whichever comes first in the config: best or the first
// entry of l matching h:port.
func first(best *entry, l []*entry, h string, port int, anyPort bool) *entry {
	for _, e := range l {
		if best != nil && e.order > best.order {
			break // l is in config order
		}
		p := port
		if anyPort && e.pat.Port == 0 {
			p = 443 // a port-less deny rule denies every port
		}
		if e.pat.Match(h, p) {
			return e
		}
	}
	return best
}

// normalize checks a host name or IP literal and returns it in the form the
// policy keys on: ASCII lowercase, no trailing dot, IP addresses canonical
// (IPv4-mapped IPv6 as IPv4, no brackets). bad says why host is invalid.
// It does not allocate unless host has upper case letters or is IPv6.
func normalize(host string) (h string, isIP bool, bad string) {
	upper := false
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c >= 0x80 {
			return "", false, "non-ASCII characters (use the punycode xn-- form)"
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	if upper {
		host = strings.ToLower(host)
	}
	h = strings.TrimSuffix(host, ".")
	if h == "" {
		return "", false, "empty host name"
	}
	if h[0] == '[' || strings.IndexByte(h, ':') >= 0 {
		v6 := h
		if h[0] == '[' {
			if h[len(h)-1] != ']' {
				return "", false, `missing "]"`
			}
			v6 = h[1 : len(h)-1]
		}
		ip, err := netip.ParseAddr(v6)
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return "", false, "has ':' or '[' but is not an IPv6 address (the port is given separately)"
		}
		return ip.Unmap().String(), true, ""
	}
	if len(h) > 253 {
		return "", false, "longer than 253 characters"
	}
	start := 0
	for i := 0; i <= len(h); i++ {
		if i < len(h) && h[i] != '.' {
			c := h[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return "", false, "a label has a character other than letters, digits, '-' and '_'"
			}
			continue
		}
		switch l := h[start:i]; {
		case l == "":
			return "", false, "empty label"
		case len(l) > 63:
			return "", false, "a label is longer than 63 characters"
		case l[0] == '-' || l[len(l)-1] == '-':
			return "", false, "a label starts or ends with '-'"
		}
		if i < len(h) {
			start = i + 1
		}
	}
	if allDigits(h[start:]) {
		ip, err := netip.ParseAddr(h)
		if err != nil || !ip.Is4() {
			return "", false, "neither a host name nor an IPv4 address"
		}
		return h, true, ""
	}
	return h, false, ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func sortDenied(d []DeniedHost) {
	slices.SortFunc(d, func(a, b DeniedHost) int {
		if c := b.Last.Compare(a.Last); c != 0 {
			return c
		}
		if c := strings.Compare(a.Host, b.Host); c != 0 {
			return c
		}
		return cmp.Compare(a.Port, b.Port)
	})
}
