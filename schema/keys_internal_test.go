package schema

import (
	"strings"
	"testing"
)

// TestTableKeys checks that every key tableKeys lists is one the decoders
// accept: a file setting just that key fails, if at all, for another reason.
func TestTableKeys(t *testing.T) {
	for table, keys := range tableKeys {
		for _, k := range keys {
			text := "version = 1\n" + strings.Trim(table, "[]") + "." + k + " = 1\n"
			if table == "[[credential]]" {
				text = "version = 1\n[[credential]]\n" + k + " = 1\n"
			} else if table == "" {
				text = "version = 1\n" + k + " = 1\n"
			}
			_, err := decodeFile("p.toml", []byte(text))
			if err != nil && strings.Contains(err.Error(), "unknown key") {
				t.Errorf("%s %s: %v", table, k, err)
			}
		}
	}
}
