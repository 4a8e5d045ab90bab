// Package cli implements the runjail and runclaude command lines.
//
// Terminal rules: everything runjail itself says goes to stderr, prefixed
// with the program name, lowercase, with no final period; a failure is one
// "error:" line, followed by "hint:" lines saying what to do next, and exit
// status 125. Anything else on stdout or stderr comes from the command.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/runjail/runjail/engine"
	"github.com/runjail/runjail/engine/jail"
	"github.com/runjail/runjail/engine/jailinit"
	"github.com/runjail/runjail/profiles"
	"github.com/runjail/runjail/proxy"
	"github.com/runjail/runjail/schema"
	"github.com/runjail/runjail/trust"
)

// Exit statuses of runjail itself; otherwise it exits with the command's.
const (
	ExitFailure       = 125 // runjail could not run the command
	ExitNotExecutable = 126
	ExitNotFound      = 127
)

// Main runs the command line of prog ("runjail", "runclaude" or "runproxy") with args
// (without the program name) and returns the exit status.
func Main(prog string, args []string) int {
	if jailinit.Is() {
		return jailinit.Main()
	}
	// Descriptors the caller leaked to runjail go no further.
	unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	c := &cmd{prog: prog, stdout: os.Stdout, stderr: os.Stderr}
	if prog == "runproxy" {
		return c.runproxy(args)
	}
	return c.main(args)
}

type cmd struct {
	prog           string
	stdout, stderr io.Writer
}

func (c *cmd) errorf(hint string, format string, a ...any) int {
	fmt.Fprintf(c.stderr, "%s: error: %s\n", c.prog, fmt.Sprintf(format, a...))
	for _, h := range strings.Split(hint, "\n") {
		if h != "" {
			fmt.Fprintf(c.stderr, "%s: hint: %s\n", c.prog, h)
		}
	}
	return ExitFailure
}

// fail reports err, with the hint it carries.
func (c *cmd) fail(err error) int {
	var se *schema.Error
	var ee *engine.Error
	switch {
	case errors.As(err, &se):
		return c.errorf(se.Hint, "%s", se.Error())
	case errors.As(err, &ee):
		return c.errorf(ee.Hint, "%s", ee.Msg)
	}
	return c.errorf("", "%v", err)
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

const runjailIntro = `usage: runjail [OPTIONS] [--] [COMMAND [ARG...]]

Runs COMMAND (default: the profile's command) in a jail described by a
profile: the host read-only, your home hidden, the project writable, a
persistent home of its own, and only the network the profile allows.
`

const runclaudeIntro = `usage: runclaude [OPTIONS] [--] [CLAUDE-ARG...]

Runs Claude Code with --dangerously-skip-permissions and CLAUDE-ARGs in a
jail described by the claude profile (the same as runjail -p claude --
claude --dangerously-skip-permissions CLAUDE-ARG...).
`

const usage = `
options:
  -p, --profile NAME|PATH   profile: a path (contains / or ends in .toml) or a
                            name from $XDG_CONFIG_HOME/runjail/profiles or a
                            built-in one (%[2]s).
                            Default: runjail uses the project's .runjail.toml
                            (here or in a parent up to the project root) if
                            there is one, else "default"; runclaude uses
                            "claude"
      --trust PATH          trust the profile PATH (and what it extends) for
                            its current content, and exit; profiles that are
                            not built in or your own need it, or a yes on a
                            terminal
  -n, --name NAME           sandbox name; keys the persistent home
      --bind SRC[:DST]      show host path SRC read-write at DST (repeatable)
      --ro-bind SRC[:DST]   show host path SRC read-only at DST (repeatable)
      --allow HOST[:PORT]   add to the egress allowlist (repeatable)
      --net none|proxy|host override network.mode
      --upstream HOST=URL   send HOST's proxied traffic to URL (repeatable)
      --upstream-ca FILE    extra CA certificates trusted for upstream TLS
      --log FILE            egress audit log, JSON lines (default:
                            $XDG_STATE_HOME/runjail/NAME/egress.log)
      --explain             print the plan with where each rule came from
      --check               check that this host can run jails
  -h, --help                show this help

exit status: the command's own; 128+N when it died of signal N; 125 when
runjail itself failed; 126 when the command cannot be executed; 127 when it
was not found.
`

func (c *cmd) main(args []string) int {
	defProfile := "default"
	if c.prog == "runclaude" {
		defProfile = "claude"
	}
	fs := flag.NewFlagSet(c.prog, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		profile, name, net   string
		logPath, upstreamCA  string
		upstreams            listFlag
		explain, check, help bool
		trustPath            string
		allow, binds, roBind listFlag
	)
	for _, n := range []string{"p", "profile"} {
		fs.StringVar(&profile, n, "", "")
	}
	for _, n := range []string{"n", "name"} {
		fs.StringVar(&name, n, "", "")
	}
	for _, n := range []string{"h", "help"} {
		fs.BoolVar(&help, n, false, "")
	}
	fs.StringVar(&net, "net", "", "")
	fs.BoolVar(&explain, "explain", false, "")
	fs.StringVar(&logPath, "log", "", "")
	fs.Var(&upstreams, "upstream", "")
	fs.StringVar(&upstreamCA, "upstream-ca", "", "")
	fs.BoolVar(&check, "check", false, "")
	fs.StringVar(&trustPath, "trust", "", "")
	fs.Var(&allow, "allow", "")
	fs.Var(&binds, "bind", "")
	fs.Var(&roBind, "ro-bind", "")
	if err := fs.Parse(args); err != nil {
		return c.errorf(fmt.Sprintf("run %s --help for the options", c.prog), "%v", err)
	}
	if help {
		intro := runjailIntro
		if c.prog == "runclaude" {
			intro = runclaudeIntro
		}
		fmt.Fprintf(c.stdout, intro+usage, c.prog, strings.Join(schema.BuiltinNames(profiles.FS), ", "))
		return 0
	}
	if check {
		return c.check()
	}

	// init boots in its namespaces (2 ms, mostly the kernel's) while the
	// profile is loaded and the plan compiled. Until the profile is read,
	// the network mode is a guess: --net, else a network namespace.
	var (
		sandbox *jail.Jail // until it runs; stopped on the way out otherwise
		hostNet = net == "host"
		err     error
	)
	if !explain && trustPath == "" {
		if sandbox, err = jail.Start(os.Getuid(), os.Getgid(), hostNet); err != nil {
			return c.fail(err)
		}
		defer func() {
			if sandbox != nil {
				sandbox.Stop()
			}
		}()
	}

	host, err := engine.CurrentHost()
	if err != nil {
		return c.fail(err)
	}
	loadOpt := schema.Options{Builtin: profiles.FS, UserDir: host.ProfileDir()}
	store := trust.Open(host.DataHome, host.ConfigHome)
	if trustPath != "" {
		return c.trust(store, trustPath, loadOpt)
	}
	if profile == "" {
		profile = defProfile
		if c.prog == "runjail" {
			if found := discover(host.Cwd); found != "" {
				profile = found
			}
		}
	}
	prof, err := schema.Load(profile, loadOpt)
	if err != nil {
		return c.fail(err)
	}
	if !explain {
		if code, ok := c.checkTrust(store, prof); !ok {
			return code
		}
	}
	opt := engine.Options{Name: name, Command: fs.Args(), Allow: allow, Net: net}
	if c.prog == "runclaude" {
		opt.Command = append([]string{"claude", "--dangerously-skip-permissions"}, fs.Args()...)
	}
	for _, l := range []struct {
		list listFlag
		ro   bool
	}{{binds, false}, {roBind, true}} {
		for _, b := range l.list {
			src, dst, _ := strings.Cut(b, ":")
			if src == "" {
				return c.errorf("use --bind SRC[:DST]", "empty source in %q", b)
			}
			opt.Binds = append(opt.Binds, engine.Bind{Src: src, Dst: dst, RO: l.ro})
		}
	}
	for _, u := range upstreams {
		h, target, ok := strings.Cut(u, "=")
		if !ok || h == "" || target == "" {
			return c.errorf("use --upstream HOST=URL, e.g. --upstream api.anthropic.com=https://127.0.0.1:8443", "bad --upstream %q", u)
		}
		opt.Upstreams = append(opt.Upstreams, engine.Upstream{Host: h, URL: target})
	}
	var ca *proxy.CA
	if engine.NetMode(prof, opt) == "proxy" && !explain {
		if ca, err = proxy.LoadCA(filepath.Join(host.DataHome, "runjail")); err != nil {
			return c.errorf("check the permissions of "+filepath.Join(host.DataHome, "runjail"), "the proxy's CA: %v", err)
		}
		opt.ProxyCA = ca.CertPEM
	}
	if sandbox != nil && (engine.NetMode(prof, opt) == "host") != hostNet {
		sandbox.Stop()
		if sandbox, err = jail.Start(host.UID, host.GID, !hostNet); err != nil {
			return c.fail(err)
		}
	}
	plan, err := engine.Compile(prof, opt, host)
	if err != nil {
		return c.fail(err)
	}
	if explain {
		engine.Explain(c.stdout, plan)
		return 0
	}
	if plan.Net.Mode == "proxy" {
		logFile, err := openLog(logPath, plan.Name)
		if err != nil {
			return c.errorf("choose another file with --log FILE", "cannot open the egress log: %v", err)
		}
		defer logFile.Close()
		audit := proxy.NewAudit(logFile, plan.Name)
		defer audit.Flush()
		svc, err := newServices(plan, audit, ca, upstreamCA, engine.ApprovedFile(host, plan.Name), c.prog, c.stderr)
		if err != nil {
			return c.fail(err)
		}
		sandbox.Services = svc
		if svc.page != nil {
			fmt.Fprintf(c.stderr, "%s: approve refused hosts at %s\n", c.prog, svc.page.URL())
		}
	}
	run := sandbox
	sandbox = nil // Run uses it up
	st, err := run.Run(plan, c.stderr)
	if err != nil {
		return c.fail(err)
	}
	for _, w := range engine.GitTampering(plan.Git) {
		fmt.Fprintf(c.stderr, "%s: warning: %s\n", c.prog, w)
	}
	if st.Msg != "" {
		hint := ""
		if st.Code == ExitNotFound {
			hint = "the jail sees your PATH; a tool in a hidden place needs ro = [\"/its/dir\"] in the profile (runjail --explain shows what is mounted)"
		}
		c.errorf(hint, "%s", st.Msg)
	}
	return st.Code
}

func (c *cmd) check() int {
	ok := true
	for _, r := range jail.Check() {
		status := "ok  "
		if !r.OK {
			status = "FAIL"
			if !r.Required {
				status = "warn"
			} else {
				ok = false
			}
		}
		fmt.Fprintf(c.stdout, "%s  %s: %s\n", status, r.Name, r.Detail)
		for _, f := range r.Fix {
			if !r.OK {
				fmt.Fprintf(c.stdout, "      fix: %s\n", f)
			}
		}
	}
	if !ok {
		fmt.Fprintf(c.stdout, "%s cannot run jails on this host until the failures above are fixed\n", c.prog)
		return ExitFailure
	}
	fmt.Fprintf(c.stdout, "%s can run jails on this host\n", c.prog)
	return 0
}
