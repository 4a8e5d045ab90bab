package proxy

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestApprovalPage(t *testing.T) {
	pol := newPolicy(t, nil, nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	page, err := NewApprovalPage(pol, "box", l, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer page.Close()
	if pol.Host("blocked.example", 443).Allow {
		t.Fatal("policy allows blocked.example")
	}
	base := "http://" + page.Addr()
	u, _ := url.Parse(page.URL())
	token := u.Query().Get("token")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path string, header http.Header, form url.Values) (int, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, base+path, body)
		for k, v := range header {
			req.Header[k] = v
		}
		if host := header.Get("Host"); host != "" {
			req.Host = host
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(b)
	}

	if code, _ := do("GET", "/", nil, nil); code != 403 {
		t.Errorf("without the token: %d, want 403", code)
	}
	if code, _ := do("GET", "/?token=wrong", nil, nil); code != 403 {
		t.Errorf("with a wrong token: %d, want 403", code)
	}
	code, body := do("GET", "/?token="+token, nil, nil)
	if code != 200 || !strings.Contains(body, "blocked.example") || !strings.Contains(body, "Approve for this session") {
		t.Errorf("the page: %d %s", code, body)
	}
	// DNS rebinding: the right token, but the browser thinks it is on evil.com.
	if code, _ := do("GET", "/?token="+token, http.Header{"Host": {"evil.com:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)}}, nil); code != 421 {
		t.Errorf("another Host: %d, want 421", code)
	}

	form := url.Values{"host": {"blocked.example"}, "port": {"443"}}
	for name, h := range map[string]http.Header{
		"no Origin":            {},
		"another Origin":       {"Origin": {"https://evil.com"}},
		"cross-site fetch":     {"Origin": {base}, "Sec-Fetch-Site": {"cross-site"}},
		"same-site not origin": {"Origin": {base}, "Sec-Fetch-Site": {"same-site"}},
	} {
		if code, _ := do("POST", "/approve?token="+token, h, form); code != 403 {
			t.Errorf("%s: %d, want 403", name, code)
		}
	}
	if code, _ := do("POST", "/approve?token=wrong", http.Header{"Origin": {base}}, form); code != 403 {
		t.Errorf("approve with a wrong token: %d, want 403", code)
	}
	if pol.Host("blocked.example", 443).Allow {
		t.Fatal("a refused request approved the host")
	}

	code, _ = do("POST", "/approve?token="+token, http.Header{"Origin": {base}, "Sec-Fetch-Site": {"same-origin"}}, form)
	if code != http.StatusSeeOther {
		t.Fatalf("approve: %d", code)
	}
	if !pol.Host("blocked.example", 443).Allow {
		t.Errorf("approval did not take effect at once")
	}
}

// The proxy never dials the approval page, even when its address is allowed.
func TestNeverDialApprovalPage(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	p := mustNew(t, newPolicy(t, []string{"127.0.0.1:" + port}, []string{"127.0.0.1"}), Options{NeverDial: map[string]bool{l.Addr().String(): true}})
	if c, err := p.dial("tcp", l.Addr().String()); err == nil {
		c.Close()
		t.Fatal("the proxy dialled the approval page")
	}
}

// "Approve always" keeps the approval through the save function, for host
// names only (each becomes a line of a file); a page without one does not
// offer it.
func TestApprovalPageAlways(t *testing.T) {
	pol := newPolicy(t, nil, nil)
	pol.Host("blocked.example", 8443) // refused, so listed
	var saved []string
	save := func(host string, port int) error { saved = append(saved, host+":"+strconv.Itoa(port)); return nil }
	for _, withSave := range []bool{false, true} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var s func(string, int) error
		if withSave {
			s = save
		}
		page, err := NewApprovalPage(pol, "box", l, s)
		if err != nil {
			t.Fatal(err)
		}
		defer page.Close()
		base := "http://" + page.Addr()
		res, err := http.Get(page.URL())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if got := strings.Contains(string(body), "Approve always"); got != withSave {
			t.Errorf("save %v: page offers Approve always: %v", withSave, got)
		}
		post := func(host string) int {
			form := url.Values{"host": {host}, "port": {"8443"}, "always": {"1"}}
			req, _ := http.NewRequest("POST", base+"/approve?"+strings.SplitN(page.URL(), "?", 2)[1], strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", base)
			res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		for _, bad := range []string{"a.example\nevil.example", "*.example", "-a.example", "[::1]"} {
			if code := post(bad); code != http.StatusBadRequest {
				t.Errorf("always %q: %d, want 400", bad, code)
			}
		}
		code := post("blocked.example")
		if !withSave {
			if code != http.StatusBadRequest || pol.Host("blocked.example", 8443).Allow {
				t.Errorf("always without save: %d, allowed %v", code, pol.Host("blocked.example", 8443).Allow)
			}
			continue
		}
		if code != http.StatusSeeOther || !pol.Host("blocked.example", 8443).Allow {
			t.Errorf("always: %d, allowed %v", code, pol.Host("blocked.example", 8443).Allow)
		}
	}
	if len(saved) != 1 || saved[0] != "blocked.example:8443" {
		t.Errorf("saved %q, want [blocked.example:8443]", saved)
	}
}
