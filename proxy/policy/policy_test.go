package policy

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runjail/runjail/schema"
)

var parse = schema.ParseHostPattern

var testConfig = Config{
	Allow: []Rule{
		{"api.x.com", "p.toml:1:1"},
		{"*.github.com", "p.toml:2:1"},
		{"bedrock-runtime.*.amazonaws.com", "p.toml:3:1"},
		{"registry.npmjs.org:8443", "--allow"},
		{"10.0.0.1", "p.toml:4:1"},
		{"[::1]:8080", "p.toml:5:1"},
		{"*.evil.org", "p.toml:6:1"},
		{"localhost:3000", "p.toml:7:1"},
		{"internal.*", "p.toml:8:1"},
		{"*.*.deep.com", "p.toml:9:1"},
	},
	Deny: []Rule{
		{"bad.evil.org", "p.toml:20:1"},
		{"api.x.com:80", "p.toml:21:1"},
		{"*.internal.corp", "p.toml:22:1"},
	},
}

func mustNew(t testing.TB, c Config) *Policy {
	t.Helper()
	p, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHost(t *testing.T) {
	tests := []struct {
		host string
		port int
		want bool
		from string // the deciding rule's From, "" for none
	}{
		// exact
		{"api.x.com", 443, true, "p.toml:1:1"},
		{"API.X.Com", 443, true, "p.toml:1:1"},
		{"api.x.com.", 443, true, "p.toml:1:1"},
		{"api.x.com", 8443, false, ""},
		{"x.com", 443, false, ""},
		{"a.api.x.com", 443, false, ""},
		{"api.x.co", 443, false, ""},
		{"xapi.x.com", 443, false, ""},
		// *.x.com: any subdomain, not x.com itself
		{"api.github.com", 443, true, "p.toml:2:1"},
		{"a.b.github.com", 80, true, "p.toml:2:1"},
		{"github.com", 443, false, ""},
		{"notgithub.com", 443, false, ""},
		{"github.com.evil.com", 443, false, ""},
		// a * label in the middle matches exactly one label
		{"bedrock-runtime.us-east-1.amazonaws.com", 443, true, "p.toml:3:1"},
		{"bedrock-runtime.amazonaws.com", 443, false, ""},
		{"bedrock-runtime.a.b.amazonaws.com", 443, false, ""},
		{"x.bedrock-runtime.a.amazonaws.com", 443, false, ""},
		{"a.b.deep.com", 443, true, "p.toml:9:1"},
		{"b.deep.com", 443, false, ""},
		// a trailing * label
		{"internal.anything", 443, true, "p.toml:8:1"},
		{"internal.a.b", 443, false, ""},
		// ports: without a port only 443 and 80; with one only that port
		{"api.github.com", 80, true, "p.toml:2:1"},
		{"api.github.com", 22, false, ""},
		{"api.github.com", 8443, false, ""},
		{"registry.npmjs.org", 8443, true, "--allow"},
		{"registry.npmjs.org", 443, false, ""},
		{"localhost", 3000, true, "p.toml:7:1"},
		{"localhost", 443, false, ""},
		// deny wins; a deny rule without a port denies every port
		{"bad.evil.org", 443, false, "p.toml:20:1"},
		{"BAD.evil.org.", 443, false, "p.toml:20:1"},
		{"bad.evil.org", 22, false, "p.toml:20:1"},
		{"good.evil.org", 443, true, "p.toml:6:1"},
		{"a.bad.evil.org", 443, true, "p.toml:6:1"},
		{"api.x.com", 80, false, "p.toml:21:1"},
		{"internal.corp", 443, true, "p.toml:8:1"},
		{"a.internal.corp", 443, false, "p.toml:22:1"},
		// IP literals
		{"10.0.0.1", 443, true, "p.toml:4:1"},
		{"::ffff:10.0.0.1", 443, true, "p.toml:4:1"},
		{"[::ffff:10.0.0.1]", 80, true, "p.toml:4:1"},
		{"10.0.0.2", 443, false, ""},
		{"::1", 8080, true, "p.toml:5:1"},
		{"[::1]", 8080, true, "p.toml:5:1"},
		{"[0:0::1]", 8080, true, "p.toml:5:1"},
		{"::1", 443, false, ""},
		// invalid names and ports
		{"", 443, false, ""},
		{".", 443, false, ""},
		{"..", 443, false, ""},
		{"api.x.com..", 443, false, ""},
		{".api.x.com", 443, false, ""},
		{"a..github.com", 443, false, ""},
		{"-a.github.com", 443, false, ""},
		{"a-.github.com", 443, false, ""},
		{"a b.github.com", 443, false, ""},
		{"a/b.github.com", 443, false, ""},
		{"*.github.com", 443, false, ""},
		{"api.x.com:443", 443, false, ""},
		{"api.x.com\x00", 443, false, ""},
		{"bücher.github.com", 443, false, ""},
		{"\u212a.github.com", 443, false, ""}, // Kelvin sign, lowercases to k under Unicode rules
		{strings.Repeat("a", 64) + ".github.com", 443, false, ""},
		{"1.2.3", 443, false, ""},
		{"256.1.1.1", 443, false, ""},
		{"010.0.0.1", 443, false, ""},
		{"[10.0.0.1]", 443, false, ""},
		{"[::1", 8080, false, ""},
		{"fe80::1%eth0", 443, false, ""},
		{"api.x.com", 0, false, ""},
		{"api.x.com", -1, false, ""},
		{"api.x.com", 65536, false, ""},
	}
	p := mustNew(t, testConfig)
	for _, tt := range tests {
		d := p.Host(tt.host, tt.port)
		from := ""
		if d.Rule != nil {
			from = d.Rule.From
		}
		if d.Allow != tt.want || from != tt.from || d.Reason == "" {
			t.Errorf("Host(%q, %d) = %+v, want allow=%v by %q", tt.host, tt.port, d, tt.want, tt.from)
		}
		if d.Allow != naive(testConfig, tt.host, tt.port) {
			t.Errorf("Host(%q, %d) disagrees with a plain loop over the rules", tt.host, tt.port)
		}
	}
	// 253 characters are fine (254 with the trailing dot), 254 are not.
	p = mustNew(t, Config{Allow: []Rule{{Pattern: "*.x.com"}}})
	for n, want := range map[int]bool{252: true, 253: true, 254: false} {
		h := longName(n)
		if got := p.Host(h, 443).Allow; got != want || len(h) != n {
			t.Errorf("Host(<%d characters>) = %v, want %v", len(h), got, want)
		}
		if got := p.Host(h+".", 443).Allow; got != want {
			t.Errorf("Host(<%d characters>.) = %v, want %v", len(h), got, want)
		}
	}
}

// longName returns a valid name of n characters under x.com.
func longName(n int) string {
	var b strings.Builder
	for rest := n - len(".x.com"); rest > 0; {
		if rest <= 61 {
			b.WriteString(strings.Repeat("a", rest))
			break
		}
		b.WriteString(strings.Repeat("a", 60) + ".")
		rest -= 61
	}
	return b.String() + ".x.com"
}

// naive decides as Host does but by trying every rule in turn, to check the
// index in ruleSet.
func naive(c Config, host string, port int) bool {
	h, _, bad := normalize(host)
	if bad != "" || port < 1 || port > 65535 {
		return false
	}
	for _, r := range c.Deny {
		pat, _ := parse(r.Pattern)
		p := port
		if pat.Port == 0 {
			p = 443
		}
		if pat.Match(h, p) {
			return false
		}
	}
	for _, r := range c.Allow {
		if pat, _ := parse(r.Pattern); pat.Match(h, port) {
			return true
		}
	}
	return false
}

func TestHostReasons(t *testing.T) {
	p := mustNew(t, testConfig)
	for _, tt := range []struct {
		host   string
		port   int
		reason string
	}{
		{"evil.com", 443, `"evil.com:443" is not in the allowlist`},
		{"::2", 443, `"[::2]:443" is not in the allowlist`},
		{"bad.evil.org", 22, `"bad.evil.org:22" matches deny rule "bad.evil.org" (p.toml:20:1)`},
		{"API.x.com", 443, `allowed by rule "api.x.com" (p.toml:1:1)`},
		{"registry.npmjs.org", 8443, `allowed by rule "registry.npmjs.org:8443" (--allow)`},
		{"a..com", 443, `"a..com" is not a valid host name: empty label`},
		{"x.com", 0, `port 0 of "x.com" is out of range 1-65535`},
	} {
		if got := p.Host(tt.host, tt.port).Reason; got != tt.reason {
			t.Errorf("Host(%q, %d).Reason = %q, want %q", tt.host, tt.port, got, tt.reason)
		}
	}
}

func TestApprove(t *testing.T) {
	p := mustNew(t, testConfig)
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	p.now = func() time.Time { clock = clock.Add(time.Second); return clock }

	p.Host("new.com", 443)
	p.Host("NEW.com", 443)
	p.Host("other.com", 8443)
	p.Host("bad.evil.org", 443) // refused by a deny rule: not listed
	p.Host("a..b", 443)         // invalid: not listed
	p.Host("api.x.com", 443)    // allowed: not listed
	want := []DeniedHost{{"other.com", 8443, 1, clock}, {"new.com", 443, 2, clock.Add(-time.Second)}}
	if got := p.Denied(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Denied() = %v, want %v", got, want)
	}

	p.Approve("New.Com.", 443, "approval page")
	if d := p.Host("new.com", 443); !d.Allow || d.Rule == nil || d.Rule.From != "approval page" ||
		d.Reason != `allowed by approval "new.com:443" (approval page)` {
		t.Errorf("after Approve: Host(new.com, 443) = %+v", d)
	}
	if d := p.Host("new.com", 80); d.Allow {
		t.Errorf("approving new.com:443 allowed port 80: %+v", d)
	}
	if got := p.Denied(); len(got) != 2 || got[0].Host != "new.com" || got[0].Port != 80 || got[1].Host != "other.com" {
		t.Errorf("Denied() after Approve = %v, want new.com:80 and other.com:8443", got)
	}

	p.Approve("both.com", 0, "x")
	for port, want := range map[int]bool{443: true, 80: true, 8443: false} {
		if got := p.Host("both.com", port).Allow; got != want {
			t.Errorf("approved both.com (port 0): Host(both.com, %d) = %v, want %v", port, got, want)
		}
	}
	p.Approve("bad.evil.org", 443, "x")
	if d := p.Host("bad.evil.org", 443); d.Allow {
		t.Errorf("an approval beat a deny rule: %+v", d)
	}
	p.Approve("::ffff:10.9.9.9", 0, "x")
	if d := p.Host("10.9.9.9", 443); !d.Allow || d.Rule.Pattern != "10.9.9.9" {
		t.Errorf("approved ::ffff:10.9.9.9: Host(10.9.9.9, 443) = %+v", d)
	}
	p.Approve("2001:db8::1", 0, "x")
	if d := p.Host("[2001:DB8::1]", 80); !d.Allow || d.Rule.Pattern != "[2001:db8::1]" {
		t.Errorf("approved 2001:db8::1: Host([2001:DB8::1], 80) = %+v", d)
	}
	p.Approve("a..b", 443, "x")
	p.Approve("x.com", 70000, "x")
	if p.Host("a..b", 443).Allow || p.Host("x.com", 70000).Allow {
		t.Error("an invalid approval took effect")
	}
}

func TestDeniedBounded(t *testing.T) {
	p := mustNew(t, Config{})
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	p.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	for i := range maxDenied + 10 {
		p.Host(fmt.Sprintf("h%d.com", i), 443)
	}
	d := p.Denied()
	// When full, the oldest quarter went.
	if len(d) != maxDenied-maxDenied/4+10 || d[0].Host != fmt.Sprintf("h%d.com", maxDenied+9) ||
		d[len(d)-1].Host != fmt.Sprintf("h%d.com", maxDenied/4) {
		t.Errorf("Denied() kept %d entries, first %v, last %v", len(d), d[0], d[len(d)-1])
	}
}

func TestConcurrent(t *testing.T) {
	p := mustNew(t, testConfig)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				h := fmt.Sprintf("h%d.com", i%50)
				p.Host(h, 443)
				if i%8 == g {
					p.Approve(h, 443, "test")
				}
				if i%100 == 0 {
					p.Denied()
				}
			}
		})
	}
	wg.Wait()
	for i := range 50 {
		if h := fmt.Sprintf("h%d.com", i); !p.Host(h, 443).Allow {
			t.Errorf("%s was approved but is not allowed", h)
		}
	}
}

func TestNewErrors(t *testing.T) {
	_, err := New(Config{
		Allow:        []Rule{{"ok.com", "a:1:1"}, {"*", "a:2:3"}, {"x.com:0", "--allow"}},
		Deny:         []Rule{{"a..b", "a:3:1"}},
		AllowPrivate: []Rule{{"10.0.0.0/8", "a:4:1"}, {"lan", "a:5:1"}, {"10.0.0.0/33", ""}},
	})
	if err == nil {
		t.Fatal("New accepted bad rules")
	}
	for _, want := range []string{
		`a:2:3: allow "*": `, `--allow: allow "x.com:0": port 0`, `a:3:1: deny "a..b": empty label`,
		`a:5:1: allow_private "lan": not an IP address or CIDR`, `allow_private "10.0.0.0/33"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New error %q does not contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "ok.com") || strings.Contains(err.Error(), "10.0.0.0/8") {
		t.Errorf("New error %q names a good rule", err)
	}
}

// BenchmarkHost asks about a mix of allowed, denied and deny-ruled names
// with 50 patterns in the policy.
func BenchmarkHost(b *testing.B) {
	var c Config
	for i := range 20 {
		c.Allow = append(c.Allow, Rule{fmt.Sprintf("api%d.service%d.com", i, i), "bench"})
	}
	for i := range 15 {
		c.Allow = append(c.Allow, Rule{fmt.Sprintf("*.cdn%d.net", i), "bench"})
	}
	for i := range 5 {
		c.Allow = append(c.Allow, Rule{fmt.Sprintf("bedrock-runtime.*.aws%d.com", i), "bench"})
	}
	for i := range 5 {
		c.Allow = append(c.Allow, Rule{fmt.Sprintf("registry%d.org:8443", i), "bench"})
	}
	for i := range 5 {
		c.Deny = append(c.Deny, Rule{fmt.Sprintf("bad%d.cdn%d.net", i, i), "bench"})
	}
	p := mustNew(b, c)
	hosts := []struct {
		h string
		p int
	}{
		{"api7.service7.com", 443}, {"img.static.cdn3.net", 443}, {"bedrock-runtime.us-east-1.aws2.com", 443},
		{"registry4.org", 8443}, {"API3.Service3.COM.", 80}, {"evil.example.com", 443}, {"bad2.cdn2.net", 443},
		{"x.cdn14.net", 443},
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		h := hosts[i%len(hosts)]
		p.Host(h.h, h.p)
	}
}
