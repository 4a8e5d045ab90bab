package dns

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"time"
)

// Serve answers the DNS queries that arrive on conn, one at a time, until
// reading fails, and returns that error; after conn is closed it wraps
// net.ErrClosed. Messages that Answer does not answer are dropped.
func (h *Handler) Serve(conn net.PacketConn) error {
	buf := make([]byte, 64<<10)
	for {
		n, addr, err := conn.ReadFrom(buf)
		if n > 0 {
			if resp := h.Answer(buf[:n]); resp != nil {
				conn.WriteTo(resp, addr) // best effort, as UDP is
			}
		}
		if err != nil {
			return err
		}
	}
}

const (
	// tcpIdle is how long a TCP connection may wait for its next message
	// (RFC 7766 suggests a few seconds) or take to accept a response.
	tcpIdle = 10 * time.Second
	// maxTCPConns bounds the connections served at once, so that the jail
	// cannot exhaust the proxy's file descriptors through DNS; more are
	// closed at once.
	maxTCPConns = 256
)

// ServeTCP accepts DNS-over-TCP connections on l (messages framed by a
// two-byte length, several per connection) and answers each message, until
// Accept fails for good, and returns that error; after l is closed it wraps
// net.ErrClosed. Connections already open end on their own when idle.
func (h *Handler) ServeTCP(l net.Listener) error {
	sem := make(chan struct{}, maxTCPConns)
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() && !errors.Is(err, net.ErrClosed) {
				// Out of file descriptors or the like: wait, as net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		select {
		case sem <- struct{}{}:
			go func() {
				defer func() { <-sem }()
				h.serveConn(c)
			}()
		default:
			c.Close()
		}
	}
}

// serveConn answers the messages on one TCP connection until it is closed,
// idle too long or broken.
func (h *Handler) serveConn(c net.Conn) {
	defer c.Close()
	var msg []byte
	for {
		var n [2]byte
		c.SetReadDeadline(time.Now().Add(tcpIdle))
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return
		}
		size := int(binary.BigEndian.Uint16(n[:]))
		if cap(msg) < size {
			msg = make([]byte, size)
		}
		msg = msg[:size]
		if _, err := io.ReadFull(c, msg); err != nil {
			return
		}
		resp := h.Answer(msg)
		if resp == nil {
			continue
		}
		out := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(resp)), uint16(len(resp)))
		c.SetWriteDeadline(time.Now().Add(tcpIdle))
		if _, err := c.Write(append(out, resp...)); err != nil {
			return
		}
	}
}
