package cli

import (
	"bufio"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runjail/runjail/internal/fakeanthropic"
)

// runproxyCmd runs this test binary as runproxy, with a fresh home.
func runproxyCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := runjailCmd(t, args...)
	link := filepath.Join(filepath.Dir(cmd.Path), "runproxy")
	if err := os.Symlink(cmd.Path, link); err != nil {
		t.Fatal(err)
	}
	cmd.Path, cmd.Args[0] = link, link
	return cmd
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// runproxy serves the same policy on a host port, for containers; its CA
// can be exported for them to trust.
func TestRunproxy(t *testing.T) {
	needCurl(t)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello-runproxy")
	}))
	defer srv.Close()
	hp := hostPort(t, srv)
	listen := freePort(t)

	cmd := runproxyCmd(t, "-p", "./p.toml", "--listen", listen, "--allow", hp)
	os.WriteFile(filepath.Join(cmd.Dir, "p.toml"), []byte("version = 1\n[network]\nallow_private = [\"127.0.0.1\"]\n"), 0o644)
	trustProfile(t, cmd, "./p.toml")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stderr).ReadString('\n')
	if err != nil || !strings.Contains(line, "runproxy: listening on "+listen) {
		t.Fatalf("runproxy did not start: %q %v", line, err)
	}
	out, err := exec.Command("curl", "-sSk", "-x", "http://"+listen, "https://"+hp+"/").CombinedOutput()
	if err != nil || string(out) != "hello-runproxy" {
		t.Errorf("allowed through runproxy: %v %q", err, out)
	}
	out, _ = exec.Command("curl", "-sS", "-x", "http://"+listen, "http://denied.example/").CombinedOutput()
	if !strings.Contains(string(out), "denied.example:80 refused") {
		t.Errorf("refused through runproxy: %q", out)
	}
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Errorf("runproxy did not exit cleanly on ^C: %v", err)
	}

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	exp := runproxyCmd(t, "--export-ca", caFile)
	if out, err := exp.CombinedOutput(); err != nil {
		t.Fatalf("--export-ca: %v %s", err, out)
	}
	b, _ := os.ReadFile(caFile)
	if block, _ := pem.Decode(b); block == nil || block.Type != "CERTIFICATE" {
		t.Errorf("--export-ca wrote %q", b)
	}
}

// runproxy puts a profile's credentials on the wire for a client that holds
// a stub, as runjail does for a jail.
func TestRunproxyCredential(t *testing.T) {
	needCurl(t)
	const key = "sk-ant-api03-REAL-for-the-container"
	fake := &fakeanthropic.Server{APIKey: key}
	srv, upstreamCA := fakeAPI(t, fake)
	listen := freePort(t)
	cmd := runproxyCmd(t, "-p", "./p.toml", "--listen", listen, "--upstream", "api.anthropic.com="+srv.URL, "--upstream-ca", upstreamCA)
	os.WriteFile(filepath.Join(cmd.Dir, "p.toml"), []byte("version = 1\n[network]\nallow = [\"api.anthropic.com\"]\n[[credential]]\ntype = \"anthropic\"\nhosts = [\"api.anthropic.com\"]\nfrom = \"env:RJ_KEY\"\n"), 0o644)
	cmd.Env = append(cmd.Env, "RJ_KEY="+key)
	trustProfile(t, cmd, "./p.toml")
	// The container trusts the proxy's CA, exported from the same data dir.
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	exp := runproxyCmd(t, "--export-ca", caFile)
	exp.Env = cmd.Env
	if out, err := exp.CombinedOutput(); err != nil {
		t.Fatalf("--export-ca: %v %s", err, out)
	}
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if line, err := bufio.NewReader(stderr).ReadString('\n'); err != nil || !strings.Contains(line, "listening on") {
		t.Fatalf("runproxy did not start: %q %v", line, err)
	}
	out, err := exec.Command("curl", "-sS", "--cacert", caFile, "-x", "http://"+listen, "-H", "x-api-key: stub",
		"-d", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, "https://api.anthropic.com/v1/messages").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Hello from the fake API") || len(fake.Failures()) > 0 {
		t.Errorf("through runproxy: %v %s; refused: %v", err, out, fake.Failures())
	}
}
