// Package untrusted reads files a jail may have written (a project's git
// metadata, a repository's profile) without letting them stall or swamp the
// host: a FIFO, a device or a huge file is an error, never a hang.
package untrusted

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ReadFile reads the regular file at path, at most max bytes of it; a
// larger file is an error. It follows symlinks, as reading a path would.
func ReadFile(path string, max int64) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO for reading would wait for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, max)
}

// Read reads f, opened with O_NONBLOCK, as ReadFile reads its path: a
// regular file of at most max bytes.
func Read(f *os.File, max int64) ([]byte, error) {
	path := f.Name()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch t := st.Mode().Type(); {
	case t&fs.ModeDir != 0:
		return nil, &os.PathError{Op: "read", Path: path, Err: syscall.EISDIR}
	case t&fs.ModeNamedPipe != 0:
		return nil, &os.PathError{Op: "read", Path: path, Err: errors.New("not a regular file: a named pipe")}
	case t != 0:
		return nil, &os.PathError{Op: "read", Path: path, Err: errors.New("not a regular file")}
	}
	if st.Size() > max {
		return nil, &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("larger than %d bytes", max)}
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(b)) > max {
		return nil, &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("larger than %d bytes", max)}
	}
	return b, err
}
