package cli

import (
	"bufio"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// proxyJail returns a runjail command in proxy mode with a profile allowing
// allow (and private addresses allowPrivate), running sh -c script.
func proxyJail(t *testing.T, allow, allowPrivate []string, script string, flags ...string) *exec.Cmd {
	t.Helper()
	needCurl(t)
	cmd := runjailCmd(t, append(append([]string{"-p", "./p.toml"}, flags...), "--", "sh", "-c", script)...)
	q := func(list []string) string {
		for i, s := range list {
			list[i] = fmt.Sprintf("%q", s)
		}
		return "[" + strings.Join(list, ", ") + "]"
	}
	profile := fmt.Sprintf("version = 1\nextends = \"default\"\n[network]\nmode = \"proxy\"\nallow = %s\nallow_private = %s\n", q(allow), q(allowPrivate))
	if err := os.WriteFile(filepath.Join(cmd.Dir, "p.toml"), []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}
	trustProfile(t, cmd, "./p.toml")
	return cmd
}

func needCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed: apt-get install curl (.ci/run installs it)")
	}
}

func hostPort(t *testing.T, srv *httptest.Server) string {
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// An allowed host is reached through the proxy's CONNECT tunnel (TLS end to
// end); the same address without the allowlist entry, or without
// allow_private for a loopback address, is refused; a direct connection to
// the host's loopback finds nothing.
func TestProxyTunnelAndRefusals(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello-tls")
	}))
	defer srv.Close()
	hp := hostPort(t, srv)

	out, err := proxyJail(t, []string{hp}, []string{"127.0.0.1"}, "curl -sSk https://"+hp+"/").Output()
	if err != nil || string(out) != "hello-tls" {
		t.Fatalf("allowed host through the tunnel: %v %q", err, out)
	}

	out, _ = proxyJail(t, nil, []string{"127.0.0.1"}, "curl -sSk https://"+hp+"/; echo; curl -sS http://denied.example/").CombinedOutput()
	if !strings.Contains(string(out), "CONNECT tunnel failed, response 403") ||
		!strings.Contains(string(out), `runjail: denied.example:80 refused: "denied.example:80" is not in the allowlist`) ||
		!strings.Contains(string(out), "runjail --allow denied.example") {
		t.Errorf("a host not in the allowlist: %s", out)
	}

	// The SSRF guard: allowed by name, but the address is the host's loopback.
	out, _ = proxyJail(t, []string{hp}, nil, "curl -sSk https://"+hp+"/").CombinedOutput()
	if !strings.Contains(string(out), "CONNECT tunnel failed, response 502") || strings.Contains(string(out), "hello-tls") {
		t.Errorf("loopback without allow_private: %s", out)
	}

	out, _ = proxyJail(t, []string{hp}, []string{"127.0.0.1"}, "curl -sSk --noproxy '*' https://"+hp+"/").CombinedOutput()
	if strings.Contains(string(out), "hello-tls") || !strings.Contains(string(out), "Couldn't connect") {
		t.Errorf("a direct connection left the jail: %s", out)
	}
}

// A streamed response reaches the client event by event: the server holds
// the stream open until the test has read the first event from inside the
// jail.
func TestProxyStreams(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		select { // the stream stays open until the test has seen the first event
		case <-release:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "data: second\n\n")
	}))
	defer srv.Close()
	hp := hostPort(t, srv)
	cmd := proxyJail(t, []string{hp}, []string{"127.0.0.1"}, "curl -sSNk https://"+hp+"/")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	r := bufio.NewReader(stdout)
	line, err := firstLine(r)
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event: %q %v", line, err)
	}
	close(release) // only now does the server send the rest
	rest, _ := r.ReadString(0)
	if !strings.Contains(rest, "data: second") {
		t.Errorf("rest of the stream: %q", rest)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("runjail: %v", err)
	}
}

// Every decision is logged, as JSON lines, without secrets.
func TestProxyAuditLog(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello-tls")
	}))
	defer srv.Close()
	hp := hostPort(t, srv)
	logPath := filepath.Join(t.TempDir(), "egress.log")
	out, err := proxyJail(t, []string{hp}, []string{"127.0.0.1"},
		"curl -sSk https://"+hp+"/; curl -sS 'http://denied.example/x?token=SECRET-TOKEN'", "--log", logPath).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "SECRET-TOKEN") {
		t.Errorf("the log holds a query string: %s", b)
	}
	var entries []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		entries = append(entries, e)
	}
	if len(entries) != 2 {
		t.Fatalf("want 2 entries, got %d: %s", len(entries), b)
	}
	tunnel, denied := entries[0], entries[1]
	if tunnel["method"] != "CONNECT" || tunnel["decision"] != "allow" || tunnel["bytes_down"].(float64) <= 0 || tunnel["sandbox"] != "p" {
		t.Errorf("tunnel entry: %v", tunnel)
	}
	if denied["method"] != "GET" || denied["decision"] != "deny" || denied["host"] != "denied.example" ||
		denied["port"].(float64) != 80 || denied["path"] != "/x" || !strings.Contains(denied["reason"].(string), "allowlist") {
		t.Errorf("denied entry: %v", denied)
	}
}

// A host with an --upstream is intercepted: the jail trusts the proxy's CA
// (no -k), its requests go to the upstream, and a request for another host
// inside the tunnel (domain fronting) gets 421.
func TestProxyUpstreamIntercepted(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/info/refs") {
			http.NotFound(w, r) // what git asks first
			return
		}
		fmt.Fprintf(w, "upstream saw %s %s", r.Host, r.URL.Path)
	}))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "upstream-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := proxyJail(t, []string{"api.example.com"}, nil,
		"curl -sS https://api.example.com/v1/messages; echo; curl -sS -H 'Host: other.example' https://api.example.com/",
		"--upstream", "api.example.com="+srv.URL, "--upstream-ca", caFile).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "upstream saw "+hostPort(t, srv)+" /v1/messages") {
		t.Errorf("intercepted request did not reach the upstream: %s", out)
	}
	if !strings.Contains(string(out), `runjail: the request is for "other.example" inside a tunnel to "api.example.com"`) {
		t.Errorf("domain fronting was not refused: %s", out)
	}

	// Other ordinary clients: Python's urllib and git (which gets this
	// upstream's 404 for a repository: TLS through the proxy worked).
	out, _ = proxyJail(t, []string{"api.example.com"}, nil,
		`/usr/bin/python3 -c 'import urllib.request; print(urllib.request.urlopen("https://api.example.com/py").read().decode())'; git ls-remote https://api.example.com/repo.git 2>&1`,
		"--upstream", "api.example.com="+srv.URL, "--upstream-ca", caFile).CombinedOutput()
	if !strings.Contains(string(out), "upstream saw "+hostPort(t, srv)+" /py") {
		t.Errorf("python through the proxy: %s", out)
	}
	if !strings.Contains(string(out), "repository 'https://api.example.com/repo.git/' not found") {
		t.Errorf("git through the proxy: %s", out)
	}
}

// Through interception too, a streamed response reaches the client event by
// event (martian alone would hold it until the end).
func TestProxyInterceptedStreams(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		select { // the stream stays open until the test has seen the first event
		case <-release:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "data: second\n\n")
	}))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "upstream-ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	cmd := proxyJail(t, []string{"api.example.com"}, nil, "curl -sSN https://api.example.com/v1/messages",
		"--upstream", "api.example.com="+srv.URL, "--upstream-ca", caFile)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	r := bufio.NewReader(stdout)
	line, err := firstLine(r)
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event: %q %v", line, err)
	}
	close(release)
	rest, _ := r.ReadString(0)
	if !strings.Contains(rest, "data: second") {
		t.Errorf("rest of the stream: %q", rest)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("runjail: %v", err)
	}
}

// firstLine reads a line, giving up when it does not come while the stream
// is held open.
func firstLine(r *bufio.Reader) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := r.ReadString('\n')
		ch <- result{line, err}
	}()
	select {
	case res := <-ch:
		return res.line, res.err
	case <-time.After(10 * time.Second):
		return "", fmt.Errorf("the first event did not arrive while the stream was open (buffered by the proxy?)")
	}
}

// A host refused in a running jail is approved on the approval page (the
// link runjail prints) and works at once, in the same session; approved
// always, it is allowed in the next session too.
func TestProxyApproveLive(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello-approved")
	}))
	defer srv.Close()
	hp := hostPort(t, srv)
	host, port, _ := strings.Cut(hp, ":")
	cmd := proxyJail(t, nil, []string{"127.0.0.1"},
		"curl -sSk https://"+hp+"/ 2>&1; echo; while [ ! -e approved ]; do sleep 0.05; done; curl -sSk https://"+hp+"/")
	stderr, _ := cmd.StderrPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, _ := bufio.NewReader(stderr).ReadString('\n')
	pageURL, ok := strings.CutPrefix(strings.TrimSpace(line), "runjail: approve refused hosts at ")
	if !ok {
		t.Fatalf("runjail did not print the approval page: %q", line)
	}
	out := bufio.NewReader(stdout)
	first, _ := out.ReadString('\n')
	if !strings.Contains(first, "response 403") {
		t.Fatalf("before approval: %q", first)
	}
	u, _ := url.Parse(pageURL)
	form := url.Values{"host": {host}, "port": {port}, "always": {"1"}}
	req, _ := http.NewRequest("POST", "http://"+u.Host+"/approve?"+u.RawQuery, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://"+u.Host)
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %v %v", err, res)
	}
	os.WriteFile(filepath.Join(cmd.Dir, "approved"), nil, 0o644)
	rest, _ := out.ReadString(0)
	if strings.TrimSpace(rest) != "hello-approved" {
		t.Errorf("after approval: %q", rest)
	}
	cmd.Wait()

	explain := runjailCmd(t, "-p", "./p.toml", "--explain", "--", "true")
	explain.Dir, explain.Env = cmd.Dir, cmd.Env
	plan, err := explain.CombinedOutput()
	if err != nil || !regexp.MustCompile(`(?m)^\s*allow\s+`+regexp.QuoteMeta(hp)+`\s+.*approved/p\.txt:1:1 \(approved always\)`).Match(plan) {
		t.Errorf("the next session's plan does not allow %s (%v):\n%s", hp, err, plan)
	}
}

// Node's https and fetch ignore HTTPS_PROXY (before Node 24): the jail's
// DNS sends them to its loopback, where the proxy serves port 443 by the
// server name the client asks for, under the same policy.
func TestProxyClientsWithoutProxySupport(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is needed: the CI machine has Node.js; apt-get install nodejs")
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream saw %s", r.URL.Path)
	}))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "upstream-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
setTimeout(() => { console.log("timed out"); process.exit(3); }, 20000).unref();
const https = require("https");
const get = (u) => new Promise((ok) => https.get(u, { agent: false }, (res) => {
  let b = ""; res.on("data", (d) => b += d); res.on("end", () => ok(res.statusCode + " " + b));
}).on("error", (e) => ok("error " + e.code)));
(async () => {
  console.log("https.get:", await get("https://api.example.com/node-https"));
  const r = await fetch("https://api.example.com/node-fetch").then((r) => r.text(), (e) => "error " + (e.cause ? e.cause.code : e));
  console.log("fetch:", r);
  console.log("denied:", await get("https://denied.example.com/"));
})();`
	out, err := proxyJail(t, []string{"api.example.com"}, nil, "env -u HTTPS_PROXY -u https_proxy -u HTTP_PROXY -u http_proxy node -e '"+script+"'",
		"--upstream", "api.example.com="+srv.URL, "--upstream-ca", caFile).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, want := range []string{"https.get: 200 upstream saw /node-https", "fetch: upstream saw /node-fetch", "denied: error ENOTFOUND"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
}
