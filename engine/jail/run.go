// Package jail runs a Plan (see package engine) as a jail of Linux
// namespaces, from the host's side: it starts the jail's init (package
// jailinit) in new namespaces, hands it the plan, relays the terminal and
// signals, and serves the proxy's sockets.
package jail

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/runjail/runjail/engine"
	"github.com/runjail/runjail/engine/home"
	"github.com/runjail/runjail/engine/jailinit"
)

// Status is how a jail ended: the command's exit status, 128+N for signal N,
// or 125, 126, 127 with Msg set when the command could not run.
type Status struct {
	Code int
	Msg  string
	Hint string
}

// forwarded are the signals the host passes on to the command.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTSTP, syscall.SIGCONT, syscall.SIGWINCH}

// Services are the host-side servers of a proxy-mode jail. Serve is given
// the sockets init opened on the jail's loopback (one for each of the
// plan's Listen) and must return at once, serving in the background; the
// sockets are closed when the jail ends.
type Services interface {
	Serve(p *engine.Plan, socks []Socket)
}

// Socket is one of the plan's Listen, opened: a Listener for "tcp", a
// PacketConn for "udp".
type Socket struct {
	engine.Listen
	Listener   net.Listener
	PacketConn net.PacketConn
}

// Jail is a jail's init, started in its namespaces and waiting for its plan.
type Jail struct {
	// Services serve a proxy-mode jail; without them such a plan is refused.
	Services Services

	cmd     *exec.Cmd
	sock    int // the host's end of the socket to init
	hostNet bool
	tty     *jailinit.TTY
	started chan error     // init's start: nil once it runs
	waited  chan error     // init's exit
	wg      sync.WaitGroup // the goroutine (and thread) that started init
	null    *os.File
}

// Start creates the namespaces (with a network namespace of its own unless
// hostNet) and starts init in them, mapping uid and gid to themselves. init
// boots while the caller compiles the plan it then hands to Run; a Jail that
// will not run must be stopped.
func Start(uid, gid int, hostNet bool) (*Jail, error) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %v", err)
	}
	j := &Jail{sock: pair[0], hostNet: hostNet, tty: &jailinit.TTY{}, started: make(chan error, 1), waited: make(chan error, 1)}
	initSock := os.NewFile(uintptr(pair[1]), "init-socket")

	stdio := []*os.File{os.Stdin, os.Stdout, os.Stderr}
	for i, f := range stdio {
		if term.IsTerminal(int(f.Fd())) {
			j.tty.IsTTY[i] = true
			if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && j.tty.Rows == 0 {
				j.tty.Rows, j.tty.Cols = ws.Row, ws.Col
			}
		}
	}
	// init never holds the caller's terminal: the jail gets a pty of its own.
	initStdio := make([]*os.File, 3)
	copy(initStdio, stdio)
	if j.tty.Any() {
		if j.null, err = os.Open(os.DevNull); err != nil {
			unix.Close(j.sock)
			initSock.Close()
			return nil, err
		}
		for i := range initStdio {
			if j.tty.IsTTY[i] {
				initStdio[i] = j.null
			}
		}
	}

	j.cmd = exec.Command(initProgram())
	j.cmd.Args = []string{"runjail-init"}
	// One P: init does little at once, and starts faster with fewer threads.
	j.cmd.Env = []string{jailinit.Env + "=1", fmt.Sprintf("%s=%d:%d", jailinit.IDsEnv, uid, gid), "GOMAXPROCS=1"}
	j.cmd.Stdin, j.cmd.Stdout, j.cmd.Stderr = initStdio[0], initStdio[1], initStdio[2]
	j.cmd.ExtraFiles = []*os.File{initSock}
	j.cmd.SysProcAttr = jailAttr(hostNet)

	// Creating the namespaces and starting init takes as long as compiling
	// the plan: the caller does that meanwhile, and Run or Stop wait here.
	// Pdeathsig fires when the thread that started init exits: keep it.
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		runtime.LockOSThread()
		err := j.cmd.Start()
		initSock.Close()
		j.started <- err
		if err == nil {
			j.waited <- j.cmd.Wait()
		}
	}()
	return j, nil
}

// running waits until init runs in its namespaces.
func (j *Jail) running() error {
	if err := <-j.started; err != nil {
		j.wg.Wait()
		j.close()
		return fmt.Errorf("cannot create the jail's namespaces: %v", err)
	}
	return nil
}

// initProgram is the jail's init: runjail-init beside this program, a
// small binary that starts in about 1.7 ms where runjail takes 2.9; else
// this program itself.
func initProgram() string {
	if p := Beside("runjail-init"); p != "" {
		return p
	}
	return "/proc/self/exe"
}

// Beside returns the executable name in the directory of this program as
// it was invoked, else as installed (where os.Executable resolves it to);
// "" if neither has it. runjail's helpers are installed beside it.
func Beside(name string) string {
	self := os.Args[0]
	if !strings.Contains(self, "/") {
		if p, err := exec.LookPath(self); err == nil {
			self = p
		}
	}
	dirs := []string{filepath.Dir(self)}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// Stop kills an init that was not given a plan.
func (j *Jail) Stop() {
	if j.running() != nil {
		return
	}
	j.cmd.Process.Kill()
	<-j.waited
	j.wg.Wait()
	j.close()
}

func (j *Jail) close() {
	unix.Close(j.sock)
	if j.null != nil {
		j.null.Close()
	}
}

// Run starts a jail and executes the plan in it (Start, then Jail.Run).
func Run(p *engine.Plan, warn io.Writer) (Status, error) {
	if err := checkMode(p, nil); err != nil {
		return Status{}, err
	}
	j, err := Start(p.UID, p.GID, p.Net.Mode == "host")
	if err != nil {
		return Status{}, err
	}
	return j.Run(p, warn)
}

func checkMode(p *engine.Plan, services Services) error {
	if p.Net.Mode == "proxy" && services == nil {
		return &engine.Error{
			Msg:  `network mode "proxy" is not available in this version of runjail yet`,
			Hint: "run with --net none (loopback only) or --net host (no network isolation), or set network.mode in the profile",
		}
	}
	return nil
}

// Run executes the plan: it prepares the persistent home on the host, hands
// the plan to init and relays the terminal and signals until the command
// exits. Warnings go to warn. An error means the jail could not be set up
// (exit status 125). The Jail is used up either way.
func (j *Jail) Run(p *engine.Plan, warn io.Writer) (Status, error) {
	if err := j.running(); err != nil {
		return Status{}, err
	}
	if j.null != nil {
		defer j.null.Close()
	}
	err := checkMode(p, j.Services)
	if err == nil && (p.Net.Mode == "host") != j.hostNet {
		err = fmt.Errorf("the jail was started for another network mode than the plan's")
	}
	if err == nil {
		err = prepareHost(p)
	}
	// The plan waits in the socket for init, which reads it first thing.
	if err == nil {
		if err = jailinit.Send(j.sock, jailinit.Message{Op: jailinit.OpStart, Plan: initPlan(p), TTY: j.tty, Build: jailinit.Build()}); err != nil {
			err = fmt.Errorf("cannot send the plan to the jail: %v", err)
		}
	}
	if err != nil {
		j.cmd.Process.Kill()
		<-j.waited
		j.wg.Wait()
		unix.Close(j.sock)
		return Status{}, err
	}
	hostSock, tty, cmd, waited := j.sock, j.tty, j.cmd, j.waited

	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwarded...)
	// Each signal costs the runtime a round trip to undo: not on the way
	// out of a jail that has ended.
	defer func() { go signal.Stop(sigs) }()

	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	var (
		fail    *Status
		relay   *ptyRelay
		msgs    = make(chan jailinit.Message)
		ptys    = make(chan *os.File, 1)
		sockets = make(chan []*os.File, 1)
	)
	done := make(chan struct{}) // Run has returned
	defer close(done)
	go func() {
		// init says how it exits before it is gone, and Run returns then:
		// the socket is closed here, once init's end is.
		defer unix.Close(hostSock)
		defer close(msgs)
		for {
			m, files, ok, err := jailinit.Recv(hostSock)
			if err != nil || !ok {
				return
			}
			if m.Op == jailinit.OpPTY && len(files) == 1 {
				ptys <- files[0]
				continue
			}
			if m.Op == jailinit.OpListen && len(files) == len(p.Listen) {
				sockets <- files
				continue
			}
			for _, f := range files {
				f.Close()
			}
			select {
			case msgs <- m:
			case <-done:
				return
			}
		}
	}()

	handle := func(m jailinit.Message) {
		switch m.Op {
		case jailinit.OpWarn:
			fmt.Fprintf(warn, "runjail: warning: %s\n", m.Msg)
		case jailinit.OpFail:
			fail = &Status{Code: m.Code, Msg: m.Msg, Hint: m.Hint}
		case jailinit.OpStopped:
			if relay != nil {
				relay.suspend()
			}
			jailinit.Send(hostSock, jailinit.Message{Op: jailinit.OpCont})
		}
	}
	var (
		waitErr, serveErr error
		exited            *int // the status init said it exits with
	)
loop:
	for {
		select {
		case master := <-ptys:
			relay = startRelay(master, tty)
		case files := <-sockets:
			if closers, serveErr = j.serve(p, files); serveErr != nil {
				cmd.Process.Kill()
			}
		case m, ok := <-msgs:
			if !ok {
				msgs = nil
				continue
			}
			if m.Op == jailinit.OpExit {
				exited = &m.Code
				break loop
			}
			handle(m)
		case sig := <-sigs:
			switch sig {
			case syscall.SIGWINCH:
				if relay != nil {
					relay.resize()
				}
			default:
				jailinit.Send(hostSock, jailinit.Message{Op: jailinit.OpSignal, Sig: int(sig.(syscall.Signal))})
			}
		case waitErr = <-waited:
			break loop
		}
	}
	// init has exited, so the socket is at its end: what it said last (why
	// it failed) is still to be read.
	if msgs != nil && exited == nil {
		for m := range msgs {
			handle(m)
		}
	}
	// Any sockets init opened and the services did not take.
	select {
	case files := <-sockets:
		for _, f := range files {
			f.Close()
		}
	default:
	}
	// A quick command may be gone before its pty was picked up: its output
	// is still in the pty.
	select {
	case master := <-ptys:
		relay = startRelay(master, tty)
	default:
	}
	if relay != nil {
		relay.finish()
	}
	if exited != nil && serveErr == nil && fail == nil {
		return Status{Code: *exited}, nil
	}
	j.wg.Wait()

	if serveErr != nil {
		return Status{}, serveErr
	}
	if fail != nil {
		if fail.Code == 125 {
			return Status{}, &engine.Error{Msg: fail.Msg, Hint: fail.Hint}
		}
		return *fail, nil
	}
	var exit *exec.ExitError
	switch {
	case waitErr == nil:
		return Status{Code: 0}, nil
	case errors.As(waitErr, &exit):
		ws := exit.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			return Status{Code: 128 + int(ws.Signal())}, nil
		}
		return Status{Code: ws.ExitStatus()}, nil
	default:
		return Status{}, waitErr
	}
}

// serve turns the sockets init opened into listeners and starts the
// services on them.
func (j *Jail) serve(p *engine.Plan, files []*os.File) ([]io.Closer, error) {
	var (
		closers []io.Closer
		socks   []Socket
	)
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for i, f := range files {
		s := Socket{Listen: p.Listen[i]}
		var err error
		switch s.Network {
		case "tcp":
			s.Listener, err = net.FileListener(f)
			closers = append(closers, s.Listener)
		case "udp":
			s.PacketConn, err = net.FilePacketConn(f)
			closers = append(closers, s.PacketConn)
		}
		if err != nil {
			closeAll(closers[:len(closers)-1])
			return nil, fmt.Errorf("the jail's %s socket %s: %v", s.Service, s.Addr, err)
		}
		socks = append(socks, s)
	}
	j.Services.Serve(p, socks)
	return closers, nil
}

func closeAll(cs []io.Closer) {
	for _, c := range cs {
		c.Close()
	}
}

// jailAttr asks for the namespaces. init maps the caller's uid and gid to
// themselves in its user namespace (see jailinit.IDsEnv).
func jailAttr(hostNet bool) *syscall.SysProcAttr {
	flags := uintptr(unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC |
		unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP)
	if !hostNet {
		flags |= unix.CLONE_NEWNET
	}
	return &syscall.SysProcAttr{
		Cloneflags: flags,
		// A non-root caller loses the new namespace's capabilities when
		// init is exec'd; as ambient capabilities they survive it. init
		// drops them all before the command starts.
		AmbientCaps: initCaps,
		// A session of its own: init takes the jail's pty as its
		// controlling terminal, and the caller's terminal signals (^C
		// without a pty) reach runjail alone, which forwards them once.
		Setsid:    true,
		Pdeathsig: syscall.SIGKILL,
	}
}

// initCaps are what init needs in its user namespace: its uid and gid maps
// (SETUID, SETGID), mounts, hostname and pivot_root (SYS_ADMIN), loopback
// (NET_ADMIN), the DNS port (NET_BIND_SERVICE), securebits (SETPCAP), and
// making mount points anywhere in its own tmpfs and home (DAC_OVERRIDE,
// FOWNER).
var initCaps = []uintptr{unix.CAP_SETUID, unix.CAP_SETGID, unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN, unix.CAP_NET_BIND_SERVICE,
	unix.CAP_SETPCAP, unix.CAP_DAC_OVERRIDE, unix.CAP_FOWNER}

// ptyRelay copies between the caller's terminal and the jail's pty master.
type ptyRelay struct {
	master *os.File
	tty    *jailinit.TTY
	in     *os.File // the caller's terminal we read keys from, or nil
	out    *os.File // where the jail's terminal output goes
	state  *term.State
	done   chan struct{}
}

func startRelay(master *os.File, tty *jailinit.TTY) *ptyRelay {
	r := &ptyRelay{master: master, tty: tty, done: make(chan struct{})}
	if tty.IsTTY[1] {
		r.out = os.Stdout
	} else {
		r.out = os.Stderr
	}
	if tty.IsTTY[0] {
		r.in = os.Stdin
		r.raw()
		go io.Copy(master, os.Stdin)
	}
	r.resize()
	go func() {
		io.Copy(r.out, master)
		close(r.done)
	}()
	return r
}

func (r *ptyRelay) raw() {
	if r.in == nil {
		return
	}
	if st, err := term.MakeRaw(int(r.in.Fd())); err == nil {
		r.state = st
	}
}

func (r *ptyRelay) restore() {
	if r.state != nil {
		term.Restore(int(r.in.Fd()), r.state)
		r.state = nil
	}
}

// resize copies the caller's window size to the jail's terminal, which
// sends SIGWINCH to the jail's foreground process group.
func (r *ptyRelay) resize() {
	for _, f := range []*os.File{os.Stdin, os.Stdout, os.Stderr} {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil {
			unix.IoctlSetWinsize(int(r.master.Fd()), unix.TIOCSWINSZ, ws)
			return
		}
	}
}

// suspend stops runjail itself after the command stopped (^Z), handing the
// terminal back to the caller's shell; it returns once runjail is continued.
func (r *ptyRelay) suspend() {
	r.restore()
	unix.Kill(os.Getpid(), unix.SIGSTOP)
	r.raw()
	r.resize()
}

// finish waits briefly for the last output and restores the terminal.
func (r *ptyRelay) finish() {
	select {
	case <-r.done:
	case <-time.After(2 * time.Second):
	}
	r.restore()
	r.master.Close()
}

// prepareHost creates the persistent home (0700, without following
// symlinks the jail may have planted), copies home.copy files in and creates
// protect directories that must exist before the jail starts.
func prepareHost(p *engine.Plan) error {
	if p.HomeDir != "" {
		dir, err := home.MakePrivateDir(p.HomeDir)
		if err != nil {
			return &engine.Error{Msg: fmt.Sprintf("cannot create the sandbox home %s: %v", p.HomeDir, err), Hint: "check home.dir in the profile and the permissions of its parent"}
		}
		for i := range p.Mounts {
			if p.Mounts[i].Kind == engine.MountBind && p.Mounts[i].Src == p.HomeDir {
				p.Mounts[i].Src = dir
			}
		}
		p.HomeDir = dir
		for _, c := range p.Copies {
			if err := home.Copy(dir, c); err != nil {
				return &engine.Error{Msg: fmt.Sprintf("%s: home.copy %s: %v", c.From, c.Src, err)}
			}
		}
		for _, h := range p.HomeJSON {
			if err := home.MergeJSON(dir, h); err != nil {
				return &engine.Error{Msg: fmt.Sprintf("%s: setting ~/%s in the sandbox home: %v", h.From, h.Rel, err)}
			}
		}
	}
	for _, m := range p.Mounts {
		if m.Create {
			create, mode := home.MkdirNoFollow, uint32(0o755)
			if m.File {
				create, mode = home.CreateNoFollow, 0o644
			}
			if err := create(filepath.Dir(m.Src), filepath.Base(m.Src), mode); err != nil && !errors.Is(err, unix.EEXIST) {
				return &engine.Error{Msg: fmt.Sprintf("%s: cannot create %s to protect it: %v", m.From, m.Src, err)}
			}
		}
	}
	return nil
}

// initPlan is what init needs of the plan.
func initPlan(p *engine.Plan) *jailinit.Plan {
	ip := &jailinit.Plan{Command: p.Command, Dir: p.Dir, Hostname: p.Hostname, Home: p.Home, HostNet: p.Net.Mode == "host"}
	for _, e := range p.Env {
		ip.Env = append(ip.Env, e.Name+"="+e.Value)
	}
	for _, m := range p.Mounts {
		ip.Mounts = append(ip.Mounts, jailinit.Mount{Kind: string(m.Kind), Src: m.Src, Dst: m.Dst, RO: m.RO, File: m.File,
			Content: m.Content, From: m.From})
	}
	for _, l := range p.Listen {
		ip.Listen = append(ip.Listen, jailinit.Listen{Network: l.Network, Addr: l.Addr})
	}
	for _, h := range p.Hidden {
		ip.Hidden = append(ip.Hidden, jailinit.Hidden{Path: h.Path, Dev: h.Dev, Ino: h.Ino})
	}
	return ip
}
