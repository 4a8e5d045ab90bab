// Package proxy is runjail's egress proxy: every request a jail makes leaves
// through it, and the policy allows or refuses each one. It is built on
// github.com/google/martian/v3; the decisions themselves are in
// proxy/policy.
package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/martian/v3"
	mlog "github.com/google/martian/v3/log"
	"github.com/google/martian/v3/mitm"

	"github.com/runjail/runjail/proxy/credential"
	"github.com/runjail/runjail/proxy/policy"
)

func init() {
	// martian logs every refused or failed request at error level to the
	// terminal the jail shares; runjail reports them itself.
	mlog.SetLevel(mlog.Silent)
}

// Proxy serves the jail's HTTP proxy port.
type Proxy struct {
	pol       *policy.Policy
	opt       Options
	m         *martian.Proxy
	resolver  *net.Resolver
	dialer    net.Dialer
	upstreams map[string]bool // host:port of every Upstreams URL
	rt        http.RoundTripper
	mitmReady chan struct{} // closed once martian can intercept (or mitmErr)
	mitmErr   error
}

// maxRetryBody is the largest request body kept to send again after a
// refreshed credential; a larger one gets the 401.
const maxRetryBody = 32 << 20

// credKey holds, in a request's martian context, the Refresher that
// signed it (a signed).
const credKey = "runjail.credential"

type signed struct {
	cred credential.Refresher
	host string // the host the jail asked for
}

// Options are what a proxy needs besides its policy.
type Options struct {
	Audit *Audit // where decisions are recorded; nil records nothing
	// CA signs the certificates shown for intercepted hosts; without it no
	// host is intercepted.
	CA *CA
	// Upstreams sends an intercepted host's requests to another URL (tests,
	// gateways): host (lowercase, no port) to scheme://host[:port].
	Upstreams map[string]*url.URL
	// RootCAs verify upstream servers; nil means the system's.
	RootCAs *x509.CertPool
	// NeverDial are host:port addresses the proxy never connects to, even
	// when allowed (the approval page).
	NeverDial map[string]bool
	// Credentials are put on the requests to their hosts, which are
	// intercepted for it (with CA); never on plain HTTP.
	Credentials []credential.Binding
}

// New returns a proxy enforcing pol.
func New(pol *policy.Policy, opt Options) (*Proxy, error) {
	p := &Proxy{pol: pol, opt: opt, resolver: net.DefaultResolver,
		dialer: net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}, upstreams: map[string]bool{}}
	for _, u := range opt.Upstreams {
		p.upstreams[hostPortOf(u)] = true
	}
	m := martian.NewProxy()
	// Every connection leaves through dial, which asks the policy again: a
	// refusal holds even if the request modifier's is somehow skipped
	// (martian goes on after a modifier's error).
	m.SetDial(p.dial)
	p.rt = &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: opt.RootCAs},
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}
	m.SetRoundTripper(p.rt)
	if opt.CA != nil && (len(opt.Upstreams) > 0 || len(opt.Credentials) > 0) {
		// Only CONNECTs that check leaves to martian get here: the hosts it
		// intercepts. martian makes an RSA key for its leaf certificates
		// (30-100 ms): in the background, while the jail starts; check
		// waits for it before the first interception.
		p.mitmReady = make(chan struct{})
		go func() {
			defer close(p.mitmReady)
			mc, err := mitm.NewConfig(opt.CA.Cert, opt.CA.Key)
			if err != nil {
				p.mitmErr = err
				return
			}
			mc.SetValidity(24 * time.Hour)
			mc.SetOrganization("runjail")
			m.SetMITM(mc)
		}()
	}
	m.SetRequestModifier(martian.RequestModifierFunc(p.check))
	m.SetResponseModifier(martian.ResponseModifierFunc(p.respond))
	p.m = m
	return p, nil
}

// respond is the response modifier: a credential refused with 401 is
// refreshed and the request sent once more, and streams are passed on as
// they come.
func (p *Proxy) respond(res *http.Response) error {
	if res.Request == nil {
		return nil
	}
	if res.StatusCode == http.StatusUnauthorized {
		p.retryRefreshed(res)
	}
	if !isStream(res) {
		return nil
	}
	_, brw, err := takeOver(martian.NewContext(res.Request).Session())
	if err != nil {
		return err
	}
	defer res.Body.Close()
	writeStream(brw, res)
	return nil
}

// A session is taken over (hijacked from martian) to write a stream as it
// comes, and stays ours: martian goes on reading the connection's requests
// and passing them to check, which serves them itself (serveTakenOver), so
// the client keeps its connection (and its TLS session) after a stream.
const takenOverKey = "runjail.taken-over"

type takenOver struct {
	conn net.Conn
	brw  *bufio.ReadWriter
}

// takeOver hijacks sess from martian, or returns what an earlier takeOver
// hijacked.
func takeOver(sess *martian.Session) (net.Conn, *bufio.ReadWriter, error) {
	if v, ok := sess.Get(takenOverKey); ok {
		t := v.(takenOver)
		return t.conn, t.brw, nil
	}
	conn, brw, err := sess.Hijack()
	if err != nil {
		return nil, nil, err
	}
	sess.Set(takenOverKey, takenOver{conn, brw})
	return conn, brw, nil
}

func isTakenOver(sess *martian.Session) bool {
	_, ok := sess.Get(takenOverKey)
	return ok
}

// serveTakenOver does for req what martian would if the session were still
// its own: the round trip, the 401 retry, the response written back.
func (p *Proxy) serveTakenOver(sess *martian.Session, req *http.Request) {
	conn, brw, _ := takeOver(sess)
	res, err := p.rt.RoundTrip(req)
	if err != nil {
		writeRefusal(brw, req, http.StatusBadGateway, fmt.Sprintf("runjail: %v\n", err))
		conn.Close()
		return
	}
	res.Request = req
	if res.StatusCode == http.StatusUnauthorized {
		p.retryRefreshed(res)
	}
	defer res.Body.Close()
	if isStream(res) {
		writeStream(brw, res)
	} else if err := res.Write(brw); err == nil {
		brw.Flush()
	}
	if req.Close || res.Close {
		conn.Close()
	}
}

// retryRefreshed replaces a 401 response with the response to the same
// request sent with a refreshed credential, when it can.
func (p *Proxy) retryRefreshed(res *http.Response) {
	req := res.Request
	v, ok := martian.NewContext(req).Get(credKey)
	if !ok || req.GetBody == nil {
		return
	}
	r, host := v.(signed).cred, v.(signed).host
	if err := r.Refresh(req); err != nil {
		// The server's 401 would not say what to do: this one does.
		res.Body.Close()
		*res = *authError(req, "runjail: "+err.Error())
		return
	}
	body, err := req.GetBody()
	if err != nil {
		return
	}
	retry := req.Clone(req.Context())
	retry.Body = body
	if err := r.Apply(retry, host); err != nil {
		return
	}
	again, err := p.rt.RoundTrip(retry)
	if err != nil {
		return
	}
	res.Body.Close()
	*res = *again
	res.Request = req
}

// authError is the 401 the client gets when runjail cannot put its
// credential on req: an authentication_error in the shape Anthropic's
// clients show, with the message saying what to do, and X-Should-Retry:
// false (retrying cannot help).
func authError(req *http.Request, msg string) *http.Response {
	body := fmt.Sprintf(`{"type":"error","error":{"type":"authentication_error","message":%q}}`, msg)
	return &http.Response{
		StatusCode: http.StatusUnauthorized, Status: "401 Unauthorized", ProtoMajor: 1, ProtoMinor: 1, Request: req,
		Header: http.Header{"Content-Type": {"application/json"}, "X-Should-Retry": {"false"},
			"Content-Length": {strconv.Itoa(len(body))}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
	}
}

// writeStream writes a streamed response (server-sent events, AWS event
// streams, or any body of unknown length) to brw, flushing each piece as it
// arrives: martian buffers a response (4 KiB) and flushes only at its end,
// which would hold back every event.
func writeStream(brw *bufio.ReadWriter, res *http.Response) {
	res.Header.Del("Content-Length")
	res.Header.Set("Transfer-Encoding", "chunked")
	fmt.Fprintf(brw, "HTTP/1.1 %03d %s\r\n", res.StatusCode, http.StatusText(res.StatusCode))
	res.Header.Write(brw)
	brw.WriteString("\r\n")
	if err := brw.Flush(); err != nil {
		return
	}
	cw := httputil.NewChunkedWriter(brw)
	buf := make([]byte, 8<<10) // events are small; a thousand streams stay cheap
	for {
		n, rerr := res.Body.Read(buf)
		if n > 0 {
			if _, err := cw.Write(buf[:n]); err != nil {
				return
			}
			if err := brw.Flush(); err != nil {
				return
			}
		}
		if rerr != nil {
			break
		}
	}
	cw.Close()
	brw.WriteString("\r\n")
	brw.Flush()
}

// isStream reports whether res is delivered piece by piece.
func isStream(res *http.Response) bool {
	ct := strings.ToLower(res.Header.Get("Content-Type"))
	return strings.HasPrefix(ct, "text/event-stream") ||
		strings.HasPrefix(ct, "application/vnd.amazon.eventstream") ||
		(res.ContentLength < 0 && res.Request.Method != http.MethodHead && res.StatusCode != http.StatusNoContent && res.StatusCode != http.StatusNotModified)
}

// intercepts reports whether CONNECTs to host:port are intercepted: an
// --upstream host, or one a credential is for.
func (p *Proxy) intercepts(host string, port int) bool {
	_, ok := p.opt.Upstreams[strings.ToLower(host)]
	return p.opt.CA != nil && (ok || credential.For(p.opt.Credentials, host, port) != nil)
}

func hostPortOf(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "http" {
		return net.JoinHostPort(u.Hostname(), "80")
	}
	return net.JoinHostPort(u.Hostname(), "443")
}

// Serve accepts the jail's connections on l until Close.
func (p *Proxy) Serve(l net.Listener) error {
	return p.m.Serve(noDeadlineListener{l})
}

// Close stops the proxy.
func (p *Proxy) Close() { p.m.Close() }

// check refuses a request the policy does not allow, answering it itself:
// 403 with what to do, then the connection is closed. An allowed CONNECT is
// tunnelled here too: martian's own tunnel buffers what the client sends
// (4 KiB) until the end, which stalls a TLS handshake.
func (p *Proxy) check(req *http.Request) error {
	start := time.Now()
	host, port := target(req)
	d := p.pol.Host(host, port)
	ctx := martian.NewContext(req)
	const targetKey = "runjail.connect-target"
	if t, ok := ctx.Session().Get(targetKey); ok && req.Method != http.MethodConnect && !strings.EqualFold(t.(string), host) {
		// Domain fronting: a request for another host inside the tunnel
		// to this one.
		return p.refuse(ctx, req, http.StatusMisdirectedRequest, Entry{Time: start, Method: req.Method, Host: host, Port: port, Path: req.URL.Path, Decision: "deny",
			Reason: fmt.Sprintf("the request is for %q inside a tunnel to %q", host, t)})
	}
	switch {
	case d.Allow && req.Method == http.MethodConnect && p.intercepts(host, port) && isTakenOver(ctx.Session()):
		// martian cannot intercept on a connection it no longer holds.
		return p.refuse(ctx, req, http.StatusBadGateway, Entry{Time: start, Method: req.Method, Host: host, Port: port, Decision: "error",
			Reason: "a CONNECT after a streamed response on the same connection; open a new connection"})
	case d.Allow && req.Method == http.MethodConnect && p.intercepts(host, port):
		// martian terminates TLS with our CA; the requests inside come
		// back here.
		if <-p.mitmReady; p.mitmErr != nil {
			return p.refuse(ctx, req, http.StatusBadGateway, Entry{Time: start, Method: req.Method, Host: host, Port: port, Decision: "error",
				Reason: "cannot intercept: " + p.mitmErr.Error()})
		}
		ctx.Session().Set(targetKey, strings.ToLower(host))
		p.opt.Audit.Record(Entry{Time: start, Method: req.Method, Host: host, Port: port, Decision: "allow", Reason: d.Reason + "; intercepted"})
		return nil
	case d.Allow && req.Method != http.MethodConnect:
		reason := d.Reason
		if ctx.Session().IsSecure() {
			// Inside an intercepted tunnel: TLS on both sides, and the
			// request is for the tunnel's host (checked above). It is
			// signed as it goes out, to its --upstream if it has one.
			if u, ok := p.opt.Upstreams[strings.ToLower(host)]; ok {
				req.URL.Scheme, req.URL.Host, req.Host = u.Scheme, u.Host, u.Host
			}
			if cred := credential.For(p.opt.Credentials, host, port); cred != nil {
				if r, ok := cred.(credential.Refresher); ok && keepBody(req) {
					ctx.Set(credKey, signed{r, host})
				}
				if err := cred.Apply(req, host); err != nil {
					e := Entry{Time: start, Method: req.Method, Host: host, Port: port, Path: req.URL.Path, Decision: "error",
						Reason: "the credential for " + host + " is not available: " + err.Error()}
					conn, brw, herr := takeOver(ctx.Session())
					if herr != nil {
						return herr
					}
					defer conn.Close()
					res := authError(req, "runjail: "+e.Reason)
					res.Close = true
					res.Write(brw)
					brw.Flush()
					p.opt.Audit.Record(e)
					return nil
				}
				reason += "; " + cred.Describe()
			}
		}
		p.opt.Audit.Record(Entry{Time: start, Method: req.Method, Host: host, Port: port, Path: req.URL.Path, Decision: "allow", Reason: reason})
		if isTakenOver(ctx.Session()) {
			p.serveTakenOver(ctx.Session(), req)
		}
		return nil
	}
	conn, brw, err := takeOver(ctx.Session())
	if err != nil {
		return err // dial refuses it all the same
	}
	defer conn.Close()
	if !d.Allow {
		writeRefusal(brw, req, http.StatusForbidden, refusalBody(host, port, d.Reason))
		p.opt.Audit.Record(Entry{Time: start, Method: req.Method, Host: host, Port: port, Path: req.URL.Path, Decision: "deny", Reason: d.Reason})
		return nil
	}
	e := Entry{Time: start, Method: req.Method, Host: host, Port: port, Decision: "allow", Reason: d.Reason}
	e.BytesUp, e.BytesDown, err = p.tunnel(conn, brw, req, net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		e.Decision, e.Reason = "error", err.Error()
	}
	e.Duration = time.Since(start)
	p.opt.Audit.Record(e)
	return nil
}

// keepBody reads req's body into memory so that it can be sent again, and
// reports whether it could (not when larger than maxRetryBody).
func keepBody(req *http.Request) bool {
	if req.Body == nil || req.Body == http.NoBody {
		req.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		return true
	}
	if req.ContentLength > maxRetryBody {
		return false
	}
	orig := req.Body
	b, err := io.ReadAll(io.LimitReader(orig, maxRetryBody+1))
	if err != nil || len(b) > maxRetryBody {
		// What was read is sent, then the rest; no second try.
		req.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), orig), orig}
		return false
	}
	orig.Close()
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return true
}

// refuse answers req itself with code and closes the connection.
func (p *Proxy) refuse(ctx *martian.Context, req *http.Request, code int, e Entry) error {
	conn, brw, err := takeOver(ctx.Session())
	if err != nil {
		return err
	}
	defer conn.Close()
	writeRefusal(brw, req, code, "runjail: "+e.Reason+"\n")
	p.opt.Audit.Record(e)
	return nil
}

// tunnel connects the jail's connection to addr and copies both ways until
// both sides are done.
func (p *Proxy) tunnel(conn net.Conn, brw *bufio.ReadWriter, req *http.Request, addr string) (up, down int64, err error) {
	upstream, err := p.dial("tcp", addr)
	if err != nil {
		writeRefusal(brw, req, http.StatusBadGateway, fmt.Sprintf("runjail: cannot reach %s: %v\n", addr, err))
		return 0, 0, err
	}
	defer upstream.Close()
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return 0, 0, err
	}
	done := make(chan struct{})
	go func() {
		// What the client sent after its CONNECT is already in brw; the
		// rest is copied from the connection itself, which lets the kernel
		// splice TCP to TCP.
		up, _ = io.CopyN(upstream, brw.Reader, int64(brw.Reader.Buffered()))
		n, _ := io.Copy(upstream, bareConn(conn))
		up += n
		closeWrite(upstream)
		close(done)
	}()
	down, _ = io.Copy(bareConn(conn), upstream)
	closeWrite(bareConn(conn))
	<-done
	return up, down, nil
}

// bareConn is c without the wrapper that hides its deadlines, so that
// io.Copy finds the *net.TCPConn and splices.
func bareConn(c net.Conn) net.Conn {
	if nd, ok := c.(noDeadlineConn); ok {
		return nd.Conn
	}
	return c
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}

// target is the host and port a request is for.
func target(req *http.Request) (string, int) {
	hostport := req.URL.Host
	if hostport == "" {
		hostport = req.Host
	}
	defPort := 80
	if req.Method == http.MethodConnect || req.URL.Scheme == "https" {
		defPort = 443
	}
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		return strings.Trim(hostport, "[]"), defPort
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return host, -1
	}
	return host, port
}

func refusalBody(host string, port int, reason string) string {
	hp := net.JoinHostPort(host, strconv.Itoa(port))
	allow := host
	if port != 443 && port != 80 {
		allow = hp
	}
	return fmt.Sprintf("runjail: %s refused: %s\n"+
		"To allow it for one run: runjail --allow %s ...\n"+
		"To allow it always: add %q to allow in the [network] table of the profile.\n", hp, reason, allow, allow)
}

func writeRefusal(w *bufio.ReadWriter, req *http.Request, code int, body string) {
	res := &http.Response{
		StatusCode: code, ProtoMajor: 1, ProtoMinor: 1, Request: req,
		Header:        http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "Connection": {"close"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Close:         true,
	}
	res.Write(w)
	w.Flush()
}

// dial connects to addr for the jail, asking the policy about the name and
// then about every address it resolves to (the SSRF guard); the first
// allowed address is dialled.
func (p *Proxy) dial(network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("bad port in %q", addr)
	}
	// An --upstream URL was named by the user on the command line.
	if d := p.pol.Host(host, port); !d.Allow && !p.upstreams[addr] {
		return nil, errors.New(d.Reason)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ips, err := p.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	var refused []string
	for _, ip := range ips {
		d := p.pol.Dial(host, ip.Unmap())
		if !d.Allow {
			refused = append(refused, d.Reason)
			continue
		}
		if p.opt.NeverDial[net.JoinHostPort(ip.Unmap().String(), portStr)] {
			refused = append(refused, "the approval page is not for the jail")
			continue
		}
		return p.dialer.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), portStr))
	}
	return nil, fmt.Errorf("%s resolves only to addresses the proxy may not reach: %s", host, strings.Join(refused, "; "))
}

// noDeadlineListener's connections ignore deadlines: martian sets one per
// request (5 minutes by default), which would cut every longer tunnel or
// stream an agent keeps open for hours.
type noDeadlineListener struct{ net.Listener }

func (l noDeadlineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return noDeadlineConn{c}, nil
}

type noDeadlineConn struct{ net.Conn }

func (noDeadlineConn) SetDeadline(time.Time) error { return nil }
