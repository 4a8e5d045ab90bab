// Package schema defines the runjail profile format (v1): its types, strict
// TOML decoding with file:line:col positions, `extends` merging, variables
// and validation.
package schema

import "fmt"

// Pos is where a value was written: a file and a 1-based line and column.
// Built-in profiles use File "builtin/NAME.toml".
type Pos struct {
	File      string
	Line, Col int
}

// String formats p as "file:line:col", or just "file" when the line is unknown.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Str is a string value together with the position it was written at.
type Str struct {
	V   string
	Pos Pos
}

// Bool is a boolean value; Set reports whether any profile file set it.
type Bool struct {
	V   bool
	Set bool
	Pos Pos
}

// Profile is a decoded profile with its `extends` chain merged in:
// lists appended (duplicates dropped), tables merged, scalars overridden.
// Unset scalars are zero (Str.V == "", Bool.Set == false); Defaults fills them.
type Profile struct {
	Version     int
	Description Str
	Name        Str   // sandbox name; "" when no file set it
	Command     []Str // nil when no file set it
	Home        Home
	Filesystem  Filesystem
	Env         Env
	Network     Network
	Credentials []Credential

	// Ref is how the profile was asked for (a name or a path).
	Ref string
	// Files lists every file that contributed, base of the extends chain first;
	// built-ins appear as "builtin/NAME.toml".
	Files []string
	// Hashes are the SHA-256 (hex) of each of Files' content as read, ""
	// for built-ins; Layers what each of them says on its own (not merged),
	// both in the order of Files. Trust decisions are made on these.
	Hashes []string
	Layers []*Profile
}

// Home is the [home] table.
type Home struct {
	Dir  Str   // persistent home on the host, or "tmpfs"
	RO   []Str // host paths under the real home shown read-only
	Copy []Str // host files copied into the persistent home at each start
}

// Filesystem is the [filesystem] table.
type Filesystem struct {
	Host    Str   // "ro" or "rw"
	Hide    []Str // host paths replaced by an empty read-only directory
	RW      []Str
	RO      []Str
	Tmpfs   []Str
	Protect []Str // paths relative to every rw dir kept read-only
	MapPath Bool
	MapVCS  Bool

	// HideSet, TmpfsSet and ProtectSet report whether any file set the list
	// (an explicit empty list disables the default).
	HideSet, TmpfsSet, ProtectSet bool
}

// Env is the [env] table.
type Env struct {
	Pass []Str    // names or globs passed from the host
	Set  []EnvVar // sorted by name; a later file overrides an earlier one
	// PassSet reports whether any file set env.pass.
	PassSet bool
}

// EnvVar is one entry of env.set.
type EnvVar struct {
	Name  string
	Value Str
}

// Network is the [network] table.
type Network struct {
	Mode         Str // "none", "proxy" or "host"
	Allow        []Str
	Deny         []Str
	AllowPrivate []Str
	Approve      Bool
}

// Credential is one [[credential]] entry.
type Credential struct {
	Type    Str // "anthropic", "aws", "bearer" or "header"
	Hosts   []Str
	From    Str // "claude", "env:NAME" or "file:PATH"
	Service Str // aws
	Profile Str // aws
	Region  Str // aws, optional
	Header  Str // header: the header name
	Pos     Pos // where the [[credential]] table starts
}
