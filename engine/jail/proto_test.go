package jail

import (
	"reflect"
	"testing"

	"github.com/runjail/runjail/engine"
)

// fullPlan has every field set, those init does not use included.
func fullPlan() *engine.Plan {
	return &engine.Plan{
		Name: "n", Profile: "p", Files: []string{"f"}, Command: []string{"sh", "-c", "echo é"}, Dir: "/work",
		Hostname: "h", UID: 1000, GID: 1000, Home: "/home/me", HomeDir: "/cache/home",
		Copies:   []engine.Copy{{Src: "/a", Rel: "b", From: "c"}},
		HomeJSON: []engine.HomeJSON{{Rel: "x.json", Set: map[string]any{"k": true}, From: "f"}},
		Env:      []engine.EnvVar{{Name: "PATH", Value: "/bin", From: "runjail"}, {Name: "EMPTY"}},
		Mounts: []engine.Mount{{Kind: engine.MountRoot, Src: "/", Dst: "/", RO: true, From: "f:1:1"},
			{Kind: engine.MountFile, Dst: "/etc/resolv.conf", File: true, Content: "nameserver 127.0.0.1\n", Create: true, From: "runjail"}},
		Net:    engine.Network{Mode: "proxy", ModeFrom: "f", Allow: []engine.Rule{{Value: "x.com"}}, Approve: true},
		Creds:  []engine.Credential{{Type: "bearer", Source: "env:TOKEN"}},
		Listen: []engine.Listen{{Service: "proxy", Network: "tcp", Addr: engine.ProxyAddr}},
		Hidden: []engine.HiddenDir{{Path: "/home/me", Dev: 1 << 40, Ino: 12345}},
		Notes:  []engine.Note{{What: "w", From: "f"}},
	}
}

// Init gets the plan's fields it uses, exactly, and nothing it does not
// (no credential references, no network rules).
func TestMessageCarriesWhatInitUses(t *testing.T) {
	p := fullPlan()
	m := message{Op: opStart, Plan: p, TTY: &ttyIn{IsTTY: [3]bool{true, false, true}, Rows: 50, Cols: 132}, Build: "abc"}
	var got message
	if err := got.decode(m.encode()); err != nil {
		t.Fatal(err)
	}
	want := &engine.Plan{Command: p.Command, Dir: p.Dir, Hostname: p.Hostname, Home: p.Home, Env: p.Env,
		Mounts: p.Mounts, Listen: p.Listen, Hidden: p.Hidden}
	want.Net.Mode = p.Net.Mode
	for i := range want.Env {
		want.Env[i].From = ""
	}
	for i := range want.Mounts {
		want.Mounts[i].Create = false
	}
	if !reflect.DeepEqual(got.Plan, want) {
		t.Errorf("plan after the trip:\n got %+v\nwant %+v", got.Plan, want)
	}
	if got.Op != m.Op || got.Build != m.Build || *got.TTY != *m.TTY {
		t.Errorf("got %+v, want %+v", got, m)
	}

	back := message{Op: opFail, Code: 127, Msg: "nope: not found", Hint: "install it"}
	var gotBack message
	if err := gotBack.decode(back.encode()); err != nil || !reflect.DeepEqual(gotBack, back) {
		t.Errorf("got %+v (%v), want %+v", gotBack, err, back)
	}
}

// A message cut anywhere, or with bytes after its end, is an error.
func TestMessageCutShort(t *testing.T) {
	b := message{Op: opStart, Plan: fullPlan(), TTY: &ttyIn{}}.encode()
	for n := range b {
		var m message
		if err := m.decode(b[:n]); err == nil {
			t.Fatalf("decoding the first %d of %d bytes: no error", n, len(b))
		}
	}
	var m message
	if err := m.decode(append(b, 0)); err == nil {
		t.Fatal("a trailing byte: no error")
	}
}

// Whatever the other side sends, decoding returns an error or a message;
// it does not panic.
func FuzzMessageDecode(f *testing.F) {
	f.Add(message{Op: opStart, Plan: fullPlan(), TTY: &ttyIn{}}.encode())
	f.Add(message{Op: opWarn, Msg: "hi"}.encode())
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m message
		m.decode(b)
	})
}
