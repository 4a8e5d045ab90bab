package proxy

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// chromium runs Debian's Chromium headless on pageURL and returns the DOM
// after its scripts ran.
func chromium(t *testing.T, pageURL string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is needed for the browser tests: apt-get install chromium (.ci/run installs it)")
	}
	args := []string{"--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=5000", "--dump-dom", pageURL}
	if os.Getuid() == 0 {
		args = append([]string{"--no-sandbox"}, args...)
	}
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return string(out)
}

// In a real browser: the page shows the refused hosts with their approve
// buttons, and a cross-site page that knows the token and posts the approve
// form on load is refused (the browser's Origin gives it away).
func TestApprovalPageInChromium(t *testing.T) {
	pol := newPolicy(t, nil, nil)
	pol.Host("blocked.example", 443) // refused, so listed
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	page, err := NewApprovalPage(pol, "box", l, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer page.Close()

	dom := chromium(t, page.URL())
	if !strings.Contains(dom, "blocked.example") || !strings.Contains(dom, "Approve for this session") {
		t.Fatalf("the page in Chromium:\n%s", dom)
	}

	u, _ := url.Parse(page.URL())
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><body><form method="post" action="http://%s/approve?%s">
<input name="host" value="blocked.example"><input name="port" value="443"></form>
<script>document.forms[0].submit()</script></body>`, u.Host, u.RawQuery)
	}))
	defer evil.Close()
	// localhost, not 127.0.0.1: another origin, as any web site would be.
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	dom = chromium(t, evilURL)
	if !strings.Contains(dom, "cross-site request refused") {
		t.Errorf("the cross-site post was not refused by the page:\n%s", dom)
	}
	if pol.Host("blocked.example", 443).Allow {
		t.Fatal("a cross-site page approved a host")
	}
}
