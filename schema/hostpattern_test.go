package schema_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/runjail/runjail/schema"
)

func TestParseHostPattern(t *testing.T) {
	good := []struct {
		in     string
		labels []string
		port   int
	}{
		{"api.x.com", []string{"api", "x", "com"}, 0},
		{"API.X.Com", []string{"api", "x", "com"}, 0},
		{"x.com.", []string{"x", "com"}, 0},
		{"*.x.com", []string{"*", "x", "com"}, 0},
		{"a.*.x.com", []string{"a", "*", "x", "com"}, 0},
		{"*.*.x.com", []string{"*", "*", "x", "com"}, 0},
		{"registry.npmjs.org:443", []string{"registry", "npmjs", "org"}, 443},
		{"x.com:1", []string{"x", "com"}, 1},
		{"x.com:65535", []string{"x", "com"}, 65535},
		{"localhost", []string{"localhost"}, 0},
		{"localhost:8080", []string{"localhost"}, 8080},
		{"_dmarc.x-y.com", []string{"_dmarc", "x-y", "com"}, 0},
		{"xn--bcher-kva.example", []string{"xn--bcher-kva", "example"}, 0},
		{"1.x.com", []string{"1", "x", "com"}, 0},
		{"10.0.0.1", []string{"10.0.0.1"}, 0},
		{"10.0.0.1:8443", []string{"10.0.0.1"}, 8443},
		{"::1", []string{"::1"}, 0},
		{"[::1]", []string{"::1"}, 0},
		{"[::1]:8080", []string{"::1"}, 8080},
		{"[2001:DB8:0::1]:443", []string{"2001:db8::1"}, 443},
		{strings.Repeat("a", 63) + ".com", []string{strings.Repeat("a", 63), "com"}, 0},
	}
	for _, tt := range good {
		p, err := schema.ParseHostPattern(tt.in)
		if err != nil {
			t.Errorf("ParseHostPattern(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(p.Labels, tt.labels) || p.Port != tt.port || p.Raw != strings.ToLower(tt.in) {
			t.Errorf("ParseHostPattern(%q) = %+v, want labels %q port %d", tt.in, p, tt.labels, tt.port)
		}
	}

	bad := []string{
		"", "*", "*.*", "*:443", ".", "..", ".x.com", "a..com", "a*.x.com", "*a.x.com", "a.b*c.com",
		"x.com:", "x.com:0", "x.com:65536", "x.com:99999999", "x.com:+80", "x.com:-1", "x.com:http",
		"x.com:80:80x", "-a.com", "a-.com", "a b.com", "a/b.com", "http://x.com", "x.com/path",
		"bücher.example", strings.Repeat("a", 64) + ".com", strings.Repeat("a.", 130) + "com",
		"1.2.3", "256.1.1.1", "010.1.1.1", "*.1.2.3", "[1.2.3.4]", "[::1", "[::1]x", "[::1]:", "[x.com]:80",
		"fe80::1%eth0", "x.com..",
	}
	for _, in := range bad {
		if p, err := schema.ParseHostPattern(in); err == nil {
			t.Errorf("ParseHostPattern(%q) = %+v, want an error", in, p)
		}
	}
}

func TestHostPatternMatch(t *testing.T) {
	type hp struct {
		host string
		port int
	}
	tests := []struct {
		pattern string
		match   []hp
		noMatch []hp
	}{
		{"api.x.com",
			[]hp{{"api.x.com", 443}, {"api.x.com", 80}, {"API.X.COM", 443}, {"api.x.com.", 443}},
			[]hp{{"api.x.com", 8443}, {"api.x.com", 0}, {"x.com", 443}, {"a.api.x.com", 443}, {"api.x.co", 443},
				{"api.x.com..", 443}, {"", 443}, {"apix.com", 443}, {"api.y.com", 443}}},
		{"*.x.com",
			[]hp{{"a.x.com", 443}, {"a.b.x.com", 80}, {"a.b.c.x.com", 443}, {"A.X.Com.", 443}},
			[]hp{{"x.com", 443}, {"ax.com", 443}, {".x.com", 443}, {"a..x.com", 443}, {"a.x.com", 22}, {"a.x.org", 443}}},
		{"a.*.x.com",
			[]hp{{"a.b.x.com", 443}, {"a.zz.x.com", 80}},
			[]hp{{"a.x.com", 443}, {"a.b.c.x.com", 443}, {"b.b.x.com", 443}, {"z.a.b.x.com", 443}, {"a..x.com", 443}}},
		{"bedrock-runtime.*.amazonaws.com",
			[]hp{{"bedrock-runtime.us-east-1.amazonaws.com", 443}},
			[]hp{{"bedrock-runtime.amazonaws.com", 443}, {"bedrock.us-east-1.amazonaws.com", 443}}},
		{"*.*.x.com",
			[]hp{{"a.b.x.com", 443}, {"a.b.c.x.com", 443}},
			[]hp{{"a.x.com", 443}, {"x.com", 443}}},
		{"x.*",
			[]hp{{"x.com", 443}, {"x.org", 80}},
			[]hp{{"x", 443}, {"y.com", 443}, {"x.com.au", 443}}},
		{"x.com:8443",
			[]hp{{"x.com", 8443}},
			[]hp{{"x.com", 443}, {"x.com", 80}, {"a.x.com", 8443}}},
		{"*.x.com:22",
			[]hp{{"git.x.com", 22}},
			[]hp{{"git.x.com", 443}, {"x.com", 22}}},
		{"x.com.",
			[]hp{{"x.com", 443}, {"x.com.", 80}},
			nil},
		{"localhost:8080",
			[]hp{{"localhost", 8080}, {"LOCALHOST.", 8080}},
			[]hp{{"localhost", 443}, {"a.localhost", 8080}}},
		{"10.0.0.1",
			[]hp{{"10.0.0.1", 443}, {"10.0.0.1", 80}, {"::ffff:10.0.0.1", 443}},
			[]hp{{"10.0.0.2", 443}, {"10.0.0.1", 8080}, {"10.0.0.1.", 443}, {"x.10.0.0.1", 443}}},
		{"[::1]:8080",
			[]hp{{"::1", 8080}, {"[::1]", 8080}, {"0:0::1", 8080}},
			[]hp{{"::1", 443}, {"::2", 8080}, {"127.0.0.1", 8080}}},
		{"::1",
			[]hp{{"::1", 443}, {"[::1]", 80}},
			[]hp{{"::1", 8080}}},
	}
	for _, tt := range tests {
		p, err := schema.ParseHostPattern(tt.pattern)
		if err != nil {
			t.Fatalf("ParseHostPattern(%q): %v", tt.pattern, err)
		}
		for _, h := range tt.match {
			if !p.Match(h.host, h.port) {
				t.Errorf("%q.Match(%q, %d) = false, want true", tt.pattern, h.host, h.port)
			}
		}
		for _, h := range tt.noMatch {
			if p.Match(h.host, h.port) {
				t.Errorf("%q.Match(%q, %d) = true, want false", tt.pattern, h.host, h.port)
			}
		}
	}
	if (schema.HostPattern{}).Match("x.com", 443) {
		t.Error("the zero HostPattern matched")
	}
}

func FuzzHostPattern(f *testing.F) {
	for _, s := range []string{"api.x.com", "*.x.com", "a.*.x.com:8443", "x.com.", "10.0.0.1:80", "[::1]:8080",
		"::1", "a*.x.com", "*", "x.com:0", "[::1", "_a.b-c.D", ""} {
		f.Add(s, "a.x.com", 443)
	}
	f.Fuzz(func(t *testing.T, pattern, host string, port int) {
		p, err := schema.ParseHostPattern(pattern)
		if err != nil {
			return
		}
		q, err := schema.ParseHostPattern(p.Raw)
		if err != nil {
			t.Fatalf("Raw %q of %q does not parse: %v", p.Raw, pattern, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("%q parses to %+v, its Raw to %+v", pattern, p, q)
		}
		if len(p.Labels) == 0 || p.Port < 0 || p.Port > 65535 {
			t.Fatalf("%q parses to %+v", pattern, p)
		}
		p.Match(host, port)
		// A host that is the pattern with wildcards filled in matches it.
		if !strings.Contains(p.Labels[0], ":") {
			h := strings.ReplaceAll(strings.Join(p.Labels, "."), "*", "w")
			port := p.Port
			if port == 0 {
				port = 443
			}
			if !p.Match(h, port) {
				t.Fatalf("%q does not match %q port %d", pattern, h, port)
			}
		}
	})
}
