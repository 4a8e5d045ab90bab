package schema_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runjail/runjail/profiles"
	"github.com/runjail/runjail/schema"
)

// writeFiles creates files (relative name to content) in a new directory
// and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		file := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// loadText loads text as a profile file named p.toml; it returns the file's path.
func loadText(t *testing.T, text string) (*schema.Profile, string, error) {
	t.Helper()
	file := filepath.Join(writeFiles(t, map[string]string{"p.toml": text}), "p.toml")
	p, err := schema.Load(file, schema.Options{Builtin: profiles.FS})
	return p, file, err
}

// wantError checks that err is an *Error reading "FILE:" + msg, with a hint
// containing hint.
func wantError(t *testing.T, err error, file, msg, hint string) {
	t.Helper()
	var e *schema.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *schema.Error %q", err, err, msg)
	}
	if got := strings.TrimPrefix(err.Error(), file+":"); got != msg {
		t.Errorf("error = %q\nwant    %q", got, msg)
	}
	if !strings.Contains(e.Hint, hint) {
		t.Errorf("hint = %q, want it to contain %q", e.Hint, hint)
	}
}

func TestBuiltinProfiles(t *testing.T) {
	names := schema.BuiltinNames(profiles.FS)
	if strings.Join(names, " ") != "claude codex default shell" {
		t.Errorf("BuiltinNames = %q", names)
	}
	for _, name := range names {
		p, err := schema.Load(name, schema.Options{Builtin: profiles.FS})
		if err != nil {
			t.Errorf("Load(%q): %v", name, err)
			continue
		}
		if p.Version != 1 || p.Ref != name || p.Description.V == "" {
			t.Errorf("Load(%q) = %+v", name, p)
		}
		if last := p.Files[len(p.Files)-1]; last != "builtin/"+name+".toml" {
			t.Errorf("Load(%q).Files = %q", name, p.Files)
		}
		if !strings.HasPrefix(p.Description.Pos.File, "builtin/") || p.Description.Pos.Line == 0 {
			t.Errorf("Load(%q): description at %v", name, p.Description.Pos)
		}
	}

	p, err := schema.Load("claude", schema.Options{Builtin: profiles.FS})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.Files, " ") != "builtin/default.toml builtin/claude.toml" {
		t.Errorf("claude Files = %q", p.Files)
	}
	if p.Name.V != "claude" || len(p.Command) != 2 || p.Command[0].V != "claude" {
		t.Errorf("claude name %q command %v", p.Name.V, p.Command)
	}
	if got := p.Filesystem.Host; got.V != "ro" || got.Pos.String() != lineOf(t, "default.toml", "host = ") {
		t.Errorf("claude filesystem.host = %v at %v", got.V, got.Pos)
	}
	if len(p.Credentials) != 1 || p.Credentials[0].Type.V != "anthropic" || p.Credentials[0].From.V != "claude" ||
		p.Credentials[0].Pos.String() != lineOf(t, "claude.toml", "[[credential]]") {
		t.Errorf("claude credentials = %+v", p.Credentials)
	}
	if v := vals(p.Env.Pass); v[len(v)-1] != "ANTHROPIC_MODEL" || v[0] != "TERM" {
		t.Errorf("claude env.pass = %q", v)
	}
}

func vals(ss []schema.Str) []string {
	var v []string
	for _, s := range ss {
		v = append(v, s.V)
	}
	return v
}

func TestPositions(t *testing.T) {
	p, file, err := loadText(t, `version = 1
  name = "x"
filesystem.rw = ["/a",
  "/b"]
command = [
  "sh",
]

[home]
	dir = "tmpfs"   # tab-indented

[env]
set = { EDITOR = "vi", "PAGER" = "less" }
pass = []

[network]
"mode" = 'host'
approve = false

[[credential]]
type = "bearer"
hosts = ["a.x.com"]
from = "env:A"

  [[ credential ]]   # spaced
  type = "bearer"
  from = "env:B"
  hosts = ["b.x.com"]
`)
	if err != nil {
		t.Fatal(err)
	}
	pos := func(p schema.Pos) string { return strings.TrimPrefix(p.String(), file+":") }
	check := func(what string, got schema.Pos, want string) {
		t.Helper()
		if pos(got) != want {
			t.Errorf("%s at %s, want %s", what, pos(got), want)
		}
	}
	check("name", p.Name.Pos, "2:3")
	check("filesystem.rw[0]", p.Filesystem.RW[0].Pos, "3:12")
	check("filesystem.rw[1]", p.Filesystem.RW[1].Pos, "3:12")
	check("command", p.Command[0].Pos, "5:1")
	check("home.dir", p.Home.Dir.Pos, "10:2")
	check("env.set.EDITOR", p.Env.Set[0].Value.Pos, "13:9")
	check("env.set.PAGER", p.Env.Set[1].Value.Pos, "13:24")
	check("network.mode", p.Network.Mode.Pos, "17:1")
	check("network.approve", p.Network.Approve.Pos, "18:1")
	check("credential[0]", p.Credentials[0].Pos, "20:1")
	check("credential[0].type", p.Credentials[0].Type.Pos, "21:1")
	check("credential[0].from", p.Credentials[0].From.Pos, "23:1")
	check("credential[1]", p.Credentials[1].Pos, "25:3")
	check("credential[1].type", p.Credentials[1].Type.Pos, "26:3")
	check("credential[1].hosts", p.Credentials[1].Hosts[0].Pos, "28:3")
	if !p.Env.PassSet || p.Env.Pass != nil && len(p.Env.Pass) != 0 {
		t.Errorf("env.pass = [] gave %v, PassSet %v", p.Env.Pass, p.Env.PassSet)
	}
	if p.Network.Approve.V || !p.Network.Approve.Set {
		t.Errorf("network.approve = %+v", p.Network.Approve)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, text, msg, hint string
	}{
		// Structure.
		{"missing version", "name = \"x\"\n", ` missing version = 1 at the top of the profile`, `add "version = 1"`},
		{"empty file", "", ` missing version = 1 at the top of the profile`, ""},
		{"version 2", "version = 2\nfuture = 1\n", `1:1: version = 2 is not supported; this runjail reads version 1`, "upgrade"},
		{"version string", "version = \"1\"\n", `1:1: version must be the number 1`, ""},
		{"syntax", "version = 1\nname = \n", `2:8: expected value but found '\n' instead`, ""},
		{"syntax duplicate", "version = 1\nname = \"a\"\nname = \"b\"\n", `3:1: Key 'name' has already been defined.`, ""},
		{"syntax unterminated", "version = 1\n[home]\ndir = \"abc\n", `3:11: strings cannot contain newlines`, ""},

		// Unknown keys.
		{"unknown top", "version = 1\nbogus = 1\n", `2:1: unknown key "bogus"`, "valid keys: command, credential,"},
		{"unknown typo", "version = 1\n[filesystem]\nhid = []\n", `3:1: unknown key "hid" in [filesystem]`, `did you mean "hide"?`},
		{"unknown case", "version = 1\n[filesystem]\nRW = []\n", `3:1: unknown key "RW" in [filesystem]`, `did you mean "rw"?`},
		{"unknown list", "version = 1\n[filesystem]\nbindz = []\n", `3:1: unknown key "bindz" in [filesystem]`,
			"valid keys in [filesystem]: hide, host, map_path, map_vcs, protect, ro, rw, tmpfs"},
		{"unknown indented", "version = 1\n[home]\n   dirr = \"tmpfs\"\n", `3:4: unknown key "dirr" in [home]`, `did you mean "dir"?`},
		{"misplaced", "version = 1\nallow = []\n", `2:1: unknown key "allow"`, `"allow" belongs in [network]`},
		{"misplaced two", "version = 1\nro = []\n", `2:1: unknown key "ro"`, `"ro" belongs in [filesystem] or in [home]`},
		{"misplaced credential", "version = 1\n[network]\nhosts = []\n", `3:1: unknown key "hosts" in [network]`, `"hosts" belongs in [[credential]]`},
		{"misplaced top", "version = 1\n[home]\nname = \"x\"\n", `3:1: unknown key "name" in [home]`, `"name" belongs at the top of the file, before any [table]`},
		{"unknown table", "version = 1\n[netwrk]\nmode = \"none\"\n", `2:2: unknown key "netwrk"`, `did you mean "network"?`},
		{"unknown dotted", "version = 1\nfilesystm.rw = []\n", `2:1: unknown key "filesystm"`, `did you mean "filesystem"?`},
		{"unknown subtable", "version = 1\n[a.b.c]\nd = 1\n", `2:2: unknown key "a"`, ""},
		{"unknown nested", "version = 1\n[home.x]\ny = 1\n", `2:7: unknown key "x" in [home]`, ""},
		{"unknown in credential", "version = 1\n[[credential]]\ntype = \"bearer\"\nhosts = [\"x.com\"]\nfrom = \"env:A\"\nallow = []\n",
			`6:1: unknown key "allow" in [[credential]]`, `"allow" belongs in [network]`},
		{"first error wins", "version = 1\nzzz = 1\naaa = 2\n", `2:1: unknown key "zzz"`, ""},

		// Types.
		{"type string", "version = 1\ndescription = 3\n", `2:1: description must be a string`, `description = "..."`},
		{"type list", "version = 1\n[filesystem]\nrw = \"/x\"\n", `3:1: filesystem.rw must be a list of strings`, `rw = ["..."]`},
		{"type list elem", "version = 1\n[filesystem]\nrw = [\"/x\", 1]\n", `3:1: filesystem.rw must be a list of strings`, ""},
		{"type bool", "version = 1\n[filesystem]\nmap_path = \"yes\"\n", `3:1: filesystem.map_path must be true or false`, "map_path = true"},
		{"type table", "version = 1\nhome = \"x\"\n", `2:1: home must be a table`, "[home]"},
		{"type env.set", "version = 1\n[env]\nset = [\"A=b\"]\n", `3:1: env.set must be a table`, `set = { NAME = "value" }`},
		{"type env.set value", "version = 1\n[env]\nset = { A = 1 }\n", `3:9: env.set.A must be a string`, ""},
		{"type env.set nested", "version = 1\n[env.set]\nA.b = \"x\"\n", `3:1: env.set.A must be a string`, ""},
		{"type credential", "version = 1\ncredential = 1\n", `2:1: credential must be a list of tables`, "[[credential]]"},
		{"type credential table", "version = 1\n[credential]\ntype = \"aws\"\n", `2:2: credential must be a list of tables`, ""},
		{"type command", "version = 1\ncommand = \"bash\"\n", `2:1: command must be a list of strings`, ""},
		{"type credential hosts", "version = 1\n[[credential]]\ntype = \"aws\"\nhosts = \"x.com\"\n", `4:1: credential.hosts must be a list of strings`, ""},

		// Values.
		{"name", "version = 1\nname = \"../x\"\n", `2:1: name = "../x" is not a valid sandbox name`, `letters, digits`},
		{"name empty", "version = 1\nname = \"\"\n", `2:1: name = "" is not a valid sandbox name`, ""},
		{"extends empty", "version = 1\nextends = \"\"\n", `2:1: extends must not be empty`, ""},
		{"command empty", "version = 1\ncommand = []\n", `2:1: command must not be empty`, `command = ["bash", "-l"]`},
		{"command empty arg0", "version = 1\ncommand = [\"\", \"x\"]\n", `2:1: command must not be empty`, ""},
		{"command var", "version = 1\ncommand = [\"sh\", \"${FOO}\"]\n", `2:1: unknown variable ${FOO} in "${FOO}"`, "${PROJECT}"},
		{"host", "version = 1\n[filesystem]\nhost = \"rx\"\n", `3:1: filesystem.host = "rx" is not valid`, `use "ro" or "rw"`},
		{"mode", "version = 1\n[network]\nmode = \"off\"\n", `3:1: network.mode = "off" is not valid`, `use "none", "proxy" or "host"`},
		{"home.dir relative", "version = 1\n[home]\ndir = \"cache/home\"\n", `3:1: home.dir = "cache/home" must be "tmpfs" or an absolute path`, `"~/"`},
		{"home.dir var", "version = 1\n[home]\ndir = \"${XDG_CACHE}/h\"\n", `3:1: unknown variable ${XDG_CACHE} in "${XDG_CACHE}/h"`, ""},
		{"home.dir unterminated", "version = 1\n[home]\ndir = \"${HOME\"\n", `3:1: unterminated ${ in "${HOME"`, ""},
		{"home.ro", "version = 1\n[home]\nro = [\"~/a\", \"/etc/x\"]\n", `3:1: home.ro entry "/etc/x" must be a path under your home`, `"~/"`},
		{"home.ro bare ~", "version = 1\n[home]\nro = [\"~\"]\n", `3:1: home.ro entry "~" must be a path under your home`, ""},
		{"home.copy", "version = 1\n[home]\ncopy = [\"${PROJECT}/x\"]\n", `3:1: home.copy entry "${PROJECT}/x" must be a path under your home`, ""},
		{"home.copy var", "version = 1\n[home]\ncopy = [\"${HOME}/${X}\"]\n", `3:1: unknown variable ${X} in "${HOME}/${X}"`, ""},
		{"rw relative", "version = 1\n[filesystem]\nrw = [\"src\"]\n", `3:1: filesystem.rw entry "src" must be an absolute path`, `"${PROJECT}"`},
		{"ro bind syntax", "version = 1\n[filesystem]\nro = [\"src:/dst\"]\n", `3:1: filesystem.ro entry "src:/dst" must be an absolute path`, ""},
		{"hide relative", "version = 1\n[filesystem]\nhide = [\"home\"]\n", `3:1: filesystem.hide entry "home" must be an absolute path`, ""},
		{"tmpfs empty", "version = 1\n[filesystem]\ntmpfs = [\"\"]\n", `3:1: filesystem.tmpfs entry "" must be an absolute path`, ""},
		{"rw var", "version = 1\n[filesystem]\nrw = [\"${PROJECTS}\"]\n", `3:1: unknown variable ${PROJECTS} in "${PROJECTS}"`, ""},
		{"protect absolute", "version = 1\n[filesystem]\nprotect = [\"/x\"]\n", `3:1: filesystem.protect entry "/x" must be relative to each rw directory`, ".git/hooks"},
		{"protect dotdot", "version = 1\n[filesystem]\nprotect = [\"a/../../b\"]\n", `3:1: filesystem.protect entry "a/../../b" must be relative to each rw directory`, ""},
		{"protect var", "version = 1\n[filesystem]\nprotect = [\"${PROJECT}/x\"]\n", `3:1: filesystem.protect entry "${PROJECT}/x" must be relative to each rw directory`, ""},
		{"protect tilde", "version = 1\n[filesystem]\nprotect = [\"~/x\"]\n", `3:1: filesystem.protect entry "~/x" must be relative to each rw directory`, ""},
		{"protect empty", "version = 1\n[filesystem]\nprotect = [\"\"]\n", `3:1: filesystem.protect entry "" must be relative to each rw directory`, ""},
		{"env.pass", "version = 1\n[env]\npass = [\"A-B\"]\n", `3:1: env.pass entry "A-B" is not an environment variable name or glob`, `"*"`},
		{"env.pass digit", "version = 1\n[env]\npass = [\"1A\"]\n", `3:1: env.pass entry "1A" is not an environment variable name or glob`, ""},
		{"env.pass empty", "version = 1\n[env]\npass = [\"\"]\n", `3:1: env.pass entry "" is not an environment variable name or glob`, ""},
		{"env.set name", "version = 1\n[env]\nset = { \"1X\" = \"a\" }\n", `3:9: env.set name "1X" is not a valid environment variable name`, "not starting with a digit"},
		{"env.set name dash", "version = 1\n[env.set]\nA-B = \"a\"\n", `3:1: env.set name "A-B" is not a valid environment variable name`, ""},
		{"env.set var", "version = 1\n[env.set]\nA = \"${NOPE}\"\n", `3:1: unknown variable ${NOPE} in "${NOPE}"`, ""},
		{"allow", "version = 1\n[network]\nallow = [\"a*.x.com\"]\n", `3:1: network.allow entry "a*.x.com": "a*": a * must be a whole label, as in *.example.com`, `"*.example.com"`},
		{"allow star", "version = 1\n[network]\nallow = [\"*\"]\n", `3:1: network.allow entry "*": a pattern needs at least one label that is not *`, ""},
		{"deny url", "version = 1\n[network]\ndeny = [\"https://x.com\"]\n", `3:1: network.deny entry "https://x.com": port "//x.com" is not a number`, ""},
		{"allow port", "version = 1\n[network]\nallow = [\"x.com:0\"]\n", `3:1: network.allow entry "x.com:0": port 0 is out of range 1-65535`, ""},
		{"allow_private", "version = 1\n[network]\nallow_private = [\"10.0.0.0/8\", \"lan\"]\n", `3:1: network.allow_private entry "lan" is not an IP address or CIDR`, "10.0.0.0/8"},
		{"allow_private mask", "version = 1\n[network]\nallow_private = [\"10.0.0.0/33\"]\n", `3:1: network.allow_private entry "10.0.0.0/33" is not an IP address or CIDR`, ""},

		// Credentials.
		{"cred type", "version = 1\n[[credential]]\ntype = \"oauth\"\nhosts = [\"x.com\"]\n", `3:1: credential.type = "oauth" is not valid`, `"anthropic", "aws", "bearer" or "header"`},
		{"cred no type", "version = 1\n[[credential]]\nhosts = [\"x.com\"]\n", `2:1: [[credential]] needs a type`, `add type =`},
		{"cred no hosts", "version = 1\n[[credential]]\ntype = \"anthropic\"\n", `2:1: [[credential]] of type "anthropic" needs hosts`, `hosts = [`},
		{"cred empty hosts", "version = 1\n[[credential]]\ntype = \"anthropic\"\nhosts = []\n", `2:1: [[credential]] of type "anthropic" needs hosts`, ""},
		{"cred bad host", "version = 1\n[[credential]]\ntype = \"anthropic\"\nhosts = [\"api..x.com\"]\n", `4:1: credential.hosts entry "api..x.com": empty label (two dots in a row?)`, ""},
		{"cred from", "version = 1\n[[credential]]\ntype = \"bearer\"\nhosts = [\"x.com\"]\nfrom = \"GITHUB_TOKEN\"\n", `5:1: credential.from = "GITHUB_TOKEN" is not valid`, `"env:NAME"`},
		{"cred from env", "version = 1\n[[credential]]\ntype = \"bearer\"\nhosts = [\"x.com\"]\nfrom = \"env:GH-TOKEN\"\n", `5:1: credential.from = "env:GH-TOKEN": "GH-TOKEN" is not a valid environment variable name`, ""},
		{"cred from file", "version = 1\n[[credential]]\ntype = \"bearer\"\nhosts = [\"x.com\"]\nfrom = \"file:token\"\n", `5:1: credential.from = "file:token" must name an absolute path`, `"file:~/`},
		{"cred from file var", "version = 1\n[[credential]]\ntype = \"bearer\"\nhosts = [\"x.com\"]\nfrom = \"file:${CONF}/t\"\n", `5:1: unknown variable ${CONF} in "${CONF}/t"`, ""},
		{"cred claude bearer", "version = 1\n[[credential]]\ntype = \"bearer\"\nhosts = [\"x.com\"]\nfrom = \"claude\"\n", `5:1: credential.from = "claude" only works with type = "anthropic"`, ""},
		{"cred bearer no from", "version = 1\n[[credential]]\ntype = \"bearer\"\nhosts = [\"x.com\"]\n", `2:1: [[credential]] of type "bearer" needs from`, `from = "env:NAME"`},
		{"cred bearer service", "version = 1\n[[credential]]\ntype = \"bearer\"\nhosts = [\"x.com\"]\nfrom = \"env:T\"\nservice = \"s3\"\n", `6:1: credential.service does not apply to type = "bearer"`, "remove it"},
		{"cred anthropic region", "version = 1\n[[credential]]\ntype = \"anthropic\"\nhosts = [\"x.com\"]\nregion = \"us-east-1\"\n", `5:1: credential.region does not apply to type = "anthropic"`, ""},
		{"cred anthropic header", "version = 1\n[[credential]]\ntype = \"anthropic\"\nhosts = [\"x.com\"]\nheader = \"X-Key\"\n", `5:1: credential.header does not apply to type = "anthropic"`, ""},
		{"cred aws from", "version = 1\n[[credential]]\ntype = \"aws\"\nhosts = [\"x.com\"]\nservice = \"bedrock\"\nfrom = \"env:A\"\n", `6:1: credential.from does not apply to type = "aws"`, `profile = "NAME"`},
		{"cred aws no service", "version = 1\n[[credential]]\ntype = \"aws\"\nhosts = [\"x.com\"]\n", `2:1: [[credential]] of type "aws" needs a service`, `service = "bedrock"`},
		{"cred aws region", "version = 1\n[[credential]]\ntype = \"aws\"\nhosts = [\"x.com\"]\nservice = \"bedrock\"\nregion = \"US East\"\n", `6:1: credential.region = "US East" is not valid`, ""},
		{"cred aws profile empty", "version = 1\n[[credential]]\ntype = \"aws\"\nhosts = [\"x.com\"]\nservice = \"bedrock\"\nprofile = \"\"\n", `6:1: credential.profile must not be empty`, ""},
		{"cred header no header", "version = 1\n[[credential]]\ntype = \"header\"\nhosts = [\"x.com\"]\nfrom = \"env:K\"\n", `2:1: [[credential]] of type "header" needs a header`, `header = "X-Api-Key"`},
		{"cred header no from", "version = 1\n[[credential]]\ntype = \"header\"\nhosts = [\"x.com\"]\nheader = \"X-Key\"\n", `2:1: [[credential]] of type "header" needs from`, ""},
		{"cred header token", "version = 1\n[[credential]]\ntype = \"header\"\nhosts = [\"x.com\"]\nfrom = \"env:K\"\nheader = \"X Key:\"\n", `6:1: credential.header = "X Key:" is not a valid HTTP header name`, ""},
		{"cred second", "version = 1\n[[credential]]\ntype = \"anthropic\"\nhosts = [\"x.com\"]\n\n[[credential]]\ntype = \"bearer\"\nhosts = [\"y.com\"]\n", `6:1: [[credential]] of type "bearer" needs from`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, file, err := loadText(t, tt.text)
			wantError(t, err, file, tt.msg, tt.hint)
		})
	}
}

func TestDecodeValid(t *testing.T) {
	p, _, err := loadText(t, `#:schema ./schema/profile.schema.json
version = 1
description = ""
name = "my-box_1.0"
command = ["bash", "-c", "echo $$HOME $1"]

[home]
dir = "~/sandbox"
ro = ["~/.claude/CLAUDE.md", "${HOME}/.config/x"]
copy = ["~/.gitconfig"]

[filesystem]
host = "rw"
hide = []
rw = ["${PROJECT}", "/srv/a:b", "~", "/data/${NAME}/${UID}"]
ro = ["${XDG_DATA_HOME}/fonts", "${PWD}"]
tmpfs = []
protect = [".git/hooks", ".jj/repo/store", "a/./b"]
map_path = false
map_vcs = false

[env]
pass = ["LC_*", "?ERM", "*", "_X1"]
set = { EDITOR = "vi", GREETING = "cost: 5$", Z_PATH = "${HOME}/bin" }

[network]
mode = "none"
allow = ["api.x.com", "*.x.com", "a.*.x.com:8443", "10.0.0.1", "[::1]:8080"]
deny = ["evil.x.com"]
allow_private = ["10.0.0.0/8", "192.168.1.10", "fd00::/8", "::1"]
approve = false

[[credential]]
type = "anthropic"
hosts = ["api.anthropic.com"]

[[credential]]
type = "anthropic"
hosts = ["api.anthropic.com"]
from = "file:${XDG_CONFIG_HOME}/anthropic/key"

[[credential]]
type = "aws"
hosts = ["bedrock-runtime.*.amazonaws.com"]
service = "bedrock"
profile = "work sso"
region = "eu-west-1"

[[credential]]
type = "bearer"
hosts = ["api.github.com", "uploads.github.com:443"]
from = "env:GITHUB_TOKEN"

[[credential]]
type = "header"
hosts = ["api.x.com"]
from = "file:~/.x-key"
header = "X-Api-Key"
`)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(vals(p.Filesystem.RW), " "); got != "${PROJECT} /srv/a:b ~ /data/${NAME}/${UID}" {
		t.Errorf("filesystem.rw = %q", got)
	}
	if p.Filesystem.Hide != nil && len(p.Filesystem.Hide) != 0 || !p.Filesystem.HideSet || !p.Filesystem.TmpfsSet || !p.Filesystem.ProtectSet {
		t.Errorf("filesystem = %+v", p.Filesystem)
	}
	if p.Filesystem.MapPath.V || !p.Filesystem.MapPath.Set || p.Filesystem.Host.V != "rw" {
		t.Errorf("filesystem = %+v", p.Filesystem)
	}
	if len(p.Env.Set) != 3 || p.Env.Set[1].Name != "GREETING" || p.Env.Set[1].Value.V != "cost: 5$" {
		t.Errorf("env.set = %+v", p.Env.Set)
	}
	if len(p.Credentials) != 5 || p.Credentials[2].Profile.V != "work sso" || p.Credentials[4].Header.V != "X-Api-Key" {
		t.Errorf("credentials = %+v", p.Credentials)
	}
	if p.Description.Pos.Line != 3 || p.Description.V != "" {
		t.Errorf("description = %+v", p.Description)
	}
}

func TestTooBig(t *testing.T) {
	text := "version = 1\n" + strings.Repeat("# padding\n", 13200)
	_, file, err := loadText(t, text)
	wantError(t, err, file, " profile is larger than 128 KiB", "right file")
	if _, _, err := loadText(t, text[:128<<10]); err != nil {
		t.Errorf("128 KiB: %v", err)
	}
}

func TestBOM(t *testing.T) {
	p, file, err := loadText(t, "\uFEFFversion = 1\nname = \"x\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name.Pos.String() != file+":2:1" {
		t.Errorf("name at %v", p.Name.Pos)
	}
}

// lineOf returns "builtin/FILE:N:1" for the first line of the built-in
// profile FILE that starts with prefix.
func lineOf(t *testing.T, file, prefix string) string {
	t.Helper()
	b, err := fs.ReadFile(profiles.FS, file)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, prefix) {
			return fmt.Sprintf("builtin/%s:%d:1", file, i+1)
		}
	}
	t.Fatalf("%s has no line starting with %q", file, prefix)
	return ""
}
