package dns

import (
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

var allowedNames = map[string]bool{"api.x.com": true, "registry.npmjs.org": true}

func testHandler() *Handler {
	return &Handler{
		Allowed: func(n string) bool { return allowedNames[strings.ToLower(n)] },
		A:       netip.MustParseAddr("127.0.0.1"),
		AAAA:    netip.MustParseAddr("::1"),
		TTL:     60,
	}
}

// q describes a query to build.
type q struct {
	id      uint16
	name    string
	typ     dnsmessage.Type
	class   dnsmessage.Class
	rd      bool
	opcode  dnsmessage.OpCode
	resp    bool
	extra   int  // more questions
	noQ     bool // no question at all
	edns    bool
	version uint8 // EDNS version
}

func (x q) pack(t testing.TB) []byte {
	t.Helper()
	if x.class == 0 {
		x.class = dnsmessage.ClassINET
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: x.id, RecursionDesired: x.rd, OpCode: x.opcode, Response: x.resp})
	b.StartQuestions()
	if !x.noQ {
		for range 1 + x.extra {
			if err := b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(x.name), Type: x.typ, Class: x.class}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if x.edns {
		b.StartAdditionals()
		var rh dnsmessage.ResourceHeader
		rh.SetEDNS0(1232, dnsmessage.RCodeSuccess, true)
		rh.TTL |= uint32(x.version) << 16
		b.OPTResource(rh, dnsmessage.OPTResource{})
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func parse(t testing.TB, resp []byte) dnsmessage.Message {
	t.Helper()
	var m dnsmessage.Message
	if err := m.Unpack(resp); err != nil {
		t.Fatalf("response does not parse: %v", err)
	}
	return m
}

func TestAnswer(t *testing.T) {
	A, AAAA := dnsmessage.TypeA, dnsmessage.TypeAAAA
	ok, nx := dnsmessage.RCodeSuccess, dnsmessage.RCodeNameError
	tests := []struct {
		name   string
		q      q
		rcode  dnsmessage.RCode
		answer string // the one answer's address, "" for none
		noQ    bool   // the response has no question
	}{
		{"A", q{id: 1, name: "api.x.com.", typ: A, rd: true}, ok, "127.0.0.1", false},
		{"AAAA", q{id: 2, name: "api.x.com.", typ: AAAA, rd: true}, ok, "::1", false},
		{"case kept", q{id: 3, name: "ApI.x.CoM.", typ: A}, ok, "127.0.0.1", false},
		{"TXT", q{id: 4, name: "api.x.com.", typ: dnsmessage.TypeTXT}, ok, "", false},
		{"MX", q{id: 5, name: "api.x.com.", typ: dnsmessage.TypeMX}, ok, "", false},
		{"HTTPS", q{id: 6, name: "api.x.com.", typ: dnsmessage.TypeHTTPS}, ok, "", false},
		{"SVCB", q{id: 7, name: "api.x.com.", typ: dnsmessage.TypeSVCB}, ok, "", false},
		{"ANY", q{id: 8, name: "api.x.com.", typ: dnsmessage.TypeALL}, ok, "", false},
		{"CNAME", q{id: 9, name: "api.x.com.", typ: dnsmessage.TypeCNAME}, ok, "", false},
		{"denied A", q{id: 10, name: "evil.com.", typ: A}, nx, "", false},
		{"denied AAAA", q{id: 11, name: "evil.com.", typ: AAAA}, nx, "", false},
		{"denied TXT", q{id: 12, name: "data.exfil.evil.com.", typ: dnsmessage.TypeTXT}, nx, "", false},
		{"subdomain of allowed", q{id: 13, name: "a.api.x.com.", typ: A}, nx, "", false},
		{"root", q{id: 14, name: ".", typ: dnsmessage.TypeNS}, nx, "", false},
		{"two questions", q{id: 15, name: "api.x.com.", typ: A, extra: 1}, dnsmessage.RCodeFormatError, "", true},
		{"no question", q{id: 16, noQ: true}, dnsmessage.RCodeFormatError, "", true},
		{"opcode STATUS", q{id: 17, name: "api.x.com.", typ: A, opcode: 2}, dnsmessage.RCodeNotImplemented, "", true},
		{"opcode UPDATE", q{id: 18, name: "api.x.com.", typ: A, opcode: 5}, dnsmessage.RCodeNotImplemented, "", true},
		{"class CHAOS", q{id: 19, name: "version.bind.", typ: dnsmessage.TypeTXT, class: dnsmessage.ClassCHAOS}, dnsmessage.RCodeRefused, "", false},
		{"class ANY", q{id: 20, name: "api.x.com.", typ: A, class: dnsmessage.ClassANY}, dnsmessage.RCodeRefused, "", false},
		{"EDNS", q{id: 21, name: "api.x.com.", typ: A, edns: true}, ok, "127.0.0.1", false},
		{"EDNS version 1", q{id: 22, name: "api.x.com.", typ: AAAA, edns: true, version: 1}, ok, "::1", false},
		{"ID 0xffff", q{id: 0xffff, name: "registry.npmjs.org.", typ: A}, ok, "127.0.0.1", false},
	}
	h := testHandler()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			query := tt.q.pack(t)
			resp := h.Answer(query)
			if resp == nil {
				t.Fatal("no response")
			}
			if len(resp) > maxUDP {
				t.Errorf("response is %d bytes", len(resp))
			}
			m := parse(t, resp)
			wantAA := tt.rcode == ok || tt.rcode == nx
			if m.ID != tt.q.id || !m.Response || m.RCode != tt.rcode || m.RecursionDesired != tt.q.rd ||
				m.RecursionAvailable || m.OpCode != tt.q.opcode || m.Authoritative != wantAA || m.Truncated {
				t.Errorf("header = %+v, want ID %d rcode %v RD %v opcode %d AA %v",
					m.Header, tt.q.id, tt.rcode, tt.q.rd, tt.q.opcode, wantAA)
			}
			if len(m.Authorities) != 0 || len(m.Additionals) != 0 {
				t.Errorf("authorities %v additionals %v, want none", m.Authorities, m.Additionals)
			}
			if tt.noQ {
				if len(m.Questions) != 0 {
					t.Errorf("questions = %v, want none", m.Questions)
				}
				return
			}
			if len(m.Questions) != 1 || m.Questions[0].Name.String() != tt.q.name || m.Questions[0].Type != tt.q.typ {
				t.Errorf("questions = %v, want the query's", m.Questions)
			}
			if tt.answer == "" {
				if len(m.Answers) != 0 {
					t.Errorf("answers = %v, want none", m.Answers)
				}
				return
			}
			if len(m.Answers) != 1 {
				t.Fatalf("answers = %v, want one", m.Answers)
			}
			a := m.Answers[0]
			var got netip.Addr
			switch r := a.Body.(type) {
			case *dnsmessage.AResource:
				got = netip.AddrFrom4(r.A)
			case *dnsmessage.AAAAResource:
				got = netip.AddrFrom16(r.AAAA)
			}
			if got.String() != tt.answer || a.Header.Name.String() != tt.q.name || a.Header.TTL != 60 ||
				a.Header.Type != tt.q.typ || a.Header.Class != dnsmessage.ClassINET {
				t.Errorf("answer = %v, want %s for %s", a, tt.answer, tt.q.name)
			}
		})
	}
}

func TestAnswerNil(t *testing.T) {
	h := testHandler()
	for name, msg := range map[string][]byte{
		"empty":    nil,
		"short":    {0, 1, 0, 0, 0, 1},
		"response": q{id: 1, name: "api.x.com.", typ: dnsmessage.TypeA, resp: true}.pack(t),
	} {
		if resp := h.Answer(msg); resp != nil {
			t.Errorf("%s: Answer = %x, want nil", name, resp)
		}
	}
}

func TestAnswerMalformed(t *testing.T) {
	h := testHandler()
	good := q{id: 7, name: "api.x.com.", typ: dnsmessage.TypeA}.pack(t)
	for n := 12; n < len(good); n++ { // header intact, question cut short
		m := parse(t, h.Answer(good[:n]))
		if m.ID != 7 || m.RCode != dnsmessage.RCodeFormatError {
			t.Errorf("truncated to %d bytes: %+v, want FORMERR", n, m.Header)
		}
	}
	// Trailing garbage after the one question is tolerated (it would be
	// the other sections).
	if m := parse(t, h.Answer(append(good, 1, 2, 3))); m.RCode != dnsmessage.RCodeSuccess {
		t.Errorf("trailing bytes: %+v", m.Header)
	}
}

func TestAnswerHandlerSettings(t *testing.T) {
	query := func(typ dnsmessage.Type) []byte { return q{id: 1, name: "api.x.com.", typ: typ}.pack(t) }
	var seen []string
	h := &Handler{Allowed: func(n string) bool { seen = append(seen, n); return true }, A: netip.MustParseAddr("::ffff:10.0.0.1")}
	if m := parse(t, h.Answer(query(dnsmessage.TypeAAAA))); m.RCode != dnsmessage.RCodeSuccess || len(m.Answers) != 0 {
		t.Errorf("no AAAA address: %v, want empty NOERROR", m)
	}
	if m := parse(t, h.Answer(query(dnsmessage.TypeA))); len(m.Answers) != 1 || m.Answers[0].Body.(*dnsmessage.AResource).A != [4]byte{10, 0, 0, 1} {
		t.Errorf("IPv4-mapped A address: %v, want 10.0.0.1", m.Answers)
	}
	if len(seen) != 2 || seen[0] != "api.x.com" {
		t.Errorf("Allowed was asked %q, want the name without its trailing dot", seen)
	}
	h = &Handler{AAAA: netip.MustParseAddr("10.0.0.1")} // nil Allowed; AAAA holds an IPv4 address
	if m := parse(t, h.Answer(query(dnsmessage.TypeA))); m.RCode != dnsmessage.RCodeNameError {
		t.Errorf("nil Allowed: %v, want NXDOMAIN", m.Header)
	}
	h.Allowed = func(string) bool { return true }
	for _, typ := range []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeAAAA} {
		if m := parse(t, h.Answer(query(typ))); m.RCode != dnsmessage.RCodeSuccess || len(m.Answers) != 0 {
			t.Errorf("%v with no usable address: %v, want empty NOERROR", typ, m)
		}
	}
}

func TestAnswerLongName(t *testing.T) {
	name := strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("b", 61) + "."
	h := testHandler()
	h.Allowed = func(string) bool { return true }
	resp := h.Answer(q{id: 1, name: name, typ: dnsmessage.TypeAAAA, edns: true}.pack(t))
	if m := parse(t, resp); len(m.Answers) != 1 || len(resp) > maxUDP {
		t.Errorf("longest name: %d bytes, %v", len(resp), m)
	}
}
