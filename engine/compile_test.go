package engine

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/runjail/runjail/profiles"
	"github.com/runjail/runjail/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/plans")

// fakeHost lays out a home (with a symlinked alias), a git project with a
// worktree whose repository lives elsewhere, and a PATH entry in the home.
func fakeHost(t *testing.T) (Host, string) {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mk := func(p string) string {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	home := mk("home/me")
	mk("home/me/bin")
	mk("home/me/.claude")
	os.WriteFile(filepath.Join(home, ".claude", "CLAUDE.md"), []byte("be nice"), 0o644)
	os.WriteFile(filepath.Join(home, ".gitconfig"), []byte("[user]\nname = me\n"), 0o644)
	proj := mk("home/me/src/app")
	for _, args := range [][]string{
		{"init", "-q", filepath.Join(root, "repos/main")},
		{"-C", filepath.Join(root, "repos/main"), "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x"},
		{"-C", filepath.Join(root, "repos/main"), "worktree", "add", "-q", proj},
	} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			// A project directory without git still compiles; say so.
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	h := Host{
		UID: 1000, GID: 1000, User: "me", Home: home, Cwd: proj,
		Env:   []string{"TERM=xterm", "LANG=C.UTF-8", "AWS_SECRET_ACCESS_KEY=host-secret", "LC_ALL=C"},
		PATH:  filepath.Join(home, "bin") + ":/usr/bin:/bin",
		Shell: "/bin/bash",

		CacheHome: filepath.Join(home, ".cache"), ConfigHome: filepath.Join(home, ".config"),
		DataHome: filepath.Join(home, ".local/share"),
	}
	return h, root
}

// TestGoldenPlans compiles each testdata/plans/NAME.toml (or the built-in
// named in its first line "# builtin: NAME") and compares --explain output
// with NAME.golden. Run with -update to rewrite them.
func TestGoldenPlans(t *testing.T) {
	files, _ := filepath.Glob("../testdata/plans/*.toml")
	if len(files) == 0 {
		t.Fatal("no golden plan inputs in testdata/plans")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".toml")
		t.Run(name, func(t *testing.T) {
			h, root := fakeHost(t)
			src, _ := os.ReadFile(file)
			ref := file
			if b, ok := strings.CutPrefix(string(src), "# builtin: "); ok {
				ref = strings.TrimSpace(strings.SplitN(b, "\n", 2)[0])
			} else {
				// Profiles are loaded from the project, as a repo's would be.
				ref = filepath.Join(h.Cwd, name+".toml")
				os.WriteFile(ref, src, 0o644)
			}
			opt := Options{Net: "none"}
			if strings.Contains(string(src), "# flags: binds") {
				opt.Binds = []Bind{{Src: "/etc", Dst: "/mnt/etc", RO: true}}
				opt.Allow = []string{"example.com:8443"}
			}
			var out bytes.Buffer
			p, err := schema.Load(ref, schema.Options{Builtin: profiles.FS, UserDir: filepath.Join(root, "none")})
			if err == nil {
				var plan *Plan
				plan, err = Compile(p, opt, h)
				if err == nil {
					Explain(&out, plan)
				}
			}
			if err != nil {
				out.WriteString("error: " + err.Error() + "\n")
			}
			// Column widths depend on the temporary path: compare cells.
			got := strings.ReplaceAll(out.String(), root, "$ROOT")
			got = regexp.MustCompile(` {2,}`).ReplaceAllString(got, "  ")
			// Which daemon sockets exist under /run differs between hosts.
			got = regexp.MustCompile(`(?m)^  hide  /run/.*\n`).ReplaceAllString(got, "")
			golden := strings.TrimSuffix(file, ".toml") + ".golden"
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./engine -update)", err)
			}
			if got != string(want) {
				t.Errorf("plan differs from %s (run go test ./engine -update and review the diff)\n--- got\n%s", golden, got)
			}
		})
	}
}

// A jj repository's own config (which older jj reads, pager and editor
// commands included) is read-only in the jail, created empty when missing.
func TestProtectJJConfig(t *testing.T) {
	h, root := fakeHost(t)
	proj := filepath.Join(root, "jjproj")
	os.MkdirAll(filepath.Join(proj, ".jj", "repo", "store"), 0o755)
	h.Cwd = proj
	p, err := schema.Load("default", schema.Options{Builtin: profiles.FS, UserDir: filepath.Join(root, "none")})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Compile(p, Options{Net: "none", Command: []string{"true"}}, h)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(proj, ".jj", "repo", "config.toml")
	for _, m := range plan.Mounts {
		if m.Dst == want {
			if !m.RO || !m.File || !m.Create {
				t.Errorf("%s: %+v, want a read-only file created first", want, m)
			}
			return
		}
	}
	t.Errorf("no mount at %s in %+v", want, plan.Mounts)
}

// Hosts approved always in an earlier session are allowed, each with the
// line it came from; a bad line is an error that names it.
func TestApprovedAlways(t *testing.T) {
	h, root := fakeHost(t)
	p, err := schema.Load("default", schema.Options{Builtin: profiles.FS, UserDir: filepath.Join(root, "none")})
	if err != nil {
		t.Fatal(err)
	}
	file := ApprovedFile(h, "default")
	os.MkdirAll(filepath.Dir(file), 0o700)
	os.WriteFile(file, []byte("# approved on the approval page\napi.example.com:8443\n\n"), 0o600)
	plan, err := Compile(p, Options{Command: []string{"true"}}, h)
	if err != nil {
		t.Fatal(err)
	}
	want := Rule{"api.example.com:8443", file + ":2:1 (approved always)"}
	if !slices.Contains(plan.Net.Allow, want) {
		t.Errorf("allow rules %+v lack %+v", plan.Net.Allow, want)
	}
	if plan, err := Compile(p, Options{Command: []string{"true"}, Net: "none"}, h); err != nil || len(plan.Net.Allow) != 0 {
		t.Errorf("network none: %v %+v", err, plan.Net.Allow)
	}
	os.WriteFile(file, []byte("api.example.com:8443\nbad host\n"), 0o600)
	if _, err := Compile(p, Options{Command: []string{"true"}}, h); err == nil || !strings.HasPrefix(err.Error(), file+":2:1: ") {
		t.Errorf("a bad line: %v", err)
	}
}
