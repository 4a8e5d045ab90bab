// Package jailinit is the init, pid 1, of runjail's jails: started by the
// host (package engine/jail) in the jail's new namespaces, it receives the
// plan over a socket, builds the jail's filesystem top to bottom, drops
// every privilege, runs the command and stays as its init until it exits.
//
// It runs as runjail-init, a binary of its own, because it depends on little
// and so starts fast; runjail runs itself as init when runjail-init is
// missing.
package jailinit

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Env is set in the environment of a process started as the jail's init:
// "1" for a jail, "probe" for the probe of runjail --check.
const Env = "_RUNJAIL_INIT"

// IDsEnv holds the caller's "UID:GID", which init maps to themselves in
// the jail's user namespace, and nothing else.
const IDsEnv = "_RUNJAIL_IDS"

// Is reports whether this process was started as the jail's init.
func Is() bool { return os.Getenv(Env) != "" }

// Error is a failure to set up the jail, with a hint at what to do.
type Error struct {
	Msg, Hint string
}

func (e *Error) Error() string { return e.Msg }

// Main is the jail's pid 1. It builds the filesystem the plan describes,
// drops every privilege, starts the command and stays as its init: it
// forwards signals, reaps orphans and exits with the command's status.
func Main() int {
	if err := mapIDs(); err != nil {
		fmt.Fprintln(os.Stderr, "runjail: error: mapping the jail's uid and gid:", err)
		return 125
	}
	if os.Getenv(Env) == "probe" {
		return probeMain()
	}
	if name, err := unix.BytePtrFromString("runjail-init"); err == nil {
		unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(name)), 0, 0, 0)
	}
	runtime.LockOSThread() // privileges are dropped on this thread; children fork from it
	const sock = 3
	// The command inherits stdin, stdout and stderr, nothing else: not the
	// socket to the host, not whatever the caller's shell leaked to runjail.
	if err := unix.CloseRange(sock, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		fmt.Fprintln(os.Stderr, "runjail: error: close_range:", err)
		return 125
	}
	m, _, ok, err := Recv(sock)
	if err != nil || !ok || m.Op != OpStart || m.Plan == nil {
		fmt.Fprintln(os.Stderr, "runjail: error: this is runjail's jail init; run runjail instead")
		return 125
	}
	if m.Build != "" && Build() != "" && m.Build != Build() {
		Send(sock, Message{Op: OpFail, Code: 125, Msg: "runjail-init is from another build of runjail than runjail itself",
			Hint: "install both again: make install"})
		return 125
	}
	j := &jail{plan: m.Plan, tty: m.TTY, sock: sock}
	if err := j.setup(); err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Msg: "setting up the jail: " + err.Error()}
		}
		Send(sock, Message{Op: OpFail, Code: 125, Msg: e.Msg, Hint: e.Hint})
		return 125
	}
	code := j.run()
	// Nothing in the jail outlives the command: kill what it left behind
	// and wait until every process is gone (as the kernel would once init
	// exits). Then the host takes the status from here rather than wait
	// for the kernel to tear down the rest (mounts, namespaces, memory).
	unix.Kill(-1, unix.SIGKILL)
	for {
		if _, err := unix.Wait4(-1, nil, 0, nil); err != nil && err != unix.EINTR {
			break // ECHILD: no process is left
		}
	}
	if j.slave != nil {
		j.slave.Close()
	}
	Send(sock, Message{Op: OpExit, Code: code})
	return code
}

// mapIDs maps the caller's uid and gid (IDsEnv) to themselves in init's
// user namespace. init does it itself, which a process may do for its own
// ids: then the host starts init without the handshake in which the child
// waits for its parent to write the maps (0.7 ms of every start).
func mapIDs() error {
	uid, gid, _ := strings.Cut(os.Getenv(IDsEnv), ":")
	for _, w := range []struct{ file, data string }{
		{"/proc/self/uid_map", uid + " " + uid + " 1\n"},
		// Unprivileged, a gid map may only be written once setgroups is
		// denied for good; the jail keeps the caller's groups as they are.
		{"/proc/self/setgroups", "deny"},
		{"/proc/self/gid_map", gid + " " + gid + " 1\n"},
	} {
		fd, err := unix.Open(w.file, unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		_, err = unix.Write(fd, []byte(w.data))
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("%s: %v", w.file, err)
		}
	}
	return nil
}

type jail struct {
	plan *Plan
	tty  *TTY
	sock int

	newroot int      // fd of /newroot while building
	seal    []string // mounts made read-only once everything is on top
	files   int      // files made by mountFile
	slave   *os.File // the jail's pty, when the caller has a terminal
}

func (j *jail) warn(format string, a ...any) {
	Send(j.sock, Message{Op: OpWarn, Msg: fmt.Sprintf(format, a...)})
}

// setup is the jail, top to bottom. Each step runs with the capabilities init
// holds in its own user namespace, none of which reach the host.
func (j *jail) setup() error {
	steps := []struct {
		name string
		fn   func() error
	}{
		// Nothing we mount may propagate back to the host.
		{"make mounts private", func() error { return unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "") }},
		// Work in a scratch root with the host's root at /oldroot, so binds
		// copy the host's tree and never our own scratch mounts.
		{"enter scratch root", j.enterScratch},
		{"build the root", j.mountAll},
		{"seal read-only mounts", j.sealMounts},
		{"set hostname", func() error { return unix.Sethostname([]byte(j.plan.Hostname)) }},
		// The caller's session keyring (and any key in it) stays outside.
		{"new session keyring", newSessionKeyring},
		{"bring up loopback", j.loopbackUp},
		// The host serves these; the jail reaches nothing else.
		{"open the services' sockets", j.listen},
		// Make /newroot the root and let go of the host's tree entirely.
		{"pivot into the jail", j.pivot},
		// Refuse to run if the real home is reachable after all.
		{"verify the home is hidden", j.verifyHidden},
		{"open the terminal", j.openPTY},
		{"enter the working directory", j.chdir},
		// From here on init holds no privilege at all, not even in its
		// namespace; the command inherits nothing.
		{"drop privileges", dropPrivileges},
		// In the host's network namespace the jail would reach the
		// host's abstract unix sockets: X11's (keystrokes, the screen),
		// some D-Bus buses.
		{"scope abstract sockets", j.scopeAbstractSockets},
	}
	for _, s := range steps {
		if err := s.fn(); err != nil {
			var e *Error
			if errors.As(err, &e) {
				return err
			}
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

func (j *jail) enterScratch() error {
	if err := unix.Mount("tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0700"); err != nil {
		return fmt.Errorf("tmpfs on /tmp: %v", err)
	}
	for _, d := range []string{"/tmp/newroot", "/tmp/oldroot"} {
		if err := unix.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	if err := unix.PivotRoot("/tmp", "/tmp/oldroot"); err != nil {
		return fmt.Errorf("pivot_root: %v", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	// The new root is a mount of its own, so it can be moved and pivoted to.
	if err := unix.Mount("/newroot", "/newroot", "", unix.MS_BIND, ""); err != nil {
		return err
	}
	fd, err := unix.Open("/newroot", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	j.newroot = fd
	return err
}

func (j *jail) mountAll() error {
	for _, m := range j.plan.Mounts {
		var err error
		switch m.Kind {
		case MountRoot:
			err = j.mountRoot(m)
		case MountDev:
			err = j.mountDev(m)
		case MountProc:
			err = j.mountFS(m.Dst, "proc", unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC, "")
		case MountTmpfs:
			mode := "0755"
			if m.Dst == "/tmp" || m.Dst == "/var/tmp" || m.Dst == "/dev/shm" {
				mode = "1777"
			}
			err = j.mountFS(m.Dst, "tmpfs", unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV, "mode="+mode)
		case MountHide:
			if m.File {
				err = j.hideFile(m.Dst)
				break
			}
			err = j.mountFS(m.Dst, "tmpfs", unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV, "mode=0755")
			j.seal = append(j.seal, m.Dst)
		case MountBind:
			err = j.bind(m.Src, m.Dst, m.RO, m.File)
		case MountFile:
			err = j.mountFile(m.Dst, m.Src, m.Content)
		default:
			err = fmt.Errorf("unknown mount kind %q", m.Kind)
		}
		var e *Error
		if errors.As(err, &e) {
			return &Error{Msg: fmt.Sprintf("%s (%s)", e.Msg, m.From), Hint: e.Hint}
		}
		if err != nil {
			return &Error{Msg: fmt.Sprintf("cannot mount %s %s (%s): %v", m.Kind, m.Dst, m.From, err),
				Hint: "run runjail --explain to see the plan; runjail --check to check this host"}
		}
	}
	return nil
}

// mountRoot puts the host's whole mount tree at the new root, read-only
// down to every submount when asked.
func (j *jail) mountRoot(m Mount) error {
	tree, err := unix.OpenTree(unix.AT_FDCWD, "/oldroot", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("open_tree: %v", err)
	}
	defer unix.Close(tree)
	if m.RO {
		if err := setReadOnly(tree, true); err != nil {
			return err
		}
	}
	if err := unix.MoveMount(tree, "", j.newroot, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return err
	}
	// The fd still names the directory below the new mount; look again.
	fd, err := unix.Open("/newroot", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	unix.Close(j.newroot)
	j.newroot = fd
	return nil
}

// bind mounts the host path src (recursively) at dst in the jail. The source
// is opened from the host's root refusing symlinks (the plan holds real
// paths, so a symlink means the path changed since it was made), the
// destination inside the new root refusing symlinks (the jail may have
// planted them in its home or project).
func (j *jail) bind(src, dst string, ro, file bool) error {
	srcFd, err := unix.Openat2(unix.AT_FDCWD, "/oldroot"+src, &unix.OpenHow{
		Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_SYMLINKS})
	if err != nil {
		return fmt.Errorf("source %s: %v", src, err)
	}
	defer unix.Close(srcFd)
	tree, err := unix.OpenTree(srcFd, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|unix.AT_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("open_tree %s: %v", src, err)
	}
	defer unix.Close(tree)
	if ro {
		if err := setReadOnly(tree, true); err != nil {
			return err
		}
	}
	return j.attach(tree, dst, file)
}

// attach moves the detached mount tree to dst in the new root.
func (j *jail) attach(tree int, dst string, file bool) error {
	dstFd, err := j.mountpoint(dst, file)
	if err != nil {
		return err
	}
	defer unix.Close(dstFd)
	return unix.MoveMount(tree, "", dstFd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

// hideFile covers a file (typically a socket) with an empty read-only file.
func (j *jail) hideFile(dst string) error { return j.mountFile(dst, "", "") }

// mountFile puts a read-only file at dst, made in the scratch root: the
// host file src if there is one (16 MiB at most; a newline added if it
// lacks one), then content. The kernel copies src: a CA bundle is a few
// hundred KiB, which cost a millisecond through this process's memory.
func (j *jail) mountFile(dst, src, content string) error {
	j.files++
	name := fmt.Sprintf("/file%d", j.files)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return err
	}
	if src != "" {
		err = copyHostFile(f, src)
	}
	if err == nil {
		_, err = f.WriteString(content)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	tree, err := unix.OpenTree(unix.AT_FDCWD, name, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return fmt.Errorf("open_tree %s: %v", name, err)
	}
	defer unix.Close(tree)
	if err := setReadOnly(tree, false); err != nil {
		return err
	}
	return j.attach(tree, dst, true)
}

// copyHostFile appends the host file path (from the old root, refusing
// symlinks: the plan holds real paths) to f, ending in a newline.
func copyHostFile(f *os.File, path string) error {
	fd, err := unix.Openat2(unix.AT_FDCWD, "/oldroot"+path, &unix.OpenHow{
		Flags: unix.O_RDONLY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_SYMLINKS})
	if err != nil {
		return err
	}
	in := os.NewFile(uintptr(fd), path)
	defer in.Close()
	n, err := io.Copy(f, io.LimitReader(in, 16<<20))
	if err != nil || n == 0 {
		return err
	}
	last := make([]byte, 1)
	if _, err := in.ReadAt(last, n-1); err != nil {
		return err
	}
	if last[0] != '\n' {
		_, err = f.WriteString("\n")
	}
	return err
}

// mountFS mounts a fresh filesystem of type fstype at dst, with the
// MOUNT_ATTR_* flags attr and comma-separated options.
func (j *jail) mountFS(dst, fstype string, attr int, options string) error {
	fsfd, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fsopen %s: %v", fstype, err)
	}
	defer unix.Close(fsfd)
	for _, opt := range strings.Split(options, ",") {
		if opt == "" {
			continue
		}
		if k, v, ok := strings.Cut(opt, "="); ok {
			err = unix.FsconfigSetString(fsfd, k, v)
		} else {
			err = unix.FsconfigSetFlag(fsfd, k)
		}
		if err != nil {
			return fmt.Errorf("%s option %s: %v", fstype, opt, err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fmt.Errorf("create %s: %v", fstype, err)
	}
	mnt, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attr)
	if err != nil {
		return fmt.Errorf("fsmount %s: %v", fstype, err)
	}
	defer unix.Close(mnt)
	return j.attach(mnt, dst, false)
}

// mountpoint opens dst below the new root, creating missing directories (or
// the final file) without following symlinks.
func (j *jail) mountpoint(dst string, file bool) (int, error) {
	noSymlinks := func(dir int, path string, resolve uint64) (int, error) {
		return unix.Openat2(dir, path, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: resolve | unix.RESOLVE_NO_SYMLINKS})
	}
	fd, err := noSymlinks(j.newroot, dst, unix.RESOLVE_IN_ROOT)
	if !errors.Is(err, unix.ENOENT) {
		if err != nil {
			return -1, fmt.Errorf("mount point %s: %v", dst, err)
		}
		return fd, nil
	}
	dir := j.newroot
	defer func() {
		if dir != j.newroot {
			unix.Close(dir)
		}
	}()
	parts := strings.Split(strings.Trim(dst, "/"), "/")
	for i, part := range parts {
		next, err := noSymlinks(dir, part, unix.RESOLVE_BENEATH)
		if errors.Is(err, unix.ENOENT) {
			if err := create(dir, part, file && i == len(parts)-1); err != nil {
				if errors.Is(err, unix.EROFS) {
					return -1, &Error{Msg: fmt.Sprintf("cannot create mount point %s: the host is read-only there", dst),
						Hint: "bind to a destination that exists on the host, or one under /tmp, /mnt or your home"}
				}
				return -1, fmt.Errorf("cannot create mount point %s: %v", dst, err)
			}
			next, err = noSymlinks(dir, part, unix.RESOLVE_BENEATH)
		}
		if err != nil {
			return -1, fmt.Errorf("mount point %s: %v", dst, err)
		}
		if dir != j.newroot {
			unix.Close(dir)
		}
		dir = next
	}
	fd, dir = dir, j.newroot // handed to the caller, not closed
	return fd, nil
}

// create makes an empty directory, or file, name in dir; one that appeared
// meanwhile is fine.
func create(dir int, name string, file bool) error {
	var err error
	if file {
		var fd int
		if fd, err = unix.Openat(dir, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644); err == nil {
			unix.Close(fd)
		}
	} else {
		err = unix.Mkdirat(dir, name, 0o755)
	}
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}

// mountDev builds a minimal /dev: a tmpfs with the harmless character
// devices bound from the host, the usual symlinks and a fresh devpts whose
// ptys belong to the jail alone.
func (j *jail) mountDev(m Mount) error {
	if err := j.mountFS(m.Dst, "tmpfs", unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC, "mode=0755"); err != nil {
		return err
	}
	for _, name := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		if err := j.bind("/dev/"+name, "/dev/"+name, false, true); err != nil {
			return err
		}
	}
	dev := fmt.Sprintf("/newroot%s", m.Dst)
	for link, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx", "core": "/proc/kcore"} {
		if err := unix.Symlink(target, dev+"/"+link); err != nil {
			return fmt.Errorf("symlink %s/%s: %v", dev, link, err)
		}
	}
	for _, d := range []string{"pts", "shm", "mqueue"} {
		if err := unix.Mkdir(dev+"/"+d, 0o755); err != nil {
			return fmt.Errorf("mkdir %s/%s: %v", dev, d, err)
		}
	}
	if err := j.mountFS(m.Dst+"/pts", "devpts", unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC, "newinstance,ptmxmode=0666,mode=620"); err != nil {
		return fmt.Errorf("devpts: %v", err)
	}
	j.seal = append(j.seal, m.Dst)
	return nil
}

// sealMounts makes the hide and /dev tmpfs read-only now that every mount
// point inside them exists.
func (j *jail) sealMounts() error {
	for _, dst := range j.seal {
		fd, err := unix.Openat2(j.newroot, dst, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS})
		if err != nil {
			return err
		}
		err = setReadOnly(fd, false)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("%s: %v", dst, err)
		}
	}
	return nil
}

func setReadOnly(fd int, recursive bool) error {
	flags := uint(unix.AT_EMPTY_PATH)
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	if err := unix.MountSetattr(fd, "", flags, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
		return fmt.Errorf("mount_setattr read-only: %v", err)
	}
	return nil
}

// listen opens the plan's sockets on the jail's loopback and hands them to
// the host, which serves them (the proxy, DNS).
func (j *jail) listen() error {
	if len(j.plan.Listen) == 0 {
		return nil
	}
	var fds []int
	for _, l := range j.plan.Listen {
		fd, err := openSocket(l)
		if err != nil {
			return fmt.Errorf("listen %s %s: %v", l.Network, l.Addr, err)
		}
		defer unix.Close(fd) // the host holds its own copy once sent
		fds = append(fds, fd)
	}
	return Send(j.sock, Message{Op: OpListen}, fds...)
}

// openSocket listens on l in this network namespace, as package net would
// (SO_REUSEADDR, the largest backlog) without package net.
func openSocket(l Listen) (int, error) {
	ap, err := netip.ParseAddrPort(l.Addr)
	if err != nil {
		return -1, err
	}
	typ := unix.SOCK_STREAM
	if l.Network == "udp" {
		typ = unix.SOCK_DGRAM
	} else if l.Network != "tcp" {
		return -1, fmt.Errorf("unknown network %q", l.Network)
	}
	family := unix.AF_INET
	var sa unix.Sockaddr = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	if !ap.Addr().Is4() {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err == nil {
		if err = unix.Bind(fd, sa); err == nil && typ == unix.SOCK_STREAM {
			err = unix.Listen(fd, unix.SOMAXCONN)
		}
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// newSessionKeyring joins a new anonymous session keyring, which the command
// inherits.
func newSessionKeyring() error {
	// EPERM: inside a jail (ours or Docker's) that denies the keyring
	// syscalls; no key can be reached there either.
	_, _, errno := unix.Syscall(unix.SYS_KEYCTL, unix.KEYCTL_JOIN_SESSION_KEYRING, 0, 0)
	if errno != 0 && errno != unix.ENOSYS && errno != unix.EPERM {
		return errno
	}
	return nil
}

// loopbackUp brings up lo in the jail's own network namespace.
func (j *jail) loopbackUp() error {
	if j.plan.HostNet {
		return nil
	}
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr)
}

func (j *jail) pivot() error {
	unix.Close(j.newroot)
	if err := unix.Chdir("/newroot"); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %v", err)
	}
	// The old root (scratch tmpfs with the host tree below it) is now
	// stacked on /; detach it.
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return err
	}
	return unix.Chdir("/")
}

// verifyHidden checks that no hidden host directory is reachable at its own
// path, below a bind of one of its ancestors, or at any mount point.
func (j *jail) verifyHidden() error {
	paths := []string{j.plan.Home}
	for _, h := range j.plan.Hidden {
		paths = append(paths, h.Path)
		// Where a bind of one of its ancestors would show it.
		for _, m := range j.plan.Mounts {
			if m.Kind == MountBind && within(h.Path, m.Src) {
				paths = append(paths, filepath.Join(m.Dst, strings.TrimPrefix(h.Path, m.Src)))
			}
		}
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 4 {
				paths = append(paths, unescapeMountPath(f[4]))
			}
		}
	}
	for _, p := range paths {
		var st unix.Stat_t
		if unix.Stat(p, &st) != nil {
			continue
		}
		for _, h := range j.plan.Hidden {
			if st.Dev == h.Dev && st.Ino == h.Ino {
				return &Error{Msg: fmt.Sprintf("refusing to run: hidden %s is reachable in the jail at %s", h.Path, p),
					Hint: "a bind in the profile exposes it; run runjail --explain and remove that bind"}
			}
		}
	}
	return nil
}

// within reports whether p is dir or below it (as engine.Within).
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// openPTY gives the jail a terminal of its own when the caller has one, so
// that nothing inside ever holds the caller's terminal (no TIOCSTI into the
// caller's shell) while job control keeps working inside.
func (j *jail) openPTY() error {
	if !j.tty.Any() {
		return nil
	}
	master, err := unix.Open("/dev/pts/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /dev/pts/ptmx: %v", err)
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return err
	}
	// TIOCGPTPEER opens the peer without a path lookup; its argument is
	// the open flags.
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		return fmt.Errorf("open the pty peer: %v", errno)
	}
	slave := int(r)
	j.slave = os.NewFile(uintptr(slave), "pty")
	// init leads the jail's session with the pty as its controlling
	// terminal, and the command runs as a foreground job in it: like a
	// shell's job, it can be stopped with ^Z (a session leader's own
	// process group is orphaned, and the kernel discards ^Z for those).
	if err := unix.IoctlSetInt(slave, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("take the pty as controlling terminal: %v", err)
	}
	if j.tty.Rows > 0 {
		unix.IoctlSetWinsize(master, unix.TIOCSWINSZ, &unix.Winsize{Row: j.tty.Rows, Col: j.tty.Cols})
	}
	return Send(j.sock, Message{Op: OpPTY}, master)
}

func (j *jail) chdir() error {
	if err := unix.Chdir(j.plan.Dir); err != nil {
		j.warn("cannot enter %s in the jail (%v); starting in %s", j.plan.Dir, err, j.plan.Home)
		return unix.Chdir(j.plan.Home)
	}
	return nil
}

// dropPrivileges leaves init, and so the command, without any privilege:
// securebits make uid 0 gain nothing at exec (so a root caller's command has
// no capabilities either) and are locked; no_new_privs stops setuid and file
// capabilities; the ambient set is cleared and every capability set of the
// thread that starts the command emptied; init becomes undumpable so the jail
// cannot ptrace it. (Securebits cost one call; emptying the bounding set costs one
// credential commit per capability.)
func dropPrivileges() error {
	// SECURE_NOROOT, SECURE_NO_SETUID_FIXUP and SECURE_NO_CAP_AMBIENT_RAISE,
	// each with its lock bit, and SECURE_KEEP_CAPS locked off
	// (linux/securebits.h).
	const secureBits = 0b1110_1111
	if err := unix.Prctl(unix.PR_SET_SECUREBITS, secureBits, 0, 0, 0); err != nil {
		return fmt.Errorf("securebits: %v", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %v", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %v", err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("dumpable: %v", err)
	}
	if err := installSeccomp(); err != nil {
		return err
	}
	// On this thread, which forks the command. init's other threads keep
	// their capabilities in the jail's namespaces, but nothing can reach
	// them: init is undumpable, so not ptrace-able. (Emptying every thread
	// with AllThreadsSyscall stops the world: half a millisecond.)
	var none [2]unix.CapUserData
	if err := unix.Capset(&unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}, &none[0]); err != nil {
		return fmt.Errorf("capset: %v", err)
	}
	return nil
}

// scopeAbstractSockets keeps the command from connecting to abstract unix
// sockets made outside the jail (Landlock's scope, ABI 6, Linux 6.12),
// whatever the network namespace; in its own, the jail sees none anyway.
// It applies to this thread, which forks the command. Without it, a jail
// on the host's network is told what it can reach.
func (j *jail) scopeAbstractSockets() error {
	abi, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 || abi < 6 {
		if j.plan.HostNet {
			j.warn("this kernel cannot keep the jail from the host's abstract unix sockets (X11's among them) on the host's network: Landlock ABI 6 (Linux 6.12) is needed")
		}
		return nil
	}
	attr := unix.LandlockRulesetAttr{Scoped: unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET}
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	if errno != 0 {
		return fmt.Errorf("landlock ruleset: %v", errno)
	}
	defer unix.Close(int(fd))
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, fd, 0, 0); errno != 0 {
		return fmt.Errorf("landlock: %v", errno)
	}
	return nil
}

// run starts the command and acts as the jail's init until it exits.
func (j *jail) run() int {
	p := j.plan
	path := ""
	for _, e := range p.Env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	files := []uintptr{0, 1, 2}
	sys := &syscall.SysProcAttr{Setpgid: true}
	if j.slave != nil {
		// For Foreground, Ctty is init's descriptor, not the child's.
		sys.Foreground = true
		sys.Ctty = int(j.slave.Fd())
		for i := range files {
			if j.tty.IsTTY[i] {
				files[i] = j.slave.Fd()
			}
		}
	}

	argv0, err := lookPath(p.Command[0], path)
	if err != nil {
		return j.fail(err)
	}
	// syscall.ForkExec, not os.StartProcess: init waits with wait4 and
	// needs no pidfd, whose first use costs a probe process.
	child, err := syscall.ForkExec(argv0, p.Command, &syscall.ProcAttr{Env: p.Env, Files: files, Sys: sys})
	if err != nil {
		return j.fail(&os.PathError{Op: "fork/exec", Path: argv0, Err: err})
	}

	// The host forwards its signals and answers a stop over the socket, not
	// with kill: it reaches init only once the command runs, and init
	// needs no handler for it.
	msgs := make(chan Message)
	go func() {
		for {
			m, _, ok, err := Recv(j.sock)
			if err != nil || !ok {
				return
			}
			msgs <- m
		}
	}()
	// A process in the jail may signal init too. Those that would end a Go
	// program go to the command instead; the others pid 1 ignores. (A few,
	// SIGSEGV or SIGABRT say, still end init and with it the jail, which the
	// jail could do anyway by exiting.) Asking for signals costs the runtime
	// a round trip each, so it is done while the command already runs.
	sigs := make(chan os.Signal, 8)
	go signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	// init reaps every process in the jail, its orphans included, and
	// learns of the command's stops and exit.
	waits := make(chan unix.WaitStatus)
	go func() {
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WUNTRACED, nil)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return
			}
			if pid == child {
				waits <- ws
			}
		}
	}()

	for {
		select {
		case m := <-msgs:
			switch m.Op {
			case OpSignal:
				unix.Kill(child, syscall.Signal(m.Sig))
			case OpCont:
				if pgid, err := unix.Getpgid(child); err == nil {
					// A background tcsetpgrp raises SIGTTOU unless it is blocked.
					var ttou, old unix.Sigset_t
					ttou.Val[0] = 1 << (uint(unix.SIGTTOU) - 1)
					unix.PthreadSigmask(unix.SIG_BLOCK, &ttou, &old)
					unix.IoctlSetPointerInt(int(j.slave.Fd()), unix.TIOCSPGRP, pgid)
					unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
					unix.Kill(-pgid, unix.SIGCONT)
				}
			}
		case sig := <-sigs:
			unix.Kill(child, sig.(syscall.Signal))
		case ws := <-waits:
			switch {
			case ws.Exited():
				return ws.ExitStatus()
			case ws.Signaled():
				return 128 + int(ws.Signal())
			case ws.Stopped() && j.slave != nil:
				Send(j.sock, Message{Op: OpStopped})
			}
		}
	}
}

// fail reports why the command could not start: 127 when it does not exist,
// 126 when it cannot be executed.
func (j *jail) fail(err error) int {
	code := 126
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, errNotFound) {
		code = 127
	}
	msg := err.Error()
	var pe *os.PathError
	if errors.As(err, &pe) {
		msg = fmt.Sprintf("%s: %v", pe.Path, pe.Err)
	}
	Send(j.sock, Message{Op: OpFail, Code: code, Msg: msg})
	return code
}

var errNotFound = errors.New("command not found")

// lookPath finds cmd on the jail's PATH.
func lookPath(cmd, path string) (string, error) {
	if strings.Contains(cmd, "/") {
		return cmd, nil
	}
	var denied error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, cmd)
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() {
			continue
		}
		if unix.Access(p, unix.X_OK) == nil {
			return p, nil
		}
		denied = &os.PathError{Op: "exec", Path: cmd, Err: unix.EACCES}
	}
	if denied != nil {
		return "", denied
	}
	return "", fmt.Errorf("%s: %w", cmd, errNotFound)
}
