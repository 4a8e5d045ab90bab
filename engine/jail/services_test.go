package jail

import (
	"bufio"
	"bytes"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runjail/runjail/engine"
	"github.com/runjail/runjail/proxy/dns"
	"github.com/runjail/runjail/schema"
)

// fakeServices answers DNS for allowed.example only and says "pong" on the
// proxy port.
type fakeServices struct{}

func (fakeServices) Serve(p *engine.Plan, socks []Socket) {
	h := &dns.Handler{Allowed: func(n string) bool { return strings.TrimSuffix(n, ".") == "allowed.example" },
		A: netip.MustParseAddr("127.0.0.1"), TTL: 1}
	var proxy net.Listener
	for _, s := range socks {
		switch {
		case s.Service == "dns" && s.Network == "udp":
			go h.Serve(s.PacketConn)
		case s.Service == "dns":
			go h.ServeTCP(s.Listener)
		case s.Service == "proxy":
			proxy = s.Listener
		}
	}
	go func() {
		for {
			c, err := proxy.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Write([]byte("pong " + line))
			c.Close()
		}
	}()
}

// In proxy mode the jail's resolver and proxy are sockets on its own
// loopback, served from the host; nothing else leaves the jail.
func TestProxyModeServices(t *testing.T) {
	if _, err := os.Stat("/usr/bin/getent"); err != nil {
		t.Fatal("getent (libc-bin) is needed")
	}
	root, _ := filepath.EvalSymlinks(t.TempDir())
	home := filepath.Join(root, "home")
	proj := filepath.Join(root, "proj")
	os.MkdirAll(home, 0o700)
	os.MkdirAll(proj, 0o755)
	h := engine.Host{UID: os.Getuid(), GID: os.Getgid(), User: "me", Home: home, Cwd: proj, PATH: "/usr/bin:/bin",
		CacheHome: filepath.Join(home, ".cache")}
	p := &schema.Profile{Version: 1, Ref: "test"}
	p.Network.Mode = schema.Str{V: "proxy"}
	script := `cat /etc/resolv.conf; echo "proxy=$HTTPS_PROXY no=[$NO_PROXY]"
getent hosts allowed.example; echo "allowed=$?"
getent hosts denied.example; echo "denied=$?"
exec 3<>/dev/tcp/127.0.0.1/3128; echo ping >&3; cat <&3`
	plan, err := engine.Compile(p, engine.Options{Command: []string{"bash", "-c", script}}, h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(plan, os.Stderr); err == nil || !strings.Contains(err.Error(), `"proxy" is not available`) {
		t.Fatalf("proxy mode without services: %v, want a refusal", err)
	}

	out := captureStdout(t, func() {
		j, err := Start(h.UID, h.GID, false)
		if err != nil {
			t.Fatal(err)
		}
		j.Services = fakeServices{}
		if st, err := j.Run(plan, os.Stderr); err != nil || st.Code != 0 {
			t.Errorf("run: %v %+v", err, st)
		}
	})
	for _, want := range []string{"nameserver 127.0.0.1", "proxy=http://" + engine.ProxyAddr + " no=[]",
		"127.0.0.1       allowed.example", "allowed=0", "denied=2", "pong ping"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

// captureStdout runs f with os.Stdout redirected to a pipe.
func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() {
		var b bytes.Buffer
		b.ReadFrom(r)
		done <- b.Bytes()
	}()
	f()
	os.Stdout = saved
	w.Close()
	return string(<-done)
}
