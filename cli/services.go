package cli

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/adrg/xdg"

	"github.com/runjail/runjail/engine"
	"github.com/runjail/runjail/engine/jail"
	"github.com/runjail/runjail/proxy"
	"github.com/runjail/runjail/proxy/credential"
	"github.com/runjail/runjail/proxy/dns"
	"github.com/runjail/runjail/proxy/policy"
)

// services serve a proxy-mode jail from the host: the egress proxy on the
// jail's proxy port and the jail's DNS.
type services struct {
	pol  *policy.Policy
	prx  *proxy.Proxy
	page *proxy.ApprovalPage // nil when approve = false
}

// newServices compiles the plan's network rules into a policy; decisions
// are logged to audit, intercepted hosts signed by ca, and upstream servers
// verified with the system's roots plus those in the PEM file upstreamCA.
func newServices(p *engine.Plan, audit *proxy.Audit, ca *proxy.CA, upstreamCA, approved, prog string, warn io.Writer) (*services, error) {
	rules := func(rs []engine.Rule) []policy.Rule {
		out := make([]policy.Rule, len(rs))
		for i, r := range rs {
			out[i] = policy.Rule{Pattern: r.Value, From: r.From}
		}
		return out
	}
	opt := proxy.Options{Audit: audit, CA: ca, Upstreams: map[string]*url.URL{}}
	exempt := map[string]bool{}
	for _, u := range p.Net.Upstreams {
		parsed, err := url.Parse(u.URL)
		if err != nil {
			return nil, err
		}
		opt.Upstreams[u.Host] = parsed
		exempt[strings.ToLower(parsed.Hostname())] = true // named by the user: no SSRF guard
	}
	if upstreamCA != "" {
		pem, err := os.ReadFile(upstreamCA)
		if err != nil {
			return nil, fmt.Errorf("--upstream-ca: %v", err)
		}
		if opt.RootCAs, err = x509.SystemCertPool(); err != nil {
			opt.RootCAs = x509.NewCertPool()
		}
		if !opt.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--upstream-ca %s: no PEM certificate in it", upstreamCA)
		}
	}
	home, _ := os.UserHomeDir()
	// Token endpoints are reached from the host, --upstream applying.
	hostClient := &http.Client{Timeout: 30 * time.Second, Transport: upstreamTransport{
		upstreams: opt.Upstreams,
		rt:        &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: &tls.Config{RootCAs: opt.RootCAs}},
	}}
	for _, c := range p.Creds {
		spec := credential.Spec{Type: c.Type, Hosts: c.Hosts, Source: c.Source, Header: c.Header,
			Service: c.Service, Profile: c.Profile, Region: c.Region, From: c.From}
		if c.Type == "aws" {
			spec.AWSHelper = awsHelper()
		}
		b, err := credential.Load(spec, os.Getenv, home, hostClient)
		if err != nil {
			fmt.Fprintf(warn, "%s: warning: %v (requests to %s will fail until then)\n", prog, err, strings.Join(c.Hosts, ", "))
			b = credential.Unavailable(spec, err)
		}
		opt.Credentials = append(opt.Credentials, b)
		// The jail's client gets a stub that makes it try; the proxy puts
		// the real credential on the wire.
		for name, value := range b.Provider.Stub() {
			p.SetEnv(name, value, "stub for the credential at "+c.From)
		}
		if hs, ok := b.Provider.(credential.HomeStater); ok && p.HomeDir != "" {
			for rel, set := range hs.HomeState(p.Dir) {
				p.HomeJSON = append(p.HomeJSON, engine.HomeJSON{Rel: rel, Set: set, From: "the credential at " + c.From})
			}
		}
	}
	pol, err := policy.New(policy.Config{Allow: rules(p.Net.Allow), Deny: rules(p.Net.Deny), AllowPrivate: rules(p.Net.AllowPrivate), Upstreams: exempt})
	if err != nil {
		return nil, err
	}
	svc := &services{pol: pol}
	if p.Net.Approve {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("approval page: %v", err)
		}
		save := func(host string, port int) error { return saveApproval(approved, fmt.Sprintf("%s:%d", host, port)) }
		if svc.page, err = proxy.NewApprovalPage(pol, p.Name, l, save); err != nil {
			return nil, err
		}
		opt.NeverDial = map[string]bool{svc.page.Addr(): true}
	}
	if svc.prx, err = proxy.New(pol, opt); err != nil {
		return nil, err
	}
	return svc, nil
}

// saveApproval appends pattern to the file of hosts approved always (see
// engine.ApprovedFile), which the next session's plan allows.
func saveApproval(path, pattern string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(f, pattern); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// awsHelper finds runjail-aws, which loads AWS credentials: beside this
// program, else on $PATH; "" if nowhere.
func awsHelper() string {
	if p := jail.Beside("runjail-aws"); p != "" {
		return p
	}
	if p, err := exec.LookPath("runjail-aws"); err == nil {
		return p
	}
	return ""
}

// upstreamTransport sends requests for an --upstream host to its URL.
type upstreamTransport struct {
	upstreams map[string]*url.URL
	rt        http.RoundTripper
}

func (t upstreamTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if u, ok := t.upstreams[strings.ToLower(req.URL.Hostname())]; ok {
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host, req.Host = u.Scheme, u.Host, u.Host
	}
	return t.rt.RoundTrip(req)
}

// Serve implements jail.Services: the proxy on its port and on the
// jail's 443 and 80, DNS over UDP and TCP.
func (s *services) Serve(p *engine.Plan, socks []jail.Socket) {
	// Allowed names resolve to the jail's loopback, IPv4 only (the
	// listeners are there): clients that honour the proxy variables never
	// connect to it, others reach the proxy's 443 and 80.
	h := &dns.Handler{
		Allowed: func(name string) bool { return s.pol.Host(name, 443).Allow || s.pol.Host(name, 80).Allow },
		A:       netip.MustParseAddr("127.0.0.1"),
		TTL:     5,
	}
	for _, sock := range socks {
		switch {
		case sock.Service == "proxy", sock.Service == "http":
			go s.prx.Serve(sock.Listener)
		case sock.Service == "https":
			go s.prx.ServeTLS(sock.Listener)
		case sock.Service == "dns" && sock.Network == "udp":
			go h.Serve(sock.PacketConn)
		case sock.Service == "dns":
			go h.ServeTCP(sock.Listener)
		}
	}
}

// openLog opens the egress audit log for appending: path, or by default
// $XDG_STATE_HOME/runjail/NAME/egress.log (outside anything a jail sees).
func openLog(path, sandbox string) (*os.File, error) {
	if path == "" {
		path = filepath.Join(xdg.StateHome, "runjail", sandbox, "egress.log")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
}
