package cli

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runjail/runjail/internal/fakeanthropic"
)

// The real Claude Code CLI (npm @anthropic-ai/claude-code, installed by
// .ci/run) run by runclaude against the fake Anthropic API through the
// proxy: the jail never holds the credential, the proxy puts it on the
// wire.

// fakeAPI starts the fake API over TLS and writes its certificate to a
// file for --upstream-ca.
func fakeAPI(t *testing.T, fake *fakeanthropic.Server) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewTLSServer(fake)
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "fake-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, caFile
}

// runclaude runs runclaude -p PROMPT with the user's home holding files,
// all Anthropic hosts sent to srv.
func runclaude(t *testing.T, srv *httptest.Server, caFile string, files map[string]string, env []string, args ...string) (string, string, error) {
	t.Helper()
	if _, err := exec.LookPath("claude"); err != nil {
		t.Fatal("Claude Code is needed: npm install -g @anthropic-ai/claude-code@2.1.332 (.ci/run installs it)")
	}
	cmd := runjailCmd(t, append([]string{"--upstream", "api.anthropic.com=" + srv.URL, "--upstream", "platform.claude.com=" + srv.URL,
		"--upstream-ca", caFile}, args...)...)
	cmd.Path = filepath.Join(filepath.Dir(cmd.Path), "runclaude")
	if err := os.Symlink(filepath.Join(filepath.Dir(cmd.Path), "runjail"), cmd.Path); err != nil {
		t.Fatal(err)
	}
	cmd.Args[0] = cmd.Path
	cmd.Env = append(cmd.Env, env...)
	for i, a := range args {
		if a == "-p" && i+1 < len(args) && strings.HasSuffix(args[i+1], ".toml") {
			trustProfile(t, cmd, args[i+1])
		}
	}
	home := filepath.Join(filepath.Dir(cmd.Dir), "home")
	for name, content := range files {
		path := filepath.Join(home, name)
		os.MkdirAll(filepath.Dir(path), 0o700)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := cmd.CombinedOutput()
	return string(out), home, err
}

func TestClaudeCodeAPIKey(t *testing.T) {
	const key = "sk-ant-api03-REAL-KEY-of-the-user"
	fake := &fakeanthropic.Server{APIKey: key, Reply: "Hello from the fake API"}
	srv, caFile := fakeAPI(t, fake)
	out, home, err := runclaude(t, srv, caFile, nil, []string{"ANTHROPIC_API_KEY=" + key}, "--", "-p", "say hello")
	if err != nil || !strings.Contains(out, "Hello from the fake API") {
		t.Fatalf("runclaude -p: %v\n%s\nrequests: %v\nfailures: %v", err, out, fake.Requests(), fake.Failures())
	}
	if f := fake.Failures(); len(f) > 0 {
		t.Errorf("requests without the real key: %v", f)
	}
	if !slices.Contains(fake.Requests(), "POST /v1/messages") {
		t.Errorf("no Messages request: %v", fake.Requests())
	}
	// Nothing Claude Code kept in the sandbox home holds the key.
	if hit := grepDir(t, filepath.Join(home, ".cache", "runjail", "claude"), key); hit != "" {
		t.Errorf("the key is in the sandbox home: %s", hit)
	}
}

// An OAuth (subscription) login whose access token the API no longer takes:
// the proxy refreshes it with the single-use refresh token, sends the
// request again, and writes the rotated tokens back to the user's file.
func TestClaudeCodeOAuthRefresh(t *testing.T) {
	fake := &fakeanthropic.Server{AccessToken: "sk-ant-oat01-CURRENT-on-the-server", RefreshToken: "sk-ant-ort01-REFRESH-0"}
	srv, caFile := fakeAPI(t, fake)
	login := fmt.Sprintf(`{"claudeAiOauth":{"accessToken":"sk-ant-oat01-STALE-in-the-file","refreshToken":"sk-ant-ort01-REFRESH-0","expiresAt":%d,"scopes":["user:inference"],"subscriptionType":"max"}}`,
		time.Now().Add(time.Hour).UnixMilli())
	out, home, err := runclaude(t, srv, caFile, map[string]string{".claude/.credentials.json": login}, nil, "--", "-p", "say hello")
	if err != nil || !strings.Contains(out, "Hello from the fake API") {
		t.Fatalf("runclaude -p: %v\n%s\nrequests: %v\nfailures: %v", err, out, fake.Requests(), fake.Failures())
	}
	if fake.Refreshes() != 1 {
		t.Errorf("refreshes: %d, want 1 (failures: %v)", fake.Refreshes(), fake.Failures())
	}
	for _, f := range fake.Failures() {
		if !strings.Contains(f, "STALE-in-the-file") {
			t.Errorf("unexpected failure: %s", f)
		}
	}
	b, err := os.ReadFile(filepath.Join(home, ".claude", ".credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		OAuth map[string]any `json:"claudeAiOauth"`
	}
	json.Unmarshal(b, &f)
	access, refresh := fake.Tokens()
	if f.OAuth["accessToken"] != access || f.OAuth["refreshToken"] != refresh || f.OAuth["subscriptionType"] != "max" {
		t.Errorf("the host's login after the refresh: %s (server: %s %s)", b, access, refresh)
	}
	for _, secret := range []string{access, refresh, "sk-ant-ort01-REFRESH-0"} {
		if hit := grepDir(t, filepath.Join(home, ".cache", "runjail", "claude"), secret); hit != "" {
			t.Errorf("a real token is in the sandbox home: %s", hit)
		}
	}
}

// Bedrock: a profile that extends claude with an aws credential; the
// user has no Anthropic login (runclaude warns and goes on), Claude Code
// streams from Bedrock with stub AWS keys, and the proxy signs.
func TestClaudeCodeBedrock(t *testing.T) {
	const akid, secret = "AKIAREALUSERKEY00001", "real/secret/of/the/user"
	fake := &fakeanthropic.Server{AWSKeyID: akid, AWSSecret: secret, AWSRegion: "us-east-1"}
	srv, caFile := fakeAPI(t, fake)
	profile := `version = 1
extends = "claude"
[network]
allow = ["bedrock-runtime.us-east-1.amazonaws.com"]
[[credential]]
type = "aws"
hosts = ["bedrock-runtime.*.amazonaws.com"]
service = "bedrock"
`
	dir := t.TempDir()
	pfile := filepath.Join(dir, "bedrock.toml")
	os.WriteFile(pfile, []byte(profile), 0o644)
	out, _, err := runclaude(t, srv, caFile, nil,
		[]string{"CLAUDE_CODE_USE_BEDROCK=1", "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=" + akid, "AWS_SECRET_ACCESS_KEY=" + secret,
			"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent"},
		"-p", pfile, "--upstream", "bedrock-runtime.us-east-1.amazonaws.com="+srv.URL, "--", "-p", "say hello")
	if err != nil || !strings.Contains(out, "Hello from the fake API") {
		t.Fatalf("runclaude -p on Bedrock: %v\n%s\nrequests: %v\nfailures: %v", err, out, fake.Requests(), fake.Failures())
	}
	if f := fake.Failures(); len(f) > 0 {
		t.Errorf("refused: %v", f)
	}
	if !strings.Contains(strings.Join(fake.Requests(), "\n"), "/model/") {
		t.Errorf("no Bedrock request: %v", fake.Requests())
	}
}

// grepDir returns the first file under dir containing s.
func grepDir(t *testing.T, dir, s string) string {
	var hit string
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || !info.Mode().IsRegular() || hit != "" {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), s) {
			hit = path
		}
		return nil
	})
	return hit
}

// Interactive Claude Code on a terminal starts straight at its prompt in
// the jail (onboarding, folder trust and the stub key already accepted in
// the sandbox's ~/.claude.json) and answers.
func TestClaudeCodeInteractive(t *testing.T) {
	const key = "sk-ant-api03-REAL-KEY-interactive"
	fake := &fakeanthropic.Server{APIKey: key, Reply: "PONG-7431"} // one word: the screen moves the cursor between words
	srv, caFile := fakeAPI(t, fake)
	if _, err := exec.LookPath("claude"); err != nil {
		t.Fatal("Claude Code is needed: npm install -g @anthropic-ai/claude-code@2.1.332 (.ci/run installs it)")
	}
	cmd := runjailCmd(t, "--upstream", "api.anthropic.com="+srv.URL, "--upstream-ca", caFile)
	cmd.Path = filepath.Join(filepath.Dir(cmd.Path), "runclaude")
	os.Symlink(filepath.Join(filepath.Dir(cmd.Path), "runjail"), cmd.Path)
	cmd.Args[0] = cmd.Path
	cmd.Env = append(cmd.Env, "ANTHROPIC_API_KEY="+key)
	master, slave := openPTY(t)
	unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120})
	onTerminal(t, cmd, slave)
	out := readUntil(t, master, "❯", 30*time.Second)
	if !strings.Contains(out, "❯") || !strings.Contains(out, "bypass") {
		t.Fatalf("no prompt; the screen:\n%s", out)
	}
	master.Write([]byte("say hello"))
	time.Sleep(300 * time.Millisecond)
	master.Write([]byte("\r"))
	if out := readUntil(t, master, "PONG-7431", 30*time.Second); !strings.Contains(out, "PONG-7431") {
		t.Fatalf("no answer; the screen:\n%s\nrequests: %v failures: %v", out, fake.Requests(), fake.Failures())
	}
	master.Write([]byte{3})
	time.Sleep(200 * time.Millisecond)
	master.Write([]byte{3})
	if code := exitCode(t, cmd); code != 0 {
		t.Errorf("exit status %d", code)
	}
}
