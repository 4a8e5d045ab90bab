package engine

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/runjail/runjail/engine/gitfile"
	"github.com/runjail/runjail/schema"
)

// protectHooksDir keeps the directory core.hooksPath names read-only when
// the jail could write it (a rw directory holds it), created empty first
// when missing, like .git/hooks. top is the project's .git.
func (c *compiler) protectHooksDir(top string, rw []Mount, e schema.Str) error {
	gitDir := top
	if fi, err := os.Lstat(top); err != nil {
		return nil
	} else if !fi.IsDir() {
		var ok bool
		if gitDir, ok = gitfile.Pointer(top); !ok {
			return nil
		}
	}
	commonDir := gitfile.CommonDir(gitDir)
	dir := gitfile.HooksDir(c.h.Home, c.h.ConfigHome, c.project, gitDir, commonDir)
	if dir == "" || dir == filepath.Join(commonDir, "hooks") {
		return nil // git's own, protected already
	}
	for _, m := range rw {
		if Within(dir, m.Src) {
			return c.protectPath(dir, filepath.Join(m.Dst, strings.TrimPrefix(dir, m.Src)), missingDir, e.Pos, "core.hooksPath")
		}
	}
	return nil
}
