// Package dns answers the jail's DNS queries: A and AAAA for names the policy
// allows, NXDOMAIN for everything else; nothing is ever forwarded.
//
// The answer for an allowed name is the proxy's own address, so a lookup
// reveals nothing but whether the name is allowed, and a query's name never
// leaves the host (DNS is an exfiltration channel).
//
// Answer is a pure function of the query and the Handler; Serve and ServeTCP
// are thin loops around it. The rules, in the order they are applied:
//
//   - A message whose header cannot be parsed, or that is a response (QR=1),
//     gets no answer (nil).
//   - An opcode other than QUERY gets NOTIMP.
//   - A query without exactly one parsable question gets FORMERR.
//   - A class other than IN (CHAOS "version.bind", ANY, ...) gets REFUSED.
//   - A name that Allowed rejects gets NXDOMAIN, whatever the type.
//   - An allowed name gets one A record for type A, one AAAA record for type
//     AAAA (none if the Handler's AAAA address is invalid), and no records
//     (NOERROR, "NODATA") for every other type, ANY included.
//
// Every response copies the ID, the opcode, the RD flag and the question (the
// name with its case as sent, for resolvers that randomize it), has RA=0,
// and AA=1 when the rcode is NOERROR or NXDOMAIN: resolvers (glibc, Go) take
// an empty NOERROR with neither AA nor RA for a lame referral and give up
// on the server. EDNS(0) is ignored: an OPT record in the query is not
// echoed, which RFC 6891 allows of a server without EDNS, and responses are
// always far below 512 bytes, so they never need truncation.
package dns

import (
	"net/netip"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// Handler answers DNS queries for the jail.
type Handler struct {
	// Allowed reports whether name (without its trailing dot, case as sent)
	// may be resolved, e.g.
	//	func(n string) bool { return pol.Host(n, 443).Allow || pol.Host(n, 80).Allow }
	// A nil Allowed allows nothing.
	Allowed func(name string) bool
	// A is the IPv4 address answered for allowed names, e.g. 127.0.0.1.
	// An invalid or IPv6 address means no A records.
	A netip.Addr
	// AAAA is the IPv6 address answered for allowed names, e.g. ::1. An
	// invalid or IPv4 address means no AAAA records.
	AAAA netip.Addr
	// TTL is the time to live of the records, in seconds.
	TTL uint32
}

// maxUDP is the largest response allowed without EDNS(0).
const maxUDP = 512

// Answer builds the response to one DNS message (a UDP payload or the body
// of a TCP message, without its length prefix). It returns nil when the
// message is not worth answering: its header cannot be parsed, or it is not
// a query. See the package documentation for the rules.
func (h *Handler) Answer(query []byte) []byte {
	var p dnsmessage.Parser
	qh, err := p.Start(query)
	if err != nil || qh.Response {
		return nil
	}
	rh := dnsmessage.Header{
		ID:               qh.ID,
		Response:         true,
		OpCode:           qh.OpCode,
		RecursionDesired: qh.RecursionDesired,
	}
	if qh.OpCode != 0 {
		rh.RCode = dnsmessage.RCodeNotImplemented
		return build(rh, nil, nil)
	}
	q, err := p.Question()
	if err == nil {
		if _, err2 := p.Question(); err2 != dnsmessage.ErrSectionDone {
			err = dnsmessage.ErrSectionDone // a second question, or garbage where none should be
		}
	}
	if err != nil {
		rh.RCode = dnsmessage.RCodeFormatError
		return build(rh, nil, nil)
	}
	if q.Class != dnsmessage.ClassINET {
		rh.RCode = dnsmessage.RCodeRefused
		return build(rh, &q, nil)
	}
	rh.Authoritative = true
	if h.Allowed == nil || !h.Allowed(strings.TrimSuffix(q.Name.String(), ".")) {
		rh.RCode = dnsmessage.RCodeNameError
		return build(rh, &q, nil)
	}
	rr := dnsmessage.ResourceHeader{Name: q.Name, Type: q.Type, Class: dnsmessage.ClassINET, TTL: h.TTL}
	switch {
	case q.Type == dnsmessage.TypeA && h.A.Unmap().Is4():
		return build(rh, &q, func(b *dnsmessage.Builder) error {
			return b.AResource(rr, dnsmessage.AResource{A: h.A.Unmap().As4()})
		})
	case q.Type == dnsmessage.TypeAAAA && h.AAAA.Is6() && !h.AAAA.Is4In6():
		return build(rh, &q, func(b *dnsmessage.Builder) error {
			return b.AAAAResource(rr, dnsmessage.AAAAResource{AAAA: h.AAAA.As16()})
		})
	}
	return build(rh, &q, nil) // NODATA
}

// build packs a response with question q (if any) and the answer that
// answer adds (if any). Should packing fail, which a parsed question cannot
// make happen, the response is a bare SERVFAIL.
func build(h dnsmessage.Header, q *dnsmessage.Question, answer func(*dnsmessage.Builder) error) []byte {
	b := dnsmessage.NewBuilder(make([]byte, 0, maxUDP), h)
	b.EnableCompression()
	err := b.StartQuestions()
	if err == nil && q != nil {
		err = b.Question(*q)
	}
	if err == nil && answer != nil {
		if err = b.StartAnswers(); err == nil {
			err = answer(&b)
		}
	}
	var msg []byte
	if err == nil {
		msg, err = b.Finish()
	}
	if err != nil || len(msg) > maxUDP {
		h.RCode = dnsmessage.RCodeServerFailure
		h.Authoritative = false
		msg, _ = (&dnsmessage.Message{Header: h}).Pack()
	}
	return msg
}
