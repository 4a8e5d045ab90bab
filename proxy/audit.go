package proxy

import (
	"bufio"
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Entry is one line of the audit log: a decision about one request or tunnel.
// It never holds a secret: no headers, no query strings, no bodies.
type Entry struct {
	Time      time.Time     `json:"time"`
	Sandbox   string        `json:"sandbox"`
	Method    string        `json:"method"`
	Host      string        `json:"host"`
	Port      int           `json:"port"`
	Path      string        `json:"path,omitempty"`
	Decision  string        `json:"decision"` // "allow", "deny" or "error"
	Reason    string        `json:"reason,omitempty"`
	BytesUp   int64         `json:"bytes_up,omitempty"`
	BytesDown int64         `json:"bytes_down,omitempty"`
	Duration  time.Duration `json:"duration_ns,omitempty"`
}

// Audit writes entries as JSON lines. Lines are buffered and written at
// most flushDelay later: one write per request would be a tenth of the
// proxy's cost per request.
type Audit struct {
	mu      sync.Mutex
	w       *bufio.Writer
	pending *time.Timer // set while lines wait in w
	sandbox string
}

const flushDelay = 50 * time.Millisecond

// NewAudit returns an audit log writing to w for the named sandbox. Close
// it to write what is buffered.
func NewAudit(w io.Writer, sandbox string) *Audit {
	return &Audit{w: bufio.NewWriter(w), sandbox: sandbox}
}

// Record writes e; a nil Audit records nothing.
func (a *Audit) Record(e Entry) {
	if a == nil {
		return
	}
	e.Sandbox = a.sandbox
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.w.Write(append(b, '\n'))
	if a.pending == nil {
		a.pending = time.AfterFunc(flushDelay, a.Flush)
	}
}

// Flush writes the buffered lines now.
func (a *Audit) Flush() {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pending != nil {
		a.pending.Stop()
		a.pending = nil
	}
	a.w.Flush()
}
