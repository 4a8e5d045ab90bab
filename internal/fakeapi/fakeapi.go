// Package fakeapi is a fake Anthropic API for tests: an http.Handler, to be
// served with httptest.NewTLSServer, that answers the Messages API (a JSON
// reply or the server-sent event stream), token counting, and the few other
// calls Claude Code makes to its API host.
//
// Every Messages API request must carry the credential the test configured:
// an API key in x-api-key, or an OAuth bearer token together with the
// oauth-2025-04-20 beta flag. A request without it is answered 401, as the
// real API would, and recorded in Failures, so that a test can fail loudly
// rather than only see Claude Code print an error. Every request is recorded
// in Requests, with the names (never the values) of the credential headers
// it carried.
package fakeapi

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// DefaultReply is the assistant's text when Server.Reply is empty.
const DefaultReply = "Hello from the fake API"

// OAuthBeta is the anthropic-beta flag an OAuth bearer token must come with.
const OAuthBeta = "oauth-2025-04-20"

// Server is the fake API, an http.Handler. Set its fields before it serves
// its first request and do not change them after; the zero value accepts no
// credential at all.
type Server struct {
	// APIKey, when set, is accepted in the x-api-key header.
	APIKey string
	// OAuthToken, when set, is accepted as "Authorization: Bearer
	// OAuthToken" when anthropic-beta also lists oauth-2025-04-20.
	// If both APIKey and OAuthToken are set, either credential is accepted.
	OAuthToken string
	// Reply is the assistant's text; DefaultReply when empty.
	Reply string
	// Logf, when set, is called with one line per request (method, host,
	// path, status and the names of credential headers; never their
	// values), e.g. t.Logf.
	Logf func(format string, args ...any)

	mu       sync.Mutex
	requests []Request
	failures []string
	ids      int
}

// Request is what the server recorded of one request.
type Request struct {
	// Method and Path are the request's method and URL path; Host is its
	// Host header.
	Method, Host, Path string
	// AuthHeaders are the canonical names of the credential headers the
	// request carried ("X-Api-Key", "Authorization"), in that order;
	// their values are not recorded.
	AuthHeaders []string
	// Betas are the anthropic-beta flags the request listed.
	Betas []string
	// UserAgent is the request's User-Agent header.
	UserAgent string
	// Status is the HTTP status the server answered.
	Status int
}

// String formats r as "METHOD /path".
func (r Request) String() string { return r.Method + " " + r.Path }

// Requests returns every request served so far, in order of arrival. It is
// safe to call while the server is serving.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.AuthHeaders = append([]string(nil), r.AuthHeaders...)
		r.Betas = append([]string(nil), r.Betas...)
		out[i] = r
	}
	return out
}

// Failures describes each request that was refused: for its credential
// (answered 401) or for a malformed Messages API body (answered 400). The
// descriptions never contain a credential's value. It is safe to call while
// the server is serving.
func (s *Server) Failures() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.failures...)
}

// ServeHTTP answers one request; see the package documentation.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	rec := Request{Method: r.Method, Host: r.Host, Path: r.URL.Path, UserAgent: r.UserAgent(), Betas: betas(r)}
	for _, h := range []string{"X-Api-Key", "Authorization"} {
		if _, ok := r.Header[h]; ok {
			rec.AuthHeaders = append(rec.AuthHeaders, h)
		}
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.serve(sw, r, body)
	rec.Status = sw.status
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	if s.Logf != nil {
		s.Logf("fakeapi: %s %s%s -> %d (credential headers %v, betas %v)", r.Method, r.Host, r.URL.Path, sw.status, rec.AuthHeaders, rec.Betas)
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, body []byte) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/messages":
		if s.authorized(w, r) {
			s.messages(w, r, body)
		}
	case r.Method == http.MethodPost && r.URL.Path == "/v1/messages/count_tokens":
		if s.authorized(w, r) {
			writeJSON(w, http.StatusOK, `{"input_tokens":10}`)
		}
	case r.Method == http.MethodHead && r.URL.Path == "/":
		// Claude Code checks that the API host is reachable with HEAD /,
		// without a credential; the real host answers it.
		w.WriteHeader(http.StatusOK)
	default:
		writeJSON(w, http.StatusNotFound, errorJSON("not_found_error", "fakeapi does not serve "+r.Method+" "+r.URL.Path))
	}
}

// authorized checks r's credential; if it is wrong, it answers 401, records
// the failure and returns false.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	why := s.credentialProblem(r)
	if why == "" {
		return true
	}
	s.fail(r, why)
	writeJSON(w, http.StatusUnauthorized, errorJSON("authentication_error", why))
	return false
}

// credentialProblem says what is wrong with r's credential, or "" if it is
// one the server accepts. It never quotes the credential.
func (s *Server) credentialProblem(r *http.Request) string {
	key, keySent := r.Header["X-Api-Key"]
	if keySent && s.APIKey != "" && equal(strings.Join(key, ","), s.APIKey) {
		return ""
	}
	auth := r.Header.Get("Authorization")
	bearer, isBearer := strings.CutPrefix(auth, "Bearer ")
	if isBearer && s.OAuthToken != "" && equal(bearer, s.OAuthToken) {
		for _, b := range betas(r) {
			if b == OAuthBeta {
				return ""
			}
		}
		return "OAuth authentication is currently not supported: the bearer token came without anthropic-beta " + OAuthBeta
	}
	switch {
	case keySent && s.APIKey == "":
		return "x-api-key sent, but the server accepts no API key"
	case keySent:
		return "invalid x-api-key"
	case isBearer && s.OAuthToken == "":
		return "Authorization: Bearer sent, but the server accepts no OAuth token"
	case isBearer:
		return "invalid bearer token"
	case auth != "":
		return "Authorization header is not a bearer token"
	}
	return "no credential: neither x-api-key nor Authorization: Bearer"
}

func (s *Server) fail(r *http.Request, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, r.Method+" "+r.Host+r.URL.Path+": "+why)
}

// messageRequest is the part of a Messages API request the server reads.
type messageRequest struct {
	Model     string            `json:"model"`
	MaxTokens int               `json:"max_tokens"`
	Messages  []json.RawMessage `json:"messages"`
	Stream    bool              `json:"stream"`
}

// messages answers POST /v1/messages.
func (s *Server) messages(w http.ResponseWriter, r *http.Request, body []byte) {
	var req messageRequest
	why := ""
	if err := json.Unmarshal(body, &req); err != nil {
		why = "body is not a JSON Messages request: " + err.Error()
	} else if req.Model == "" {
		why = "model: Field required"
	} else if req.MaxTokens <= 0 {
		why = "max_tokens: Field required (a positive integer)"
	} else if len(req.Messages) == 0 {
		why = "messages: at least one message is required"
	}
	if why != "" {
		s.fail(r, why)
		writeJSON(w, http.StatusBadRequest, errorJSON("invalid_request_error", why))
		return
	}
	s.mu.Lock()
	s.ids++
	id := fmt.Sprintf("msg_fake%020d", s.ids)
	s.mu.Unlock()
	text := s.Reply
	if text == "" {
		text = DefaultReply
	}
	const inputTokens = 10
	outputTokens := len(strings.Fields(text))
	if !req.Stream {
		writeJSON(w, http.StatusOK, marshal(map[string]any{
			"id": id, "type": "message", "role": "assistant", "model": req.Model,
			"content":     []any{map[string]any{"type": "text", "text": text}},
			"stop_reason": "end_turn", "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": inputTokens, "output_tokens": outputTokens},
		}))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	event := func(name string, data map[string]any) {
		data["type"] = name
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, marshal(data))
		if flusher != nil {
			flusher.Flush()
		}
	}
	event("message_start", map[string]any{"message": map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": req.Model,
		"content": []any{}, "stop_reason": nil, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": inputTokens, "output_tokens": 1},
	}})
	event("content_block_start", map[string]any{"index": 0, "content_block": map[string]any{"type": "text", "text": ""}})
	event("ping", map[string]any{})
	for _, chunk := range chunks(text) {
		event("content_block_delta", map[string]any{"index": 0, "delta": map[string]any{"type": "text_delta", "text": chunk}})
	}
	event("content_block_stop", map[string]any{"index": 0})
	event("message_delta", map[string]any{
		"delta": map[string]any{"stop_reason": "end_turn", "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": outputTokens},
	})
	event("message_stop", map[string]any{})
}

// chunks splits text into a few pieces that concatenate back to it, as the
// real API streams a reply in several deltas.
func chunks(text string) []string {
	var out []string
	for len(text) > 0 {
		i := strings.IndexByte(text[1:], ' ') + 1
		if i == 0 {
			i = len(text)
		}
		out = append(out, text[:i])
		text = text[i:]
	}
	return out
}

// betas lists the flags of r's anthropic-beta headers.
func betas(r *http.Request) []string {
	var out []string
	for _, v := range r.Header.Values("Anthropic-Beta") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func errorJSON(typ, message string) string {
	return marshal(map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": message}})
}

func marshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
