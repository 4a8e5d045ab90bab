package proxy

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
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
	p, proxyRoots := interceptingProxy(t, srv)
	client := serve(t, p)
	tr := client.Transport.(*http.Transport)
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
