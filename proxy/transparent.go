package proxy

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// ServeTLS accepts TLS connections made straight to port 443 on l, by
// clients that ignore HTTPS_PROXY (Node's https and fetch before Node 24,
// programs with their own transport): the jail's DNS answers allowed names
// with the jail's loopback, where l listens. Each connection is handled as
// if the client had sent "CONNECT <server name>:443" first, the name taken
// from its ClientHello (SNI), so the policy, interception and tunnelling
// are exactly those of the proxy port. A ClientHello without a server name
// is refused. (Plain HTTP sent straight to port 80 needs nothing of this:
// Serve takes the Host header as the target.)
func (p *Proxy) ServeTLS(l net.Listener) error {
	return p.Serve(sniListener{l})
}

type sniListener struct{ net.Listener }

func (l sniListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sniConn{Conn: c}, nil
}

// sniConn presents a direct TLS connection as a proxy connection: reads
// begin with a CONNECT for the ClientHello's server name, followed by the
// bytes the client sent; the proxy's answer to that CONNECT is not passed
// on (the client never asked), nor anything after an answer other than 200.
type sniConn struct {
	net.Conn
	once   sync.Once
	r      io.Reader
	mu     sync.Mutex
	header []byte // the proxy's answer so far, until its end
	state  int    // writes: 0 reading the answer, 1 passing through, 2 dropping
}

func (c *sniConn) Read(b []byte) (int, error) {
	c.once.Do(func() {
		var hello bytes.Buffer
		name, err := serverName(io.TeeReader(c.Conn, &hello))
		if err != nil {
			c.r = errReader{err}
			return
		}
		hp := net.JoinHostPort(name, "443")
		connect := "CONNECT " + hp + " HTTP/1.1\r\nHost: " + hp + "\r\n\r\n"
		c.r = io.MultiReader(bytes.NewBufferString(connect), &hello, c.Conn)
	})
	return c.r.Read(b)
}

func (c *sniConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state {
	case 1:
		return c.Conn.Write(b)
	case 2:
		return len(b), nil
	}
	c.header = append(c.header, b...)
	end := bytes.Index(c.header, []byte("\r\n\r\n"))
	if end < 0 {
		if len(c.header) > 64<<10 {
			c.state = 2
		}
		return len(b), nil
	}
	rest := c.header[end+4:]
	if !bytes.HasPrefix(c.header, []byte("HTTP/1.1 200 ")) {
		c.state = 2 // a refusal: the client gets a closed connection
		return len(b), nil
	}
	c.state = 1
	if len(rest) > 0 {
		if _, err := c.Conn.Write(rest); err != nil {
			return 0, err
		}
	}
	c.header = nil
	return len(b), nil
}

func (c *sniConn) CloseWrite() error {
	closeWrite(c.Conn)
	return nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

var errHelloRead = errors.New("client hello read")

// serverName reads a TLS ClientHello from r and returns its server name
// (SNI), letting crypto/tls do the parsing.
func serverName(r io.Reader) (string, error) {
	var name string
	err := tls.Server(helloConn{r: r}, &tls.Config{
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			name = h.ServerName
			return nil, errHelloRead
		},
	}).Handshake()
	if !errors.Is(err, errHelloRead) {
		return "", err
	}
	if name == "" {
		return "", errors.New("a TLS connection without a server name (SNI)")
	}
	if _, err := strconv.Atoi(name); err == nil || net.ParseIP(name) != nil {
		return "", errors.New("a TLS connection to an address, not a name")
	}
	return name, nil
}

// helloConn is a net.Conn that only reads r: the handshake's answer (an
// alert) goes nowhere.
type helloConn struct{ r io.Reader }

func (c helloConn) Read(b []byte) (int, error)     { return c.r.Read(b) }
func (c helloConn) Write(b []byte) (int, error)    { return len(b), nil }
func (helloConn) Close() error                     { return nil }
func (helloConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (helloConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (helloConn) SetDeadline(time.Time) error      { return nil }
func (helloConn) SetReadDeadline(time.Time) error  { return nil }
func (helloConn) SetWriteDeadline(time.Time) error { return nil }
