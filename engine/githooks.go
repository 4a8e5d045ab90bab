package engine

import (
	"errors"
	"fmt"
	"io/fs"
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
