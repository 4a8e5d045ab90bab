package engine

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Explain writes the plan for a person: every mount, environment variable
// name, network rule and credential source, each with where it came from.
// It never writes a value taken from the host environment.
func Explain(w io.Writer, p *Plan) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	pr := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	pr("sandbox\t%s\n", p.Name)
	pr("profile\t%s\t%s\n", p.Profile, strings.Join(p.Files, " <- "))
	pr("command\t%s\n", quoteArgs(p.Command))
	pr("dir\t%s\n", p.Dir)
	pr("user\tuid %d gid %d (mapped to themselves)\n", p.UID, p.GID)
	ns := "user mount pid ipc uts cgroup"
	if p.Net.Mode != "host" {
		ns += " net"
	}
	pr("namespaces\t%s\n", ns)
	if p.HomeDir == "" {
		pr("home\t%s\ttmpfs (discarded at exit)\n", p.Home)
	} else {
		pr("home\t%s\t%s (persistent)\n", p.Home, p.HomeDir)
	}
	pr("\nmounts (in order)\n")
	for _, m := range p.Mounts {
		mode := "rw"
		if m.RO || m.Kind == MountHide {
			mode = "ro"
		}
		what := string(m.Kind)
		src := m.Src
		if m.Kind == MountBind && m.Src == m.Dst {
			src = "="
		}
		if m.Create {
			src += " (created empty)"
		}
		pr("  %s\t%s\t%s\t%s\t%s\n", what, m.Dst, mode, src, m.From)
	}
	for _, c := range p.Copies {
		pr("  copy\t%s/%s\t\t%s\t%s\n", p.Home, c.Rel, c.Src, c.From)
	}
	pr("\nenvironment (names only)\n")
	for _, e := range p.Env {
		pr("  %s\t%s\n", e.Name, e.From)
	}
	pr("\nnetwork\t%s\t%s\n", p.Net.Mode, p.Net.ModeFrom)
	if p.Net.Mode == "proxy" {
		for _, r := range p.Net.Allow {
			pr("  allow\t%s\t%s\n", r.Value, r.From)
		}
		for _, r := range p.Net.Deny {
			pr("  deny\t%s\t%s\n", r.Value, r.From)
		}
		for _, r := range p.Net.AllowPrivate {
			pr("  allow_private\t%s\t%s\n", r.Value, r.From)
		}
		for _, u := range p.Net.Upstreams {
			pr("  upstream\t%s\t%s\t--upstream\n", u.Host, u.URL)
		}
		pr("  approve\t%v\n", p.Net.Approve)
	}
	if len(p.Creds) > 0 {
		pr("\ncredentials (injected by the proxy)\n")
		for _, c := range p.Creds {
			pr("  %s\t%s\t%s\t%s\n", c.Type, strings.Join(c.Hosts, ","), c.Source, c.From)
		}
	}
	if len(p.Notes) > 0 {
		pr("\nskipped\n")
		for _, n := range p.Notes {
			pr("  %s\t%s\n", n.What, n.From)
		}
	}
	return tw.Flush()
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}
