package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/runjail/runjail/internal/untrusted"
)

// Options says where profiles are looked up.
type Options struct {
	Builtin fs.FS  // built-in profiles: NAME.toml at its root (profiles.FS)
	UserDir string // user profiles: $XDG_CONFIG_HOME/runjail/profiles (may not exist)
}

// maxDepth limits the length of an extends chain.
const maxDepth = 16

// source is one profile file.
type source struct {
	id      string // absolute path, or "builtin/NAME.toml": identity and Profile.Files entry
	display string // the name used in positions
	builtin bool
	data    []byte
}

// Load reads the profile ref, follows its extends chain and merges it, base
// first. ref is a path (relative to the working directory) when it contains
// "/" or ends in ".toml"; otherwise it is a name, looked up as
// UserDir/NAME.toml and then as the built-in NAME.toml.
//
// An extends value is resolved the same way, except that paths are relative
// to the extending file's directory, and a name that resolves to a file
// already in the chain (a user default.toml that extends "default") means
// the built-in of that name. Every problem with a profile is an *Error.
// Load validates but does not fill defaults; see Defaults.
func Load(ref string, opt Options) (*Profile, error) {
	var src *source
	var err error
	if isPath(ref) {
		src, err = readPath(ref, Pos{})
	} else {
		src, err = opt.byName(ref, Pos{}, nil)
	}
	if err != nil {
		return nil, err
	}
	var chain []*source
	var layers []*layer
	for {
		l, err := decodeFile(src.display, src.data)
		if err != nil {
			return nil, err
		}
		chain, layers = append(chain, src), append(layers, l)
		ext := l.extends
		if ext.V == "" {
			break
		}
		if len(chain) == maxDepth {
			return nil, errorf(ext.Pos, "shorten the chain of extends", "extends chain is longer than %d files", maxDepth)
		}
		if src, err = opt.extends(src, ext, chain); err != nil {
			return nil, err
		}
	}
	p := &Profile{Ref: ref}
	for i := len(layers) - 1; i >= 0; i-- {
		layer := layers[i].p // merge may share its slices; the copy stays as read
		merge(p, &layers[i].p)
		p.Files = append(p.Files, chain[i].id)
		hash := ""
		if !chain[i].builtin {
			sum := sha256.Sum256(chain[i].data)
			hash = hex.EncodeToString(sum[:])
		}
		p.Hashes = append(p.Hashes, hash)
		p.Layers = append(p.Layers, &layer)
	}
	return p, nil
}

// isPath reports whether a profile reference is a path rather than a name.
func isPath(ref string) bool {
	return strings.Contains(ref, "/") || strings.HasSuffix(ref, ".toml")
}

// maxProfile bounds a profile file: 1 MiB is far more than any needs.
const maxProfile = 1 << 20

// readPath reads a profile file on disk; display is the path as given. A
// failure is reported at pos, or at the file itself when pos is zero.
func readPath(display string, pos Pos) (*source, error) {
	abs, err := filepath.Abs(display)
	if err == nil {
		var data []byte
		// A repository's profile may be a file a jail wrote.
		if data, err = untrusted.ReadFile(abs, maxProfile); err == nil {
			return &source{id: abs, display: display, data: data}, nil
		}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	hint := ""
	if errors.Is(err, fs.ErrNotExist) {
		hint = "check the path; a name without / or .toml selects a user or built-in profile"
	}
	if pos.File == "" {
		return nil, errorf(Pos{File: display}, hint, "cannot read profile: %v", err)
	}
	return nil, errorf(pos, hint, "cannot read profile %s: %v", display, err)
}

// byName finds the profile NAME: the user's, then the built-in, skipping
// files already in chain. pos is where the name was written, for errors.
func (opt Options) byName(name string, pos Pos, chain []*source) (*source, error) {
	inChain := func(id string) bool {
		return slices.ContainsFunc(chain, func(s *source) bool { return s.id == id })
	}
	skipped := false
	if opt.UserDir != "" {
		file := filepath.Join(opt.UserDir, name+".toml")
		if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
			src, err := readPath(file, pos)
			if err != nil {
				return nil, err
			}
			if !inChain(src.id) {
				return src, nil
			}
			skipped = true
		}
	}
	id := "builtin/" + name + ".toml"
	if opt.Builtin != nil && fs.ValidPath(name+".toml") {
		if data, err := fs.ReadFile(opt.Builtin, name+".toml"); err == nil {
			if !inChain(id) {
				return &source{id: id, display: id, builtin: true, data: data}, nil
			}
			skipped = true
		}
	}
	if skipped {
		return nil, cycle(pos, chain, name)
	}
	hint := "built-in profiles: " + strings.Join(BuiltinNames(opt.Builtin), ", ")
	if opt.UserDir != "" {
		hint += "; your own go in " + filepath.Join(opt.UserDir, name+".toml")
	}
	return nil, errorf(pos, hint, "profile %q not found", name)
}

// extends resolves the extends value ext written in from.
func (opt Options) extends(from *source, ext Str, chain []*source) (*source, error) {
	if !isPath(ext.V) {
		return opt.byName(ext.V, ext.Pos, chain)
	}
	if from.builtin {
		return nil, errorf(ext.Pos, "extend a profile by name", "a built-in profile cannot extend a path")
	}
	file := ext.V
	if !filepath.IsAbs(file) {
		file = filepath.Join(filepath.Dir(from.display), file)
	}
	src, err := readPath(file, ext.Pos)
	if err != nil {
		return nil, err
	}
	if slices.ContainsFunc(chain, func(s *source) bool { return s.id == src.id }) {
		return nil, cycle(ext.Pos, chain, ext.V)
	}
	return src, nil
}

// cycle returns the error for an extends chain that comes back to itself.
func cycle(pos Pos, chain []*source, to string) error {
	names := make([]string, 0, len(chain)+1)
	for _, s := range chain {
		names = append(names, s.display)
	}
	return errorf(pos, "remove the extends line from one of these files",
		"extends cycle: %s -> %s", strings.Join(names, " -> "), to)
}

// BuiltinNames returns the names of the profiles in fsys (NAME.toml files at
// its root), sorted.
func BuiltinNames(fsys fs.FS) []string {
	if fsys == nil {
		return nil
	}
	files, _ := fs.Glob(fsys, "*.toml")
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, strings.TrimSuffix(path.Base(f), ".toml"))
	}
	return names
}
