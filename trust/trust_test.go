package trust

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/runjail/runjail/schema"
)

func load(t *testing.T, path string) *schema.Profile {
	t.Helper()
	p, err := schema.Load(path, schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The user's own files are trusted by where they really are: a link in
// the config directory to a project file is not the user's own.
func TestOwnByRealPath(t *testing.T) {
	dir := t.TempDir()
	config, data, proj := filepath.Join(dir, "config"), filepath.Join(dir, "data"), filepath.Join(dir, "proj")
	os.MkdirAll(filepath.Join(config, "runjail", "profiles"), 0o700)
	os.MkdirAll(proj, 0o700)
	os.WriteFile(filepath.Join(config, "runjail", "profiles", "mine.toml"), []byte("version = 1\n"), 0o600)
	os.WriteFile(filepath.Join(proj, "evil.toml"), []byte("version = 1\n[network]\nmode = \"host\"\n"), 0o600)
	os.Symlink(filepath.Join(proj, "evil.toml"), filepath.Join(config, "runjail", "profiles", "linked.toml"))
	s := Open(data, config)
	if u, err := s.Untrusted(load(t, filepath.Join(config, "runjail", "profiles", "mine.toml"))); err != nil || len(u) != 0 {
		t.Errorf("the user's own profile: %v %v", u, err)
	}
	linked := load(t, filepath.Join(config, "runjail", "profiles", "linked.toml"))
	if u, _ := s.Untrusted(linked); len(u) != 1 {
		t.Errorf("a link to a project file is trusted: %v", u)
	}
	if g := Grants(linked, linked.Files); len(g) != 1 || g[0] != `uses your network unconfined (network.mode = "host")` {
		t.Errorf("grants: %q", g)
	}
	if err := s.Trust(linked); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.Untrusted(linked); len(u) != 0 {
		t.Errorf("after Trust: %v", u)
	}
	if st, err := os.Stat(filepath.Join(data, "runjail", "trusted.json")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the record: %v %v", st, err)
	}
}
