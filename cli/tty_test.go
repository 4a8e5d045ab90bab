package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns a new pty pair of the host (the "user's terminal").
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	// Non-blocking, so that reads honour deadlines.
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := os.NewFile(uintptr(fd), "ptmx")
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// runjailCmd returns a command running this test binary as runjail, with a
// fresh home and a project directory as its working directory.
func runjailCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	home := filepath.Join(dir, "home")
	proj := filepath.Join(dir, "proj")
	for _, d := range []string{bin, home, proj} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"runjail", "runjail-aws", "runjail-init"} {
		if err := os.Symlink(exe, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(filepath.Join(bin, "runjail"), args...)
	cmd.Dir = proj
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "TERM=xterm", "USER=" + os.Getenv("USER"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"), "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}
	return cmd
}

// trustProfile runs runjail --trust path with cmd's directory and
// environment, as the user would before using a profile of their own.
func trustProfile(t *testing.T, cmd *exec.Cmd, path string) {
	t.Helper()
	tr := exec.Command(filepath.Join(filepath.Dir(cmd.Path), "runjail"), "--trust", path)
	tr.Dir, tr.Env = cmd.Dir, cmd.Env
	if out, err := tr.CombinedOutput(); err != nil {
		t.Fatalf("runjail --trust %s: %v\n%s", path, err, out)
	}
}

// onTerminal starts cmd with the slave as its controlling terminal, as a
// shell would start it in the foreground.
func onTerminal(t *testing.T, cmd *exec.Cmd, slave *os.File) {
	t.Helper()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
}

// readUntil reads from the master until want appears or the timeout passes.
func readUntil(t *testing.T, master *os.File, want string, timeout time.Duration) string {
	t.Helper()
	var out bytes.Buffer
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 4096)
	for time.Now().Before(deadline) && !strings.Contains(out.String(), want) {
		master.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, _ := master.Read(buf)
		out.Write(buf[:n])
	}
	return out.String()
}

func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("runjail did not exit")
	}
	return cmd.ProcessState.ExitCode()
}

func needPython(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Fatal("python3 is needed for the terminal attack helper: apt-get install python3 (.ci/run installs it)")
	}
}

// injectScript pushes input into every terminal it holds with TIOCSTI.
const injectScript = `import fcntl, termios, os
refused = []
for fd in (0, 1, 2):
    for c in b"echo INJECTED\n":
        try:
            fcntl.ioctl(fd, termios.TIOCSTI, bytes([c]))
        except OSError as e:
            refused.append(e.strerror)
print("sti refused:", sorted(set(refused)))
try:
    tty = os.open("/dev/tty", os.O_RDWR)
    for c in b"echo VIA-DEVTTY\n":
        fcntl.ioctl(tty, termios.TIOCSTI, bytes([c]))
except OSError:
    pass
print("tty:", os.ttyname(1))
`

// injected runs cmd as a foreground job on a fresh terminal (stdout and
// stderr on it, stdin not) and returns what it left in the terminal's input
// queue: what the user's shell would read and run next.
func injected(t *testing.T, cmd *exec.Cmd) (output, input string) {
	t.Helper()
	master, slave := openPTY(t)
	cmd.Stdin = nil // runjail does not read the terminal, so injected input stays
	cmd.Stdout, cmd.Stderr = slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 1}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	output = readUntil(t, master, "tty:", 10*time.Second)
	if code := exitCode(t, cmd); code != 0 {
		t.Fatalf("%s exited %d: %s", cmd.Path, code, output)
	}
	// A separate non-blocking open of the same terminal, to read with a
	// deadline.
	name, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(slave.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(name, unix.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	reader := os.NewFile(uintptr(fd), name)
	defer reader.Close()
	reader.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 4096)
	n, _ := reader.Read(buf)
	return output, string(buf[:n])
}

// TIOCSTI from inside the jail never reaches the caller's terminal: the jail
// has a pty of its own and nothing in it holds the caller's.
func TestTerminalInjection(t *testing.T) {
	needPython(t)
	// Control: unjailed, the same script does inject (else this test could
	// not tell).
	if _, input := injected(t, exec.Command("/usr/bin/python3", "-c", injectScript)); !strings.Contains(input, "INJECTED") {
		t.Fatalf("control: TIOCSTI did not inject outside the jail (input %q); is dev.tty.legacy_tiocsti=0 for a non-root user? this check needs it on (CI runs it as root too)", input)
	}
	output, input := injected(t, runjailCmd(t, "--net", "none", "--", "/usr/bin/python3", "-c", injectScript))
	if input != "" {
		t.Fatalf("the jail injected input into the caller's terminal: %q", input)
	}
	if !strings.Contains(output, "tty: /dev/pts/") {
		t.Errorf("the jail's stdout is not a terminal of its own: %q", output)
	}
	// The second wall: seccomp refuses TIOCSTI even on the jail's own pty.
	if !strings.Contains(output, "Operation not permitted") {
		t.Errorf("TIOCSTI was not refused by seccomp in the jail: %q", output)
	}
}

// An interactive program works: input and output pass, ^C interrupts it.
func TestTerminalInteractive(t *testing.T) {
	master, slave := openPTY(t)
	unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 33, Col: 77})
	cmd := runjailCmd(t, "--net", "none", "--", "sh", "-c", `stty size; tty; read line; echo "got $line"; exec sleep 30`)
	onTerminal(t, cmd, slave)
	out := readUntil(t, master, "/dev/pts/", 10*time.Second)
	if !strings.Contains(out, "33 77") {
		t.Errorf("window size did not reach the jail: %q", out)
	}
	master.Write([]byte("hello\r"))
	if out := readUntil(t, master, "got hello", 5*time.Second); !strings.Contains(out, "got hello") {
		t.Fatalf("input did not reach the jail: %q", out)
	}
	master.Write([]byte{3}) // ^C
	if code := exitCode(t, cmd); code != 130 {
		t.Errorf("after ^C runjail exited %d, want 130: %q", code, readUntil(t, master, "\x00", time.Second))
	}
}

// A window resize reaches the program in the jail.
func TestTerminalResize(t *testing.T) {
	master, slave := openPTY(t)
	cmd := runjailCmd(t, "--net", "none", "--", "sh", "-c", `echo ready; read x; stty size`)
	onTerminal(t, cmd, slave)
	readUntil(t, master, "ready", 10*time.Second)
	unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 51, Col: 123})
	time.Sleep(200 * time.Millisecond)
	master.Write([]byte("go\r"))
	if out := readUntil(t, master, "51 123", 5*time.Second); !strings.Contains(out, "51 123") {
		t.Errorf("resize did not reach the jail: %q", out)
	}
	exitCode(t, cmd)
}

// ^Z stops the program in the jail and hands the terminal back (runjail
// itself stops, as any foreground job would); continuing resumes it. (The
// shell execs sleep: dash's vfork child can be stopped before it execs,
// leaving dash itself unstoppable in vfork, a hang outside any jail too.)
func TestTerminalJobControl(t *testing.T) {
	master, slave := openPTY(t)
	cmd := runjailCmd(t, "--net", "none", "--", "sh", "-c", `echo ready; exec sleep 1`)
	onTerminal(t, cmd, slave)
	readUntil(t, master, "ready", 10*time.Second)
	master.Write([]byte{26}) // ^Z
	stopped := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if state(cmd.Process.Pid) == "T" {
			stopped = true
			break
		}
	}
	if !stopped {
		ps, _ := exec.Command("ps", "-eo", "pid,ppid,stat,pgid,sid,tpgid,wchan:20,args").Output()
		t.Fatalf("runjail did not stop after ^Z (state %s): %q\n%s", state(cmd.Process.Pid), readUntil(t, master, "\x00", time.Second), ps)
	}
	time.Sleep(1500 * time.Millisecond) // the sleep in the jail is stopped too
	cmd.Process.Signal(syscall.SIGCONT)
	if code := exitCode(t, cmd); code != 0 {
		t.Errorf("after resuming, runjail exited %d, want 0", code)
	}
}

func state(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "?"
	}
	s := string(b)
	if i := strings.LastIndex(s, ")"); i >= 0 && i+2 < len(s) {
		return s[i+2 : i+3]
	}
	return "?"
}

// An untrusted profile on a terminal: runjail lists what it grants and asks;
// no runs nothing, yes runs it and trusts that content, so it is not asked
// again.
func TestTrustPrompt(t *testing.T) {
	run := func(answer string) (string, int) {
		cmd := runjailCmd(t, "-p", "./p.toml", "--", "sh", "-c", "echo RAN-$((6*7))")
		// The same user and project each time: one home, one record of
		// trust, one profile file.
		for i, e := range cmd.Env {
			if strings.HasPrefix(e, "HOME=") || strings.HasPrefix(e, "XDG_") {
				cmd.Env[i] = strings.Replace(e, filepath.Dir(cmd.Dir), trustHome, 1)
			}
		}
		cmd.Dir = filepath.Join(trustHome, "proj")
		master, slave := openPTY(t)
		onTerminal(t, cmd, slave)
		out := ""
		if answer != "" {
			out = readUntil(t, master, "[y/N]", 10*time.Second)
			master.Write([]byte(answer + "\r"))
		}
		code := exitCode(t, cmd)
		return out + readUntil(t, master, "\x00", 500*time.Millisecond), code
	}
	trustHome = t.TempDir()
	os.MkdirAll(filepath.Join(trustHome, "home"), 0o755)
	os.MkdirAll(filepath.Join(trustHome, "proj"), 0o755)
	os.WriteFile(filepath.Join(trustHome, "proj", "p.toml"), []byte("version = 1\nextends = \"default\"\n[network]\nmode = \"none\"\nallow = [\"*.com\"]\n[filesystem]\nrw = [\"/var/tmp\"]\n"), 0o644)

	out, code := run("n")
	if code != 125 || strings.Contains(out, "RAN-42") || !strings.Contains(out, "reaches *.com (network.allow)") ||
		!strings.Contains(out, "writes /var/tmp (filesystem.rw)") || !strings.Contains(out, "not trusted; nothing was run") {
		t.Errorf("answered no: exit %d\n%s", code, out)
	}
	out, code = run("y")
	if code != 0 || !strings.Contains(out, "RAN-42") {
		t.Errorf("answered yes: exit %d\n%s", code, out)
	}
	out, code = run("")
	if code != 0 || !strings.Contains(out, "RAN-42") || strings.Contains(out, "[y/N]") {
		t.Errorf("trusted: exit %d\n%s", code, out)
	}
}

var trustHome string
