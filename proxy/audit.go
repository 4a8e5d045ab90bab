package proxy

import (
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

// Audit writes entries as JSON lines.
type Audit struct {
	mu      sync.Mutex
	w       io.Writer
	sandbox string
}

// NewAudit returns an audit log writing to w for the named sandbox.
func NewAudit(w io.Writer, sandbox string) *Audit { return &Audit{w: w, sandbox: sandbox} }

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
}
