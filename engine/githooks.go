package engine

import (
	"path/filepath"
	"strings"

	"github.com/runjail/runjail/engine/gitfile"
	"github.com/runjail/runjail/schema"
)

// protectHooksDir keeps the directory core.hooksPath names read-only when
// the jail could write it (a rw directory holds it), created empty first
// when missing, like .git/hooks. g is the project's repository.
func (c *compiler) protectHooksDir(g *GitCheck, rw []Mount, e schema.Str) error {
	if g == nil || g.Absent {
		return nil
	}
	dir := gitfile.HooksDir(c.h.Home, c.h.ConfigHome, c.project, g.GitDir, g.CommonDir)
	if dir == "" || dir == filepath.Join(g.CommonDir, "hooks") {
		return nil // git's own, protected already
	}
	for _, m := range rw {
		if Within(dir, m.Src) {
			return c.protectPath(dir, filepath.Join(m.Dst, strings.TrimPrefix(dir, m.Src)), missingDir, e.Pos, "core.hooksPath")
		}
	}
	return nil
}
