package credential

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runjail/runjail/internal/atomicfile"
)

// Claude Code's OAuth client, and where it refreshes its tokens.
const (
	claudeClientID = "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
	// TokenURL is the OAuth token endpoint the proxy refreshes at.
	TokenURL = "https://platform.claude.com/v1/oauth/token"
	// defaultScopes are those Claude Code 2.1 asks for when it refreshes.
	defaultScopes = "user:profile user:inference user:sessions:claude_code user:mcp_servers user:file_upload user:plugins"
	// refreshMargin: a token this close to expiry is refreshed first.
	refreshMargin = 5 * time.Minute
)

// claudeOAuth is a Claude subscription login kept in Claude Code's
// .credentials.json. The proxy is the only refresher inside runjail: the
// jail holds a stub and no refresh token. Refresh tokens are single-use, and
// the user's own claude, or another runjail, may rotate them at any time, so
// every refresh happens under a lock shared by runjail processes, after
// reading the file again, and writes the file back atomically with its other
// fields kept.
type claudeOAuth struct {
	file   string       // .credentials.json
	client *http.Client // reaches TokenURL

	mu      sync.Mutex
	access  string
	expires time.Time // zero: unknown, never refreshed early
}

// oauthFile is the part of .credentials.json runjail reads.
type oauthFile struct {
	OAuth *struct {
		AccessToken  string   `json:"accessToken"`
		RefreshToken string   `json:"refreshToken"`
		ExpiresAt    int64    `json:"expiresAt"` // Unix ms
		Scopes       []string `json:"scopes"`
	} `json:"claudeAiOauth"`
}

func (o *claudeOAuth) token() (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.expires.IsZero() || time.Until(o.expires) > refreshMargin {
		return o.access, nil
	}
	if err := o.refreshLocked(o.access); err != nil {
		return "", err
	}
	return o.access, nil
}

// Refresh gets a new access token because stale (the token a request was
// refused with) is no good. If the token has changed since, there is
// nothing to do.
func (o *claudeOAuth) Refresh(stale string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.access != stale {
		return nil
	}
	return o.refreshLocked(stale)
}

func (o *claudeOAuth) refreshLocked(stale string) error {
	lock, err := os.OpenFile(filepath.Join(filepath.Dir(o.file), ".runjail-oauth.lock"), os.O_CREATE|os.O_RDWR|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	raw, f, err := readOAuthFile(o.file)
	if err != nil {
		return err
	}
	expires := time.UnixMilli(f.OAuth.ExpiresAt)
	if f.OAuth.AccessToken != stale && (f.OAuth.ExpiresAt == 0 || time.Until(expires) > refreshMargin) {
		// Someone else refreshed meanwhile.
		o.access, o.expires = f.OAuth.AccessToken, expires
		return nil
	}
	if f.OAuth.RefreshToken == "" {
		return errors.New("the Claude login has no refresh token; run claude outside the jail to log in again")
	}
	// As Claude Code asks: the scopes the login has (or its usual ones).
	scope := strings.Join(f.OAuth.Scopes, " ")
	if scope == "" {
		scope = defaultScopes
	}
	body, _ := json.Marshal(map[string]string{"grant_type": "refresh_token", "refresh_token": f.OAuth.RefreshToken,
		"client_id": claudeClientID, "scope": scope})
	res, err := o.client.Post(TokenURL, "application/json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("refreshing the Claude login: %v", err)
	}
	defer res.Body.Close()
	var tok struct {
		Access    string `json:"access_token"`
		Refresh   string `json:"refresh_token"`
		ExpiresIn int64  `json:"expires_in"`
		Scope     string `json:"scope"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&tok); err != nil || res.StatusCode != http.StatusOK || tok.Access == "" {
		return fmt.Errorf("refreshing the Claude login: %s from the token endpoint; run claude outside the jail to log in again", res.Status)
	}
	oauth := raw["claudeAiOauth"].(map[string]any)
	oauth["accessToken"] = tok.Access
	if tok.Refresh != "" {
		oauth["refreshToken"] = tok.Refresh
	}
	if tok.Scope != "" {
		oauth["scopes"] = strings.Fields(tok.Scope)
	}
	expires = time.Now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	oauth["expiresAt"] = expires.UnixMilli()
	if err := writeFileAtomic(o.file, raw); err != nil {
		return fmt.Errorf("saving the refreshed Claude login: %v", err)
	}
	o.access, o.expires = tok.Access, expires
	return nil
}

// readOAuthFile reads .credentials.json both as a whole (to write it back
// unchanged but for the tokens) and as what runjail needs.
func readOAuthFile(path string) (map[string]any, oauthFile, error) {
	var f oauthFile
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, f, err
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, f, fmt.Errorf("%s: %v; run claude outside the jail to log in again", path, err)
	}
	if err := json.Unmarshal(b, &f); err != nil || f.OAuth == nil || f.OAuth.AccessToken == "" {
		return nil, f, fmt.Errorf("%s holds no Claude login; run claude outside the jail to log in", path)
	}
	if _, ok := raw["claudeAiOauth"].(map[string]any); !ok {
		return nil, f, fmt.Errorf("%s: claudeAiOauth is not an object", path)
	}
	return raw, f, nil
}

// writeFileAtomic replaces path with v as JSON (mode 0600), so that no
// reader ever sees half a file.
func writeFileAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b, 0o600)
}
