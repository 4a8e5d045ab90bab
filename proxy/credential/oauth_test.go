package credential

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// tokenServer is a token endpoint whose refresh tokens work once each, as
// Anthropic's do.
type tokenServer struct {
	mu    sync.Mutex
	valid map[string]bool // refresh tokens not used yet
	n     int
	used  []string
}

func (s *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]string
	json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := body["refresh_token"]
	s.used = append(s.used, rt)
	if r.URL.Path != "/v1/oauth/token" || body["grant_type"] != "refresh_token" || !s.valid[rt] {
		http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
		return
	}
	delete(s.valid, rt)
	s.n++
	next := fmt.Sprintf("rt-%d", s.n)
	s.valid[next] = true
	json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("at-%d", s.n), "refresh_token": next, "expires_in": 3600})
}

func writeLogin(t *testing.T, dir, access, refresh string, expires time.Time) string {
	t.Helper()
	file := filepath.Join(dir, ".credentials.json")
	b, _ := json.Marshal(map[string]any{
		"claudeAiOauth": map[string]any{"accessToken": access, "refreshToken": refresh, "expiresAt": expires.UnixMilli(),
			"scopes": []string{"user:inference"}, "subscriptionType": "max"},
		"other": "kept",
	})
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// clientFor sends TokenURL's requests to srv.
func clientFor(srv *httptest.Server) *http.Client {
	u, _ := url.Parse(srv.URL)
	return &http.Client{Transport: rewrite{u, srv.Client().Transport}}
}

type rewrite struct {
	to *url.URL
	rt http.RoundTripper
}

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.to.Scheme, r.to.Host
	return r.rt.RoundTrip(req)
}

// Two runjails (two logins reading the same file) refused the same token at
// once: one refreshes, the other takes the new token from the file instead
// of spending the used refresh token, and the file keeps its other fields.
func TestOAuthRefreshConcurrent(t *testing.T) {
	ts := &tokenServer{valid: map[string]bool{"rt-0": true}}
	srv := httptest.NewTLSServer(ts)
	defer srv.Close()
	home := t.TempDir()
	dir := filepath.Join(home, ".claude")
	os.MkdirAll(dir, 0o700)
	file := writeLogin(t, dir, "at-0", "rt-0", time.Now().Add(time.Hour))
	spec := Spec{Type: "anthropic", Hosts: []string{"api.anthropic.com"}, Source: "claude"}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	tokens := make([]string, 2)
	for i := range 2 {
		b, err := Load(spec, func(string) string { return "" }, home, clientFor(srv))
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			stale := &http.Request{Header: http.Header{"Authorization": {"Bearer at-0"}}}
			if errs[i] = b.Provider.(Refresher).Refresh(stale); errs[i] != nil {
				return
			}
			req := &http.Request{Header: http.Header{}}
			errs[i] = b.Provider.Apply(req, "api.anthropic.com")
			tokens[i] = req.Header.Get("Authorization")
		})
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil || tokens[i] != "Bearer at-1" {
			t.Errorf("runjail %d: %q %v", i, tokens[i], errs[i])
		}
	}
	if len(ts.used) != 1 {
		t.Errorf("refresh tokens spent: %v, want one refresh", ts.used)
	}
	var f map[string]any
	b, _ := os.ReadFile(file)
	json.Unmarshal(b, &f)
	oauth := f["claudeAiOauth"].(map[string]any)
	if oauth["accessToken"] != "at-1" || oauth["refreshToken"] != "rt-1" || oauth["subscriptionType"] != "max" || f["other"] != "kept" {
		t.Errorf("written back: %s", b)
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}

	// A token close to expiry is refreshed before use.
	writeLogin(t, dir, "at-1", "rt-1", time.Now().Add(time.Minute))
	b2, err := Load(spec, func(string) string { return "" }, home, clientFor(srv))
	if err != nil {
		t.Fatal(err)
	}
	req := &http.Request{Header: http.Header{}}
	if err := b2.Provider.Apply(req, "api.anthropic.com"); err != nil || req.Header.Get("Authorization") != "Bearer at-2" {
		t.Errorf("near expiry: %q %v", req.Header.Get("Authorization"), err)
	}

	// A refresh token someone else spent: the error says what to do.
	writeLogin(t, dir, "at-x", "rt-0", time.Now().Add(-time.Minute))
	b3, _ := Load(spec, func(string) string { return "" }, home, clientFor(srv))
	if err := b3.Provider.Apply(&http.Request{Header: http.Header{}}, "api.anthropic.com"); err == nil || !strings.Contains(err.Error(), "run claude outside the jail to log in again") {
		t.Errorf("spent refresh token: %v", err)
	}
}
