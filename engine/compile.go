package engine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/runjail/runjail/engine/gitfile"
	"github.com/runjail/runjail/internal/untrusted"
	"github.com/runjail/runjail/schema"
)

// Options are the command-line settings that add to or override the profile.
type Options struct {
	Name    string   // -n
	Command []string // the command after the options
	Binds   []Bind   // --bind, --ro-bind
	Allow   []string // --allow
	Net     string   // --net
	// Upstreams are --upstream HOST=URL flags: HOST's proxied traffic goes
	// to URL. Only the command line (or user config) can say so.
	Upstreams []Upstream
	// ProxyCA is the proxy CA's certificate (PEM), trusted in proxy mode.
	ProxyCA []byte
}

// Bind is a --bind or --ro-bind flag.
type Bind struct {
	Src, Dst string
	RO       bool
}

// Error is a compile error: a message and a hint saying what to do.
type Error struct {
	Msg, Hint string
}

func (e *Error) Error() string { return e.Msg }

// validName is compiled on first use: init, which shares this binary, never
// needs it.
var validName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`) })

// projectName names the sandbox of the project whose .runjail.toml is
// file: its directory's name, with what a name cannot hold made "-".
func projectName(file string) string {
	name := []byte(filepath.Base(filepath.Dir(file)))
	for i, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			name[i] = '-'
		}
	}
	if len(name) == 0 || !validName().Match(name) {
		return "project"
	}
	return string(name)
}

// Compile turns a profile (with its extends merged) and the command line into
// a Plan for host h. It reads the host filesystem (to resolve symlinks and find
// the project) but changes nothing.
func Compile(p *schema.Profile, opt Options, h Host) (*Plan, error) {
	schema.Defaults(p)
	c := &compiler{p: p, h: h, plan: &Plan{Profile: p.Ref, Files: p.Files, UID: h.UID, GID: h.GID}}
	if err := c.compile(opt); err != nil {
		return nil, err
	}
	return c.plan, nil
}

type compiler struct {
	p        *schema.Profile
	h        Host
	plan     *Plan
	vars     schema.Vars
	realHome string
	project  string
	binds    []Mount
	proxyCA  []byte
}

func (c *compiler) compile(opt Options) error {
	p, h, plan := c.p, c.h, c.plan
	realHome, err := filepath.EvalSymlinks(h.Home)
	if err != nil {
		return &Error{Msg: fmt.Sprintf("your home directory %s: %v", h.Home, errors.Unwrap(err)), Hint: "set HOME to a directory that exists"}
	}
	c.realHome = realHome

	plan.Name = opt.Name
	if plan.Name == "" {
		plan.Name = p.Name.V
	}
	if plan.Name == "" {
		plan.Name = strings.TrimSuffix(filepath.Base(p.Ref), ".toml")
		if plan.Name == ".runjail" {
			// A project's own profile: the sandbox is the project's.
			plan.Name = projectName(p.Files[len(p.Files)-1])
		}
	}
	if !validName().MatchString(plan.Name) {
		return &Error{Msg: fmt.Sprintf("invalid sandbox name %q", plan.Name), Hint: "use letters, digits, '.', '_' and '-' (-n NAME)"}
	}
	plan.Hostname = plan.Name

	c.project = ProjectRoot(h.Cwd)
	c.vars = schema.Vars{
		"HOME": h.Home, "PROJECT": c.project, "PWD": h.Cwd, "NAME": plan.Name,
		"UID":            strconv.Itoa(h.UID),
		"XDG_CACHE_HOME": h.CacheHome, "XDG_CONFIG_HOME": h.ConfigHome, "XDG_DATA_HOME": h.DataHome,
	}

	if err := c.command(opt); err != nil {
		return err
	}
	if err := c.home(); err != nil {
		return err
	}
	if err := c.filesystem(opt); err != nil {
		return err
	}
	if err := c.env(); err != nil {
		return err
	}
	if err := c.network(opt); err != nil {
		return err
	}
	if err := c.credentials(); err != nil {
		return err
	}
	sort.SliceStable(c.plan.Env, func(i, j int) bool { return c.plan.Env[i].Name < c.plan.Env[j].Name })
	return nil
}

func (c *compiler) expand(s schema.Str) (string, error) { return schema.Expand(s, c.vars) }

func (c *compiler) command(opt Options) error {
	switch {
	case len(opt.Command) > 0:
		c.plan.Command = opt.Command
	case len(c.p.Command) > 0:
		for _, s := range c.p.Command {
			v, err := c.expand(s)
			if err != nil {
				return err
			}
			c.plan.Command = append(c.plan.Command, v)
		}
	default:
		shell := c.h.Shell
		if shell == "" {
			shell = "/bin/sh"
		}
		c.plan.Command = []string{shell}
	}
	return nil
}

// home plans the persistent home, home.ro and home.copy.
func (c *compiler) home() error {
	p, plan := c.p, c.plan
	plan.Home = c.h.Home
	from := p.Home.Dir.Pos.String()
	if p.Home.Dir.V != "tmpfs" {
		dir, err := c.expand(p.Home.Dir)
		if err != nil {
			return err
		}
		dir = filepath.Clean(dir)
		if c.isAncestorOfHome(dir) {
			return &Error{Msg: fmt.Sprintf("%s: home.dir %s would expose your real home", from, dir), Hint: "point home.dir at a directory of its own, e.g. ${XDG_CACHE_HOME}/runjail/${NAME}/home"}
		}
		plan.HomeDir = dir
		c.addBind(Mount{Kind: MountBind, Src: dir, Dst: c.realHome, From: from})
	} else {
		c.binds = append(c.binds, Mount{Kind: MountTmpfs, Dst: c.realHome, From: from})
	}

	for _, s := range p.Home.RO {
		src, err := c.expand(s)
		if err != nil {
			return err
		}
		if err := c.bind(src, src, true, s.Pos.String(), true); err != nil {
			return err
		}
	}
	for _, s := range p.Home.Copy {
		src, err := c.expand(s)
		if err != nil {
			return err
		}
		rel, ok := c.underHome(src)
		if !ok {
			return &Error{Msg: fmt.Sprintf("%s: home.copy %s is not under your home", s.Pos, src), Hint: "home.copy takes paths like ~/.gitconfig"}
		}
		if _, err := os.Stat(src); err != nil {
			c.note(fmt.Sprintf("home.copy %s: does not exist", src), s.Pos.String())
			continue
		}
		plan.Copies = append(plan.Copies, Copy{Src: src, Rel: rel, From: s.Pos.String()})
	}
	return nil
}

// filesystem plans the host root, hide, tmpfs, rw/ro binds, PATH and VCS
// mapping and protect, in that order of precedence.
func (c *compiler) filesystem(opt Options) error {
	fsys, plan := c.p.Filesystem, c.plan
	plan.Mounts = []Mount{
		{Kind: MountRoot, Src: "/", Dst: "/", RO: fsys.Host.V != "rw", From: fsys.Host.Pos.String()},
		{Kind: MountDev, Dst: "/dev", From: "(always)"},
		{Kind: MountProc, Dst: "/proc", From: "(always)"},
	}
	var under []Mount // hide and tmpfs, before any bind at the same depth
	for _, s := range fsys.Hide {
		dir, err := c.expandAbs(s)
		if err != nil {
			return err
		}
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			continue // nothing to hide
		}
		fi, err := os.Stat(real)
		if err != nil {
			continue
		}
		// A file (an agent's or a daemon's socket) is covered by an empty file.
		under = append(under, Mount{Kind: MountHide, Dst: real, File: !fi.IsDir(), From: s.Pos.String()})
	}
	for _, s := range fsys.Tmpfs {
		dir, err := c.expandAbs(s)
		if err != nil {
			return err
		}
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			c.note("tmpfs "+dir+": does not exist", s.Pos.String())
			continue
		}
		under = append(under, Mount{Kind: MountTmpfs, Dst: real, From: s.Pos.String()})
	}
	c.binds = append(under, c.binds...)

	for _, l := range []struct {
		list []schema.Str
		ro   bool
	}{{fsys.RW, false}, {fsys.RO, true}} {
		for _, s := range l.list {
			src, err := c.expandAbs(s)
			if err != nil {
				return err
			}
			if strings.HasPrefix(s.V, "${PROJECT}") && c.isAncestorOfHome(c.project) {
				// Started in the home (or a repo holding it): there is no
				// project to show, and the jail starts in its own home.
				c.note(fmt.Sprintf("%s: the project would be %s, which holds your home; not shown", s.V, c.project), s.Pos.String())
				continue
			}
			if err := c.bind(src, src, l.ro, s.Pos.String(), true); err != nil {
				return err
			}
		}
	}
	for _, b := range opt.Binds {
		flag := "--bind"
		if b.RO {
			flag = "--ro-bind"
		}
		src, err := filepath.Abs(b.Src)
		if err != nil {
			return err
		}
		dst := src
		if b.Dst != "" {
			if !filepath.IsAbs(b.Dst) {
				return &Error{Msg: fmt.Sprintf("%s %s:%s: the destination must be an absolute path", flag, b.Src, b.Dst)}
			}
			dst = filepath.Clean(b.Dst)
		}
		if err := c.bind(src, dst, b.RO, flag+" "+b.Src, false); err != nil {
			return err
		}
	}
	if fsys.MapPath.V {
		c.mapPath(fsys.MapPath.Pos.String())
	}
	if fsys.MapVCS.V {
		c.mapVCS(fsys.MapVCS.Pos.String())
	}
	if err := c.protect(fsys.Protect); err != nil {
		return err
	}

	// Shallowest destination first, so deeper mounts land on top; for the same
	// destination only the last rule counts.
	seen := map[string]int{}
	var out []Mount
	for _, m := range c.binds {
		if i, ok := seen[m.Dst]; ok {
			out[i] = m
			continue
		}
		seen[m.Dst] = len(out)
		out = append(out, m)
	}
	sort.SliceStable(out, func(i, j int) bool { return depth(out[i].Dst) < depth(out[j].Dst) })
	plan.Mounts = append(plan.Mounts, out...)

	plan.Dir = c.h.Cwd
	if !c.visible(c.canon(c.h.Cwd)) {
		plan.Dir = c.h.Home
		c.note("working directory "+c.h.Cwd+": not visible in the jail, starting in "+c.h.Home, "(cwd)")
	}
	// The real home must be unreachable, whatever the profile binds; the
	// jail checks by device and inode. (Other hidden paths may be shown in
	// part on purpose, e.g. a project under /tmp.)
	var st syscall.Stat_t
	if err := syscall.Stat(c.realHome, &st); err != nil {
		return &Error{Msg: fmt.Sprintf("your home directory %s: %v", c.realHome, err)}
	}
	plan.Hidden = []HiddenDir{{Path: c.realHome, Dev: st.Dev, Ino: st.Ino}}
	return nil
}

// bind plans src (a host path) at dst (a jail path). A missing src is a note
// when optional, else an error.
func (c *compiler) bind(src, dst string, ro bool, from string, optional bool) error {
	real, err := filepath.EvalSymlinks(src)
	if err != nil {
		if optional {
			c.note(fmt.Sprintf("%s: does not exist", src), from)
			return nil
		}
		return &Error{Msg: fmt.Sprintf("%s: %s does not exist", from, src), Hint: "create it or drop the bind"}
	}
	if c.isAncestorOfHome(real) {
		return &Error{Msg: fmt.Sprintf("%s: refusing to show %s: it contains your home directory, which runjail always hides", from, real),
			Hint: "bind the project or the directories you need instead (run runjail from inside your project)"}
	}
	// A symlink must not lead a bind into a place runjail hides, unless the
	// path as written is there too: the jail may have planted the symlink.
	for _, hid := range c.hiddenRoots() {
		if Within(real, hid) && !Within(src, hid) && !Within(c.canon(src), hid) {
			return &Error{Msg: fmt.Sprintf("%s: refusing to show %s: it resolves through a symlink to %s, inside hidden %s", from, src, real, hid),
				Hint: "name the real path in the profile if you mean it, or remove the symlink"}
		}
	}
	fi, err := os.Stat(real)
	if err != nil {
		return &Error{Msg: fmt.Sprintf("%s: %v", from, err)}
	}
	c.addBind(Mount{Kind: MountBind, Src: real, Dst: c.canon(dst), RO: ro, File: !fi.IsDir(), From: from})
	return nil
}

func (c *compiler) addBind(m Mount) { c.binds = append(c.binds, m) }

// hiddenRoots are the host paths the jail sees something else at.
func (c *compiler) hiddenRoots() []string {
	roots := []string{c.realHome}
	for _, m := range c.binds {
		if m.Kind == MountHide || m.Kind == MountTmpfs {
			roots = append(roots, m.Dst)
		}
	}
	return roots
}

// mapPath shows $PATH entries that the jail would not see, read-only at their
// original path.
func (c *compiler) mapPath(from string) {
	for _, dir := range filepath.SplitList(c.h.PATH) {
		if !filepath.IsAbs(dir) {
			continue
		}
		dir = filepath.Clean(dir)
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			continue
		}
		dst := c.canon(dir)
		if c.visible(dst) && c.visible(real) {
			continue
		}
		if c.isAncestorOfHome(real) {
			c.note("map_path "+dir+": contains your home directory, not shown", from)
			continue
		}
		c.addBind(Mount{Kind: MountBind, Src: real, Dst: dst, RO: true, From: from + " ($PATH " + dir + ")"})
		if real != dst && !c.visible(real) {
			c.addBind(Mount{Kind: MountBind, Src: real, Dst: real, RO: true, From: from + " ($PATH " + dir + ")"})
		}
		c.mapTargets(real, dir, from)
	}
}

// mapTargets shows the programs that symlinks in a mapped $PATH directory
// point to in hidden places, such as Claude Code's native install
// (~/.local/bin/claude -> ~/.local/share/claude/versions/VERSION). Only
// native executables, each file alone and read-only: the directory around
// a target may hold anything, and a script needs more than its own file
// (its interpreter's packages), which --explain then says how to show.
func (c *compiler) mapTargets(realDir, dir, from string) {
	entries, err := os.ReadDir(realDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		link := filepath.Join(dir, e.Name())
		target, err := filepath.EvalSymlinks(filepath.Join(realDir, e.Name()))
		if err != nil || c.visible(target) {
			continue
		}
		switch native, err := isNativeExecutable(target); {
		case err != nil:
			continue
		case !native:
			c.note(fmt.Sprintf("map_path %s: its target %s is hidden and not a native executable, not shown (show its package with ro = [\"DIR\"])",
				link, target), from)
			continue
		}
		c.addBind(Mount{Kind: MountBind, Src: target, Dst: target, RO: true, File: true, From: from + " ($PATH " + link + ")"})
	}
}

// isNativeExecutable reports whether path is a regular, executable ELF file.
func isNativeExecutable(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
		return false, err
	}
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err != nil {
		return false, nil
	}
	return string(magic) == "\x7fELF", nil
}

// mapVCS shows the repository behind a git worktree or jj workspace,
// read-write, when it lies outside the project.
func (c *compiler) mapVCS(from string) {
	var shown []string
	for _, dir := range vcsDirs(c.project) {
		real, err := filepath.EvalSymlinks(dir)
		if err != nil || Within(real, c.project) || c.isAncestorOfHome(real) || slices.ContainsFunc(shown, func(d string) bool { return Within(real, d) }) {
			continue
		}
		shown = append(shown, real)
		c.addBind(Mount{Kind: MountBind, Src: real, Dst: real, From: from + " (repository of " + c.project + ")"})
	}
}

// vcsDirs returns the git common dir of a worktree and the jj repo (and its
// git store) of a workspace rooted at project.
func vcsDirs(project string) []string {
	var dirs []string
	if gitdir, ok := gitfile.Pointer(filepath.Join(project, ".git")); ok {
		// The common dir first: the worktree's own gitdir is inside it.
		if common := gitfile.CommonDir(gitdir); common != gitdir {
			dirs = append(dirs, common)
		}
		dirs = append(dirs, gitdir)
	}
	if b, err := untrusted.ReadFile(filepath.Join(project, ".jj", "repo"), smallFile); err == nil {
		repo := abs(filepath.Join(project, ".jj"), strings.TrimSpace(string(b)))
		dirs = append(dirs, repo)
		if b, err := untrusted.ReadFile(filepath.Join(repo, "store", "git_target"), smallFile); err == nil {
			dirs = append(dirs, abs(filepath.Join(repo, "store"), strings.TrimSpace(string(b))))
		}
	}
	return dirs
}

// protect keeps the protect paths under every writable bind read-only. For a
// git directory (a worktree's common dir, or a submodule's under
// .git/modules), entries under ".git/" apply to the directory itself.
//
// When any entry is under .git/, the git directories themselves are pinned
// (bound onto themselves, or read-only for a .git file): a mount point
// cannot be renamed or removed, so the jail cannot move .git aside and put
// a repository of its own, hooks and config included, in its place.
func (c *compiler) protect(entries []schema.Str) error {
	var rw []Mount
	for _, m := range c.binds {
		if m.Kind == MountBind && !m.RO && !m.File {
			rw = append(rw, m)
		}
	}
	var pin *schema.Str // the entry that asks for pinning
	var perWorktree []schema.Str
	for i, e := range entries {
		if strings.HasPrefix(e.V, ".git/") && pin == nil {
			pin = &entries[i]
		}
		if e.V == ".git/config.worktree" {
			perWorktree = append(perWorktree, e)
		}
	}
	for _, m := range rw {
		gitDir := isGitDir(m.Src)
		top := filepath.Join(m.Src, ".git")
		if gitDir {
			top = m.Src // a bind already: pinned
		} else if pin != nil {
			if err := c.pinGit(top, filepath.Join(m.Dst, ".git"), *pin); err != nil {
				return err
			}
		}
		if err := c.protectIn(m.Src, m.Dst, gitDir, entries); err != nil {
			return err
		}
		var embedded []string
		if pin != nil && !gitDir && m.Src == c.project {
			var err error
			if embedded, err = c.embeddedRepos(top, m.Dst, *pin, entries); err != nil {
				return err
			}
			if err := c.protectHooksDir(c.plan.Git, rw, *pin); err != nil {
				return err
			}
		}
		// Submodules keep their hooks and config in the superproject's
		// git directory; each linked worktree has a directory of its own
		// there, with a config.worktree and the commondir and gitdir
		// files that say where its repository is.
		var subs, worktrees []string
		subs = gitDirsUnder(filepath.Join(top, "modules"), 4)
		if dirs, err := os.ReadDir(filepath.Join(top, "worktrees")); err == nil {
			for _, d := range dirs {
				sub := filepath.Join(top, "worktrees", d.Name())
				if _, err := os.Lstat(filepath.Join(sub, "commondir")); d.IsDir() && err == nil {
					worktrees = append(worktrees, sub)
				}
			}
		}
		if pin != nil {
			if c.plan.Git != nil && m.Src == c.project {
				c.plan.Git.Dirs = append(append(c.plan.Git.Dirs, subs...), embedded...)
			}
			if found := withCommondir(append(append([]string{top}, subs...), embedded...)); len(found) > 0 {
				return &Error{Msg: fmt.Sprintf("%s: refusing to run: %s/commondir makes git read the repository's config elsewhere", pin.Pos, found[0]),
					Hint: "a jail may have planted it: look at it and remove it"}
			}
		}
		pinned := map[string]bool{}
		for _, sub := range append(subs, worktrees...) {
			rel, _ := filepath.Rel(m.Src, sub)
			dst := filepath.Join(m.Dst, rel)
			if pin != nil {
				// The directories on the way too (modules, worktrees):
				// moved aside, they would take the pinned one along and
				// leave room for another.
				topRel, _ := filepath.Rel(m.Src, top)
				inner, _ := filepath.Rel(topRel, rel)
				c.pinPath(top, filepath.Join(m.Dst, topRel), inner, pinned, *pin)
			}
			list := entries
			if slices.Contains(worktrees, sub) {
				list = perWorktree
				if pin != nil {
					for _, name := range []string{"commondir", "gitdir"} {
						list = append(list, schema.Str{V: ".git/" + name, Pos: pin.Pos})
					}
				}
			}
			if err := c.protectIn(sub, dst, true, list); err != nil {
				return err
			}
		}
	}
	return nil
}

// embeddedRepos pins and protects the repositories inside the project
// that its index records (submodules, or repositories added in place):
// git status on the host enters them and runs git there, with their own
// config and hooks. It returns their git directories, and records in the
// plan what GitTampering looks at after the jail.
func (c *compiler) embeddedRepos(top, dst string, pin schema.Str, entries []schema.Str) ([]string, error) {
	pinned := map[string]bool{}
	gitDir := top
	if fi, err := os.Lstat(top); errors.Is(err, fs.ErrNotExist) {
		c.plan.Git = &GitCheck{WorkTree: c.project, Absent: true}
		return nil, nil
	} else if err != nil {
		return nil, nil
	} else if !fi.IsDir() {
		// A worktree: its index is in its own git directory.
		var ok bool
		if gitDir, ok = gitfile.Pointer(top); !ok {
			return nil, nil
		}
	}
	g := &GitCheck{Dirs: []string{top}, WorkTree: c.project, GitDir: gitDir, CommonDir: gitfile.CommonDir(gitDir)}
	g.HashSize = gitfile.ObjectIDSize(g.CommonDir)
	g.Worktrees = dirNames(filepath.Join(g.CommonDir, "worktrees"))
	c.plan.Git = g
	links, err := gitfile.Gitlinks(filepath.Join(gitDir, "index"), g.HashSize)
	if err != nil {
		return nil, nil // no index yet, or one git itself would refuse
	}
	var dirs []string
	for _, l := range links {
		if !cleanRel(l) {
			continue
		}
		g.Links = append(g.Links, l)
		sub := filepath.Join(c.project, l, ".git")
		subDst := filepath.Join(dst, l, ".git")
		// The repository's directory and those on the way to it: moved
		// aside, they would leave room for one of the jail's making.
		c.pinPath(c.project, dst, l, pinned, pin)
		if err := c.pinGit(sub, subDst, pin); err != nil {
			return nil, err
		}
		if isGitDir(sub) {
			if err := c.protectIn(sub, subDst, true, entries); err != nil {
				return nil, err
			}
			dirs = append(dirs, sub)
		}
	}
	return dirs, nil
}

// GitTampering reports what a jail may have left in the project's
// repository to make git on the host run its commands: a repository made
// where there was none (all of it the jail's), a commondir in a git
// directory (git would read the config it points to), a linked worktree
// (whose commondir the jail wrote), and a repository added to the index
// (git status enters it and uses its config and hooks).
func GitTampering(g *GitCheck) []string {
	if g == nil {
		return nil
	}
	var found []string
	if g.Absent {
		if _, err := os.Lstat(filepath.Join(g.WorkTree, ".git")); err == nil {
			found = append(found, fmt.Sprintf("%s/.git was made in the jail: its hooks and config are the jail's. Look at them before you run git there (or delete it); from the next session on they are protected", g.WorkTree))
		}
		return found
	}
	for _, d := range withCommondir(g.Dirs) {
		found = append(found, fmt.Sprintf("%s/commondir appeared: git would read this repository's config where it points; remove it", d))
	}
	worktrees := filepath.Join(g.CommonDir, "worktrees")
	for _, name := range dirNames(worktrees) {
		if !slices.Contains(g.Worktrees, name) {
			found = append(found, fmt.Sprintf("%s/%s: a linked worktree was made in the jail; git in its work tree reads the repository its commondir names, which the jail wrote. Look at it before you run git there, or remove it: git worktree remove --force %s",
				worktrees, name, name))
		}
	}
	links, _ := gitfile.Gitlinks(filepath.Join(g.GitDir, "index"), g.HashSize)
	for _, l := range links {
		if !cleanRel(l) || slices.Contains(g.Links, l) {
			continue
		}
		if _, err := os.Lstat(filepath.Join(g.WorkTree, l, ".git")); err == nil {
			found = append(found, fmt.Sprintf("%s: a repository was added to the index; git status runs git in it with its own config and hooks. Look at %s/.git before you run git here, or remove it: git rm --cached %s",
				filepath.Join(g.WorkTree, l), l, l))
		}
	}
	return found
}

// withCommondir returns those of the git directories (none of them a
// linked worktree's) that hold a commondir: git would take the
// repository's config from where it points.
func withCommondir(dirs []string) []string {
	var found []string
	for _, d := range dirs {
		if _, err := os.Lstat(filepath.Join(d, "commondir")); err == nil {
			found = append(found, d)
		}
	}
	return found
}

// dirNames lists the directories in dir (none if it cannot be read).
func dirNames(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// pinPath binds onto itself each directory from base/rel's first component
// down to base/rel (shown at dst/...), parents first, once each: a mount
// point cannot be renamed or removed. Symlinks and missing paths end it.
func (c *compiler) pinPath(base, dst, rel string, pinned map[string]bool, e schema.Str) {
	if rel == "." || !cleanRel(rel) {
		return
	}
	p := ""
	for _, part := range strings.Split(rel, "/") {
		p = path.Join(p, part)
		src := filepath.Join(base, p)
		if fi, err := os.Lstat(src); err != nil || !fi.IsDir() {
			return
		}
		if !pinned[src] {
			pinned[src] = true
			c.addBind(Mount{Kind: MountBind, Src: src, Dst: filepath.Join(dst, p), From: e.Pos.String() + " (git directory pinned)"})
		}
	}
}

// pinGit makes the .git of a writable directory impossible to move or
// replace: a directory is bound onto itself, a file (a worktree's or a
// submodule's pointer to its repository) shown read-only.
func (c *compiler) pinGit(src, dst string, e schema.Str) error {
	fi, err := os.Lstat(src)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return &Error{Msg: fmt.Sprintf("%s: protect %s: %v", e.Pos, src, err)}
	case fi.Mode()&fs.ModeSymlink != 0:
		return &Error{Msg: fmt.Sprintf("%s: refusing to run: %s is a symlink, so it cannot be protected", e.Pos, src),
			Hint: "a jail may have planted it: look at it, and remove it or replace it with the real directory"}
	}
	c.addBind(Mount{Kind: MountBind, Src: src, Dst: dst, RO: !fi.IsDir(), File: !fi.IsDir(), From: e.Pos.String() + " (git directory pinned)"})
	return nil
}

// protectIn protects entries below src, shown at dst.
func (c *compiler) protectIn(src, dst string, gitDir bool, entries []schema.Str) error {
	for _, e := range entries {
		rel := e.V
		if gitDir {
			r, ok := strings.CutPrefix(rel, ".git/")
			if !ok {
				continue
			}
			rel = r
		}
		// Missing, a name with a dot is taken for a file. A file in the
		// work tree is left alone: an empty one would show in git status.
		// Inside a git or jj directory it is made (.git/config.worktree,
		// which git reads once the repository enables worktree config,
		// as sparse-checkout does; .jj/repo/config.toml).
		missing := missingDir
		if strings.Contains(filepath.Base(rel), ".") {
			missing = missingFile
			if !gitDir && !strings.HasPrefix(e.V, ".git/") && !strings.HasPrefix(e.V, ".jj/") {
				missing = missingSkip
			}
		}
		if err := c.protectPath(filepath.Join(src, rel), filepath.Join(dst, rel), missing, e.Pos, ""); err != nil {
			return err
		}
	}
	return nil
}

// What protectPath makes of a path that is not there.
const (
	missingSkip = iota // nothing: the jail may create it
	missingDir         // an empty directory, protected
	missingFile        // an empty file, protected
)

// protectPath keeps the host path (shown at dst) read-only in the jail. One
// that is missing the jail could create: made empty and protected instead,
// as missing says, when its parent is there. A symlink (a jail may have
// planted it) makes runjail refuse to run. what names it in messages.
func (c *compiler) protectPath(path, dst string, missing int, pos schema.Pos, what string) error {
	from := pos.String()
	if what != "" {
		from += " (" + what + ")"
		what = " (" + what + ")"
	}
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, syscall.ENOTDIR):
		return nil // .git is a file (a worktree): its repository is protected as a git dir
	case errors.Is(err, fs.ErrNotExist):
		if parent, err := os.Lstat(filepath.Dir(path)); err == nil && parent.IsDir() && missing != missingSkip {
			c.addBind(Mount{Kind: MountBind, Src: path, Dst: dst, RO: true, File: missing == missingFile, Create: true, From: from})
		}
		return nil
	case err != nil:
		return &Error{Msg: fmt.Sprintf("%s: protect %s: %v", pos, path, err)}
	case fi.Mode()&fs.ModeSymlink != 0:
		return &Error{Msg: fmt.Sprintf("%s: refusing to run: %s%s is a symlink, so it cannot be protected", pos, path, what),
			Hint: "a jail may have planted it: look at it, and remove it or replace it with the real one"}
	}
	c.addBind(Mount{Kind: MountBind, Src: path, Dst: dst, RO: true, File: !fi.IsDir(), From: from})
	return nil
}

// gitDirsUnder finds git directories below dir (submodules nest), at most
// depth levels down.
func gitDirsUnder(dir string, depth int) []string {
	if depth == 0 {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var found []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		if isGitDir(sub) {
			found = append(found, sub)
			found = append(found, gitDirsUnder(filepath.Join(sub, "modules"), depth-1)...)
			continue
		}
		found = append(found, gitDirsUnder(sub, depth-1)...) // submodule names may contain "/"
	}
	return found
}

func isGitDir(dir string) bool {
	_, err1 := os.Stat(filepath.Join(dir, "HEAD"))
	_, err2 := os.Stat(filepath.Join(dir, "objects"))
	return err1 == nil && err2 == nil
}

func (c *compiler) env() error {
	p, h := c.p, c.h
	add := c.setEnv
	for _, kv := range h.Env {
		name, value, _ := strings.Cut(kv, "=")
		for _, pat := range p.Env.Pass {
			if ok, _ := path.Match(pat.V, name); ok {
				add(name, value, "env.pass at "+pat.Pos.String())
				break
			}
		}
	}
	add("HOME", h.Home, "runjail")
	if h.User != "" {
		add("USER", h.User, "runjail")
		add("LOGNAME", h.User, "runjail")
	}
	add("PATH", h.PATH, "runjail")
	if h.Shell != "" {
		add("SHELL", h.Shell, "runjail")
	}
	add("PWD", c.plan.Dir, "runjail")
	add("RUNJAIL_SANDBOX", c.plan.Name, "runjail")
	for _, v := range p.Env.Set {
		val, err := c.expand(v.Value)
		if err != nil {
			return err
		}
		add(v.Name, val, "env.set at "+v.Value.Pos.String())
	}
	return nil
}

// setEnv sets a variable of the jail's environment, replacing an earlier one.
func (c *compiler) setEnv(name, value, from string) { c.plan.SetEnv(name, value, from) }

// SetEnv sets name in the jail's environment, replacing an earlier value.
func (p *Plan) SetEnv(name, value, from string) {
	for i := range p.Env {
		if p.Env[i].Name == name {
			p.Env[i] = EnvVar{name, value, from}
			return
		}
	}
	p.Env = append(p.Env, EnvVar{name, value, from})
}

// NetMode is the network mode the profile and the flags ask for ("" when
// --net names no mode).
func NetMode(p *schema.Profile, opt Options) string {
	switch {
	case opt.Net != "":
		if opt.Net != "none" && opt.Net != "proxy" && opt.Net != "host" {
			return ""
		}
		return opt.Net
	case p.Network.Mode.V == "":
		return "proxy"
	}
	return p.Network.Mode.V
}

// ApprovedFile is where the approval page keeps the hosts approved for
// every session of a sandbox ("Approve always"), one host pattern a line.
// It is the user's own config, out of every jail's reach.
func ApprovedFile(h Host, sandbox string) string {
	return filepath.Join(h.ConfigHome, "runjail", "approved", sandbox+".txt")
}

// approved allows the hosts approved always in an earlier session.
func (c *compiler) approved() error {
	path := ApprovedFile(c.h, c.plan.Name)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &Error{Msg: fmt.Sprintf("hosts approved always: %v", err)}
	}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		at := fmt.Sprintf("%s:%d:1", path, i+1)
		if _, err := schema.ParseHostPattern(line); err != nil {
			return &Error{Msg: fmt.Sprintf("%s: %v", at, err),
				Hint: "fix or delete the line: the file lists the hosts approved always on the approval page"}
		}
		c.plan.Net.Allow = append(c.plan.Net.Allow, Rule{line, at + " (approved always)"})
	}
	return nil
}

func (c *compiler) network(opt Options) error {
	n, plan := c.p.Network, c.plan
	c.proxyCA = opt.ProxyCA
	plan.Net = Network{Mode: NetMode(c.p, opt), ModeFrom: n.Mode.Pos.String(), Approve: n.Approve.V}
	if opt.Net != "" {
		if plan.Net.Mode == "" {
			return &Error{Msg: fmt.Sprintf("--net %s: unknown network mode", opt.Net), Hint: "use --net none, --net proxy or --net host"}
		}
		plan.Net.ModeFrom = "--net"
	}
	if plan.Net.Mode == "proxy" {
		c.proxyMode()
	}
	for _, s := range n.Allow {
		plan.Net.Allow = append(plan.Net.Allow, Rule{s.V, s.Pos.String()})
	}
	for _, u := range opt.Upstreams {
		parsed, err := url.Parse(u.URL)
		if err != nil || (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.Host == "" || (parsed.Path != "" && parsed.Path != "/") {
			return &Error{Msg: fmt.Sprintf("--upstream %s=%s: the URL must be http(s)://HOST[:PORT]", u.Host, u.URL), Hint: "e.g. --upstream api.anthropic.com=https://127.0.0.1:8443"}
		}
		if _, err := schema.ParseHostPattern(u.Host); err != nil || strings.Contains(u.Host, "*") || strings.Contains(u.Host, ":") {
			return &Error{Msg: fmt.Sprintf("--upstream %s=%s: %q is not a host name", u.Host, u.URL, u.Host), Hint: "use --upstream HOST=URL with an exact host, e.g. api.anthropic.com"}
		}
		plan.Net.Upstreams = append(plan.Net.Upstreams, Upstream{Host: strings.ToLower(u.Host), URL: parsed.Scheme + "://" + parsed.Host})
	}
	for _, a := range opt.Allow {
		if _, err := schema.ParseHostPattern(a); err != nil {
			return &Error{Msg: fmt.Sprintf("--allow %s: %v", a, err), Hint: "use HOST or HOST:PORT, e.g. --allow api.example.com or --allow '*.example.com:8443'"}
		}
		plan.Net.Allow = append(plan.Net.Allow, Rule{a, "--allow"})
	}
	if plan.Net.Mode == "proxy" {
		if err := c.approved(); err != nil {
			return err
		}
	}
	for _, s := range n.Deny {
		plan.Net.Deny = append(plan.Net.Deny, Rule{s.V, s.Pos.String()})
	}
	for _, s := range n.AllowPrivate {
		plan.Net.AllowPrivate = append(plan.Net.AllowPrivate, Rule{s.V, s.Pos.String()})
	}
	return nil
}

// proxyMode plans what makes the proxy the jail's way out: its listeners on
// the jail's loopback, the jail's resolv.conf pointing at the jail's DNS
// (whatever the host uses), and the proxy variables clients honour.
func (c *compiler) proxyMode() {
	plan := c.plan
	// Clients that ignore the proxy variables resolve an allowed name to
	// the jail's loopback and connect to port 443 or 80 there: the proxy
	// serves those ports too.
	plan.Listen = []Listen{{"proxy", "tcp", ProxyAddr}, {"dns", "udp", DNSAddr}, {"dns", "tcp", DNSAddr},
		{"https", "tcp", HTTPSAddr}, {"http", "tcp", HTTPAddr}}
	host, _, _ := strings.Cut(DNSAddr, ":")
	plan.Mounts = append(plan.Mounts, Mount{Kind: MountFile, Dst: c.canon("/etc/resolv.conf"),
		Content: "# runjail: the jail's resolver answers allowed names only\nnameserver " + host + "\n", From: "network.mode proxy"})
	proxyURL := "http://" + ProxyAddr
	for _, name := range []string{"HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"} {
		c.setEnv(name, proxyURL, "network.mode proxy")
	}
	for _, name := range []string{"NO_PROXY", "no_proxy"} {
		c.setEnv(name, "", "network.mode proxy")
	}
	// Node 22.21+ and 24.5+ honour the variables above only when asked.
	c.setEnv("NODE_USE_ENV_PROXY", "1", "network.mode proxy")
	c.trustProxyCA()
}

// systemBundles are where distributions keep the CA bundle TLS clients read.
var systemBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Arch, Gentoo
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // Fedora, RHEL
	"/etc/ssl/ca-bundle.pem",                            // openSUSE
	"/etc/ssl/cert.pem",                                 // Alpine
}

// trustProxyCA makes the jail's TLS clients trust the proxy's CA: the
// system bundles are shown with the CA added, and the variables curl, git,
// Node, Python and Go read name the first of them.
func (c *compiler) trustProxyCA() {
	if len(c.proxyCA) == 0 {
		return
	}
	first := ""
	seen := map[string]bool{}
	for _, path := range systemBundles {
		real, err := filepath.EvalSymlinks(path)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		// init reads the bundle itself: it is too big for the plan message.
		c.plan.Mounts = append(c.plan.Mounts, Mount{Kind: MountFile, Src: real, Dst: real, Content: string(c.proxyCA), From: "network.mode proxy (proxy CA added)"})
		if first == "" {
			first = path
		}
	}
	if first == "" {
		c.note("no system CA bundle found: TLS clients in the jail will not trust the proxy's CA", "network.mode proxy")
		return
	}
	for _, name := range []string{"SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO"} {
		c.setEnv(name, first, "network.mode proxy")
	}
}

func (c *compiler) credentials() error {
	for _, cr := range c.p.Credentials {
		pc := Credential{Type: cr.Type.V, Source: cr.From.V, Header: cr.Header.V, Service: cr.Service.V, Profile: cr.Profile.V, Region: cr.Region.V, From: cr.Pos.String()}
		switch {
		case cr.Type.V == "aws":
			pc.Source = "aws profile " + cr.Profile.V
			if cr.Profile.V == "" {
				pc.Source = "aws default credential chain"
			}
		case strings.HasPrefix(cr.From.V, "file:"):
			path, err := c.expandAbs(schema.Str{V: strings.TrimPrefix(cr.From.V, "file:"), Pos: cr.From.Pos})
			if err != nil {
				return err
			}
			pc.Source = "file:" + path
		}
		// The secret itself never enters the jail, even if env.pass
		// lets its variable through.
		var secretVars []string
		switch {
		case strings.HasPrefix(cr.From.V, "env:"):
			secretVars = []string{strings.TrimPrefix(cr.From.V, "env:")}
		case cr.From.V == "claude":
			secretVars = []string{"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"}
		case cr.Type.V == "aws":
			secretVars = []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "AWS_PROFILE"}
		}
		for _, name := range secretVars {
			c.plan.Env = slices.DeleteFunc(c.plan.Env, func(e EnvVar) bool {
				if e.Name == name {
					c.note("$"+name+" is not passed: the proxy adds the credential", pc.From)
					return true
				}
				return false
			})
		}
		for _, h := range cr.Hosts {
			pc.Hosts = append(pc.Hosts, h.V)
		}
		c.plan.Creds = append(c.plan.Creds, pc)
	}
	return nil
}

func (c *compiler) note(what, from string) { c.plan.Notes = append(c.plan.Notes, Note{what, from}) }

// expandAbs expands s and requires an absolute path.
func (c *compiler) expandAbs(s schema.Str) (string, error) {
	v, err := c.expand(s)
	if err != nil {
		return "", err
	}
	if !filepath.IsAbs(v) {
		return "", &Error{Msg: fmt.Sprintf("%s: %q is not an absolute path", s.Pos, v), Hint: "start it with /, ~/ or a variable such as ${PROJECT}"}
	}
	return filepath.Clean(v), nil
}

// canon returns the jail path for host path p: symlinks resolved as the host
// resolves them, except below the home, whose contents differ in the jail.
func (c *compiler) canon(p string) string {
	if rel, ok := c.underHome(p); ok {
		return filepath.Join(c.realHome, rel)
	}
	rest := ""
	for d := p; ; d = filepath.Dir(d) {
		if real, err := filepath.EvalSymlinks(d); err == nil {
			if rel, ok := c.underHome(real); ok && rest != "" {
				return filepath.Join(c.realHome, rel, rest)
			}
			return filepath.Join(real, rest)
		}
		if d == "/" {
			return p
		}
		rest = filepath.Join(filepath.Base(d), rest)
	}
}

// underHome reports p's path relative to the home when p is in it.
func (c *compiler) underHome(p string) (string, bool) {
	for _, home := range []string{c.h.Home, c.realHome} {
		if Within(p, home) {
			rel, _ := filepath.Rel(home, p)
			return rel, true
		}
	}
	return "", false
}

func (c *compiler) isAncestorOfHome(p string) bool {
	return Within(c.realHome, p) || Within(c.h.Home, p)
}

// visible reports whether jail path p shows the host's p or a bind: it is
// not covered by a hide, tmpfs or home mount unless a bind is mounted at or
// above it below that.
func (c *compiler) visible(p string) bool {
	cover := -1 // depth of the deepest covering mount
	show := -1  // depth of the deepest bind containing p
	for _, m := range c.binds {
		if !Within(p, m.Dst) {
			continue
		}
		d := depth(m.Dst)
		if m.Kind == MountBind && m.Src == m.Dst {
			show = max(show, d)
		} else {
			cover = max(cover, d)
		}
	}
	return show >= cover
}

// Within reports whether path p is dir or below it (both clean and
// absolute).
func Within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// smallFile bounds what is read of a file in a repository the jail could
// have written (a .git file, a commondir, a config): 1 MiB.
const smallFile = 1 << 20

// cleanRel reports whether p is a clean relative path below its base.
func cleanRel(p string) bool {
	return p != "" && !path.IsAbs(p) && path.Clean(p) == p && p != ".." && !strings.HasPrefix(p, "../")
}

func depth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}

func abs(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}
