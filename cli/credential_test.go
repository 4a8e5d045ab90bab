package cli

import (
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runjail/runjail/internal/fakeanthropic"
)

// credentialJail runs script in a jail whose profile is profile, with
// api.example.com and other.example.com sent to srv.
func credentialJail(t *testing.T, srv *httptest.Server, profile, script string, env ...string) (string, error) {
	out, _, err := credentialJailHome(t, srv, profile, script, nil, env...)
	return out, err
}

// credentialJailHome is credentialJail with files written in the user's
// (real) home first; it returns that home.
func credentialJailHome(t *testing.T, srv *httptest.Server, profile, script string, files map[string]string, env ...string) (string, string, error) {
	t.Helper()
	needCurl(t)
	args := []string{"-p", "./p.toml", "--upstream", "api.example.com=" + srv.URL, "--upstream", "other.example.com=" + srv.URL,
		"--upstream", "platform.claude.com=" + srv.URL}
	if srv.TLS != nil {
		caFile := filepath.Join(t.TempDir(), "upstream-ca.pem")
		if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--upstream-ca", caFile)
	}
	cmd := runjailCmd(t, append(args, "--", "sh", "-c", script)...)
	cmd.Env = append(cmd.Env, env...)
	home := filepath.Join(filepath.Dir(cmd.Dir), "home")
	for name, content := range files {
		path := filepath.Join(home, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	profile = "version = 1\nextends = \"default\"\n" + profile
	if err := os.WriteFile(filepath.Join(cmd.Dir, "p.toml"), []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}
	trustProfile(t, cmd, "./p.toml")
	out, err := cmd.CombinedOutput()
	return string(out), home, err
}

// The proxy puts the real key on requests to the credential's hosts; the
// jail holds a stub, and the real key is in none of its variables, even
// when env.pass names it.
func TestCredentialInjected(t *testing.T) {
	const key = "sk-ant-api03-REAL-SECRET-KEY"
	const token = "ghp_REAL_BEARER_TOKEN"
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s x-api-key=%q authorization=%q\n", r.URL.Path, r.Header.Get("X-Api-Key"), r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	profile := fmt.Sprintf(`[env]
pass = ["RJ_*"]
[network]
allow = ["api.example.com", "other.example.com"]
[[credential]]
type = "anthropic"
hosts = ["api.example.com"]
from = "env:RJ_ANTHROPIC_KEY"
[[credential]]
type = "bearer"
hosts = ["other.example.com"]
from = "file:%s"
`, tokenFile)
	script := `echo "stub=$ANTHROPIC_API_KEY"
env | grep -c REAL || true
curl -sS -H "x-api-key: $ANTHROPIC_API_KEY" https://api.example.com/v1/messages
curl -sS -H "x-api-key: $ANTHROPIC_API_KEY" https://other.example.com/other`
	out, err := credentialJail(t, srv, profile, script, "RJ_ANTHROPIC_KEY="+key)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, want := range []string{
		"stub=sk-ant-api03-runjail-stub",
		"\n0\n", // no variable holds a real secret
		`/v1/messages x-api-key="` + key + `" authorization=""`,
		`/other x-api-key="sk-ant-api03-runjail-stub-the-proxy-adds-the-real-key" authorization="Bearer ` + token + `"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
}

// An OAuth login (a Claude subscription) goes in Authorization with the
// OAuth beta flag merged into the client's own.
func TestCredentialOAuthAndMissing(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "authorization=%q beta=%q x-api-key=%q\n", r.Header.Get("Authorization"), r.Header.Get("Anthropic-Beta"), r.Header.Get("X-Api-Key"))
	}))
	defer srv.Close()
	profile := `[network]
allow = ["api.example.com"]
[[credential]]
type = "anthropic"
hosts = ["api.example.com"]
from = "env:RJ_TOKEN"
`
	out, err := credentialJail(t, srv, profile,
		`echo "stub=$CLAUDE_CODE_OAUTH_TOKEN"; curl -sS -H "Authorization: Bearer $CLAUDE_CODE_OAUTH_TOKEN" -H "anthropic-beta: tools-2024-04-04" https://api.example.com/v1/messages`,
		"RJ_TOKEN=sk-ant-oat01-REAL-OAUTH")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, want := range []string{"stub=sk-ant-oat01-runjail-stub", `authorization="Bearer sk-ant-oat01-REAL-OAUTH" beta="tools-2024-04-04,oauth-2025-04-20" x-api-key=""`} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}

	// Without the secret the jail still runs (its command may not need
	// it); runjail warns, and requests to the host fail saying why.
	out, err = credentialJail(t, srv, profile, `echo "stub=$ANTHROPIC_API_KEY"; curl -sS -i https://api.example.com/v1/messages`)
	for _, want := range []string{
		"HTTP/1.1 401", "X-Should-Retry: false", `"type":"authentication_error"`,
		"runjail: warning: credential at ./p.toml:5:1: $RJ_TOKEN is empty or not set; export it before starting runjail (requests to api.example.com will fail until then)",
		"stub=sk-ant-api03-runjail-stub",
		"runjail: the credential for api.example.com is not available: credential at ./p.toml:5:1: $RJ_TOKEN is empty or not set",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing secret: want %q in: %v %s", want, err, out)
		}
	}
}

// A Claude login refused with 401 is refreshed by the proxy (with the
// single-use refresh token), the request sent again with the new token, and
// the rotated tokens written back to the user's file, so that claude
// outside the jail stays logged in. The jail sees neither token.
func TestCredentialOAuthRefresh(t *testing.T) {
	var refreshes atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/oauth/token":
			body, _ := io.ReadAll(r.Body)
			if !strings.Contains(string(body), `"refresh_token":"sk-ant-ort01-OLD-REFRESH"`) {
				http.Error(w, "invalid_grant", http.StatusBadRequest)
				return
			}
			refreshes.Add(1)
			fmt.Fprint(w, `{"access_token":"sk-ant-oat01-NEW-ACCESS","refresh_token":"sk-ant-ort01-NEW-REFRESH","expires_in":28800}`)
		case "/v1/messages":
			body, _ := io.ReadAll(r.Body)
			if r.Header.Get("Authorization") != "Bearer sk-ant-oat01-NEW-ACCESS" {
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"type":"error","error":{"type":"authentication_error","message":"OAuth token has expired."}}`)
				return
			}
			fmt.Fprintf(w, "accepted body=%s", body)
		}
	}))
	defer srv.Close()
	login := fmt.Sprintf(`{"claudeAiOauth":{"accessToken":"sk-ant-oat01-OLD-ACCESS","refreshToken":"sk-ant-ort01-OLD-REFRESH","expiresAt":%d,"subscriptionType":"max"},"mcpOAuth":{"x":1}}`,
		time.Now().Add(time.Hour).UnixMilli())
	profile := `[network]
allow = ["api.example.com", "platform.claude.com"]
[[credential]]
type = "anthropic"
hosts = ["api.example.com"]
from = "claude"
`
	// After the request, the jail looks for the tokens everywhere it can,
	// and asks the token endpoint itself.
	script := `curl -sS -H "Authorization: Bearer $CLAUDE_CODE_OAUTH_TOKEN" --data-binary '{"hello":1}' https://api.example.com/v1/messages; echo
curl -sS --data-binary "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"$CLAUDE_CODE_OAUTH_TOKEN\"}" https://platform.claude.com/v1/oauth/token
printf '%s-ACC%s\n' OLD ESS NEW ESS > /tmp/pat; printf '%s-REF%s\n' OLD RESH NEW RESH >> /tmp/pat
grep -rl --exclude-dir='testscript-main*' --exclude=pat -f /tmp/pat "$HOME" /tmp 2>/dev/null
cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' '\n' | grep -c -f /tmp/pat
env | grep -c -f /tmp/pat || true`
	out, home, err := credentialJailHome(t, srv, profile, script, map[string]string{".claude/.credentials.json": login})
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(out, `accepted body={"hello":1}`) || refreshes.Load() != 1 {
		t.Errorf("after a 401, refreshed (%d times) and sent again: %s", refreshes.Load(), out)
	}
	if !strings.HasSuffix(out, "accepted body={\"hello\":1}\ninvalid_grant\n0\n0\n") {
		t.Errorf("tokens visible in the jail: %s", out)
	}
	b, err := os.ReadFile(filepath.Join(home, ".claude", ".credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"accessToken":"sk-ant-oat01-NEW-ACCESS"`, `"refreshToken":"sk-ant-ort01-NEW-REFRESH"`, `"subscriptionType":"max"`, `"mcpOAuth":{"x":1}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("written back without %s: %s", want, b)
		}
	}
}

// Bedrock: the proxy throws away the jail's stub signature and signs with
// the host's AWS credentials (the SDK's default chain) for the region in
// the host name; the jail's SDK has stub keys only.
func TestCredentialAWS(t *testing.T) {
	const akid, secret = "AKIAREALTESTKEY12345", "REAL/aws/secret/key/for/the/test"
	fake := &fakeanthropic.Server{AWSKeyID: akid, AWSSecret: secret, AWSRegion: "eu-west-3"}
	srv, caFile := fakeAPI(t, fake)
	profile := `[network]
allow = ["bedrock-runtime.eu-west-3.amazonaws.com"]
[[credential]]
type = "aws"
hosts = ["bedrock-runtime.*.amazonaws.com"]
service = "bedrock"
`
	script := `echo "id=$AWS_ACCESS_KEY_ID"; env | grep -c REAL || true
curl -sS -H 'Authorization: AWS4-HMAC-SHA256 Credential=stub' -H 'X-Amz-Date: 20200101T000000Z' -H 'Content-Type: application/json' --data-binary '{"prompt":"hi"}' https://bedrock-runtime.eu-west-3.amazonaws.com/model/anthropic.claude/invoke; echo
curl -sS -H 'X-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD' --data-binary x https://bedrock-runtime.eu-west-3.amazonaws.com/model/m/invoke`
	cmd := runjailCmd(t, "-p", "./p.toml", "--upstream", "bedrock-runtime.eu-west-3.amazonaws.com="+srv.URL, "--upstream-ca", caFile, "--", "sh", "-c", script)
	cmd.Env = append(cmd.Env, "AWS_ACCESS_KEY_ID="+akid, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent")
	os.WriteFile(filepath.Join(cmd.Dir, "p.toml"), []byte("version = 1\nextends = \"default\"\n"+profile), 0o644)
	trustProfile(t, cmd, "./p.toml")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, want := range []string{"id=AKIARUNJAILSTUBKEY00\n0\n", `"text":"Hello from the fake API"`, "request streaming (chunked SigV4 payload signing) is not supported"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
	if f := fake.Failures(); len(f) > 0 {
		t.Errorf("signatures refused: %v", f)
	}
}

// Two runjails with the same Claude login, both refused: each refreshes
// under the shared lock after reading the file again, so the single-use
// refresh token is spent once and neither logs the user out.
func TestCredentialTwoRefreshers(t *testing.T) {
	fake := &fakeanthropic.Server{AccessToken: "sk-ant-oat01-CURRENT", RefreshToken: "sk-ant-ort01-R0"}
	srv, caFile := fakeAPI(t, fake)
	login := fmt.Sprintf(`{"claudeAiOauth":{"accessToken":"sk-ant-oat01-STALE","refreshToken":"sk-ant-ort01-R0","expiresAt":%d}}`, time.Now().Add(time.Hour).UnixMilli())
	profile := "version = 1\nextends = \"default\"\n[network]\nallow = [\"api.anthropic.com\"]\n[[credential]]\ntype = \"anthropic\"\nhosts = [\"api.anthropic.com\"]\nfrom = \"claude\"\n"
	var cmds []*exec.Cmd
	var home string
	for i := range 2 {
		cmd := runjailCmd(t, "-p", "./p.toml", "-n", fmt.Sprintf("s%d", i), "--upstream", "api.anthropic.com="+srv.URL, "--upstream", "platform.claude.com="+srv.URL,
			"--upstream-ca", caFile, "--", "sh", "-c", `curl -sS -H "Authorization: Bearer $CLAUDE_CODE_OAUTH_TOKEN" -d '{"model":"m"}' https://api.anthropic.com/v1/messages`)
		os.WriteFile(filepath.Join(cmd.Dir, "p.toml"), []byte(profile), 0o644)
		if i == 0 {
			home = filepath.Join(filepath.Dir(cmd.Dir), "home")
			os.MkdirAll(filepath.Join(home, ".claude"), 0o700)
			os.WriteFile(filepath.Join(home, ".claude", ".credentials.json"), []byte(login), 0o600)
		}
		for j, e := range cmd.Env {
			if name, _, _ := strings.Cut(e, "="); name == "HOME" || name == "XDG_CACHE_HOME" || name == "XDG_CONFIG_HOME" {
				cmd.Env[j] = strings.Replace(e, filepath.Join(filepath.Dir(cmd.Dir), "home"), home, 1)
			}
		}
		trustProfile(t, cmd, "./p.toml")
		cmds = append(cmds, cmd)
	}
	outs := make([]string, 2)
	var wg sync.WaitGroup
	for i, cmd := range cmds {
		wg.Go(func() {
			b, _ := cmd.CombinedOutput()
			outs[i] = string(b)
		})
	}
	wg.Wait()
	for i, out := range outs {
		if !strings.Contains(out, "Hello from the fake API") {
			t.Errorf("runjail %d: %s", i, out)
		}
	}
	if fake.Refreshes() != 1 {
		t.Errorf("refreshes: %d, want 1; failures: %v", fake.Refreshes(), fake.Failures())
	}
	b, _ := os.ReadFile(filepath.Join(home, ".claude", ".credentials.json"))
	if access, refresh := fake.Tokens(); !strings.Contains(string(b), access) || !strings.Contains(string(b), refresh) {
		t.Errorf("the login on the host is not the server's current one: %s", b)
	}
}

// The built-in codex profile: the OpenAI key from your environment goes to
// api.openai.com on the wire; Codex in the jail reads a stub from the same
// variable.
func TestProfileCodex(t *testing.T) {
	const key = "sk-proj-REAL-OPENAI-KEY"
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "openai saw %s %q", r.URL.Path, r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	cmd := runjailCmd(t, "-p", "codex", "--upstream", "api.openai.com="+srv.URL, "--upstream-ca", caFile, "--",
		"sh", "-c", `echo "key=$OPENAI_API_KEY"; curl -sS -H "Authorization: Bearer $OPENAI_API_KEY" https://api.openai.com/v1/responses`)
	cmd.Env = append(cmd.Env, "OPENAI_API_KEY="+key)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, want := range []string{"key=runjail-stub-the-proxy-adds-the-real-secret", `openai saw /v1/responses "Bearer ` + key + `"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
}

// A login that cannot be refreshed (its refresh token was used elsewhere):
// the client gets a 401 that says what to do, and does not retry.
func TestCredentialRefreshFails(t *testing.T) {
	fake := &fakeanthropic.Server{AccessToken: "sk-ant-oat01-CURRENT", RefreshToken: "sk-ant-ort01-SOMEONE-ELSES"}
	srv, _ := fakeAPI(t, fake)
	login := fmt.Sprintf(`{"claudeAiOauth":{"accessToken":"sk-ant-oat01-STALE","refreshToken":"sk-ant-ort01-SPENT","expiresAt":%d}}`, time.Now().Add(time.Hour).UnixMilli())
	profile := `[network]
allow = ["api.example.com"]
[[credential]]
type = "anthropic"
hosts = ["api.example.com"]
from = "claude"
`
	out, _, err := credentialJailHome(t, srv, profile, `curl -sS -i -d '{}' https://api.example.com/v1/messages`, map[string]string{".claude/.credentials.json": login})
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, want := range []string{"HTTP/1.1 401", "X-Should-Retry: false", "refreshing the Claude login: 400 Bad Request from the token endpoint; run claude outside the jail to log in again"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
}

// Credentials go only into intercepted TLS: a plain HTTP request to a
// credential's host gets none.
func TestCredentialNeverOnPlainHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "plain saw authorization=%q x-api-key=%q", r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"))
	}))
	defer srv.Close()
	port := strings.TrimPrefix(srv.URL, "http://127.0.0.1:")
	profile := fmt.Sprintf(`[network]
allow = ["localhost:%s"]
allow_private = ["127.0.0.1", "::1"]
[[credential]]
type = "bearer"
hosts = ["localhost:%s"]
from = "env:RJ_TOKEN"
[[credential]]
type = "anthropic"
hosts = ["localhost:%s"]
from = "env:RJ_KEY"
`, port, port, port)
	out, err := credentialJail(t, srv, profile, "curl -sS http://localhost:"+port+"/", "RJ_TOKEN=REAL-BEARER", "RJ_KEY=sk-ant-api03-REAL")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(out, `plain saw authorization="" x-api-key=""`) || strings.Contains(out, "REAL") {
		t.Errorf("plain HTTP: %s", out)
	}
}
