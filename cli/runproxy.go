package cli

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/runjail/runjail/engine"
	"github.com/runjail/runjail/profiles"
	"github.com/runjail/runjail/proxy"
	"github.com/runjail/runjail/schema"
	"github.com/runjail/runjail/trust"
)

const runproxyUsage = `usage: runproxy [OPTIONS]

Runs runjail's egress proxy alone, for Docker and other sandboxes: the
allowlist of a profile (and --allow), the SSRF guard, interception of
--upstream hosts, the audit log.

options:
  -p, --profile NAME|PATH   profile whose [network] table applies (default "default")
  -n, --name NAME           name in the audit log (default: the profile's)
      --listen ADDR         where to listen (default 127.0.0.1:3128)
      --allow HOST[:PORT]   add to the allowlist (repeatable)
      --upstream HOST=URL   send HOST's traffic to URL (repeatable)
      --upstream-ca FILE    extra CA certificates trusted for upstream TLS
      --export-ca FILE      write the proxy's CA certificate (PEM) to FILE and exit
      --log FILE            audit log, JSON lines (default: $XDG_STATE_HOME/runjail/NAME/egress.log)
  -h, --help                show this help
`

// runproxy serves the egress proxy on a host port until interrupted.
func (c *cmd) runproxy(args []string) int {
	fs := flag.NewFlagSet(c.prog, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		profile, name, listen, exportCA, logPath, upstreamCA string
		help                                                 bool
		allow, upstreams                                     listFlag
	)
	for _, n := range []string{"p", "profile"} {
		fs.StringVar(&profile, n, "default", "")
	}
	for _, n := range []string{"n", "name"} {
		fs.StringVar(&name, n, "", "")
	}
	for _, n := range []string{"h", "help"} {
		fs.BoolVar(&help, n, false, "")
	}
	fs.StringVar(&listen, "listen", "127.0.0.1:3128", "")
	fs.StringVar(&exportCA, "export-ca", "", "")
	fs.StringVar(&logPath, "log", "", "")
	fs.StringVar(&upstreamCA, "upstream-ca", "", "")
	fs.Var(&allow, "allow", "")
	fs.Var(&upstreams, "upstream", "")
	if err := fs.Parse(args); err != nil {
		return c.errorf("run runproxy --help for the options", "%v", err)
	}
	if help {
		fmt.Fprint(c.stdout, runproxyUsage)
		return 0
	}
	if fs.NArg() > 0 {
		return c.errorf("runproxy takes no command; run runjail to run one", "unexpected argument %q", fs.Arg(0))
	}
	host, err := engine.CurrentHost()
	if err != nil {
		return c.fail(err)
	}
	ca, err := proxy.LoadCA(filepath.Join(host.DataHome, "runjail"))
	if err != nil {
		return c.errorf("check the permissions of "+filepath.Join(host.DataHome, "runjail"), "the proxy's CA: %v", err)
	}
	if exportCA != "" {
		if err := os.WriteFile(exportCA, ca.CertPEM, 0o644); err != nil {
			return c.errorf("", "--export-ca: %v", err)
		}
		return 0
	}
	prof, err := schema.Load(profile, schema.Options{Builtin: profiles.FS, UserDir: host.ProfileDir()})
	if err != nil {
		return c.fail(err)
	}
	if code, ok := c.checkTrust(trust.Open(host.DataHome, host.ConfigHome), prof); !ok {
		return code
	}
	opt := engine.Options{Name: name, Allow: allow, Net: "proxy", Command: []string{"runproxy"}}
	for _, u := range upstreams {
		h, target, ok := strings.Cut(u, "=")
		if !ok || h == "" || target == "" {
			return c.errorf("use --upstream HOST=URL", "bad --upstream %q", u)
		}
		opt.Upstreams = append(opt.Upstreams, engine.Upstream{Host: h, URL: target})
	}
	plan, err := engine.Compile(prof, opt, host)
	if err != nil {
		return c.fail(err)
	}
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
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return c.errorf("choose another address with --listen ADDR", "%v", err)
	}
	fmt.Fprintf(c.stderr, "%s: listening on %s (%d allow rules); CA: runproxy --export-ca FILE\n", c.prog, l.Addr(), len(plan.Net.Allow))
	if svc.page != nil {
		fmt.Fprintf(c.stderr, "%s: approve refused hosts at %s\n", c.prog, svc.page.URL())
	}
	done := make(chan error, 1)
	go func() { done <- svc.prx.Serve(l) }()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sigs:
		svc.prx.Close()
		return 0
	case err := <-done:
		return c.errorf("", "%v", err)
	}
}
