package schema

import (
	"net/netip"
	"slices"
	"strings"
)

// A check validates one string value; path names the key in messages, as in
// "filesystem.rw".
type check func(path string, s Str) error

// choice accepts exactly one of words.
func choice(words ...string) check {
	return func(path string, s Str) error {
		if !oneOf(s.V, words...) {
			return errorf(s.Pos, "use "+quoteList(words...), "%s = %q is not valid", path, s.V)
		}
		return nil
	}
}

// both runs a and then b.
func both(a, b check) check {
	return func(path string, s Str) error {
		if err := a(path, s); err != nil {
			return err
		}
		return b(path, s)
	}
}

// vars checks variable syntax and names.
func vars(_ string, s Str) error { return checkVars(s) }

// absLike reports whether s will be an absolute path once expanded.
func absLike(s string) bool {
	return s == "~" || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "~/") || strings.HasPrefix(s, "${")
}

// homeDir accepts "tmpfs" or an absolute path.
var homeDir = both(func(path string, s Str) error {
	if s.V != "tmpfs" && !absLike(s.V) {
		return errorf(s.Pos, `start it with "/", "~/" or a variable such as "${XDG_CACHE_HOME}"`,
			`%s = %q must be "tmpfs" or an absolute path`, path, s.V)
	}
	return nil
}, vars)

// underHome accepts paths under the user's home directory.
var underHome = both(func(path string, s Str) error {
	if !strings.HasPrefix(s.V, "~/") && !strings.HasPrefix(s.V, "${HOME}/") {
		return errorf(s.Pos, `start it with "~/", as in "~/.gitconfig"`,
			"%s entry %q must be a path under your home", path, s.V)
	}
	return nil
}, vars)

// hostPath accepts absolute host paths.
var hostPath = both(func(path string, s Str) error {
	if !absLike(s.V) {
		return errorf(s.Pos, `start it with "/", "~/" or a variable such as "${PROJECT}"`,
			"%s entry %q must be an absolute path", path, s.V)
	}
	return nil
}, vars)

// relPath accepts protect entries: paths relative to each rw directory.
func relPath(path string, s Str) error {
	v := s.V
	if v == "" || strings.HasPrefix(v, "/") || strings.HasPrefix(v, "~") || strings.Contains(v, "${") ||
		slices.Contains(strings.Split(v, "/"), "..") {
		return errorf(s.Pos, `write a path inside the directory, such as ".git/hooks", without "..", "~" or variables`,
			"%s entry %q must be relative to each rw directory", path, v)
	}
	return nil
}

// isEnvName reports whether s is a valid environment variable name.
func isEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	return strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == ""
}

// envGlob accepts environment variable names with optional * and ? wildcards.
func envGlob(path string, s Str) error {
	if !isEnvName(strings.NewReplacer("*", "A", "?", "A").Replace(s.V)) {
		return errorf(s.Pos, `use letters, digits and "_" (not starting with a digit), and the wildcards "*" and "?"`,
			"%s entry %q is not an environment variable name or glob", path, s.V)
	}
	return nil
}

// envName accepts environment variable names.
func envName(path string, s Str) error {
	if !isEnvName(s.V) {
		return errorf(s.Pos, `use letters, digits and "_", not starting with a digit`,
			"%s name %q is not a valid environment variable name", path, s.V)
	}
	return nil
}

// hostPattern accepts host patterns (see ParseHostPattern).
func hostPattern(path string, s Str) error {
	if _, err := ParseHostPattern(s.V); err != nil {
		return errorf(s.Pos, `write a host such as "api.example.com", "*.example.com" or "example.com:8443"`,
			"%s entry %q: %v", path, s.V, err)
	}
	return nil
}

// ipOrCIDR accepts an IP address or a CIDR prefix.
func ipOrCIDR(path string, s Str) error {
	if _, err := netip.ParsePrefix(s.V); err == nil {
		return nil
	}
	if _, err := netip.ParseAddr(s.V); err == nil {
		return nil
	}
	return errorf(s.Pos, `write an address or a CIDR, such as "192.168.1.10" or "10.0.0.0/8"`,
		"%s entry %q is not an IP address or CIDR", path, s.V)
}

// sandboxName accepts names that are safe as one path element.
func sandboxName(path string, s Str) error {
	ok := s.V != "" && s.V != "." && s.V != ".." &&
		strings.Trim(s.V, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == ""
	if !ok {
		return errorf(s.Pos, `use letters, digits, ".", "_" and "-"`, "%s = %q is not a valid sandbox name", path, s.V)
	}
	return nil
}

// nonEmpty rejects "".
func nonEmpty(path string, s Str) error {
	if s.V == "" {
		return errorf(s.Pos, "give it a value or remove the line", "%s must not be empty", path)
	}
	return nil
}

// awsWord accepts AWS service and region names, such as "bedrock" and "us-east-1".
func awsWord(path string, s Str) error {
	if s.V == "" || strings.Trim(s.V, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return errorf(s.Pos, `use lowercase letters, digits and "-", as in "bedrock" or "us-east-1"`,
			"%s = %q is not valid", path, s.V)
	}
	return nil
}

// credTypes are the credential types; keys says which optional keys apply.
var credTypes = []string{"anthropic", "aws", "bearer", "header"}

var credKeys = map[string][]string{
	"anthropic": {"from"},
	"aws":       {"service", "profile", "region"},
	"bearer":    {"from"},
	"header":    {"from", "header"},
}

// checkCredential checks one [[credential]] as a whole, once all its keys are
// decoded.
func checkCredential(c *Credential) error {
	if c.Type.V == "" {
		return errorf(c.Pos, `add type = `+quoteList(credTypes...), "[[credential]] needs a type")
	}
	if len(c.Hosts) == 0 {
		return errorf(c.Pos, `add hosts = ["api.example.com"]: the hosts the credential is sent to`,
			"[[credential]] of type %q needs hosts", c.Type.V)
	}
	optional := []struct {
		key string
		v   Str
	}{{"from", c.From}, {"service", c.Service}, {"profile", c.Profile}, {"region", c.Region}, {"header", c.Header}}
	for _, o := range optional {
		if o.v.Pos.File == "" || slices.Contains(credKeys[c.Type.V], o.key) {
			continue
		}
		hint := "remove it"
		if o.key == "from" && c.Type.V == "aws" {
			hint = `aws credentials come from your AWS configuration; pick one with profile = "NAME"`
		}
		return errorf(o.v.Pos, hint, "credential.%s does not apply to type = %q", o.key, c.Type.V)
	}
	switch c.Type.V {
	case "aws":
		if c.Service.V == "" {
			return errorf(c.Pos, `add service = "bedrock" (the AWS service to sign for)`, "[[credential]] of type \"aws\" needs a service")
		}
	case "bearer", "header":
		if c.From.Pos.File == "" {
			return errorf(c.Pos, `add from = "env:NAME" or from = "file:PATH"`, "[[credential]] of type %q needs from", c.Type.V)
		}
		if c.Type.V == "header" && c.Header.V == "" {
			return errorf(c.Pos, `add header = "X-Api-Key" (the header to set)`, "[[credential]] of type \"header\" needs a header")
		}
	}
	if c.From.V == "claude" && c.Type.V != "anthropic" {
		return errorf(c.From.Pos, `use "env:NAME" or "file:PATH"`, `credential.from = "claude" only works with type = "anthropic"`)
	}
	return nil
}

// credFrom accepts "claude", "env:NAME" and "file:PATH".
func credFrom(path string, s Str) error {
	switch {
	case s.V == "claude":
		return nil
	case strings.HasPrefix(s.V, "env:"):
		if name := strings.TrimPrefix(s.V, "env:"); !isEnvName(name) {
			return errorf(s.Pos, `use letters, digits and "_", as in "env:GITHUB_TOKEN"`,
				"%s = %q: %q is not a valid environment variable name", path, s.V, name)
		}
		return nil
	case strings.HasPrefix(s.V, "file:"):
		file := Str{V: strings.TrimPrefix(s.V, "file:"), Pos: s.Pos}
		if !absLike(file.V) {
			return errorf(s.Pos, `write "file:" and an absolute path, as in "file:~/.config/token"`,
				"%s = %q must name an absolute path", path, s.V)
		}
		return checkVars(file)
	}
	return errorf(s.Pos, `use "claude", "env:NAME" or "file:PATH"`, "%s = %q is not valid", path, s.V)
}

// httpToken accepts an HTTP header name (RFC 9110 token).
func httpToken(path string, s Str) error {
	ok := s.V != ""
	for _, c := range s.V {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			ok = false
		}
	}
	if !ok {
		return errorf(s.Pos, `write a header name such as "X-Api-Key"`, "%s = %q is not a valid HTTP header name", path, s.V)
	}
	return nil
}
