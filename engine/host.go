package engine

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/adrg/xdg"
)

// Host is what Compile needs to know about the machine and the caller.
type Host struct {
	UID, GID int
	User     string
	Home     string // $HOME as the user has it
	Cwd      string
	Env      []string // the caller's environment, KEY=VALUE
	PATH     string
	Shell    string // $SHELL, if absolute

	CacheHome, ConfigHome, DataHome string
}

// CurrentHost describes the calling process.
func CurrentHost() (Host, error) {
	h := Host{UID: os.Getuid(), GID: os.Getgid(), Env: os.Environ(), PATH: os.Getenv("PATH")}
	if shell := os.Getenv("SHELL"); filepath.IsAbs(shell) {
		h.Shell = shell
	}
	h.Home = os.Getenv("HOME")
	if u, err := user.LookupId(strconv.Itoa(h.UID)); err == nil {
		h.User = u.Username
		if h.Home == "" {
			h.Home = u.HomeDir
		}
	}
	if h.User == "" {
		h.User = os.Getenv("USER")
	}
	if h.Home == "" || !filepath.IsAbs(h.Home) {
		return h, fmt.Errorf("cannot tell your home directory: set HOME to an absolute path")
	}
	h.Home = filepath.Clean(h.Home)
	cwd, err := os.Getwd()
	if err != nil {
		return h, fmt.Errorf("cannot read the working directory: %v", err)
	}
	h.Cwd = cwd
	h.CacheHome, h.ConfigHome, h.DataHome = xdg.CacheHome, xdg.ConfigHome, xdg.DataHome
	return h, nil
}

// ProfileDir is where the user's own profiles live.
func (h Host) ProfileDir() string {
	return filepath.Join(h.ConfigHome, "runjail", "profiles")
}

// ProjectRoot returns the root of the git or jj checkout containing dir, or
// dir.
func ProjectRoot(dir string) string {
	for d := dir; ; {
		for _, marker := range []string{".git", ".jj"} {
			if _, err := os.Lstat(filepath.Join(d, marker)); err == nil {
				return d
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return dir
		}
		d = parent
	}
}
