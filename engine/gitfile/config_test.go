package gitfile

import "testing"

func TestConfigValue(t *testing.T) {
	for _, c := range []struct {
		config, want string
		found        bool
	}{
		{"[core]\n\thooksPath = .husky/_\n", ".husky/_", true},
		{"[CORE]\nHooksPath=\"my hooks\" ; a comment\n", "my hooks", true},
		{"[core] hookspath = a\n[core]\nhookspath = b # later wins\n", "b", true},
		{"[core \"sub\"]\nhookspath = a\n", "", false},
		{"[user]\nhookspath = a\n", "", false},
		{"[core]\n# hookspath = a\n", "", false},
		{"[core]\nhookspath = \"a\\\"b\"\n", "a\"b", true},
	} {
		got, found := ConfigValue(c.config, "core", "hookspath")
		if got != c.want || found != c.found {
			t.Errorf("%q: got %q %v, want %q %v", c.config, got, found, c.want, c.found)
		}
	}
}
