package gitfile

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// gitlinks finds the embedded repositories git itself records, in every
// index version git writes.
func TestGitlinks(t *testing.T) {
	dir := t.TempDir()
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.email=t@t", "-c", "user.name=t", "-c", "advice.addEmbeddedRepo=false"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	git(dir, "init", "-q")
	for _, sub := range []string{"a/nested", "a/nested2", "z"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
		git(filepath.Join(dir, sub), "init", "-q")
		git(filepath.Join(dir, sub), "commit", "-q", "--allow-empty", "-m", "x")
	}
	// Files around them, with a long shared prefix (v4 compresses it).
	for _, f := range []string{"a/file", "a/nested-not", "b/c/d/e/f/g/long-name-for-the-prefix", "b/c/d/e/f/g/long-name-for-the-prefix2"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644)
	}
	git(dir, "add", ".")
	for _, v := range []string{"2", "3", "4"} {
		git(dir, "update-index", "--index-version", v)
		if v == "3" {
			git(dir, "update-index", "--skip-worktree", "a/file") // an extended flag
		}
		got, err := Gitlinks(filepath.Join(dir, ".git", "index"), 20)
		if err != nil {
			t.Fatalf("version %s: %v", v, err)
		}
		if want := []string{"a/nested", "a/nested2", "z"}; !slices.Equal(got, want) {
			t.Errorf("version %s: got %q, want %q", v, got, want)
		}
	}
}

// A broken index is an error, not a panic.
func FuzzGitlinks(f *testing.F) {
	f.Add([]byte("DIRC\x00\x00\x00\x02\x00\x00\x00\x01"))
	f.Add([]byte("DIRC\x00\x00\x00\x04\x00\x00\x00\x02" + string(make([]byte, 62)) + "\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		Parse(b, 20)
		Parse(b, 32)
	})
}
