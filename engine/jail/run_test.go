package jail

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runjail/runjail/engine"
	"github.com/runjail/runjail/schema"
)

func TestMain(m *testing.M) {
	// Run re-executes this binary as the jail's init.
	if IsInit() {
		os.Exit(InitMain())
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
