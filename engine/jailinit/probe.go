package jailinit

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// probeMain runs in the namespaces Check creates: it tries the mounts a jail
// needs and exits 0 when they work.
func probeMain() int {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fmt.Fprintln(os.Stderr, "make mounts private:", err)
		return 1
	}
	if err := unix.Mount("tmpfs", "/tmp", "tmpfs", 0, ""); err != nil {
		fmt.Fprintln(os.Stderr, "mount tmpfs:", err)
		return 1
	}
	tree, err := unix.OpenTree(unix.AT_FDCWD, "/", unix.OPEN_TREE_CLONE|unix.AT_RECURSIVE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open_tree:", err)
		return 1
	}
	if err := setReadOnly(tree, true); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := unix.Mount("proc", "/proc", "proc", 0, ""); err != nil {
		fmt.Fprintln(os.Stderr, "mount proc:", err)
		return 1
	}
	return 0
}
