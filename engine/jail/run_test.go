package jail

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runjail/runjail/engine"
	"github.com/runjail/runjail/engine/jailinit"
	"github.com/runjail/runjail/schema"
)

func TestMain(m *testing.M) {
	// Run re-executes this binary as the jail's init.
	if jailinit.Is() {
		os.Exit(jailinit.Main())
	}
	os.Exit(m.Run())
}

// If a plan exposes the real home anyway (Compile refuses to make such a
// plan; this one is edited by hand), the jail refuses to run.
func TestRunRefusesReachableHome(t *testing.T) {
	root, _ := filepath.EvalSymlinks(t.TempDir())
	home := filepath.Join(root, "home")
	proj := filepath.Join(root, "proj")
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	os.MkdirAll(proj, 0o755)
	h := engine.Host{UID: os.Getuid(), GID: os.Getgid(), User: "me", Home: home, Cwd: proj, PATH: "/usr/bin:/bin",
		CacheHome: filepath.Join(home, ".cache")}
	p := &schema.Profile{Version: 1, Ref: "test"}
	p.Network.Mode = schema.Str{V: "none"}
	plan, err := engine.Compile(p, engine.Options{Command: []string{"true"}}, h)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := Run(plan, io.Discard); err != nil || st.Code != 0 {
		t.Fatalf("the unedited plan does not run: %v %+v", err, st)
	}
	plan.Mounts = append(plan.Mounts, engine.Mount{Kind: engine.MountBind, Src: root, Dst: "/mnt", RO: true, From: "test"})
	_, err = Run(plan, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "refusing to run: hidden "+home+" is reachable in the jail at /mnt/home") {
		t.Fatalf("want a refusal naming /mnt/home, got %v", err)
	}
}

// init gets the plan's fields it uses, in its own terms: the mount kinds
// as engine names them, the environment as NAME=VALUE.
func TestInitPlan(t *testing.T) {
	kinds := map[engine.MountKind]string{engine.MountRoot: jailinit.MountRoot, engine.MountDev: jailinit.MountDev,
		engine.MountProc: jailinit.MountProc, engine.MountTmpfs: jailinit.MountTmpfs, engine.MountHide: jailinit.MountHide,
		engine.MountBind: jailinit.MountBind, engine.MountFile: jailinit.MountFile}
	p := &engine.Plan{Command: []string{"true"}, Dir: "/w", Hostname: "h", Home: "/home/me",
		Env:    []engine.EnvVar{{Name: "PATH", Value: "/bin", From: "runjail"}},
		Net:    engine.Network{Mode: "host"},
		Listen: []engine.Listen{{Service: "dns", Network: "udp", Addr: engine.DNSAddr}},
		Hidden: []engine.HiddenDir{{Path: "/home/me", Dev: 1, Ino: 2}}}
	for k := range kinds {
		p.Mounts = append(p.Mounts, engine.Mount{Kind: k, Src: "/s", Dst: "/d", RO: true, File: true, Content: "c", From: "f"})
	}
	ip := initPlan(p)
	for i, m := range ip.Mounts {
		if want := kinds[p.Mounts[i].Kind]; m.Kind != want {
			t.Errorf("mount kind %q reaches init as %q, which init knows as %q", p.Mounts[i].Kind, m.Kind, want)
		}
		if m.Src != "/s" || m.Dst != "/d" || !m.RO || !m.File || m.Content != "c" || m.From != "f" {
			t.Errorf("mount %+v", m)
		}
	}
	if !ip.HostNet || ip.Env[0] != "PATH=/bin" || ip.Listen[0].Addr != engine.DNSAddr || ip.Hidden[0].Ino != 2 ||
		ip.Home != "/home/me" || ip.Dir != "/w" || ip.Hostname != "h" || ip.Command[0] != "true" {
		t.Errorf("init's plan: %+v", ip)
	}
}
