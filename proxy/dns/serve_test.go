package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// resolver is Go's own DNS client, talking to addr only.
func resolver(network, addr string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

// checkResolver looks names up through r as a program in the jail would.
func checkResolver(t *testing.T, r *net.Resolver) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addrs, err := r.LookupHost(ctx, "API.x.com")
	slices.Sort(addrs)
	if err != nil || !slices.Equal(addrs, []string{"127.0.0.1", "::1"}) {
		t.Errorf("LookupHost(allowed) = %v, %v", addrs, err)
	}
	var dnsErr *net.DNSError
	if addrs, err := r.LookupHost(ctx, "evil.com"); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("LookupHost(denied) = %v, %v, want not found", addrs, err)
	}
	if txt, err := r.LookupTXT(ctx, "api.x.com"); len(txt) != 0 || !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("LookupTXT(allowed) = %v, %v, want no records", txt, err)
	}
}

func TestServeUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- testHandler().Serve(pc) }()

	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("garbage")) // dropped, and the server keeps going
	c.Write(q{id: 42, name: "api.x.com.", typ: dnsmessage.TypeA}.pack(t))
	buf := make([]byte, 1024)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if m := parse(t, buf[:n]); m.ID != 42 || len(m.Answers) != 1 {
		t.Errorf("UDP response = %v", m)
	}
	checkResolver(t, resolver("udp", pc.LocalAddr().String()))

	pc.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve after Close returned %v, want net.ErrClosed", err)
	}
}

func TestServeTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- testHandler().ServeTCP(l) }()

	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// Three messages in one write: a non-query (no answer), then two queries.
	var out []byte
	for _, msg := range [][]byte{
		q{id: 1, name: "api.x.com.", typ: dnsmessage.TypeA, resp: true}.pack(t),
		q{id: 2, name: "api.x.com.", typ: dnsmessage.TypeAAAA}.pack(t),
		q{id: 3, name: "evil.com.", typ: dnsmessage.TypeA}.pack(t),
	} {
		out = binary.BigEndian.AppendUint16(out, uint16(len(msg)))
		out = append(out, msg...)
	}
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		id    uint16
		rcode dnsmessage.RCode
	}{{2, dnsmessage.RCodeSuccess}, {3, dnsmessage.RCodeNameError}} {
		var n [2]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			t.Fatal(err)
		}
		msg := make([]byte, binary.BigEndian.Uint16(n[:]))
		if _, err := io.ReadFull(c, msg); err != nil {
			t.Fatal(err)
		}
		if m := parse(t, msg); m.ID != want.id || m.RCode != want.rcode {
			t.Errorf("TCP response = %+v, want ID %d %v", m.Header, want.id, want.rcode)
		}
	}
	checkResolver(t, resolver("tcp", l.Addr().String()))

	l.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("ServeTCP after Close returned %v, want net.ErrClosed", err)
	}
}
