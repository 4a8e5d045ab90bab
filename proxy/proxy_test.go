package proxy

import (
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/martian/v3"

	"github.com/runjail/runjail/proxy/policy"
)

func newPolicy(t testing.TB, allow, allowPrivate []string) *policy.Policy {
	t.Helper()
	pol, err := policyFor(allow, allowPrivate)
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

func policyFor(allow, allowPrivate []string) (*policy.Policy, error) {
	var c policy.Config
	for _, a := range allow {
		c.Allow = append(c.Allow, policy.Rule{Pattern: a, From: "test"})
	}
	for _, a := range allowPrivate {
		c.AllowPrivate = append(c.AllowPrivate, policy.Rule{Pattern: a, From: "test"})
	}
	return policy.New(c)
}

// serve starts p on a loopback port and returns a client using it.
func serve(t *testing.T, p *Proxy) *http.Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(l)
	t.Cleanup(p.Close)
	u := &url.URL{Scheme: "http", Host: l.Addr().String()}
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(u)}}
}

func upstream(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "upstream")
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestDialAsksThePolicy(t *testing.T) {
	srv, _ := upstream(t)
	addr := strings.TrimPrefix(srv.URL, "http://")
	_, port, _ := net.SplitHostPort(addr)

	p := mustNew(t, newPolicy(t, []string{"localhost:" + port}, nil), Options{})
	if _, err := p.dial("tcp", "denied.example:443"); err == nil || !strings.Contains(err.Error(), "not in the allowlist") {
		t.Errorf("a name not allowed was dialled: %v", err)
	}
	// Allowed by name, but it resolves to loopback: the SSRF guard.
	if c, err := p.dial("tcp", "localhost:"+port); err == nil {
		c.Close()
		t.Errorf("localhost was dialled without allow_private")
	}
	p = mustNew(t, newPolicy(t, []string{"localhost:" + port}, []string{"127.0.0.1", "::1"}), Options{})
	c, err := p.dial("tcp", "localhost:"+port)
	if err != nil {
		t.Fatalf("allowed with allow_private: %v", err)
	}
	c.Close()
}

// In martian a request modifier's error does not stop the request; a
// refusal must hold all the same.
func TestRefusalSurvivesModifierError(t *testing.T) {
	srv, hits := upstream(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	// Only some other port is allowed; the upstream's own is not.
	p := mustNew(t, newPolicy(t, []string{"localhost:1"}, []string{"127.0.0.1", "::1"}), Options{})
	p.m.SetRequestModifier(martian.RequestModifierFunc(func(*http.Request) error { return errors.New("modifier failed") }))
	client := serve(t, p)
	res, err := client.Get("http://localhost:" + port + "/")
	if err == nil {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == 200 || string(body) == "upstream" {
			t.Fatalf("refused request went through: %d %q", res.StatusCode, body)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("the upstream was reached %d times", hits.Load())
	}
}

// Plain HTTP: allowed passes, refused gets a 403 that says how to allow it.
func TestPlainHTTP(t *testing.T) {
	srv, hits := upstream(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	client := serve(t, mustNew(t, newPolicy(t, []string{"localhost:" + port}, []string{"127.0.0.1", "::1"}), Options{}))
	res, err := client.Get("http://localhost:" + port + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "upstream" {
		t.Errorf("allowed: %d %q", res.StatusCode, body)
	}
	res, err = client.Get("http://denied.example/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 403 || !strings.Contains(string(body), "runjail --allow denied.example") {
		t.Errorf("refused: %d %q", res.StatusCode, body)
	}
	if hits.Load() != 1 {
		t.Errorf("upstream hits %d, want 1", hits.Load())
	}
}

// interceptingProxy returns a proxy that intercepts api.example.com (sent
// to srv) and allows the extra hosts, and the roots its clients trust.
func interceptingProxy(t *testing.T, srv *httptest.Server, extra ...string) (*Proxy, *x509.CertPool) {
	t.Helper()
	ca, err := LoadCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	p := mustNew(t, newPolicy(t, append([]string{"api.example.com"}, extra...), []string{"127.0.0.1"}), Options{
		CA: ca, RootCAs: roots,
		Upstreams: map[string]*url.URL{"api.example.com": {Scheme: "https", Host: strings.TrimPrefix(srv.URL, "https://")}},
	})
	proxyRoots := x509.NewCertPool()
	proxyRoots.AddCert(ca.Cert)
	return p, proxyRoots
}

func mustNew(t *testing.T, pol *policy.Policy, opt Options) *Proxy {
	t.Helper()
	p, err := New(pol, opt)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
