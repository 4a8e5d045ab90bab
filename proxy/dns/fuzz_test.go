package dns

import (
	"encoding/binary"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

func FuzzAnswer(f *testing.F) {
	for _, x := range []q{
		{id: 1, name: "api.x.com.", typ: dnsmessage.TypeA, rd: true},
		{id: 2, name: "api.x.com.", typ: dnsmessage.TypeAAAA},
		{id: 3, name: "api.x.com.", typ: dnsmessage.TypeTXT},
		{id: 4, name: "evil.com.", typ: dnsmessage.TypeA},
		{id: 5, name: "api.x.com.", typ: dnsmessage.TypeA, edns: true},
		{id: 6, name: "api.x.com.", typ: dnsmessage.TypeA, extra: 1},
		{id: 7, name: "version.bind.", typ: dnsmessage.TypeTXT, class: dnsmessage.ClassCHAOS},
		{id: 8, name: "api.x.com.", typ: dnsmessage.TypeA, opcode: 4},
	} {
		msg := x.pack(f)
		f.Add(msg)
		f.Add(msg[:len(msg)-3]) // truncated
	}
	f.Add([]byte("garbage that is not DNS"))
	f.Add([]byte{})
	h := testHandler()
	f.Fuzz(func(t *testing.T, query []byte) {
		resp := h.Answer(query)
		if resp == nil {
			return
		}
		if len(resp) > maxUDP {
			t.Fatalf("response is %d bytes", len(resp))
		}
		var m dnsmessage.Message
		if err := m.Unpack(resp); err != nil {
			t.Fatalf("response does not parse: %v", err)
		}
		if len(query) < 2 || m.ID != binary.BigEndian.Uint16(query) || !m.Response || m.RecursionAvailable {
			t.Fatalf("response header %+v for query %x", m.Header, query)
		}
		for _, a := range m.Answers {
			if m.RCode != dnsmessage.RCodeSuccess || len(m.Questions) != 1 || !allowedNames[strings.ToLower(strings.TrimSuffix(m.Questions[0].Name.String(), "."))] {
				t.Fatalf("answer %v to a name that is not allowed: %v", a, m)
			}
		}
	})
}
