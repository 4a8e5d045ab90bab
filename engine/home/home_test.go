package home

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runjail/runjail/engine"
)

func TestScrubSettingsJSON(t *testing.T) {
	in := `{"env": {"GITHUB_TOKEN": "ghp_x", "ANTHROPIC_API_KEY": "sk", "AWS_SECRET_ACCESS_KEY": "s", "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "32000",
  "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=x", "DISABLE_TELEMETRY": "1"},
 "apiKeyHelper": "~/bin/key", "permissions": {"allow": ["Bash(ls)"]}, "model": "opus"}`
	out := string(scrubSecrets("settings.json", []byte(in)))
	for _, gone := range []string{"ghp_x", "ANTHROPIC_API_KEY", "AWS_SECRET", "OTLP_HEADERS", "apiKeyHelper"} {
		if strings.Contains(out, gone) {
			t.Errorf("%s kept:\n%s", gone, out)
		}
	}
	for _, kept := range []string{`"CLAUDE_CODE_MAX_OUTPUT_TOKENS": "32000"`, `"DISABLE_TELEMETRY": "1"`, `"Bash(ls)"`, `"model": "opus"`} {
		if !strings.Contains(out, kept) {
			t.Errorf("%s dropped:\n%s", kept, out)
		}
	}
}

// The jail writes its home: a symlink it plants where runjail merges JSON is
// replaced, never followed, and a file it corrupted is started afresh.
func TestMergeJSONIntoHome(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	os.Mkdir(home, 0o700)
	outside := filepath.Join(dir, "outside.json")
	os.WriteFile(outside, []byte(`{"keep": 1}`), 0o600)
	os.Symlink(outside, filepath.Join(home, ".claude.json"))
	set := map[string]any{"hasCompletedOnboarding": true, "projects": map[string]any{"/p": map[string]any{"hasTrustDialogAccepted": true}}}
	if err := MergeJSON(home, engine.HomeJSON{Rel: ".claude.json", Set: set}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(outside); string(b) != `{"keep": 1}` {
		t.Errorf("followed the jail's symlink: %s", b)
	}
	if fi, err := os.Lstat(filepath.Join(home, ".claude.json")); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("not a private regular file: %v %v", fi, err)
	}
	// The client's own keys stay; ours are merged in.
	os.WriteFile(filepath.Join(home, ".claude.json"), []byte(`{"numStartups": 3, "projects": {"/p": {"allowedTools": ["x"]}, "/q": {}}}`), 0o600)
	if err := MergeJSON(home, engine.HomeJSON{Rel: ".claude.json", Set: set}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(home, ".claude.json"))
	var got map[string]any
	json.Unmarshal(b, &got)
	p := got["projects"].(map[string]any)["/p"].(map[string]any)
	if got["numStartups"] != 3.0 || got["hasCompletedOnboarding"] != true || p["hasTrustDialogAccepted"] != true || p["allowedTools"] == nil || got["projects"].(map[string]any)["/q"] == nil {
		t.Errorf("merged: %s", b)
	}
	os.WriteFile(filepath.Join(home, ".claude.json"), []byte(`{not json`), 0o600)
	if err := MergeJSON(home, engine.HomeJSON{Rel: ".claude.json", Set: set}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(home, ".claude.json")); !strings.Contains(string(b), `"hasCompletedOnboarding": true`) {
		t.Errorf("a corrupt file: %s", b)
	}
}
