package schema

import (
	"slices"
	"strings"
)

// merge folds the file src into p, which holds what the files src extends
// contributed: lists append with duplicates dropped (the first occurrence
// stays), scalars and command are replaced when src sets them, env.set is
// merged by name, credentials append with exact duplicates dropped.
func merge(p, src *Profile) {
	p.Version = src.Version
	scalar(&p.Description, src.Description)
	scalar(&p.Name, src.Name)
	if src.Command != nil {
		p.Command = src.Command
	}

	scalar(&p.Home.Dir, src.Home.Dir)
	p.Home.RO = appendNew(p.Home.RO, src.Home.RO)
	p.Home.Copy = appendNew(p.Home.Copy, src.Home.Copy)

	fs, sfs := &p.Filesystem, &src.Filesystem
	scalar(&fs.Host, sfs.Host)
	fs.Hide = appendNew(fs.Hide, sfs.Hide)
	fs.RW = appendNew(fs.RW, sfs.RW)
	fs.RO = appendNew(fs.RO, sfs.RO)
	fs.Tmpfs = appendNew(fs.Tmpfs, sfs.Tmpfs)
	fs.Protect = appendNew(fs.Protect, sfs.Protect)
	boolean(&fs.MapPath, sfs.MapPath)
	boolean(&fs.MapVCS, sfs.MapVCS)
	fs.HideSet = fs.HideSet || sfs.HideSet
	fs.TmpfsSet = fs.TmpfsSet || sfs.TmpfsSet
	fs.ProtectSet = fs.ProtectSet || sfs.ProtectSet

	p.Env.Pass = appendNew(p.Env.Pass, src.Env.Pass)
	p.Env.PassSet = p.Env.PassSet || src.Env.PassSet
	for _, v := range src.Env.Set {
		if i := slices.IndexFunc(p.Env.Set, func(w EnvVar) bool { return w.Name == v.Name }); i >= 0 {
			p.Env.Set[i] = v
		} else {
			p.Env.Set = append(p.Env.Set, v)
		}
	}
	slices.SortFunc(p.Env.Set, func(a, b EnvVar) int { return strings.Compare(a.Name, b.Name) })

	nw, snw := &p.Network, &src.Network
	scalar(&nw.Mode, snw.Mode)
	nw.Allow = appendNew(nw.Allow, snw.Allow)
	nw.Deny = appendNew(nw.Deny, snw.Deny)
	nw.AllowPrivate = appendNew(nw.AllowPrivate, snw.AllowPrivate)
	boolean(&nw.Approve, snw.Approve)

	for _, c := range src.Credentials {
		if !slices.ContainsFunc(p.Credentials, c.same) {
			p.Credentials = append(p.Credentials, c)
		}
	}
}

// scalar replaces *dst with v when a file set v.
func scalar(dst *Str, v Str) {
	if v.Pos.File != "" {
		*dst = v
	}
}

// boolean replaces *dst with v when a file set v.
func boolean(dst *Bool, v Bool) {
	if v.Set {
		*dst = v
	}
}

// appendNew appends the values in add that are not yet in list.
func appendNew(list, add []Str) []Str {
	for _, s := range add {
		if !slices.ContainsFunc(list, func(t Str) bool { return t.V == s.V }) {
			list = append(list, s)
		}
	}
	return list
}

// same reports whether c and d are the same credential, ignoring positions.
func (c Credential) same(d Credential) bool {
	return c.Type.V == d.Type.V && c.From.V == d.From.V && c.Service.V == d.Service.V &&
		c.Profile.V == d.Profile.V && c.Region.V == d.Region.V && c.Header.V == d.Header.V &&
		slices.EqualFunc(c.Hosts, d.Hosts, func(a, b Str) bool { return a.V == b.V })
}

// Defaults fills the values no profile file set with runjail's defaults,
// positioned at Pos{File: "(default)"}. Load does not call it, so callers
// can tell what the files said.
func Defaults(p *Profile) {
	def := Pos{File: "(default)"}
	str := func(s *Str, v string) {
		if s.V == "" {
			*s = Str{V: v, Pos: def}
		}
	}
	boolean := func(b *Bool, v bool) {
		if !b.Set {
			*b = Bool{V: v, Pos: def}
		}
	}
	list := func(dst *[]Str, set bool, vs ...string) {
		if set {
			return
		}
		*dst = (*dst)[:0:0]
		for _, v := range vs {
			*dst = append(*dst, Str{V: v, Pos: def})
		}
	}
	fs := &p.Filesystem
	str(&p.Home.Dir, "${XDG_CACHE_HOME}/runjail/${NAME}/home")
	str(&fs.Host, "ro")
	str(&p.Network.Mode, "proxy")
	boolean(&fs.MapPath, true)
	boolean(&fs.MapVCS, true)
	boolean(&p.Network.Approve, true)
	list(&fs.Hide, fs.HideSet, "/home", "/root", "/run/user", "/mnt", "/media")
	list(&fs.Tmpfs, fs.TmpfsSet, "/tmp", "/var/tmp", "/dev/shm")
	list(&fs.Protect, fs.ProtectSet, ".git/hooks", ".git/config")
	list(&p.Env.Pass, p.Env.PassSet, "TERM", "COLORTERM", "LANG", "LANGUAGE", "LC_*", "TZ", "NO_COLOR")
}
