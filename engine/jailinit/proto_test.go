package jailinit

import (
	"reflect"
	"testing"
)

func fullPlan() *Plan {
	return &Plan{
		Command: []string{"sh", "-c", "echo é"}, Dir: "/work", Hostname: "h", Home: "/home/me", HostNet: true,
		Env: []string{"PATH=/bin", "EMPTY="},
		Mounts: []Mount{{Kind: MountRoot, Src: "/", Dst: "/", RO: true, From: "f:1:1"},
			{Kind: MountFile, Dst: "/etc/resolv.conf", File: true, Content: "nameserver 127.0.0.1\n", From: "runjail"}},
		Listen: []Listen{{Network: "tcp", Addr: "127.0.0.1:3128"}, {Network: "udp", Addr: "[::1]:53"}},
		Hidden: []Hidden{{Path: "/home/me", Dev: 1 << 40, Ino: 12345}},
	}
}

// Every field survives the trip, both ways.
func TestMessageRoundTrip(t *testing.T) {
	for _, m := range []Message{
		{Op: OpStart, Plan: fullPlan(), TTY: &TTY{IsTTY: [3]bool{true, false, true}, Rows: 50, Cols: 132}, Build: "abc"},
		{Op: OpSignal, Sig: 15},
		{Op: OpFail, Code: 127, Msg: "nope: not found", Hint: "install it"},
		{Op: OpStart, Plan: &Plan{Command: []string{}, Env: []string{}, Mounts: []Mount{}, Listen: []Listen{}, Hidden: []Hidden{}}},
	} {
		var got Message
		if err := got.decode(m.encode()); err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("got %+v (%v), want %+v", got, err, m)
		}
	}
}

// A message cut anywhere, or with bytes after its end, is an error.
func TestMessageCutShort(t *testing.T) {
	b := Message{Op: OpStart, Plan: fullPlan(), TTY: &TTY{}}.encode()
	for n := range b {
		var m Message
		if err := m.decode(b[:n]); err == nil {
			t.Fatalf("decoding the first %d of %d bytes: no error", n, len(b))
		}
	}
	var m Message
	if err := m.decode(append(b, 0)); err == nil {
		t.Fatal("a trailing byte: no error")
	}
}

// Whatever the other side sends, decoding returns an error or a message;
// it does not panic.
func FuzzMessageDecode(f *testing.F) {
	f.Add(Message{Op: OpStart, Plan: fullPlan(), TTY: &TTY{}}.encode())
	f.Add(Message{Op: OpWarn, Msg: "hi"}.encode())
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		m.decode(b)
	})
}
