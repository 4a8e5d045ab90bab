// Package trust decides whether the files of a profile may be used. Built-in
// profiles and the user's own ($XDG_CONFIG_HOME/runjail) are trusted; any
// other file (a repository's .runjail.toml, which the jail itself can write)
// only for the exact content the user trusted, by `runjail --trust` or a yes
// at the terminal. The record is a JSON file in the user's data directory,
// outside anything a jail sees.
package trust

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/runjail/runjail/internal/atomicfile"
	"github.com/runjail/runjail/schema"
)

// Store is the record of trusted files: absolute path to the SHA-256 of the
// content trusted.
type Store struct {
	file      string // $XDG_DATA_HOME/runjail/trusted.json
	configDir string // $XDG_CONFIG_HOME/runjail: the user's own, trusted
}

// Open returns the store kept under dataHome, trusting the user's files
// under configHome/runjail.
func Open(dataHome, configHome string) *Store {
	return &Store{file: filepath.Join(dataHome, "runjail", "trusted.json"), configDir: filepath.Join(configHome, "runjail")}
}

// Untrusted returns the files of p that are neither built in, nor the
// user's own, nor trusted for their content as read.
func (s *Store) Untrusted(p *schema.Profile) ([]string, error) {
	var check []string
	for i, f := range p.Files {
		if p.Hashes[i] != "" && !s.own(f) {
			check = append(check, f)
		}
	}
	if len(check) == 0 {
		return nil, nil // nothing to look up: no need to read the record
	}
	rec, err := s.read()
	if err != nil {
		return nil, err
	}
	var out []string
	for i, f := range p.Files {
		if p.Hashes[i] == "" || s.own(f) {
			continue
		}
		if rec[f] != p.Hashes[i] {
			out = append(out, f)
		}
	}
	return out, nil
}

// own reports whether file is the user's own: below the config directory
// by its real path (a symlink there to a project file is not).
func (s *Store) own(file string) bool {
	real, err := filepath.EvalSymlinks(file)
	if err != nil {
		return false
	}
	dir, err := filepath.EvalSymlinks(s.configDir)
	if err != nil {
		return false
	}
	return strings.HasPrefix(real, dir+string(filepath.Separator))
}

// Trust records the content of p's files (as read) as trusted.
func (s *Store) Trust(p *schema.Profile) error {
	if err := os.MkdirAll(filepath.Dir(s.file), 0o700); err != nil {
		return err
	}
	lock, err := os.OpenFile(s.file+".lock", os.O_CREATE|os.O_RDWR|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	rec, err := s.read()
	if err != nil {
		return err
	}
	for i, f := range p.Files {
		if p.Hashes[i] != "" && !s.own(f) {
			rec[f] = p.Hashes[i]
		}
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(s.file, append(b, '\n'), 0o600)
}

func (s *Store) read() (map[string]string, error) {
	rec := map[string]string{}
	b, err := os.ReadFile(s.file)
	if errors.Is(err, os.ErrNotExist) {
		return rec, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("%s: %v; remove it to trust profiles again", s.file, err)
	}
	return rec, nil
}

// Grants lists, one line each, what the untrusted files of p grant the
// jail beyond the built-in default: every way a profile can widen the jail.
func Grants(p *schema.Profile, untrusted []string) []string {
	var out []string
	add := func(f string, a ...any) { out = append(out, fmt.Sprintf(f, a...)) }
	strs := func(list []schema.Str) string {
		var vs []string
		for _, s := range list {
			vs = append(vs, s.V)
		}
		return strings.Join(vs, ", ")
	}
	for i, f := range p.Files {
		if !slices.Contains(untrusted, f) {
			continue
		}
		l := p.Layers[i]
		if l.Command != nil {
			add("runs %s", strs(l.Command))
		}
		if l.Home.Dir.V != "" {
			add("keeps its home in %s (home.dir)", l.Home.Dir.V)
		}
		if len(l.Home.RO) > 0 {
			add("reads your files %s (home.ro)", strs(l.Home.RO))
		}
		if len(l.Home.Copy) > 0 {
			add("gets copies of %s (home.copy)", strs(l.Home.Copy))
		}
		fs := l.Filesystem
		if fs.Host.V == "rw" {
			add(`writes the whole host filesystem (filesystem.host = "rw")`)
		}
		var rw []schema.Str
		for _, r := range fs.RW {
			if r.V != "${PROJECT}" {
				rw = append(rw, r)
			}
		}
		if len(rw) > 0 {
			add("writes %s (filesystem.rw)", strs(rw))
		}
		var ro []schema.Str
		for _, r := range fs.RO {
			if strings.HasPrefix(r.V, "~") || strings.HasPrefix(r.V, "${HOME}") {
				ro = append(ro, r)
			}
		}
		if len(ro) > 0 {
			add("reads %s in your home (filesystem.ro)", strs(ro))
		}
		if fs.HideSet {
			add("hides only %s (filesystem.hide)", strs(fs.Hide))
		}
		if fs.ProtectSet {
			add("protects only %s (filesystem.protect)", strs(fs.Protect))
		}
		if len(l.Env.Pass) > 0 {
			add("sees your environment variables %s (env.pass)", strs(l.Env.Pass))
		}
		for _, v := range l.Env.Set {
			add("sets %s (env.set)", v.Name)
		}
		switch l.Network.Mode.V {
		case "host":
			add(`uses your network unconfined (network.mode = "host")`)
		}
		if len(l.Network.Allow) > 0 {
			add("reaches %s (network.allow)", strs(l.Network.Allow))
		}
		if len(l.Network.AllowPrivate) > 0 {
			add("reaches private addresses %s (network.allow_private)", strs(l.Network.AllowPrivate))
		}
		for _, c := range l.Credentials {
			src := c.From.V
			if c.Type.V == "aws" {
				src = "your AWS credentials"
			}
			add("has your %s credential (%s) sent to %s", c.Type.V, src, strs(c.Hosts))
		}
	}
	return out
}
