package schema

import (
	"slices"
	"strings"
)

// Vars are the values of profile variables, keyed by name without ${}.
type Vars map[string]string

// varNames are the variables a profile may use, sorted.
var varNames = []string{"HOME", "NAME", "PROJECT", "PWD", "UID", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"}

// Expand substitutes variables (${NAME}) and a leading "~/" or a lone "~"
// (meaning ${HOME}) in s.V. "$$" is a literal "$"; a "$" not followed by "{"
// or "$" is kept as it is. An unknown variable, one missing from vars, or an
// unterminated "${" is an *Error at s.Pos.
func Expand(s Str, vars Vars) (string, error) {
	return expand(s, func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	})
}

// checkVars checks the variable syntax and names in s without values, so a
// bad profile fails when it is loaded.
func checkVars(s Str) error {
	_, err := expand(s, func(string) (string, bool) { return "", true })
	return err
}

func expand(s Str, value func(name string) (string, bool)) (string, error) {
	in := s.V
	if in == "~" || strings.HasPrefix(in, "~/") {
		in = "${HOME}" + in[1:]
	}
	var b strings.Builder
	for i := 0; i < len(in); {
		switch {
		case strings.HasPrefix(in[i:], "$$"):
			b.WriteByte('$')
			i += 2
		case strings.HasPrefix(in[i:], "${"):
			end := strings.IndexByte(in[i:], '}')
			if end < 0 {
				return "", errorf(s.Pos, `close it with "}", or write "$$" for a literal "$"`, "unterminated ${ in %q", s.V)
			}
			name := in[i+2 : i+end]
			if !slices.Contains(varNames, name) {
				return "", errorf(s.Pos, "known variables: ${"+strings.Join(varNames, "}, ${")+`}; write "$$" for a literal "$"`,
					"unknown variable ${%s} in %q", name, s.V)
			}
			v, ok := value(name)
			if !ok {
				return "", errorf(s.Pos, "", "variable ${%s} has no value here", name)
			}
			b.WriteString(v)
			i += end + 1
		default:
			b.WriteByte(in[i])
			i++
		}
	}
	return b.String(), nil
}
