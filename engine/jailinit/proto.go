package jailinit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"

	"golang.org/x/sys/unix"
)

// The host and the jail's init talk over a SOCK_SEQPACKET socket pair: one
// Message per packet, file descriptors attached with SCM_RIGHTS.
//
// Messages are encoded by hand (see encode), not with encoding/json: init
// decodes the plan first thing, and a cold encoding/json takes 0.5 ms of a
// jail's start where this takes microseconds.

const maxMessage = 4 << 20

// Message is one packet between the host and init.
type Message struct {
	Op string

	// host → init
	Plan *Plan
	TTY  *TTY
	// Build identifies the host's build; an init from another build
	// (a runjail-init left from another install) refuses the plan.
	Build string
	Sig   int // OpSignal

	// init → host
	Code int    // OpFail, OpExit: exit status to use
	Msg  string // OpFail, OpWarn: what happened
	Hint string
}

// Operations.
const (
	OpStart   = "start"   // host → init: the plan
	OpSignal  = "signal"  // host → init: send the command signal Sig
	OpCont    = "cont"    // host → init: continue the command
	OpPTY     = "pty"     // init → host: the pty master is attached
	OpListen  = "listen"  // init → host: the plan's Listen sockets are attached, in order
	OpWarn    = "warn"    // init → host: print Msg, carry on
	OpFail    = "fail"    // init → host: print Msg, exit with Code
	OpStopped = "stopped" // init → host: the command stopped (^Z)
	OpExit    = "exit"    // init → host: init exits with Code (the command's status)
)

// Plan is what init needs of an engine.Plan, and no more: no credential
// references, no network rules.
type Plan struct {
	Command  []string // argv; Command[0] is looked up on the PATH in Env
	Dir      string   // working directory
	Hostname string
	Home     string // $HOME, the fallback working directory
	HostNet  bool   // the host's network namespace: no loopback to bring up
	Env      []string
	Mounts   []Mount
	Listen   []Listen
	Hidden   []Hidden
}

// Mount is one step of building the jail's filesystem (see engine.Mount).
type Mount struct {
	Kind     string // one of the Mount* kinds
	Src, Dst string
	RO, File bool
	Content  string
	From     string // where the rule came from, for error messages
}

// The mount kinds, as engine names them.
const (
	MountRoot  = "root"
	MountDev   = "dev"
	MountProc  = "proc"
	MountTmpfs = "tmpfs"
	MountHide  = "hide"
	MountBind  = "bind"
	MountFile  = "file"
)

// Listen is a socket init opens in the jail's network namespace for the
// host to serve.
type Listen struct {
	Network string // "tcp" or "udp"
	Addr    string // IP:port
}

// Hidden is a host directory, by device and inode, that must be unreachable
// in the jail.
type Hidden struct {
	Path     string
	Dev, Ino uint64
}

// TTY says which of the caller's stdin, stdout and stderr are terminals
// (and so are replaced by the jail's own pty) and the window size.
type TTY struct {
	IsTTY      [3]bool
	Rows, Cols uint16
}

// Any reports whether the caller has a terminal at all.
func (t *TTY) Any() bool { return t != nil && (t.IsTTY[0] || t.IsTTY[1] || t.IsTTY[2]) }

// Build identifies this binary's build: its module version or VCS
// revision. "" when unknown (go test, go run): then nothing is compared.
var Build = sync.OnceValue(func() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	id := ""
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
			id += s.Value + " "
		}
	}
	if id == "" && info.Main.Version != "(devel)" {
		id = info.Main.Version
	}
	return id
})

// Send writes m, with files attached, to the socket fd.
func Send(fd int, m Message, files ...int) error {
	var oob []byte
	if len(files) > 0 {
		oob = unix.UnixRights(files...)
	}
	return unix.Sendmsg(fd, m.encode(), oob, nil, 0)
}

// Recv reads one message and the files attached to it; the other side's
// end of the socket is reported as ok == false.
func Recv(fd int) (m Message, files []*os.File, ok bool, err error) {
	// Peek at the packet's size first: a plan is a few KiB, and a large
	// buffer costs more to allocate than the whole exchange.
	size, _, err := unix.Recvfrom(fd, nil, unix.MSG_PEEK|unix.MSG_TRUNC)
	if err != nil {
		return m, nil, false, err
	}
	if size > maxMessage {
		return m, nil, false, fmt.Errorf("message of %d bytes is too large", size)
	}
	buf := make([]byte, max(size, 1))
	oob := make([]byte, unix.CmsgSpace(8*4))
	n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return m, nil, false, err
	}
	if n == 0 {
		return m, nil, false, nil
	}
	if oobn > 0 {
		scms, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return m, nil, false, err
		}
		for _, scm := range scms {
			fds, err := unix.ParseUnixRights(&scm)
			if err != nil {
				return m, nil, false, err
			}
			for _, fd := range fds {
				files = append(files, os.NewFile(uintptr(fd), "received"))
			}
		}
	}
	if err := m.decode(buf[:n]); err != nil {
		return m, files, false, fmt.Errorf("bad message from the other side: %v", err)
	}
	return m, files, true, nil
}

// encode lays a message out as its fields in a fixed order: strings and
// counts prefixed by their length as uvarints, numbers as uvarints, flags as
// one byte; the plan and the terminal follow a flag saying they are there.
func (m Message) encode() []byte {
	var w writer
	w.str(m.Op)
	w.str(m.Build)
	w.num(uint64(m.Sig))
	w.num(uint64(m.Code))
	w.str(m.Msg)
	w.str(m.Hint)
	w.flag(m.TTY != nil)
	if t := m.TTY; t != nil {
		w.flag(t.IsTTY[0])
		w.flag(t.IsTTY[1])
		w.flag(t.IsTTY[2])
		w.num(uint64(t.Rows))
		w.num(uint64(t.Cols))
	}
	w.flag(m.Plan != nil)
	if p := m.Plan; p != nil {
		w.strs(p.Command)
		w.str(p.Dir)
		w.str(p.Hostname)
		w.str(p.Home)
		w.flag(p.HostNet)
		w.strs(p.Env)
		w.num(uint64(len(p.Mounts)))
		for _, m := range p.Mounts {
			w.str(m.Kind)
			w.str(m.Src)
			w.str(m.Dst)
			w.flag(m.RO)
			w.flag(m.File)
			w.str(m.Content)
			w.str(m.From)
		}
		w.num(uint64(len(p.Listen)))
		for _, l := range p.Listen {
			w.str(l.Network)
			w.str(l.Addr)
		}
		w.num(uint64(len(p.Hidden)))
		for _, h := range p.Hidden {
			w.str(h.Path)
			w.num(h.Dev)
			w.num(h.Ino)
		}
	}
	return w.b
}

func (m *Message) decode(b []byte) error {
	r := reader{b: b}
	m.Op = r.str()
	m.Build = r.str()
	m.Sig = int(r.num())
	m.Code = int(r.num())
	m.Msg = r.str()
	m.Hint = r.str()
	if r.flag() {
		m.TTY = &TTY{IsTTY: [3]bool{r.flag(), r.flag(), r.flag()}, Rows: uint16(r.num()), Cols: uint16(r.num())}
	}
	if r.flag() {
		p := &Plan{Command: r.strs(), Dir: r.str(), Hostname: r.str(), Home: r.str(), HostNet: r.flag(), Env: r.strs()}
		// Each element takes at least one byte a field: a bad count
		// cannot make a large allocation.
		p.Mounts = make([]Mount, r.count(7))
		for i := range p.Mounts {
			p.Mounts[i] = Mount{Kind: r.str(), Src: r.str(), Dst: r.str(), RO: r.flag(), File: r.flag(),
				Content: r.str(), From: r.str()}
		}
		p.Listen = make([]Listen, r.count(2))
		for i := range p.Listen {
			p.Listen[i] = Listen{Network: r.str(), Addr: r.str()}
		}
		p.Hidden = make([]Hidden, r.count(3))
		for i := range p.Hidden {
			p.Hidden[i] = Hidden{Path: r.str(), Dev: r.num(), Ino: r.num()}
		}
		m.Plan = p
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = errors.New("trailing bytes")
	}
	return r.err
}

type writer struct{ b []byte }

func (w *writer) num(n uint64) { w.b = binary.AppendUvarint(w.b, n) }

func (w *writer) str(s string) {
	w.num(uint64(len(s)))
	w.b = append(w.b, s...)
}

func (w *writer) strs(ss []string) {
	w.num(uint64(len(ss)))
	for _, s := range ss {
		w.str(s)
	}
}

func (w *writer) flag(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

// reader decodes what writer wrote; the first error sticks, and every
// later read returns a zero value.
type reader struct {
	b   []byte
	err error
}

var errShort = errors.New("message cut short")

func (r *reader) num() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a number of elements of at least size bytes each.
func (r *reader) count(size int) int {
	n := r.num()
	if n > uint64(len(r.b)/size) {
		r.err = errShort
		return 0
	}
	return int(n)
}

func (r *reader) str() string {
	n := r.count(1)
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) strs() []string {
	ss := make([]string, r.count(1))
	for i := range ss {
		ss[i] = r.str()
	}
	return ss
}

func (r *reader) flag() bool { return r.num() != 0 }
