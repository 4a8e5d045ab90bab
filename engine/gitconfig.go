package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/runjail/runjail/internal/untrusted"
	"github.com/runjail/runjail/schema"
)

// hooksDir is where git on the host runs the project's hooks from when a
// config sets core.hooksPath (husky sets .husky/_, in the work tree): the
// system, global, repository and worktree configs in git's order, the last
// one winning; "" when none does. includes are not followed.
func hooksDir(h Host, project, gitDir, commonDir string) string {
	configs := []string{"/etc/gitconfig"}
	if h.ConfigHome != "" {
		configs = append(configs, filepath.Join(h.ConfigHome, "git", "config"))
	}
	configs = append(configs, filepath.Join(h.Home, ".gitconfig"),
		filepath.Join(commonDir, "config"), filepath.Join(gitDir, "config.worktree"))
	dir := ""
	for _, f := range configs {
		b, err := untrusted.ReadFile(f, smallFile)
		if err != nil {
			continue
		}
		if v, ok := gitConfigValue(string(b), "core", "hookspath"); ok {
			dir = v
		}
	}
	switch {
	case dir == "":
		return ""
	case dir == "~" || strings.HasPrefix(dir, "~/"):
		dir = filepath.Join(h.Home, dir[1:])
	case !filepath.IsAbs(dir):
		dir = filepath.Join(project, dir) // hooks run at the top of the work tree
	}
	return filepath.Clean(dir)
}

// gitConfigValue returns the last value of section.key (no subsection) in
// the git config text b; names compare without case.
func gitConfigValue(b, section, key string) (string, bool) {
	var in bool
	var val string
	var found bool
	for _, line := range strings.Split(b, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				in = false
				continue
			}
			in = strings.EqualFold(strings.TrimSpace(line[1:end]), section)
			line = strings.TrimSpace(line[end+1:])
		}
		if !in || line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), key) {
			continue
		}
		val, found = configString(strings.TrimSpace(v)), true
	}
	return val, found
}

// configString undoes a git config value's quoting and escapes and drops a
// trailing comment.
func configString(v string) string {
	var b strings.Builder
	quoted := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			quoted = !quoted
		case c == '\\' && i+1 < len(v):
			i++
			switch v[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(v[i])
			}
		case (c == '#' || c == ';') && !quoted:
			return strings.TrimSpace(b.String())
		default:
			b.WriteByte(c)
		}
	}
	return strings.TrimSpace(b.String())
}

// protectHooksDir keeps the directory core.hooksPath names read-only when
// the jail could write it (a rw directory holds it), created empty first
// when missing, like .git/hooks. top is the project's .git.
func (c *compiler) protectHooksDir(top string, rw []Mount, e schema.Str) error {
	gitDir := top
	if fi, err := os.Lstat(top); err != nil {
		return nil
	} else if !fi.IsDir() {
		b, err := untrusted.ReadFile(top, smallFile)
		d, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:")
		if err != nil || !ok {
			return nil
		}
		gitDir = abs(c.project, strings.TrimSpace(d))
	}
	commonDir := gitDir
	if b, err := untrusted.ReadFile(filepath.Join(gitDir, "commondir"), smallFile); err == nil {
		commonDir = abs(gitDir, strings.TrimSpace(string(b)))
	}
	dir := hooksDir(c.h, c.project, gitDir, commonDir)
	if dir == "" || dir == filepath.Join(commonDir, "hooks") {
		return nil // git's own, protected already
	}
	for _, m := range rw {
		if !Within(dir, m.Src) {
			continue
		}
		dst := filepath.Join(m.Dst, strings.TrimPrefix(dir, m.Src))
		fi, err := os.Lstat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if parent, err := os.Lstat(filepath.Dir(dir)); err == nil && parent.IsDir() {
				c.addBind(Mount{Kind: MountBind, Src: dir, Dst: dst, RO: true, Create: true, From: e.Pos.String() + " (core.hooksPath)"})
			}
		case err != nil:
			return &Error{Msg: fmt.Sprintf("%s: protect %s: %v", e.Pos, dir, err)}
		case fi.Mode()&fs.ModeSymlink != 0:
			return &Error{Msg: fmt.Sprintf("%s: refusing to run: %s (core.hooksPath) is a symlink, so it cannot be protected", e.Pos, dir),
				Hint: "a jail may have planted it: look at it, and remove it or replace it with the real directory"}
		case fi.IsDir():
			c.addBind(Mount{Kind: MountBind, Src: dir, Dst: dst, RO: true, From: e.Pos.String() + " (core.hooksPath)"})
		}
		return nil
	}
	return nil
}
