// Package policy decides what the egress proxy lets through: allow and deny
// host patterns, live approvals, and the SSRF guard on the address dialled.
//
// Every decision is a pure function of the request and the policy (plus the
// approvals made so far); the proxy plumbing only asks and obeys.
package policy

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rule is one policy entry as written by the user.
type Rule struct {
	Pattern string // a host pattern (Allow, Deny) or an IP address or CIDR (AllowPrivate)
	From    string // where it was written: "file:line:col", "--allow", ...
}

// Config is the policy's input, compiled from the profile and command line.
type Config struct {
	Allow, Deny []Rule
	// AllowPrivate lists IP addresses or CIDRs the proxy may dial despite the
	// SSRF guard.
	AllowPrivate []Rule
	// Upstreams holds the hosts (lowercase, no port) that have an --upstream
	// override; they are exempt from the SSRF guard.
	Upstreams map[string]bool
}

// Decision is the answer to one question put to the policy.
type Decision struct {
	Allow bool
	// Reason is human text for the 403 body and the audit log.
	Reason string
	// Rule is the rule that decided, if any. It must not be modified.
	Rule *Rule
}

// DeniedHost is a host:port that Host refused because it is not in the
// allowlist; the approval page lists them.
type DeniedHost struct {
	Host  string
	Port  int
	Count int       // how many times it was refused
	Last  time.Time // when it was last refused
}

// Policy answers the proxy's questions; make one with New. It is safe for
// concurrent use.
type Policy struct {
	allow, deny ruleSet
	private     []privateRule
	upstreams   map[string]bool

	mu        sync.RWMutex
	approvals map[hostPort]*entry // port 0 means 443 and 80
	denied    map[hostPort]*DeniedHost
	now       func() time.Time // for tests
}

// maxDenied bounds the memory a sandbox can make Denied use by trying many
// names; the oldest entries are forgotten first.
const maxDenied = 1024

type hostPort struct {
	host string
	port int
}

// New compiles c. It reports every invalid rule, each prefixed with the
// rule's From.
func New(c Config) (*Policy, error) {
	p := &Policy{
		upstreams: make(map[string]bool, len(c.Upstreams)),
		approvals: make(map[hostPort]*entry),
		denied:    make(map[hostPort]*DeniedHost),
		now:       time.Now,
	}
	var errs []error
	bad := func(r Rule, kind string, err error) {
		if r.From != "" {
			errs = append(errs, fmt.Errorf("%s: %s %q: %v", r.From, kind, r.Pattern, err))
		} else {
			errs = append(errs, fmt.Errorf("%s %q: %v", kind, r.Pattern, err))
		}
	}
	for _, r := range c.Allow {
		if err := p.allow.add(r, "allowed by rule"); err != nil {
			bad(r, "allow", err)
		}
	}
	for _, r := range c.Deny {
		if err := p.deny.add(r, ""); err != nil {
			bad(r, "deny", err)
		}
	}
	for _, r := range c.AllowPrivate {
		pr, err := parsePrivate(r)
		if err != nil {
			bad(r, "allow_private", err)
			continue
		}
		p.private = append(p.private, pr)
	}
	for h, ok := range c.Upstreams {
		if ok {
			p.upstreams[strings.TrimSuffix(strings.ToLower(h), ".")] = true
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// Host decides whether the sandbox may reach host:port by name. Deny rules
// win over allow rules and approvals. A deny rule without a port denies every
// port; an allow rule without a port allows only 443 and 80. Matching is
// case-insensitive and ignores one trailing dot. Invalid host names (empty,
// bad labels, too long, non-ASCII) and ports outside 1-65535 are denied.
// Hosts refused for not being allowed are remembered for Denied.
func (p *Policy) Host(host string, port int) Decision {
	h, isIP, bad := normalize(host)
	if bad != "" {
		return Decision{Reason: fmt.Sprintf("%q is not a valid host name: %s", host, bad)}
	}
	if port < 1 || port > 65535 {
		return Decision{Reason: fmt.Sprintf("port %d of %q is out of range 1-65535", port, h)}
	}
	if e := p.deny.match(h, isIP, port, true); e != nil {
		return Decision{Reason: fmt.Sprintf("%q matches deny rule %s", joinHostPort(h, port), ruleRef(e.rule)), Rule: e.rule}
	}
	if e := p.allow.match(h, isIP, port, false); e != nil {
		return Decision{Allow: true, Reason: e.reason, Rule: e.rule}
	}
	if e := p.approved(h, port); e != nil {
		return Decision{Allow: true, Reason: e.reason, Rule: e.rule}
	}
	p.recordDenied(h, port)
	return Decision{Reason: fmt.Sprintf("%q is not in the allowlist", joinHostPort(h, port))}
}

// Approve allows host:port from now on, as an allow rule written at from
// would (deny rules still win). Port 0 approves 443 and 80. An invalid host or
// port is ignored. Approved hosts are dropped from Denied.
func (p *Policy) Approve(host string, port int, from string) {
	h, _, bad := normalize(host)
	if bad != "" || port < 0 || port > 65535 {
		return
	}
	pattern := h
	if port != 0 {
		pattern = joinHostPort(h, port)
	} else if strings.Contains(h, ":") {
		pattern = "[" + h + "]"
	}
	r := &Rule{Pattern: pattern, From: from}
	e := &entry{rule: r, reason: "allowed by approval " + ruleRef(r)}

	p.mu.Lock()
	defer p.mu.Unlock()
	p.approvals[hostPort{h, port}] = e
	if port == 0 {
		delete(p.denied, hostPort{h, 443})
		delete(p.denied, hostPort{h, 80})
	} else {
		delete(p.denied, hostPort{h, port})
	}
}

func (p *Policy) approved(h string, port int) *entry {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if len(p.approvals) == 0 {
		return nil
	}
	if e := p.approvals[hostPort{h, port}]; e != nil {
		return e
	}
	if port == 443 || port == 80 {
		return p.approvals[hostPort{h, 0}]
	}
	return nil
}

func (p *Policy) recordDenied(h string, port int) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	k := hostPort{h, port}
	d := p.denied[k]
	if d == nil {
		if len(p.denied) >= maxDenied {
			p.forgetOldest()
		}
		d = &DeniedHost{Host: h, Port: port}
		p.denied[k] = d
	}
	d.Count++
	d.Last = now
}

// forgetOldest drops the oldest quarter of the denied hosts, so that a
// flood of new names costs little per name.
func (p *Policy) forgetOldest() {
	all := make([]DeniedHost, 0, len(p.denied))
	for _, d := range p.denied {
		all = append(all, *d)
	}
	sortDenied(all)
	for _, d := range all[len(all)-maxDenied/4:] {
		delete(p.denied, hostPort{d.Host, d.Port})
	}
}

// Denied returns the hosts Host refused because they are not in the
// allowlist (not those refused by a deny rule or as invalid), most recently
// refused first. At most 1024 are kept; the oldest are forgotten.
func (p *Policy) Denied() []DeniedHost {
	p.mu.RLock()
	out := make([]DeniedHost, 0, len(p.denied))
	for _, d := range p.denied {
		out = append(out, *d)
	}
	p.mu.RUnlock()
	sortDenied(out)
	return out
}

// ruleRef formats a rule for a reason: `"*.x.com" (p.toml:3:1)`.
func ruleRef(r *Rule) string {
	if r.From == "" {
		return strconv.Quote(r.Pattern)
	}
	return strconv.Quote(r.Pattern) + " (" + r.From + ")"
}

func joinHostPort(h string, port int) string {
	return net.JoinHostPort(h, strconv.Itoa(port))
}

// parsePrivate parses an AllowPrivate entry: an address or a CIDR, as the
// schema accepts them. A CIDR with host bits set is masked ("10.1.2.3/8" is
// 10.0.0.0/8), a zone is dropped and IPv4-mapped forms count as IPv4.
func parsePrivate(r Rule) (privateRule, error) {
	pfx, err := netip.ParsePrefix(r.Pattern)
	if err != nil {
		ip, err2 := netip.ParseAddr(r.Pattern)
		if err2 != nil {
			return privateRule{}, errors.New("not an IP address or CIDR")
		}
		ip = ip.WithZone("")
		pfx = netip.PrefixFrom(ip, ip.BitLen())
	}
	if a := pfx.Addr(); a.Is4In6() && pfx.Bits() >= 96 {
		pfx = netip.PrefixFrom(a.Unmap(), pfx.Bits()-96)
	}
	return privateRule{prefix: pfx.Masked(), rule: &Rule{Pattern: r.Pattern, From: r.From}}, nil
}

type privateRule struct {
	prefix netip.Prefix
	rule   *Rule
}
