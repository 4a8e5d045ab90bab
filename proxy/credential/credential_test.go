package credential

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClaudeLogin(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	spec := Spec{Type: "anthropic", Hosts: []string{"api.anthropic.com"}, Source: "claude", From: "p.toml:3:1"}

	if _, err := Load(spec, getenv, home, nil); err == nil || !strings.Contains(err.Error(), "run claude outside the jail to log in") {
		t.Errorf("no login: %v", err)
	}

	env["ANTHROPIC_API_KEY"] = "sk-ant-api03-env"
	req := apply(t, spec, getenv, home, http.Header{"Authorization": {"Bearer stub"}})
	if req.Get("X-Api-Key") != "sk-ant-api03-env" || req.Get("Authorization") != "" {
		t.Errorf("API key from the environment: %v", req)
	}

	os.WriteFile(filepath.Join(home, ".claude.json"), []byte(`{"primaryApiKey": "sk-ant-api03-file"}`), 0o600)
	if req := apply(t, spec, getenv, home, nil); req.Get("X-Api-Key") != "sk-ant-api03-file" {
		t.Errorf("API key from ~/.claude.json: %v", req)
	}

	os.MkdirAll(filepath.Join(home, ".claude"), 0o700)
	os.WriteFile(filepath.Join(home, ".claude", ".credentials.json"),
		[]byte(`{"claudeAiOauth": {"accessToken": "sk-ant-oat01-real", "refreshToken": "sk-ant-ort01-real"}}`), 0o600)
	req = apply(t, spec, getenv, home, http.Header{"X-Api-Key": {"stub"}, "Anthropic-Beta": {"a, b", "oauth-2025-04-20"}})
	if req.Get("Authorization") != "Bearer sk-ant-oat01-real" || req.Get("X-Api-Key") != "" || req.Get("Anthropic-Beta") != "a,b,oauth-2025-04-20" {
		t.Errorf("OAuth login: %v", req)
	}

	env["CLAUDE_CONFIG_DIR"] = filepath.Join(home, "elsewhere")
	if req := apply(t, spec, getenv, home, nil); req.Get("X-Api-Key") != "sk-ant-api03-file" {
		t.Errorf("CLAUDE_CONFIG_DIR without a login falls back to the API key: %v", req)
	}
}

func apply(t *testing.T, spec Spec, getenv func(string) string, home string, h http.Header) http.Header {
	t.Helper()
	b, err := Load(spec, getenv, home, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h == nil {
		h = http.Header{}
	}
	req := &http.Request{Header: h}
	if err := b.Provider.Apply(req, "api.anthropic.com"); err != nil {
		t.Fatal(err)
	}
	if p := For([]Binding{b}, "API.anthropic.com", 443); p != b.Provider {
		t.Error("the binding does not match its own host")
	}
	if p := For([]Binding{b}, "api.anthropic.com.evil.example", 443); p != nil {
		t.Error("the binding matches another host")
	}
	if strings.Contains(b.Provider.Describe(), "real") {
		t.Errorf("Describe reveals the secret: %s", b.Provider.Describe())
	}
	return req.Header
}

func TestHeaderCredential(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(file, []byte("  s3cret \n"), 0o600)
	b, err := Load(Spec{Type: "header", Hosts: []string{"*.example.com"}, Source: "file:" + file, Header: "x-token"}, os.Getenv, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	req := &http.Request{Header: http.Header{}}
	b.Provider.Apply(req, "api.anthropic.com")
	if req.Header.Get("X-Token") != "s3cret" {
		t.Errorf("header credential: %v", req.Header)
	}
	if _, err := Load(Spec{Type: "bearer", Hosts: []string{"x.example.com"}, Source: "file:/nonexistent/tok", From: "p:1:1"}, os.Getenv, "", nil); err == nil ||
		!strings.Contains(err.Error(), "p:1:1") {
		t.Errorf("unreadable file: %v", err)
	}
}
