// Package home prepares a jail's persistent home on the host: created
// private, files copied in with their secrets removed, JSON state merged.
// The jail writes its home, so everything below it is hostile: nothing here
// ever follows a symlink there, and what is read back is untrusted data.
package home

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/runjail/runjail/engine"
	"github.com/runjail/runjail/internal/untrusted"
)

// MakePrivateDir creates dir (mode 0700) if needed and returns its real path.
// Its parent is created with MkdirAll: it is outside anything a jail sees.
func MakePrivateDir(dir string) (string, error) {
	parent, err := filepath.Abs(filepath.Dir(dir))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return "", err
	}
	parent, err = filepath.EvalSymlinks(parent)
	if err != nil {
		return "", err
	}
	if err := MkdirNoFollow(parent, filepath.Base(dir), 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return "", err
	}
	real := filepath.Join(parent, filepath.Base(dir))
	fi, err := os.Lstat(real)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory (a symlink?)", real)
	}
	return real, nil
}

// MkdirNoFollow creates name in dir, refusing symlinks anywhere in dir.
func MkdirNoFollow(dir, name string, mode uint32) error {
	fd, err := openNoFollow(dir)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Mkdirat(fd, name, mode)
}

// CreateNoFollow creates name in dir as an empty file, refusing symlinks
// anywhere in dir and at name.
func CreateNoFollow(dir, name string, mode uint32) error {
	fd, err := openNoFollow(dir)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	f, err := unix.Openat(fd, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return err
	}
	return unix.Close(f)
}

func openNoFollow(dir string) (int, error) {
	return unix.Openat2(unix.AT_FDCWD, dir, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS,
	})
}

// Copy writes a scrubbed copy of c.Src at c.Rel below home, creating
// parent directories and replacing the file atomically, never following a
// symlink below home.
func Copy(home string, c engine.Copy) error {
	data, err := os.ReadFile(c.Src)
	if err != nil {
		return err
	}
	data = scrubSecrets(filepath.Base(c.Src), data)
	dirFd, err := openHomeDir(home, filepath.Dir(c.Rel))
	if err != nil {
		return err
	}
	defer unix.Close(dirFd)
	return replaceFile(dirFd, filepath.Base(c.Rel), data)
}

// MergeJSON sets h's keys in the JSON file h.Rel below home, keeping
// the others. The jail writes that file, so it is read as untrusted data
// (size capped, never followed through a symlink) and only ever merged
// into; one that does not parse is started afresh.
func MergeJSON(home string, h engine.HomeJSON) error {
	dirFd, err := openHomeDir(home, filepath.Dir(h.Rel))
	if err != nil {
		return err
	}
	defer unix.Close(dirFd)
	name := filepath.Base(h.Rel)
	doc := map[string]any{}
	if fd, err := unix.Openat(dirFd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err == nil {
		f := os.NewFile(uintptr(fd), name)
		if b, err := untrusted.Read(f, 16<<20); err == nil {
			if json.Unmarshal(b, &doc) != nil || doc == nil {
				doc = map[string]any{}
			}
		}
		f.Close()
	}
	deepMerge(doc, h.Set)
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return replaceFile(dirFd, name, append(b, '\n'))
}

// deepMerge sets src's keys in dst, merging objects.
func deepMerge(dst, src map[string]any) {
	for k, v := range src {
		sv, ok := v.(map[string]any)
		dv, dok := dst[k].(map[string]any)
		if ok && dok {
			deepMerge(dv, sv)
			continue
		}
		if ok {
			dv = map[string]any{}
			deepMerge(dv, sv)
			dst[k] = dv
			continue
		}
		dst[k] = v
	}
}

// openHomeDir opens rel below home, creating missing directories (0700),
// refusing symlinks at every step.
func openHomeDir(home, rel string) (int, error) {
	homeFd, err := unix.Openat2(unix.AT_FDCWD, home, &unix.OpenHow{
		Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_SYMLINKS})
	if err != nil {
		return -1, err
	}
	dirFd := homeFd
	for _, part := range strings.Split(rel, "/") {
		if part == "." || part == "" {
			continue
		}
		unix.Mkdirat(dirFd, part, 0o700)
		next, err := unix.Openat2(dirFd, part, &unix.OpenHow{
			Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_BENEATH})
		unix.Close(dirFd)
		if err != nil {
			return -1, fmt.Errorf("%s in the sandbox home: %v", part, err)
		}
		dirFd = next
	}
	return dirFd, nil
}

// replaceFile writes data to name in dirFd atomically (a new file renamed
// over it), mode 0600.
func replaceFile(dirFd int, name string, data []byte) error {
	tmp := fmt.Sprintf(".%s.runjail-%d", name, os.Getpid())
	fd, err := unix.Openat(dirFd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), tmp)
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = unix.Renameat(dirFd, tmp, dirFd, name)
	}
	if werr != nil {
		unix.Unlinkat(dirFd, tmp, 0)
	}
	return werr
}

// credentialHelpers are settings.json keys naming commands that print
// credentials; in the jail they would stand in for the proxy's stubs.
var credentialHelpers = []string{"apiKeyHelper", "awsAuthRefresh", "awsCredentialExport", "otelHeadersHelper"}

func scrubJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, val := range v {
			if jsonSecretKey().MatchString(k) || slices.Contains(credentialHelpers, k) {
				delete(v, k)
				continue
			}
			v[k] = scrubJSON(val)
		}
	case []any:
		for i := range v {
			v[i] = scrubJSON(v[i])
		}
	}
	return v
}

// jsonSecretKey matches JSON keys that end in a word naming a secret
// (GITHUB_TOKEN, primaryApiKey, OTEL_EXPORTER_OTLP_HEADERS), not counts such
// as CLAUDE_CODE_MAX_OUTPUT_TOKENS.
var jsonSecretKey = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(token|password|passwd|secret|key|authorization|auth|credentials?|headers?|cookie)$`)
})

// secretKey is compiled on first use: init, which shares this binary, never
// needs it.
var secretKey = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(token|password|passwd|secret|extraheader|authorization|api[-_]?key|credential)`)
})

// scrubSecrets drops credential-bearing settings from a copied config file:
// in JSON (Claude Code's settings.json), every key that names a secret,
// at any depth, and the helpers that print credentials; otherwise git's
// [credential] sections and any "key = value" or "key: value" line whose
// key names a secret.
func scrubSecrets(name string, data []byte) []byte {
	if strings.HasSuffix(name, ".json") {
		var v any
		if json.Unmarshal(data, &v) == nil {
			if b, err := json.MarshalIndent(scrubJSON(v), "", "  "); err == nil {
				return append(b, '\n')
			}
		}
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	inCredential := false
	for sc.Scan() {
		line := sc.Text()
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "[") {
			inCredential = strings.HasPrefix(strings.ToLower(trim), "[credential")
		}
		if inCredential {
			continue
		}
		if key, _, ok := strings.Cut(trim, "="); ok && secretKey().MatchString(key) {
			continue
		}
		if key, _, ok := strings.Cut(trim, ":"); ok && !strings.Contains(key, " ") && secretKey().MatchString(key) {
			continue
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}
