package proxy

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/runjail/runjail/proxy/policy"
)

// ApprovalPage lets the user approve, live, hosts the policy refused. It
// listens on the host's loopback, which no jail can reach, and answers only
// requests that carry its secret token, name it by its own address (no DNS
// rebinding) and, for approvals, come from its own origin (no cross-site
// POST).
type ApprovalPage struct {
	pol     *policy.Policy
	sandbox string
	save    func(host string, port int) error
	token   string
	addr    string // 127.0.0.1:PORT it listens on
	srv     *http.Server
}

// NewApprovalPage returns a page for pol listening on l. With save, it
// also offers to approve a host always: save keeps it for later sessions.
func NewApprovalPage(pol *policy.Policy, sandbox string, l net.Listener, save func(host string, port int) error) (*ApprovalPage, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	a := &ApprovalPage{pol: pol, sandbox: sandbox, save: save, token: hex.EncodeToString(b), addr: l.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.list)
	mux.HandleFunc("POST /approve", a.approve)
	a.srv = &http.Server{Handler: a.guard(mux), ReadHeaderTimeout: 10 * time.Second}
	go a.srv.Serve(l)
	return a, nil
}

// URL is the page's address with its token; runjail prints it at start.
func (a *ApprovalPage) URL() string { return "http://" + a.addr + "/?token=" + a.token }

// Addr is where the page listens; the proxy never dials it.
func (a *ApprovalPage) Addr() string { return a.addr }

// Close stops the page.
func (a *ApprovalPage) Close() error { return a.srv.Close() }

// guard refuses requests without the token, for another Host, or (for
// POSTs) from another origin, and sets headers that keep the page from
// being framed, scripted or leaking its URL.
func (a *ApprovalPage) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		switch {
		case r.Host != a.addr:
			http.Error(w, "wrong host", http.StatusMisdirectedRequest)
		case subtle.ConstantTimeCompare([]byte(r.FormValue("token")), []byte(a.token)) != 1:
			http.Error(w, "this page needs the link runjail printed", http.StatusForbidden)
		case r.Method == http.MethodPost && r.Header.Get("Origin") != "http://"+a.addr:
			http.Error(w, "cross-site request refused", http.StatusForbidden)
		case r.Method == http.MethodPost && r.Header.Get("Sec-Fetch-Site") != "" && r.Header.Get("Sec-Fetch-Site") != "same-origin":
			http.Error(w, "cross-site request refused", http.StatusForbidden)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// pageTemplate is parsed when the page is first asked for, not at every
// start of runjail (0.1 ms).
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>runjail: {{.Sandbox}}</title>
<style>body{font:15px system-ui,sans-serif;margin:2em}td,th{padding:.3em 1em;text-align:left}</style></head>
<body><h1>Hosts refused in sandbox {{.Sandbox}}</h1>
{{if .Denied}}<table><tr><th>host</th><th>port</th><th>refused</th><th>last</th><th></th></tr>
{{range .Denied}}<tr><td>{{.Host}}</td><td>{{.Port}}</td><td>{{.Count}}</td><td>{{.Last.Format "15:04:05"}}</td>
<td><form method="post" action="/approve?token={{$.Token}}"><input type="hidden" name="host" value="{{.Host}}">
<input type="hidden" name="port" value="{{.Port}}"><button type="submit">Approve for this session</button>
{{if $.CanSave}}<button type="submit" name="always" value="1">Approve always</button>{{end}}</form></td></tr>
{{end}}</table>{{else}}<p id="none">Nothing refused yet.</p>{{end}}
</body></html>
`))
})

func (a *ApprovalPage) list(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	pageTemplate().Execute(w, struct {
		Sandbox, Token string
		CanSave        bool
		Denied         []policy.DeniedHost
	}{a.sandbox, a.token, a.save != nil, a.pol.Denied()})
}

// isHostName reports whether s is a host name or an IPv4 address: letters,
// digits, dots and hyphens, starting and ending with a letter or digit.
func isHostName(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for i, c := range []byte(s) {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && ((c != '.' && c != '-') || i == 0 || i == len(s)-1) {
			return false
		}
	}
	return true
}

func (a *ApprovalPage) approve(w http.ResponseWriter, r *http.Request) {
	host := r.PostFormValue("host")
	port, err := strconv.Atoi(r.PostFormValue("port"))
	if host == "" || err != nil || port < 1 || port > 65535 {
		http.Error(w, "host and port are needed", http.StatusBadRequest)
		return
	}
	if r.PostFormValue("always") != "" {
		// A line of the file that keeps it: a host name, nothing else.
		if a.save == nil || !isHostName(host) {
			http.Error(w, "only a host name can be approved always", http.StatusBadRequest)
			return
		}
		if err := a.save(host, port); err != nil {
			http.Error(w, "cannot keep the approval: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	a.pol.Approve(host, port, "approval page")
	http.Redirect(w, r, "/?token="+url.QueryEscape(a.token), http.StatusSeeOther)
}
