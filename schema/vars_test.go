package schema_test

import (
	"errors"
	"testing"

	"github.com/runjail/runjail/schema"
)

func TestExpand(t *testing.T) {
	vars := schema.Vars{
		"HOME": "/home/u", "PROJECT": "/src/p", "PWD": "/src/p/sub", "NAME": "claude", "UID": "1000",
		"XDG_CACHE_HOME": "/home/u/.cache", "XDG_CONFIG_HOME": "/home/u/.config", "XDG_DATA_HOME": "/home/u/.local/share",
	}
	tests := []struct{ in, want string }{
		{"", ""},
		{"/plain/path", "/plain/path"},
		{"~", "/home/u"},
		{"~/", "/home/u/"},
		{"~/.gitconfig", "/home/u/.gitconfig"},
		{"/x/~/y", "/x/~/y"},
		{"~user/x", "~user/x"},
		{"${HOME}", "/home/u"},
		{"${PROJECT}", "/src/p"},
		{"${PWD}/..", "/src/p/sub/.."},
		{"${XDG_CACHE_HOME}/runjail/${NAME}/home", "/home/u/.cache/runjail/claude/home"},
		{"/run/user/${UID}", "/run/user/1000"},
		{"${XDG_CONFIG_HOME}:${XDG_DATA_HOME}", "/home/u/.config:/home/u/.local/share"},
		{"$$", "$"},
		{"a$$b", "a$b"},
		{"$${HOME}", "${HOME}"},
		{"$$$$", "$$"},
		{"$", "$"},
		{"a$b", "a$b"},
		{"$HOME", "$HOME"},
		{"price: 5$", "price: 5$"},
		{"$$~", "$~"},
	}
	for _, tt := range tests {
		got, err := schema.Expand(schema.Str{V: tt.in}, vars)
		if err != nil || got != tt.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}

	pos := schema.Pos{File: "p.toml", Line: 3, Col: 1}
	bad := []struct{ in, msg string }{
		{"${FOO}", `p.toml:3:1: unknown variable ${FOO} in "${FOO}"`},
		{"${home}", `p.toml:3:1: unknown variable ${home} in "${home}"`},
		{"${}", `p.toml:3:1: unknown variable ${} in "${}"`},
		{"/x/${HOME", `p.toml:3:1: unterminated ${ in "/x/${HOME"`},
		{"${", `p.toml:3:1: unterminated ${ in "${"`},
	}
	for _, tt := range bad {
		_, err := schema.Expand(schema.Str{V: tt.in, Pos: pos}, vars)
		var e *schema.Error
		if !errors.As(err, &e) || err.Error() != tt.msg || e.Hint == "" {
			t.Errorf("Expand(%q) error = %v, want %s with a hint", tt.in, err, tt.msg)
		}
	}

	_, err := schema.Expand(schema.Str{V: "~/x", Pos: pos}, schema.Vars{})
	if err == nil || err.Error() != "p.toml:3:1: variable ${HOME} has no value here" {
		t.Errorf("Expand without HOME: %v", err)
	}
}
