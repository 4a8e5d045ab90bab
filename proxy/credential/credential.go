// Package credential puts the user's credentials on the jail's requests. A
// Provider holds one secret on the host side and sets it on a request the
// proxy has intercepted for one of its hosts; the jail only ever holds a
// stub (Stub) that makes its client believe it is logged in.
package credential

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/runjail/runjail/schema"
)

// Provider sets a credential on requests.
type Provider interface {
	// Apply replaces whatever credential req carries with the real one.
	// host is the host the jail asked for (req may be bound for its
	// --upstream instead).
	Apply(req *http.Request, host string) error
	// Stub is the environment the jail gets instead of the secret.
	Stub() map[string]string
	// Describe says what the credential is without revealing it, for
	// --explain and the audit log ("Anthropic API key from env:X").
	Describe() string
}

// Refresher is a Provider whose credential can be renewed when a server
// refuses it (401).
type Refresher interface {
	Provider
	// Refresh renews the credential req was sent with, unless that has
	// happened meanwhile; Apply then puts the new one.
	Refresh(req *http.Request) error
}

// HomeStater is a Provider whose client keeps its login state in its home:
// HomeState gives, for files relative to the jail's home, the JSON keys that
// make the client start logged in and at home in dir.
type HomeStater interface {
	HomeState(dir string) map[string]map[string]any
}

// Binding is a provider and the hosts it is sent to.
type Binding struct {
	Hosts    []schema.HostPattern
	Provider Provider
}

// For returns the provider bound to host:port, if any. Only the first
// binding that matches applies.
func For(bs []Binding, host string, port int) Provider {
	for _, b := range bs {
		for _, h := range b.Hosts {
			if h.Match(host, port) {
				return b.Provider
			}
		}
	}
	return nil
}

// Spec is what a profile says of a credential (engine.Credential, without
// the dependency).
type Spec struct {
	Type   string
	Hosts  []string
	Source string // "claude", "env:NAME", "file:/abs/path"
	Header string // type "header"
	// Service, Profile and Region are the aws type's; AWSHelper is the
	// runjail-aws program that loads its credentials.
	Service, Profile, Region string
	AWSHelper                string
	From                     string // file:line:col of the profile entry
}

// Load makes the provider spec describes, reading its secret now. getenv
// is the host's environment; home the user's real home; client reaches
// token endpoints (TokenURL) from the host.
func Load(spec Spec, getenv func(string) string, home string, client *http.Client) (Binding, error) {
	b := Binding{}
	for _, h := range spec.Hosts {
		p, err := schema.ParseHostPattern(h)
		if err != nil {
			return b, fmt.Errorf("credential at %s: host %q: %v", spec.From, h, err)
		}
		b.Hosts = append(b.Hosts, p)
	}
	var err error
	switch spec.Type {
	case "anthropic":
		b.Provider, err = loadAnthropic(spec.Source, getenv, home, client)
	case "bearer":
		var s secret
		if s, err = readSource(spec.Source, getenv); err == nil {
			b.Provider = &headerProvider{name: "Authorization", prefix: "Bearer ", secret: s}
		}
	case "aws":
		b.Provider, err = loadAWS(spec)
	case "header":
		var s secret
		if s, err = readSource(spec.Source, getenv); err == nil {
			b.Provider = &headerProvider{name: http.CanonicalHeaderKey(spec.Header), secret: s}
		}
	default:
		err = fmt.Errorf("credentials of type %q are not supported yet", spec.Type)
	}
	if err != nil {
		return b, fmt.Errorf("credential at %s: %w", spec.From, err)
	}
	return b, nil
}

// Unavailable is a Binding for a credential that could not be loaded: every
// request to its hosts fails with err (the proxy answers 502 with it), and
// the jail still gets the stub its client needs to try. A jail whose
// command never uses the credential (Claude Code on Bedrock, say, with the
// claude profile's Anthropic login missing) runs as usual.
func Unavailable(spec Spec, err error) Binding {
	b := Binding{Provider: unavailable{spec.Type, spec.Source, err}}
	for _, h := range spec.Hosts {
		if p, perr := schema.ParseHostPattern(h); perr == nil {
			b.Hosts = append(b.Hosts, p)
		}
	}
	return b
}

type unavailable struct {
	typ, source string
	err         error
}

func (u unavailable) Apply(*http.Request, string) error { return u.err }

func (u unavailable) Stub() map[string]string {
	switch u.typ {
	case "anthropic":
		return (&anthropic{}).Stub()
	case "aws":
		return (&awsSigner{}).Stub()
	}
	return envStub(u.source)
}

func (u unavailable) HomeState(dir string) map[string]map[string]any {
	if u.typ == "anthropic" {
		return (&anthropic{}).HomeState(dir)
	}
	return nil
}

func (u unavailable) Describe() string { return "unavailable " + u.typ + " credential" }

// secret is a credential's value and where it came from.
type secret struct {
	value, source string
}

// readSource reads an "env:NAME" or "file:PATH" secret.
func readSource(src string, getenv func(string) string) (secret, error) {
	switch {
	case strings.HasPrefix(src, "env:"):
		name := strings.TrimPrefix(src, "env:")
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return secret{}, fmt.Errorf("$%s is empty or not set; export it before starting runjail", name)
		}
		return secret{v, src}, nil
	case strings.HasPrefix(src, "file:"):
		path := strings.TrimPrefix(src, "file:")
		b, err := os.ReadFile(path)
		if err != nil {
			return secret{}, fmt.Errorf("cannot read the secret: %v", err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return secret{}, fmt.Errorf("%s is empty", path)
		}
		return secret{v, src}, nil
	}
	return secret{}, fmt.Errorf("unknown credential source %q", src)
}

// headerProvider sets one header (bearer and header types).
type headerProvider struct {
	name, prefix string
	secret       secret
}

// stubSecret is what the jail finds in the variable a bearer or header
// secret comes from: clients that read it send it, and the proxy replaces
// it.
const stubSecret = "runjail-stub-the-proxy-adds-the-real-secret"

// envStub is the jail's stub for a secret from src: its variable, if any.
func envStub(src string) map[string]string {
	if name, ok := strings.CutPrefix(src, "env:"); ok {
		return map[string]string{name: stubSecret}
	}
	return nil
}

func (h *headerProvider) Apply(req *http.Request, _ string) error {
	req.Header.Set(h.name, h.prefix+h.secret.value)
	return nil
}

func (h *headerProvider) Stub() map[string]string { return envStub(h.secret.source) }

func (h *headerProvider) Describe() string {
	return fmt.Sprintf("%s header from %s", h.name, h.secret.source)
}

// Anthropic credentials: an API key goes in x-api-key; an OAuth access
// token (a Claude subscription login) in Authorization with the OAuth beta
// flag.
const (
	oauthBeta = "oauth-2025-04-20"
	// Stubs look like the real thing to Claude Code and mean nothing to
	// Anthropic.
	stubAPIKey     = "sk-ant-api03-runjail-stub-the-proxy-adds-the-real-key"
	stubOAuthToken = "sk-ant-oat01-runjail-stub-the-proxy-adds-the-real-token"
)

type anthropic struct {
	secret secret
	oauth  bool
	login  *claudeOAuth // a refreshable OAuth login; secret.value unused
}

func loadAnthropic(src string, getenv func(string) string, home string, client *http.Client) (*anthropic, error) {
	if src == "claude" {
		return claudeLogin(getenv, home, client)
	}
	s, err := readSource(src, getenv)
	if err != nil {
		return nil, err
	}
	return &anthropic{secret: s, oauth: strings.HasPrefix(s.value, "sk-ant-oat")}, nil
}

// claudeLogin finds the user's Claude Code login: the OAuth tokens in
// .credentials.json under $CLAUDE_CONFIG_DIR or ~/.claude, else the API key
// Claude Code keeps in ~/.claude.json, else $ANTHROPIC_API_KEY.
func claudeLogin(getenv func(string) string, home string, client *http.Client) (*anthropic, error) {
	dir := getenv("CLAUDE_CONFIG_DIR")
	if dir == "" {
		dir = filepath.Join(home, ".claude")
	}
	credFile := filepath.Join(dir, ".credentials.json")
	b, err := os.ReadFile(credFile)
	if err == nil {
		var f oauthFile
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("%s: %v; run claude outside the jail to log in again", credFile, err)
		}
		if f.OAuth != nil && f.OAuth.AccessToken != "" {
			login := &claudeOAuth{file: credFile, client: client, access: f.OAuth.AccessToken}
			if f.OAuth.ExpiresAt != 0 {
				login.expires = time.UnixMilli(f.OAuth.ExpiresAt)
			}
			return &anthropic{secret: secret{source: "your Claude login (" + credFile + ")"}, oauth: true, login: login}, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(home, ".claude.json")); err == nil {
		var f struct {
			Key string `json:"primaryApiKey"`
		}
		if json.Unmarshal(b, &f) == nil && f.Key != "" {
			return &anthropic{secret: secret{f.Key, "your Claude login (~/.claude.json)"}}, nil
		}
	}
	if k := getenv("ANTHROPIC_API_KEY"); k != "" {
		return &anthropic{secret: secret{k, "env:ANTHROPIC_API_KEY"}}, nil
	}
	return nil, errors.New("no Claude Code login found (" + credFile + ", ~/.claude.json or $ANTHROPIC_API_KEY); run claude outside the jail to log in, or set from = \"env:NAME\"")
}

func (a *anthropic) Apply(req *http.Request, _ string) error {
	req.Header.Del("X-Api-Key")
	req.Header.Del("Authorization")
	if !a.oauth {
		req.Header.Set("X-Api-Key", a.secret.value)
		return nil
	}
	token := a.secret.value
	if a.login != nil {
		var err error
		if token, err = a.login.token(); err != nil {
			return err
		}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Anthropic-Beta", mergeBeta(req.Header.Values("Anthropic-Beta"), oauthBeta))
	return nil
}

// mergeBeta adds flag to the comma-separated beta lists of values, once.
func mergeBeta(values []string, flag string) string {
	var flags []string
	seen := map[string]bool{}
	for _, v := range append(values, flag) {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" && !seen[f] {
				seen[f] = true
				flags = append(flags, f)
			}
		}
	}
	return strings.Join(flags, ",")
}

// Refresh renews a Claude login after a 401; other Anthropic credentials
// cannot be renewed.
func (a *anthropic) Refresh(req *http.Request) error {
	if a.login == nil {
		return errors.New("the credential was refused and cannot be refreshed")
	}
	return a.login.Refresh(strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer "))
}

func (a *anthropic) Stub() map[string]string {
	if a.oauth {
		return map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": stubOAuthToken}
	}
	return map[string]string{"ANTHROPIC_API_KEY": stubAPIKey}
}

// HomeState is Claude Code's ~/.claude.json in the sandbox home: onboarding
// done, dir trusted, the --dangerously-skip-permissions warning and the stub
// API key accepted, so that an interactive claude asks nothing a user
// already answered outside.
func (a *anthropic) HomeState(dir string) map[string]map[string]any {
	return map[string]map[string]any{".claude.json": {
		"hasCompletedOnboarding":        true,
		"bypassPermissionsModeAccepted": true,
		"customApiKeyResponses":         map[string]any{"approved": []any{stubAPIKey[len(stubAPIKey)-20:]}, "rejected": []any{}},
		"projects": map[string]any{dir: map[string]any{
			"hasTrustDialogAccepted":        true,
			"hasCompletedProjectOnboarding": true,
		}},
	}}
}

func (a *anthropic) Describe() string {
	kind := "API key"
	if a.oauth {
		kind = "OAuth token"
	}
	return "Anthropic " + kind + " from " + a.secret.source
}
