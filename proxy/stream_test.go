package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"strings"
	"testing"
)

// A streamed response is written by the proxy itself, and the client keeps
// its intercepted connection: the requests after it, streamed or not, are
// served on the same connection.
func TestStreamKeepsConnection(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sse" {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: one\n\n")
			w.(http.Flusher).Flush()
			io.WriteString(w, "data: two\n\n")
			return
		}
		io.WriteString(w, "plain "+r.URL.Path)
	}))
	defer srv.Close()
	ca, err := LoadCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	p := mustNew(t, newPolicy(t, []string{"api.example.com"}, []string{"127.0.0.1"}), Options{CA: ca, RootCAs: roots,
		Upstreams: map[string]*url.URL{"api.example.com": {Scheme: "https", Host: strings.TrimPrefix(srv.URL, "https://")}}})
	client := serve(t, p)
	tr := client.Transport.(*http.Transport)
	proxyRoots := x509.NewCertPool()
	proxyRoots.AddCert(ca.Cert)
	tr.TLSClientConfig = &tls.Config{RootCAs: proxyRoots}
	defer tr.CloseIdleConnections()
	for i, path := range []string{"/sse", "/sse", "/after", "/sse"} {
		reused := false
		req, _ := http.NewRequest("GET", "https://api.example.com"+path, nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}))
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		want := "data: one\n\ndata: two\n\n"
		if path == "/after" {
			want = "plain /after"
		}
		if err != nil || string(body) != want {
			t.Errorf("request %d %s: %q %v", i, path, body, err)
		}
		if i > 0 && !reused {
			t.Errorf("request %d %s: a new connection", i, path)
		}
	}
}
