// Package gitfile reads what runjail needs of git's own files: the gitlink
// entries of an index, a config value, where a .git file points. A jail may
// have written any of them, so they are read as untrusted data: bounded,
// never blocking on a named pipe, an error rather than a panic.
package gitfile

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/runjail/runjail/internal/untrusted"
)

// maxIndex is the largest index read: big repositories' run to tens of
// MiB; a bigger one (a jail may write it) is not worth the memory.
const maxIndex = 256 << 20

// Gitlinks returns the paths of the gitlink entries (submodules, and
// repositories added inside the project) in the git index file at
// indexPath: the directories git status on the host enters and runs git
// in, with the config found there. The index is written by the jail, so it
// is parsed as untrusted data: an error for anything malformed, never a
// panic.
func Gitlinks(indexPath string, hashSize int) ([]string, error) {
	b, err := untrusted.ReadFile(indexPath, maxIndex)
	if err != nil {
		return nil, err
	}
	return Parse(b, hashSize)
}

// Parse returns the gitlink paths of the index b, whose object ids are
// hashSize bytes (20 for SHA-1, 32 for SHA-256).
func Parse(b []byte, hashSize int) ([]string, error) {
	if len(b) < 12 || string(b[:4]) != "DIRC" {
		return nil, errBadIndex
	}
	version := binary.BigEndian.Uint32(b[4:8])
	if version < 2 || version > 4 {
		return nil, errBadIndex
	}
	count := binary.BigEndian.Uint32(b[8:12])
	const gitlink = 0o160000
	var links []string
	var prev []byte
	off := 12
	for range count {
		start := off
		fixed := 40 + hashSize + 2 // stat data, object id, flags
		if off+fixed > len(b) {
			return nil, errBadIndex
		}
		mode := binary.BigEndian.Uint32(b[off+24 : off+28])
		flags := binary.BigEndian.Uint16(b[off+40+hashSize:])
		off += fixed
		if flags&0x4000 != 0 { // extended flags (version 3 and later)
			if version < 3 || off+2 > len(b) {
				return nil, errBadIndex
			}
			off += 2
		}
		var name []byte
		if version == 4 {
			// The path is the previous one less N bytes, plus a suffix.
			strip, n := indexVarint(b[off:])
			if n == 0 || strip > uint64(len(prev)) {
				return nil, errBadIndex
			}
			off += n
			end := bytes.IndexByte(b[off:], 0)
			if end < 0 {
				return nil, errBadIndex
			}
			name = append(append([]byte{}, prev[:len(prev)-int(strip)]...), b[off:off+end]...)
			off += end + 1
		} else {
			end := bytes.IndexByte(b[off:], 0)
			if end < 0 {
				return nil, errBadIndex
			}
			name = b[off : off+end]
			// Entries are padded with 1 to 8 NULs to a multiple of 8.
			off = start + (off+end-start+8)&^7
		}
		prev = name
		if mode&0o170000 == gitlink {
			links = append(links, string(name))
		}
	}
	return links, nil
}

var errBadIndex = errors.New("not a git index this reader knows")

// indexVarint decodes the offset varint of index version 4; n == 0 means
// malformed.
func indexVarint(b []byte) (v uint64, n int) {
	if len(b) == 0 {
		return 0, 0
	}
	c := b[0]
	v = uint64(c & 127)
	n = 1
	for c&128 != 0 {
		if n >= len(b) || n > 9 {
			return 0, 0
		}
		c = b[n]
		v = ((v + 1) << 7) + uint64(c&127)
		n++
	}
	return v, n
}
