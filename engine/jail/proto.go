package jail

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/runjail/runjail/engine"
)

// The host and the jail's init talk over a SOCK_SEQPACKET socket pair: one
// JSON message per packet, file descriptors attached with SCM_RIGHTS.

const maxMessage = 4 << 20

// message is one packet between the host and init.
type message struct {
	Op string `json:"op"`

	// host → init
	Plan *engine.Plan `json:"plan,omitempty"`
	TTY  *ttyIn       `json:"tty,omitempty"`
	// Build identifies the host's build; an init from another build
	// (a runjail-init left from another install) refuses the plan.
	Build string `json:"build,omitempty"`

	// init → host
	Code int    `json:"code,omitempty"` // "fail": exit status to use
	Msg  string `json:"msg,omitempty"`  // "fail", "warn": what happened
	Hint string `json:"hint,omitempty"`
}

// ttyIn says which of the caller's stdin, stdout and stderr are terminals
// (and so are replaced by the jail's own pty) and the window size.
type ttyIn struct {
	IsTTY      [3]bool
	Rows, Cols uint16
}

// build identifies this binary's build: its module version or VCS
// revision. "" when unknown (go test, go run): then nothing is compared.
var build = sync.OnceValue(func() string {
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

func (t *ttyIn) any() bool { return t != nil && (t.IsTTY[0] || t.IsTTY[1] || t.IsTTY[2]) }

// Operations.
const (
	opStart   = "start"   // host → init: the plan
	opPTY     = "pty"     // init → host: the pty master is attached
	opListen  = "listen"  // init → host: the plan's engine.Listen sockets are attached, in order
	opWarn    = "warn"    // init → host: print Msg, carry on
	opFail    = "fail"    // init → host: print Msg, exit with Code
	opStopped = "stopped" // init → host: the command stopped (^Z)
	opCont    = "cont"    // host → init: continue the command
)

func send(fd int, m message, files ...int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var oob []byte
	if len(files) > 0 {
		oob = unix.UnixRights(files...)
	}
	return unix.Sendmsg(fd, b, oob, nil, 0)
}

// recv reads one message; io.EOF-like end is reported as ok == false.
func recv(fd int) (m message, files []*os.File, ok bool, err error) {
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
	if err := json.Unmarshal(buf[:n], &m); err != nil {
		return m, files, false, fmt.Errorf("bad message from the other side: %v", err)
	}
	return m, files, true, nil
}
