// Package engine compiles a profile into a Plan: plain data, every mount,
// environment variable and network rule with the place it came from.
// Package engine/jail executes a Plan.
package engine

// Plan is everything needed to run one jail. It holds no secrets: credentials
// appear by reference, environment variables from the host by name.
type Plan struct {
	Name     string   // sandbox name; keys the persistent home
	Profile  string   // how the profile was asked for
	Files    []string // the profile files that made the plan, base first
	Command  []string // argv; Command[0] is looked up on the jail's PATH
	Dir      string   // working directory inside the jail
	Hostname string
	UID, GID int

	// Home is $HOME inside the jail (the user's real home path) and HomeDir
	// the host directory mounted there; "" means a fresh tmpfs.
	Home    string
	HomeDir string
	// Copies are files copied into HomeDir at each start.
	Copies []Copy
	// HomeJSON are JSON files in HomeDir whose keys are set at each start.
	HomeJSON []HomeJSON `json:",omitempty"`

	Env    []EnvVar
	Mounts []Mount
	Net    Network
	Creds  []Credential

	// Listen are the sockets init opens in the jail's network namespace for
	// the host's services (proxy mode): the proxy, and DNS over UDP and TCP.
	Listen []Listen

	// Hidden are host directories that must be unreachable inside the jail
	// (the real home); the jail checks after setup and refuses to run
	// otherwise.
	Hidden []HiddenDir

	// Notes are entries that were skipped, with why, shown by --explain.
	Notes []Note

	// Git is what runjail looks at in the project's repository once the
	// jail has ended (see GitTampering); nil without one.
	Git *GitCheck `json:",omitempty"`
}

// GitCheck names the git directories a jail could write and the project's
// index, with the repositories it recorded when the jail started.
type GitCheck struct {
	Dirs      []string // git directories: the project's, submodules', embedded ones
	WorkTree  string   // the project
	GitDir    string   // its git directory (a linked worktree's own), with the index
	CommonDir string   // the repository's git directory (GitDir, or where its commondir points)
	HashSize  int      // bytes of an object id: 20 (SHA-1) or 32 (SHA-256)
	Links     []string // gitlink paths in the index at the start
	Worktrees []string // names under CommonDir/worktrees at the start
	Absent    bool     // the project had no .git at the start
}

// MountKind says what a Mount puts at its destination.
type MountKind string

// The mount kinds, applied in Plan order.
const (
	MountRoot  MountKind = "root"  // the host root, recursively
	MountDev   MountKind = "dev"   // minimal /dev with a fresh devpts
	MountProc  MountKind = "proc"  // fresh /proc for the jail's pid namespace
	MountTmpfs MountKind = "tmpfs" // an empty writable tmpfs
	MountHide  MountKind = "hide"  // an empty read-only tmpfs
	MountBind  MountKind = "bind"  // a host path, recursively
	MountFile  MountKind = "file"  // a read-only file: host file Src, if any, then Content
)

// Mount is one step of building the jail's filesystem.
type Mount struct {
	Kind MountKind
	Src  string // host path (bind)
	Dst  string // path inside the jail
	RO   bool
	File bool // Src is not a directory
	// Content is the text of a MountFile, after that of the host file Src
	// if there is one.
	Content string `json:",omitempty"`
	// Create asks the host to create Src first, an empty directory (or
	// file, with File), so that the jail cannot create it (a missing
	// .git/hooks or .git/config.worktree).
	Create bool
	From   string // where the rule came from: "file:line:col", a flag, or a reason
}

// Listen is a socket opened inside the jail and served from the host.
type Listen struct {
	Service string // "proxy", "dns", "https" or "http"
	Network string // "tcp" or "udp"
	Addr    string // on the jail's loopback
}

// Addresses of the host's services inside a proxy-mode jail.
const (
	ProxyAddr = "127.0.0.1:3128"
	DNSAddr   = "127.0.0.1:53"
	HTTPSAddr = "127.0.0.1:443" // TLS straight from clients that ignore HTTPS_PROXY
	HTTPAddr  = "127.0.0.1:80"  // plain HTTP from clients that ignore HTTP_PROXY
)

// HomeJSON is a JSON file in the persistent home whose keys runjail sets at
// each start, merged into what is there (Claude Code's onboarding state).
type HomeJSON struct {
	Rel  string // path relative to the home
	Set  map[string]any
	From string
}

// Copy is a host file copied into the persistent home.
type Copy struct {
	Src  string // host path
	Rel  string // path relative to the home
	From string
}

// EnvVar is one variable of the jail's environment.
type EnvVar struct {
	Name, Value string
	From        string
}

// Network is the jail's network policy.
type Network struct {
	Mode         string // "none", "proxy" or "host"
	ModeFrom     string
	Allow        []Rule
	Deny         []Rule
	AllowPrivate []Rule
	Approve      bool
	// Upstreams send a host's traffic elsewhere (--upstream).
	Upstreams []Upstream
}

// Upstream is an --upstream HOST=URL flag.
type Upstream struct {
	Host, URL string
}

// Rule is one network policy entry.
type Rule struct {
	Value, From string
}

// Credential is a credential the proxy injects, by reference.
type Credential struct {
	Type   string
	Hosts  []string
	Source string // "claude", "env:NAME", "file:/abs/path", "aws profile NAME"
	Header string `json:",omitempty"` // type "header"
	// Service, Profile and Region are the aws type's.
	Service, Profile, Region string `json:",omitempty"`
	From                     string
}

// HiddenDir identifies a host directory by device and inode.
type HiddenDir struct {
	Path     string
	Dev, Ino uint64
}

// Note records a profile entry that did not become part of the plan.
type Note struct {
	What, From string
}
