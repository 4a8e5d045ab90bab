package schema_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/runjail/runjail/profiles"
	"github.com/runjail/runjail/schema"
)

func TestLoadRefs(t *testing.T) {
	user := writeFiles(t, map[string]string{
		"mine.toml":    "version = 1\nname = \"mine\"\n",
		"claude.toml":  "version = 1\nextends = \"claude\"\nname = \"myclaude\"\n",
		"default.toml": "version = 1\nextends = \"default\"\n[network]\nallow = [\"example.com\"]\n",
	})
	opt := schema.Options{Builtin: profiles.FS, UserDir: user}
	tests := []struct {
		ref   string
		files []string
	}{
		{"mine", []string{user + "/mine.toml"}},
		// A user profile that extends its own name gets the built-in, and
		// the built-in claude's extends "default" finds the user's default.
		{"claude", []string{"builtin/default.toml", user + "/default.toml", "builtin/claude.toml", user + "/claude.toml"}},
		{"default", []string{"builtin/default.toml", user + "/default.toml"}},
		{user + "/mine.toml", []string{user + "/mine.toml"}},
	}
	for _, tt := range tests {
		p, err := schema.Load(tt.ref, opt)
		if err != nil {
			t.Errorf("Load(%q): %v", tt.ref, err)
			continue
		}
		if !reflect.DeepEqual(p.Files, tt.files) || p.Ref != tt.ref {
			t.Errorf("Load(%q): Ref %q Files %q, want %q", tt.ref, p.Ref, p.Files, tt.files)
		}
	}

	p, err := schema.Load("claude", opt)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name.V != "myclaude" || p.Name.Pos.String() != user+"/claude.toml:3:1" {
		t.Errorf("name = %q at %v", p.Name.V, p.Name.Pos)
	}
	if a := vals(p.Network.Allow); a[0] != "example.com" || !slices.Contains(a, "api.anthropic.com") {
		t.Errorf("network.allow = %q", a)
	}

	// A relative path is relative to the working directory, and shown as given.
	t.Chdir(user)
	p, err = schema.Load("mine.toml", opt)
	if err != nil {
		t.Fatal(err)
	}
	if p.Files[0] != filepath.Join(user, "mine.toml") || p.Name.Pos.String() != "mine.toml:2:1" {
		t.Errorf("Files %q, name at %v", p.Files, p.Name.Pos)
	}
}

func TestLoadNotFound(t *testing.T) {
	user := t.TempDir()
	_, err := schema.Load("nope", schema.Options{Builtin: profiles.FS, UserDir: user})
	var e *schema.Error
	if !errors.As(err, &e) || err.Error() != `profile "nope" not found` ||
		!strings.Contains(e.Hint, "built-in profiles: claude, codex, default, shell") || !strings.Contains(e.Hint, user+"/nope.toml") {
		t.Errorf("error = %v, hint %q", err, e.Hint)
	}

	// The user directory need not exist.
	if _, err := schema.Load("claude", schema.Options{Builtin: profiles.FS, UserDir: filepath.Join(user, "none")}); err != nil {
		t.Error(err)
	}

	file := filepath.Join(user, "missing.toml")
	_, err = schema.Load(file, schema.Options{Builtin: profiles.FS})
	if !errors.As(err, &e) || e.Pos != (schema.Pos{File: file}) || err.Error() != file+": cannot read profile: no such file or directory" {
		t.Errorf("error = %v", err)
	}

	// A directory where a user profile should be is reported, not skipped.
	if err := os.Mkdir(filepath.Join(user, "dir.toml"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = schema.Load("dir", schema.Options{Builtin: profiles.FS, UserDir: user})
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("error = %v", err)
	}
}

func TestExtends(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"base.toml":        "version = 1\nname = \"base\"\n",
		"sub/child.toml":   "version = 1\nextends = \"../base.toml\"\n",
		"sub/abs.toml":     "", // written below
		"byname.toml":      "version = 1\nextends = \"default\"\n",
		"user.toml":        "version = 1\nextends = \"u\"\n",
		"u/u.toml":         "version = 1\nextends = \"ubase.toml\"\n",
		"u/ubase.toml":     "version = 1\nname = \"ubase\"\n",
		"a.toml":           "version = 1\nextends = \"b.toml\"\n",
		"b.toml":           "version = 1\nextends = \"./a.toml\"\n",
		"self.toml":        "version = 1\nextends = \"self.toml\"\n",
		"u/loop.toml":      "version = 1\nextends = \"loop\"\n",
		"missing.toml":     "version = 1\n\nextends = \"nope\"\n",
		"missingpath.toml": "version = 1\nextends = \"nope/x.toml\"\n",
		"bad-base.toml":    "version = 1\nextends = \"sub/bad.toml\"\n",
		"sub/bad.toml":     "version = 1\n[network]\nmode = \"all\"\n",
	})
	abs := filepath.Join(dir, "sub/abs.toml")
	if err := os.WriteFile(abs, []byte("version = 1\nextends = \""+filepath.Join(dir, "base.toml")+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opt := schema.Options{Builtin: profiles.FS, UserDir: filepath.Join(dir, "u")}
	good := map[string][]string{
		"sub/child.toml": {dir + "/base.toml", dir + "/sub/child.toml"},
		"sub/abs.toml":   {dir + "/base.toml", dir + "/sub/abs.toml"},
		"byname.toml":    {"builtin/default.toml", dir + "/byname.toml"},
		"user.toml":      {dir + "/u/ubase.toml", dir + "/u/u.toml", dir + "/user.toml"},
	}
	for ref, files := range good {
		p, err := schema.Load(filepath.Join(dir, ref), opt)
		if err != nil {
			t.Errorf("Load(%q): %v", ref, err)
			continue
		}
		if !reflect.DeepEqual(p.Files, files) {
			t.Errorf("Load(%q).Files = %q, want %q", ref, p.Files, files)
		}
	}

	bad := []struct{ ref, msg, hint string }{
		{"a.toml", dir + `/b.toml:2:1: extends cycle: ` + dir + `/a.toml -> ` + dir + `/b.toml -> ./a.toml`, "remove the extends"},
		{"self.toml", dir + `/self.toml:2:1: extends cycle: ` + dir + `/self.toml -> self.toml`, ""},
		{"u/loop.toml", dir + `/u/loop.toml:2:1: extends cycle: ` + dir + `/u/loop.toml -> loop`, ""},
		{"missing.toml", dir + `/missing.toml:3:1: profile "nope" not found`, "built-in profiles: claude, codex, default, shell"},
		{"missingpath.toml", dir + `/missingpath.toml:2:1: cannot read profile ` + dir + `/nope/x.toml: no such file or directory`, "check the path"},
		{"bad-base.toml", dir + `/sub/bad.toml:3:1: network.mode = "all" is not valid`, ""},
	}
	for _, tt := range bad {
		_, err := schema.Load(filepath.Join(dir, tt.ref), opt)
		wantError(t, err, "", tt.msg, tt.hint)
	}

	// A built-in cannot extend a path.
	fsys := fstest.MapFS{"x.toml": {Data: []byte("version = 1\nextends = \"y.toml\"\n")}}
	_, err := schema.Load("x", schema.Options{Builtin: fsys})
	wantError(t, err, "", `builtin/x.toml:2:1: a built-in profile cannot extend a path`, "by name")
}

func TestExtendsDepth(t *testing.T) {
	files := map[string]string{}
	for i := range 20 {
		files[fmt.Sprintf("p%d.toml", i)] = fmt.Sprintf("version = 1\nextends = \"p%d.toml\"\n", i+1)
	}
	files["p20.toml"] = "version = 1\n"
	dir := writeFiles(t, files)
	_, err := schema.Load(filepath.Join(dir, "p0.toml"), schema.Options{})
	wantError(t, err, "", dir+"/p15.toml:2:1: extends chain is longer than 16 files", "")
	p, err := schema.Load(filepath.Join(dir, "p5.toml"), schema.Options{})
	if err != nil || len(p.Files) != 16 {
		t.Errorf("a chain of 16: %v", err)
	}
}

func TestMerge(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"base.toml": `version = 1
description = "base"
name = "base"
command = ["a", "b"]
[home]
dir = "tmpfs"
ro = ["~/x", "~/y"]
[filesystem]
hide = []
rw = ["/a", "/b"]
protect = [".git/hooks"]
map_path = false
[env]
set = { A = "base", B = "base" }
[network]
mode = "none"
allow = ["a.com", "b.com"]
approve = false
[[credential]]
type = "anthropic"
hosts = ["api.anthropic.com"]
[[credential]]
type = "bearer"
hosts = ["x.com"]
from = "env:X"
`,
		"child.toml": `version = 1
extends = "base.toml"
name = "child"
command = ["c"]
[home]
ro = ["~/y", "~/z", "~/z"]
[filesystem]
rw = ["/b", "/c"]
tmpfs = []
[env]
pass = []
set = { B = "child", C = "child", "0" = "x" }
[network]
allow = ["a.com", "c.com"]
deny = ["b.com"]
approve = true
[[credential]]
type = "anthropic"
hosts = ["api.anthropic.com"]
[[credential]]
type = "bearer"
hosts = ["x.com"]
from = "env:Y"
`,
	})
	// "0" is not a valid env name; drop it and try again.
	child := filepath.Join(dir, "child.toml")
	if _, err := schema.Load(child, schema.Options{}); err == nil || !strings.Contains(err.Error(), `env.set name "0"`) {
		t.Fatalf("env.set name 0: %v", err)
	}
	text, _ := os.ReadFile(child)
	if err := os.WriteFile(child, []byte(strings.Replace(string(text), `, "0" = "x"`, "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := schema.Load(child, schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := func(s schema.Str) string { return filepath.Base(s.Pos.File) + ":" + fmt.Sprint(s.Pos.Line) }
	eq := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	eq("description", p.Description.V+"@"+at(p.Description), "base@base.toml:2")
	eq("name", p.Name.V+"@"+at(p.Name), "child@child.toml:3")
	eq("command", vals(p.Command), []string{"c"})
	eq("home.dir", p.Home.Dir.V, "tmpfs")
	eq("home.ro", vals(p.Home.RO), []string{"~/x", "~/y", "~/z"})
	eq("home.ro[1] position", at(p.Home.RO[1]), "base.toml:7")
	eq("home.ro[2] position", at(p.Home.RO[2]), "child.toml:6")
	eq("filesystem.rw", vals(p.Filesystem.RW), []string{"/a", "/b", "/c"})
	eq("filesystem.rw[1] position", at(p.Filesystem.RW[1]), "base.toml:10")
	eq("filesystem.hide", len(p.Filesystem.Hide), 0)
	eq("filesystem.protect", vals(p.Filesystem.Protect), []string{".git/hooks"})
	eq("sets", []bool{p.Filesystem.HideSet, p.Filesystem.TmpfsSet, p.Filesystem.ProtectSet, p.Env.PassSet}, []bool{true, true, true, true})
	eq("filesystem.map_path", p.Filesystem.MapPath.V || !p.Filesystem.MapPath.Set, false)
	eq("filesystem.map_vcs", p.Filesystem.MapVCS.Set, false)
	var set []string
	for _, v := range p.Env.Set {
		set = append(set, v.Name+"="+v.Value.V+"@"+at(v.Value))
	}
	eq("env.set", set, []string{"A=base@base.toml:14", "B=child@child.toml:12", "C=child@child.toml:12"})
	eq("network.mode", p.Network.Mode.V, "none")
	eq("network.allow", vals(p.Network.Allow), []string{"a.com", "b.com", "c.com"})
	eq("network.deny", vals(p.Network.Deny), []string{"b.com"})
	eq("network.approve", p.Network.Approve.V, true)
	eq("network.approve position", filepath.Base(p.Network.Approve.Pos.File), "child.toml")
	var creds []string
	for _, c := range p.Credentials {
		creds = append(creds, c.Type.V+" "+c.From.V+"@"+filepath.Base(c.Pos.File))
	}
	eq("credentials", creds, []string{"anthropic @base.toml", "bearer env:X@base.toml", "bearer env:Y@child.toml"})
	eq("files", p.Files, []string{dir + "/base.toml", dir + "/child.toml"})
}

func TestDefaults(t *testing.T) {
	p, _, err := loadText(t, "version = 1\n")
	if err != nil {
		t.Fatal(err)
	}
	schema.Defaults(p)
	def := schema.Pos{File: "(default)"}
	if p.Home.Dir != (schema.Str{V: "${XDG_CACHE_HOME}/runjail/${NAME}/home", Pos: def}) ||
		p.Filesystem.Host.V != "ro" || p.Network.Mode.V != "proxy" ||
		!p.Filesystem.MapPath.V || !p.Filesystem.MapVCS.V || !p.Network.Approve.V || p.Network.Approve.Pos != def {
		t.Errorf("defaults: %+v", p)
	}
	for what, got := range map[string][]schema.Str{"hide": p.Filesystem.Hide, "tmpfs": p.Filesystem.Tmpfs, "protect": p.Filesystem.Protect, "pass": p.Env.Pass} {
		want := map[string]string{
			"hide": "/home /root /run/user /mnt /media", "tmpfs": "/tmp /var/tmp /dev/shm",
			"protect": ".git/hooks .git/config", "pass": "TERM COLORTERM LANG LANGUAGE LC_* TZ NO_COLOR",
		}[what]
		if strings.Join(vals(got), " ") != want || got[0].Pos != def {
			t.Errorf("default %s = %v", what, got)
		}
	}
	if p.Name.V != "" || p.Command != nil || p.Network.Allow != nil {
		t.Errorf("Defaults set name, command or allow: %+v", p)
	}

	// Values a file set, even to empty lists or false, stay.
	p, _, err = loadText(t, `version = 1
[home]
dir = "tmpfs"
[filesystem]
host = "rw"
hide = []
tmpfs = ["/tmp"]
protect = []
map_path = false
[env]
pass = []
[network]
mode = "host"
approve = false
`)
	if err != nil {
		t.Fatal(err)
	}
	schema.Defaults(p)
	if p.Home.Dir.V != "tmpfs" || p.Filesystem.Host.V != "rw" || p.Network.Mode.V != "host" || p.Network.Approve.V ||
		p.Filesystem.MapPath.V || !p.Filesystem.MapVCS.V || len(p.Filesystem.Hide) != 0 || len(p.Filesystem.Protect) != 0 ||
		len(p.Env.Pass) != 0 || strings.Join(vals(p.Filesystem.Tmpfs), " ") != "/tmp" {
		t.Errorf("Defaults overrode a set value: %+v", p)
	}
}

func TestBuiltinNames(t *testing.T) {
	fsys := fstest.MapFS{"b.toml": {}, "a.toml": {}, "README.md": {}, "sub/c.toml": {}}
	if got := schema.BuiltinNames(fsys); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("BuiltinNames = %q", got)
	}
	if got := schema.BuiltinNames(nil); len(got) != 0 {
		t.Errorf("BuiltinNames(nil) = %q", got)
	}
}

// FuzzLoad loads arbitrary bytes as a profile (which may extend the
// built-in default): Load must not panic, must fail only with an *Error, and
// a profile it accepts must expand without errors.
func FuzzLoad(f *testing.F) {
	for _, name := range schema.BuiltinNames(profiles.FS) {
		data, err := profiles.FS.ReadFile(name + ".toml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "version = 1", "version = 1\nextends = \"default\"\n[filesystem]\nbindz = 1",
		"version = 1\n[[credential]]\ntype = \"aws\"\nhosts = [\"*.x.com\"]\nservice = \"s3\"\n[[credential]]\n",
		"version = 1\nx.y.z = 1\n[a.b]\n", "version = 1\n[env]\nset = { A = \"${HOME\" }",
		"version = 1\ncredential = [{type = \"anthropic\", hosts = [\"a.com\"]}]",
		"version = 1\nextends = \"x\"", "\uFEFFversion = 1\n[network]\nallow = ['[::1]:80']",
	} {
		f.Add([]byte(s))
	}
	vars := schema.Vars{}
	for _, v := range []string{"HOME", "PROJECT", "PWD", "NAME", "UID", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"} {
		vars[v] = "/v"
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{"x.toml": {Data: data}, "default.toml": {Data: mustRead(t, "default.toml")}}
		p, err := schema.Load("x", schema.Options{Builtin: fsys})
		if err != nil {
			var e *schema.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is a %T", err, err)
			}
			return
		}
		schema.Defaults(p)
		strs := append([]schema.Str{p.Home.Dir}, p.Home.RO...)
		strs = append(strs, p.Command...)
		for _, l := range [][]schema.Str{p.Home.Copy, p.Filesystem.Hide, p.Filesystem.RW, p.Filesystem.RO, p.Filesystem.Tmpfs, p.Filesystem.Protect} {
			strs = append(strs, l...)
		}
		for _, v := range p.Env.Set {
			strs = append(strs, v.Value)
		}
		for _, s := range strs {
			if _, err := schema.Expand(s, vars); err != nil {
				t.Fatalf("accepted %q but Expand fails: %v", s.V, err)
			}
		}
		for _, l := range [][]schema.Str{p.Network.Allow, p.Network.Deny} {
			for _, s := range l {
				if _, err := schema.ParseHostPattern(s.V); err != nil {
					t.Fatalf("accepted host pattern %q: %v", s.V, err)
				}
			}
		}
	})
}

func mustRead(t *testing.T, name string) []byte {
	data, err := profiles.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
