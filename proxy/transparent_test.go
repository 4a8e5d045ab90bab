package proxy

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A client that ignores HTTPS_PROXY connects straight to the proxy's TLS
// port: the server name it asks for decides, as a CONNECT would.
func TestServeTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "upstream saw "+r.URL.Path)
	}))
	defer srv.Close()
	p, proxyRoots := interceptingProxy(t, srv, "other.example.com")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go p.ServeTLS(l)
	t.Cleanup(p.Close)
	// Every name "resolves" to the proxy's port, as the jail's DNS does.
	client := func(name string) *http.Client {
		return &http.Client{Transport: &http.Transport{
			Proxy: nil,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, l.Addr().String())
			},
			TLSClientConfig: &tls.Config{RootCAs: proxyRoots, ServerName: name},
		}}
	}
	defer client("").CloseIdleConnections()

	res, err := client("api.example.com").Get("https://api.example.com/v1/messages")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "upstream saw /v1/messages" {
		t.Errorf("intercepted by server name: %s %q", res.Status, body)
	}

	// Refused names and names-less hellos get a closed connection.
	for _, name := range []string{"denied.example.com", ""} {
		c := client(name)
		c.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify = name == ""
		if res, err := c.Get("https://" + l.Addr().String() + "/"); err == nil {
			res.Body.Close()
			t.Errorf("server name %q: got %s, want a refusal", name, res.Status)
		}
	}

	// Domain fronting: the request inside must be for the name.
	res, err = client("api.example.com").Get("https://other.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("Host other than the server name: %s %q", res.Status, body)
	}
}
