package gitfile

import (
	"path/filepath"
	"strings"

	"github.com/runjail/runjail/internal/untrusted"
)

// maxFile bounds a .git file, a commondir or a config: 1 MiB.
const maxFile = 1 << 20

// ConfigValue returns the last value of section.key (no subsection) in
// the git config text b; names compare without case. includes are not
// followed.
func ConfigValue(b, section, key string) (string, bool) {
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

// Pointer returns the git directory a .git file at path points to
// ("gitdir: DIR", relative to the file's directory); ok is false when path
// is not such a file.
func Pointer(path string) (dir string, ok bool) {
	b, err := untrusted.ReadFile(path, maxFile)
	d, found := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:")
	if err != nil || !found {
		return "", false
	}
	return resolve(filepath.Dir(path), strings.TrimSpace(d)), true
}

// CommonDir returns the repository's git directory for gitDir: where its
// commondir points (a linked worktree's), else gitDir itself.
func CommonDir(gitDir string) string {
	if b, err := untrusted.ReadFile(filepath.Join(gitDir, "commondir"), maxFile); err == nil {
		return resolve(gitDir, strings.TrimSpace(string(b)))
	}
	return gitDir
}

// Config returns the value of section.key in the config file at path.
func Config(path, section, key string) (string, bool) {
	b, err := untrusted.ReadFile(path, maxFile)
	if err != nil {
		return "", false
	}
	return ConfigValue(string(b), section, key)
}

// ObjectIDSize is the size of an object id in the repository of gitDir:
// 32 bytes for SHA-256, else 20.
func ObjectIDSize(gitDir string) int {
	if v, _ := Config(filepath.Join(CommonDir(gitDir), "config"), "extensions", "objectformat"); strings.EqualFold(v, "sha256") {
		return 32
	}
	return 20
}

func resolve(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// HooksDir is where git on the host runs the project's hooks from when a
// config sets core.hooksPath (husky sets .husky/_, in the work tree): the
// system, global, repository and worktree configs in git's order, the last
// one winning; "" when none does. includes are not followed.
func HooksDir(home, configHome, project, gitDir, commonDir string) string {
	configs := []string{"/etc/gitconfig"}
	if configHome != "" {
		configs = append(configs, filepath.Join(configHome, "git", "config"))
	}
	configs = append(configs, filepath.Join(home, ".gitconfig"),
		filepath.Join(commonDir, "config"), filepath.Join(gitDir, "config.worktree"))
	dir := ""
	for _, f := range configs {
		if v, ok := Config(f, "core", "hookspath"); ok {
			dir = v
		}
	}
	switch {
	case dir == "":
		return ""
	case dir == "~" || strings.HasPrefix(dir, "~/"):
		dir = filepath.Join(home, dir[1:])
	case !filepath.IsAbs(dir):
		dir = filepath.Join(project, dir) // hooks run at the top of the work tree
	}
	return filepath.Clean(dir)
}
