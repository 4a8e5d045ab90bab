package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/runjail/runjail/engine"
	"github.com/runjail/runjail/schema"
	"github.com/runjail/runjail/trust"
)

// profileFile is the profile a project checks in.
const profileFile = ".runjail.toml"

// discover returns the .runjail.toml in dir or a parent up to its project
// root, or "".
func discover(dir string) string {
	root := engine.ProjectRoot(dir)
	for d := dir; ; d = filepath.Dir(d) {
		f := filepath.Join(d, profileFile)
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
			return f
		}
		if d == root || d == filepath.Dir(d) {
			return ""
		}
	}
}

// checkTrust lets an untrusted profile run only after a yes on the
// terminal; without one it fails (exit 125) with the command that trusts
// the profile. ok is false when runjail must exit with code.
func (c *cmd) checkTrust(store *trust.Store, p *schema.Profile) (code int, ok bool) {
	untrusted, err := store.Untrusted(p)
	if err != nil {
		return c.errorf("", "reading trusted profiles: %v", err), false
	}
	if len(untrusted) == 0 {
		return 0, true
	}
	top := p.Files[len(p.Files)-1]
	why := fmt.Sprintf("the profile %s is not trusted: %s", top, strings.Join(untrusted, ", "))
	if len(untrusted) == 1 {
		why = fmt.Sprintf("the profile %s is not trusted (new, or changed since you trusted it)", untrusted[0])
	}
	interactive := term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stderr.Fd()))
	if !interactive {
		return c.errorf(fmt.Sprintf("review it (runjail --explain -p %s shows what it does), then run:\nrunjail --trust %s", top, top), "%s", why), false
	}
	fmt.Fprintf(c.stderr, "%s: %s\n", c.prog, why)
	printGrants(c.stderr, p, untrusted)
	fmt.Fprintf(c.stderr, "Trust this content and run? [y/N] ")
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return c.errorf("runjail --trust "+top+" trusts it without asking", "not trusted; nothing was run"), false
	}
	if err := store.Trust(p); err != nil {
		return c.errorf("", "recording the trust: %v", err), false
	}
	return 0, true
}

func printGrants(w io.Writer, p *schema.Profile, untrusted []string) {
	grants := trust.Grants(p, untrusted)
	if len(grants) == 0 {
		fmt.Fprintf(w, "It grants nothing beyond what it extends.\n")
		return
	}
	fmt.Fprintf(w, "It lets the jail:\n")
	for _, g := range grants {
		fmt.Fprintf(w, "  - %s\n", g)
	}
}

// trust records path's profile (and the files it extends) as trusted.
func (c *cmd) trust(store *trust.Store, path string, opt schema.Options) int {
	if !strings.Contains(path, "/") && !strings.HasSuffix(path, ".toml") {
		path = "./" + path
	}
	p, err := schema.Load(path, opt)
	if err != nil {
		return c.fail(err)
	}
	untrusted, err := store.Untrusted(p)
	if err != nil {
		return c.errorf("", "reading trusted profiles: %v", err)
	}
	if len(untrusted) == 0 {
		fmt.Fprintf(c.stdout, "%s: already trusted\n", path)
		return 0
	}
	if err := store.Trust(p); err != nil {
		return c.errorf("", "recording the trust: %v", err)
	}
	for _, f := range untrusted {
		fmt.Fprintf(c.stdout, "trusted %s\n", f)
	}
	printGrants(c.stdout, p, untrusted)
	return 0
}
