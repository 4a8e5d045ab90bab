// Package fakeanthropic is a fake Anthropic API for tests: the Messages API
// (JSON and server-sent events), the OAuth token endpoint with single-use
// refresh tokens, and Bedrock's invoke and invoke-with-response-stream (AWS
// event stream). Every request must carry the credential the test
// configured (an API key, an OAuth bearer token with the OAuth beta flag,
// or a SigV4 signature it recomputes); anything else is answered 401 and
// recorded in Failures, so that a test can fail loudly.
package fakeanthropic

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Server is the fake API, an http.Handler. Configure it before serving.
type Server struct {
	// Reply is the assistant's text.
	Reply string
	// APIKey, when set, is accepted in x-api-key.
	APIKey string
	// AccessToken, when set, is accepted as an OAuth bearer token (with
	// anthropic-beta oauth-2025-04-20). RefreshToken is the one refresh
	// token the token endpoint accepts next; each refresh rotates both.
	AccessToken, RefreshToken string
	// AWSKeyID and AWSSecret, when set, are the AWS credentials Bedrock
	// requests must be signed with (service bedrock, region AWSRegion).
	AWSKeyID, AWSSecret, AWSRegion string

	mu        sync.Mutex
	failures  []string
	requests  []string
	refreshes int
}

// Failures lists the requests refused for their credential, and why.
func (s *Server) Failures() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.failures...)
}

// Requests lists "METHOD /path" of every request, in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Refreshes is how many times the token endpoint rotated the tokens.
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// Tokens returns the current access and refresh tokens.
func (s *Server) Tokens() (access, refresh string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.AccessToken, s.RefreshToken
}

// ExpireAccessToken makes the current access token invalid, as if it had
// expired: the next request gets 401 until the client refreshes.
func (s *Server) ExpireAccessToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.AccessToken = "expired-" + s.AccessToken
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, why string) {
	s.mu.Lock()
	s.failures = append(s.failures, r.Method+" "+r.URL.Path+": "+why)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Should-Retry", "false") // Claude Code would retry for a minute
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprintf(w, `{"type":"error","error":{"type":"authentication_error","message":%q}}`, why)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	switch {
	case r.URL.Path == "/v1/oauth/token":
		s.token(w, r, body)
	case strings.HasPrefix(r.URL.Path, "/model/"):
		if why := s.checkSigV4(r, body); why != "" {
			s.fail(w, r, why)
			return
		}
		s.bedrock(w, r, body)
	default:
		if why := s.checkAnthropic(r); why != "" {
			s.fail(w, r, why)
			return
		}
		if r.URL.Path == "/v1/messages" {
			s.messages(w, body)
			return
		}
		// Claude Code's other calls (settings, bootstrap, event logging)
		// do without an answer.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"type":"error","error":{"type":"not_found_error","message":"not in the fake API"}}`)
	}
}

// checkAnthropic says what is wrong with r's credential, or "".
func (s *Server) checkAnthropic(r *http.Request) string {
	s.mu.Lock()
	key, access := s.APIKey, s.AccessToken
	s.mu.Unlock()
	if k := r.Header.Get("X-Api-Key"); k != "" {
		if key != "" && k == key {
			return ""
		}
		return fmt.Sprintf("wrong x-api-key %.20q", k)
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "no credential"
	}
	if access == "" || bearer != access {
		return fmt.Sprintf("OAuth token is invalid or expired: %.40q", bearer)
	}
	for _, v := range r.Header.Values("Anthropic-Beta") {
		for _, f := range strings.Split(v, ",") {
			if strings.TrimSpace(f) == "oauth-2025-04-20" {
				return ""
			}
		}
	}
	return "OAuth authentication is currently not supported (no oauth-2025-04-20 beta)"
}

// token is the OAuth token endpoint: a refresh token works once.
func (s *Server) token(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		GrantType    string `json:"grant_type"`
		RefreshToken string `json:"refresh_token"`
	}
	json.Unmarshal(body, &req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.GrantType != "refresh_token" || s.RefreshToken == "" || req.RefreshToken != s.RefreshToken {
		s.failures = append(s.failures, fmt.Sprintf("token endpoint: refresh token %.24q is not valid", req.RefreshToken))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":"invalid_grant","error_description":"Invalid refresh token"}`)
		return
	}
	s.refreshes++
	s.AccessToken = fmt.Sprintf("sk-ant-oat01-fake-access-%d", s.refreshes)
	s.RefreshToken = fmt.Sprintf("sk-ant-ort01-fake-refresh-%d", s.refreshes)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": s.AccessToken, "refresh_token": s.RefreshToken,
		"expires_in": 28800, "token_type": "Bearer", "scope": "user:inference"})
}

func (s *Server) reply() string {
	if s.Reply == "" {
		return "Hello from the fake API"
	}
	return s.Reply
}

// events are a streamed Messages response, as (event name, JSON data).
func (s *Server) events(model string) [][2]string {
	text := s.reply()
	half := len(text) / 2
	return [][2]string{
		{"message_start", fmt.Sprintf(`{"type":"message_start","message":{"id":"msg_fake","type":"message","role":"assistant","model":%q,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}`, model)},
		{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
		{"ping", `{"type":"ping"}`},
		{"content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":%q}}`, text[:half])},
		{"content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":%q}}`, text[half:])},
		{"content_block_stop", `{"type":"content_block_stop","index":0}`},
		{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":5}}`},
		{"message_stop", `{"type":"message_stop"}`},
	}
}

func (s *Server) message(model string) string {
	return fmt.Sprintf(`{"id":"msg_fake","type":"message","role":"assistant","model":%q,"content":[{"type":"text","text":%q}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":5}}`, model, s.reply())
}

// messages is POST /v1/messages.
func (s *Server) messages(w http.ResponseWriter, body []byte) {
	var req struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	json.Unmarshal(body, &req)
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, s.message(req.Model))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	for _, e := range s.events(req.Model) {
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e[0], e[1])
		w.(http.Flusher).Flush()
	}
}

// bedrock is /model/ID/invoke and /model/ID/invoke-with-response-stream.
func (s *Server) bedrock(w http.ResponseWriter, r *http.Request, body []byte) {
	model := strings.Split(strings.TrimPrefix(r.URL.Path, "/model/"), "/")[0]
	if !strings.HasSuffix(r.URL.Path, "/invoke-with-response-stream") {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, s.message(model))
		return
	}
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	enc := eventstream.NewEncoder()
	for _, e := range s.events(model) {
		payload, _ := json.Marshal(map[string]string{"bytes": base64.StdEncoding.EncodeToString([]byte(e[1]))})
		msg := eventstream.Message{Payload: payload}
		msg.Headers.Set(":event-type", eventstream.StringValue("chunk"))
		msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		msg.Headers.Set(":message-type", eventstream.StringValue("event"))
		if err := enc.Encode(w, msg); err != nil {
			return
		}
		w.(http.Flusher).Flush()
	}
}

// checkSigV4 recomputes r's SigV4 signature (service bedrock) over the
// headers it says it signed, with the only key the server knows.
func (s *Server) checkSigV4(r *http.Request, body []byte) string {
	if s.AWSKeyID == "" {
		return "no AWS credentials configured"
	}
	auth := r.Header.Get("Authorization")
	_, signedPart, ok := strings.Cut(auth, "SignedHeaders=")
	if !ok || !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+s.AWSKeyID+"/") {
		return fmt.Sprintf("not signed with the expected key: %.60q", auth)
	}
	signedHeaders, _, _ := strings.Cut(signedPart, ",")
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "bad X-Amz-Date"
	}
	u := *r.URL
	u.Scheme, u.Host = "https", r.Host
	again, _ := http.NewRequest(r.Method, u.String(), bytes.NewReader(body))
	again.ContentLength = int64(len(body))
	for _, h := range strings.Split(signedHeaders, ";") {
		if h != "host" && h != "content-length" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: s.AWSKeyID, SecretAccessKey: s.AWSSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), "bedrock", s.AWSRegion, when); err != nil {
		return err.Error()
	}
	if again.Header.Get("Authorization") != auth {
		return "SigV4 signature does not match"
	}
	return ""
}
