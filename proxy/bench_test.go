package proxy

// The proxy's benchmarks, each against its peer in the same run: the same
// requests made directly and through mitmdump (Debian's mitmproxy). The
// proxies run in their own processes (this test binary re-executed, see
// TestMain) so that their memory can be measured and they do not share a
// Go runtime with the load. Run them with `make bench-proxy`.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runjail/runjail/internal/fakeanthropic"
	"github.com/runjail/runjail/proxy/credential"
)

// benchProxyEnv, when set in the environment, makes the test binary a
// proxy: its value is a JSON benchProxyConfig; it prints its address and
// serves until killed.
const benchProxyEnv = "RUNJAIL_BENCH_PROXY"

type benchProxyConfig struct {
	Allow, AllowPrivate []string
	Upstreams           map[string]string // host to URL, intercepted
	RootPEM             []byte            // trusted for upstream TLS
	CADir, Log          string
	AnthropicKey        string // injected for api.example.com
}

func TestMain(m *testing.M) {
	if cfg := os.Getenv(benchProxyEnv); cfg != "" {
		if err := serveBenchProxy(cfg); err != nil {
			fmt.Fprintln(os.Stderr, "bench proxy:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func serveBenchProxy(cfgJSON string) error {
	var cfg benchProxyConfig
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		return err
	}
	pol, err := policyFor(cfg.Allow, cfg.AllowPrivate)
	if err != nil {
		return err
	}
	opt := Options{RootCAs: x509.NewCertPool(), Upstreams: map[string]*url.URL{}}
	opt.RootCAs.AppendCertsFromPEM(cfg.RootPEM)
	for h, u := range cfg.Upstreams {
		pu, err := url.Parse(u)
		if err != nil {
			return err
		}
		opt.Upstreams[h] = pu
	}
	if opt.CA, err = LoadCA(cfg.CADir); err != nil {
		return err
	}
	logf, err := os.Create(cfg.Log)
	if err != nil {
		return err
	}
	opt.Audit = NewAudit(logf, "bench")
	if cfg.AnthropicKey != "" {
		b, err := credential.Load(credential.Spec{Type: "anthropic", Hosts: []string{"api.example.com"}, Source: "env:KEY"},
			func(string) string { return cfg.AnthropicKey }, "", nil)
		if err != nil {
			return err
		}
		opt.Credentials = []credential.Binding{b}
	}
	p, err := New(pol, opt)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(l.Addr())
	return p.Serve(l)
}

// benchUpstream is a loopback HTTPS server: "/" answers "ok", "/bulk"
// sends size bytes, "/sse" sends events carrying the time they were
// flushed, one every interval until the client goes.
type benchUpstream struct {
	*httptest.Server
	hostPort string
	pem      []byte
}

const bulkSize = 16 << 20

// benchKey is the Anthropic API key of the fake API behind the upstream's
// /v1/messages.
const benchKey = "sk-ant-api03-bench-key"

func newBenchUpstream(b *testing.B, interval time.Duration) *benchUpstream {
	bulk := make([]byte, bulkSize)
	fake := &fakeanthropic.Server{APIKey: benchKey}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/messages":
			fake.ServeHTTP(w, r)
		case "/bulk":
			w.Header().Set("Content-Length", strconv.Itoa(len(bulk)))
			w.Write(bulk)
		case "/sse":
			w.Header().Set("Content-Type", "text/event-stream")
			for {
				fmt.Fprintf(w, "data: %d\n\n", time.Now().UnixNano())
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(interval):
				}
			}
		default:
			io.WriteString(w, "ok")
		}
	}))
	srv.EnableHTTP2 = false
	srv.Config.ErrorLog = nil
	srv.StartTLS()
	b.Cleanup(srv.Close)
	return &benchUpstream{
		Server:   srv,
		hostPort: strings.TrimPrefix(srv.URL, "https://"),
		pem:      pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}),
	}
}

// benchTarget is a way to reach the upstream: a URL and a client.
type benchTarget struct {
	url string
	tr  *http.Transport
	pid int // the proxy's, 0 when direct
}

func (t benchTarget) client() *http.Client { return &http.Client{Transport: t.tr} }

// direct reaches up without a proxy.
func direct(b *testing.B, up *benchUpstream) benchTarget {
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(up.pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, MaxIdleConnsPerHost: 8}
	b.Cleanup(tr.CloseIdleConnections)
	return benchTarget{url: up.URL, tr: tr}
}

// viaRunjail reaches up through runjail's proxy in its own process:
// intercepted (as api.example.com, our CA) or tunnelled (CONNECT only).
func viaRunjail(b *testing.B, up *benchUpstream, intercept bool) benchTarget {
	dir := b.TempDir()
	cfg := benchProxyConfig{RootPEM: up.pem, CADir: dir, Log: filepath.Join(dir, "egress.log")}
	t := direct(b, up)
	if intercept {
		cfg.AnthropicKey = benchKey
		cfg.Allow, cfg.AllowPrivate = []string{"api.example.com"}, []string{"127.0.0.1"}
		cfg.Upstreams = map[string]string{"api.example.com": up.URL}
		t.url = "https://api.example.com"
	} else {
		_, port, _ := net.SplitHostPort(up.hostPort)
		cfg.Allow, cfg.AllowPrivate = []string{"127.0.0.1:" + port}, []string{"127.0.0.1"}
	}
	js, _ := json.Marshal(cfg)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), benchProxyEnv+"="+string(js))
	addr, pid := startProxy(b, cmd, nil)
	if intercept {
		ca, err := LoadCA(dir)
		if err != nil {
			b.Fatal(err)
		}
		t.tr.TLSClientConfig.RootCAs = x509.NewCertPool()
		t.tr.TLSClientConfig.RootCAs.AddCert(ca.Cert)
	}
	t.tr.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: addr})
	t.pid = pid
	return t
}

// viaMitmdump reaches up through mitmdump, which intercepts everything.
func viaMitmdump(b *testing.B, up *benchUpstream) benchTarget { return mitmdump(b, up, false) }

// mitmdump reaches up through mitmdump, intercepting or (passthrough) only
// tunnelling.
func mitmdump(b *testing.B, up *benchUpstream, passthrough bool) benchTarget {
	if _, err := exec.LookPath("mitmdump"); err != nil {
		b.Skip("SKIPPED: the peer mitmdump is not installed (apt-get install mitmproxy); no comparison")
	}
	dir := b.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	args := []string{"-q", "--listen-host", "127.0.0.1", "-p", port, "--set", "confdir=" + dir, "--ssl-insecure"}
	if passthrough {
		args = append(args, "--ignore-hosts", ".*")
	}
	cmd := exec.Command("mitmdump", args...)
	startProxy(b, cmd, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	caPEM, err := os.ReadFile(filepath.Join(dir, "mitmproxy-ca-cert.pem"))
	if err != nil {
		b.Fatal(err)
	}
	t := direct(b, up)
	t.tr.TLSClientConfig.RootCAs = x509.NewCertPool()
	t.tr.TLSClientConfig.RootCAs.AppendCertsFromPEM(caPEM)
	t.tr.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: addr})
	t.pid = cmd.Process.Pid
	return t
}

// startProxy starts cmd and waits until it is ready: when ready is nil,
// until it prints its address.
func startProxy(b *testing.B, cmd *exec.Cmd, ready func() bool) (addr string, pid int) {
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if ready == nil {
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			b.Fatalf("the proxy did not start: %v", err)
		}
		return strings.TrimSpace(line), cmd.Process.Pid
	}
	go io.Copy(io.Discard, out)
	for deadline := time.Now().Add(20 * time.Second); !ready(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%s did not start", cmd.Path)
		}
	}
	return "", cmd.Process.Pid
}

// peers are the three ways to make the MITM'd requests.
var peers = []struct {
	name   string
	target func(*testing.B, *benchUpstream) benchTarget
}{
	{"direct", direct},
	{"runjail", func(b *testing.B, up *benchUpstream) benchTarget { return viaRunjail(b, up, true) }},
	{"mitmdump", viaMitmdump},
	{"tunnel", func(b *testing.B, up *benchUpstream) benchTarget { return viaRunjail(b, up, false) }},
}

// BenchmarkMITMThroughput: keep-alive HTTPS requests on 4 connections,
// intercepted by the proxy (direct: no proxy). Reports requests/s.
func BenchmarkMITMThroughput(b *testing.B) {
	for _, peer := range peers {
		b.Run(peer.name, func(b *testing.B) {
			up := newBenchUpstream(b, time.Second)
			t := peer.target(b, up)
			client := t.client()
			get(b, client, t.url) // connect and handshake before timing
			conns := 4
			b.SetParallelism((conns + 1) / 2)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := tryGet(client, t.url); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// BenchmarkMITMLatency: one keep-alive connection, one request at a time.
// Reports the median request time; the proxy's added latency is its
// median minus direct's.
func BenchmarkMITMLatency(b *testing.B) {
	for _, peer := range peers {
		b.Run(peer.name, func(b *testing.B) {
			up := newBenchUpstream(b, time.Second)
			t := peer.target(b, up)
			client := t.client()
			get(b, client, t.url)
			times := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				get(b, client, t.url)
				times = append(times, time.Since(start))
			}
			b.ReportMetric(median(times).Seconds()*1e6, "p50-µs")
		})
	}
}

// BenchmarkSSEFirstEvent: the time from the upstream flushing the first
// event of a text/event-stream response to the client reading it.
func BenchmarkSSEFirstEvent(b *testing.B) {
	for _, peer := range peers[:2] {
		b.Run(peer.name, func(b *testing.B) {
			up := newBenchUpstream(b, time.Hour)
			t := peer.target(b, up)
			client := t.client()
			times := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				res, err := client.Get(t.url + "/sse")
				if err != nil {
					b.Fatal(err)
				}
				line, err := bufio.NewReader(res.Body).ReadString('\n')
				now := time.Now()
				res.Body.Close()
				sent, perr := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "data: ")), 10, 64)
				if err != nil || perr != nil {
					b.Fatalf("first event %q: %v %v", line, err, perr)
				}
				times = append(times, now.Sub(time.Unix(0, sent)))
			}
			b.ReportMetric(median(times).Seconds()*1e6, "p50-µs")
		})
	}
}

// BenchmarkMessagesFirstToken: a streamed Messages request, from sending it
// to reading the first text delta; through the proxy the API key is
// injected (the client sends a stub). One client, one request at a time,
// its connections reused as the server allows.
func BenchmarkMessagesFirstToken(b *testing.B) {
	for _, peer := range peers[:2] {
		b.Run(peer.name, func(b *testing.B) {
			up := newBenchUpstream(b, time.Second)
			t := peer.target(b, up)
			key := benchKey
			if t.pid != 0 {
				key = "sk-ant-api03-stub"
			}
			client := t.client()
			body := `{"model":"claude-x","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
			times := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				req, _ := http.NewRequest("POST", t.url+"/v1/messages", strings.NewReader(body))
				req.Header.Set("x-api-key", key)
				req.Header.Set("content-type", "application/json")
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				r := bufio.NewReader(res.Body)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						b.Fatalf("%s: no text delta: %v", res.Status, err)
					}
					if strings.Contains(line, "text_delta") {
						break
					}
				}
				times = append(times, time.Since(start))
				io.Copy(io.Discard, r)
				res.Body.Close()
			}
			b.ReportMetric(median(times).Seconds()*1e6, "p50-µs")
		})
	}
}

// BenchmarkTunnelThroughput: 16 MiB HTTPS downloads, directly and through
// a CONNECT tunnel that the proxy does not intercept.
func BenchmarkTunnelThroughput(b *testing.B) {
	for _, mode := range []string{"direct", "runjail", "mitmdump"} {
		b.Run(mode, func(b *testing.B) {
			up := newBenchUpstream(b, time.Second)
			t := direct(b, up)
			switch mode {
			case "runjail":
				t = viaRunjail(b, up, false)
			case "mitmdump":
				t = mitmdump(b, up, true)
				t.tr.TLSClientConfig = direct(b, up).tr.TLSClientConfig // end to end: the server's own certificate
			}
			client := t.client()
			b.SetBytes(bulkSize)
			b.ResetTimer()
			for range b.N {
				res, err := client.Get(t.url + "/bulk")
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if n != bulkSize {
					b.Fatalf("got %d bytes, want %d", n, bulkSize)
				}
			}
		})
	}
}

// BenchmarkSSEStreams holds 1000 intercepted event streams open through
// one proxy, an event a second each, and reports the proxy's peak RSS.
// Every stream must keep delivering.
func BenchmarkSSEStreams(b *testing.B) {
	const streams = 1000
	up := newBenchUpstream(b, time.Second)
	t := viaRunjail(b, up, true)
	t.tr.MaxIdleConnsPerHost = 0
	client := t.client()
	for range b.N {
		var wg sync.WaitGroup
		errs := make(chan error, streams)
		stop := make(chan struct{})
		ready := make(chan struct{}, streams)
		for range streams {
			wg.Go(func() {
				res, err := client.Get(t.url + "/sse")
				if err != nil {
					errs <- err
					ready <- struct{}{}
					return
				}
				defer res.Body.Close()
				r := bufio.NewReader(res.Body)
				for events := 0; ; {
					line, err := r.ReadString('\n')
					if err != nil {
						errs <- fmt.Errorf("after %d events: %v", events, err)
						if events == 0 {
							ready <- struct{}{}
						}
						return
					}
					if strings.HasPrefix(line, "data: ") {
						if events++; events == 1 {
							ready <- struct{}{}
						}
					}
					select {
					case <-stop:
						if events < 3 {
							errs <- fmt.Errorf("only %d events", events)
						}
						return
					default:
					}
				}
			})
		}
		for range streams {
			<-ready
		}
		time.Sleep(3500 * time.Millisecond) // three more events each
		rss := procStatus(b, t.pid, "VmRSS")
		close(stop)
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Error(err)
		}
		b.ReportMetric(rss/1024, "proxy-RSS-MB")
		b.ReportMetric(procStatus(b, t.pid, "VmHWM")/1024, "proxy-peak-RSS-MB")
	}
}

// procStatus reads a kB field of /proc/PID/status.
func procStatus(b *testing.B, pid int, field string) float64 {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range bytes.Lines(st) {
		if v, ok := bytes.CutPrefix(line, []byte(field+":")); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(string(v)), " kB"), 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

func get(b *testing.B, client *http.Client, u string) {
	if err := tryGet(client, u); err != nil {
		b.Fatal(err)
	}
}

func tryGet(client *http.Client, u string) error {
	res, err := client.Get(u)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || string(body) != "ok" {
		return fmt.Errorf("GET %s: %s %q %v (%s)", u, res.Status, body, err, res.Header.Get("Warning"))
	}
	return nil
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[len(d)/2]
}
