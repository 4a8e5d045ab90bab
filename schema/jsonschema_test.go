package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/runjail/runjail/profiles"
)

// jsonSchema is the part of JSON Schema profile.schema.json uses.
type jsonSchema struct {
	Type                 string                 `json:"type"`
	Properties           map[string]*jsonSchema `json:"properties"`
	AdditionalProperties json.RawMessage        `json:"additionalProperties"`
	Required             []string               `json:"required"`
	Items                *jsonSchema            `json:"items"`
	Enum                 []any                  `json:"enum"`
	MinItems             int                    `json:"minItems"`
	MinLength            int                    `json:"minLength"`
	Pattern              string                 `json:"pattern"`
}

func loadJSONSchema(t *testing.T) *jsonSchema {
	t.Helper()
	b, err := os.ReadFile("profile.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s jsonSchema
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// validate checks v (decoded TOML) against s, returning the problems.
func (s *jsonSchema) validate(path string, v any) []string {
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, path+": "+fmt.Sprintf(f, a...)) }
	switch s.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			bad("not an object")
			return errs
		}
		for _, r := range s.Required {
			if _, ok := m[r]; !ok {
				bad("missing %s", r)
			}
		}
		var extra *jsonSchema
		if len(s.AdditionalProperties) > 0 && string(s.AdditionalProperties) != "false" {
			json.Unmarshal(s.AdditionalProperties, &extra)
		}
		for k, val := range m {
			if p, ok := s.Properties[k]; ok {
				errs = append(errs, p.validate(path+"."+k, val)...)
			} else if extra != nil {
				errs = append(errs, extra.validate(path+"."+k, val)...)
			} else if string(s.AdditionalProperties) == "false" {
				bad("unknown key %s", k)
			}
		}
	case "array":
		list, ok := v.([]any)
		if !ok {
			if maps, ok := v.([]map[string]any); ok {
				for _, m := range maps {
					list = append(list, m)
				}
			} else {
				bad("not an array")
				return errs
			}
		}
		if len(list) < s.MinItems {
			bad("fewer than %d items", s.MinItems)
		}
		for i, it := range list {
			errs = append(errs, s.Items.validate(fmt.Sprintf("%s[%d]", path, i), it)...)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("not a string")
			return errs
		}
		if len(str) < s.MinLength {
			bad("shorter than %d", s.MinLength)
		}
		if s.Pattern != "" && !regexp.MustCompile(s.Pattern).MatchString(str) {
			bad("%q does not match %s", str, s.Pattern)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("not a boolean")
		}
	case "integer":
		if _, ok := v.(int64); !ok {
			bad("not an integer")
		}
	}
	if s.Enum != nil && !slices.ContainsFunc(s.Enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		bad("%v is not one of %v", v, s.Enum)
	}
	return errs
}

// decoderKeys asks the decoder which keys table accepts: the hint for an
// unknown key lists them.
func decoderKeys(t *testing.T, table string) []string {
	t.Helper()
	text := "version = 1\nzqxj = 1\n"
	switch {
	case table == "[[credential]]":
		text = "version = 1\n[[credential]]\nzqxj = 1\n"
	case table != "":
		text = "version = 1\n" + table + "\nzqxj = 1\n"
	}
	_, err := decodeFile("p.toml", []byte(text))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: %v", table, err)
	}
	_, list, ok := strings.Cut(e.Hint, ": ")
	if !ok {
		t.Fatalf("%s: hint %q", table, e.Hint)
	}
	return strings.Split(list, ", ")
}

// The JSON schema editors use and the decoder agree: the same keys in every
// table, the same choices.
func TestJSONSchemaMatchesDecoder(t *testing.T) {
	s := loadJSONSchema(t)
	tables := map[string]*jsonSchema{"": s, "[home]": s.Properties["home"], "[filesystem]": s.Properties["filesystem"],
		"[env]": s.Properties["env"], "[network]": s.Properties["network"], "[[credential]]": s.Properties["credential"].Items}
	for table, js := range tables {
		var keys []string
		for k := range js.Properties {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := decoderKeys(t, table); !slices.Equal(keys, want) {
			t.Errorf("%q: the schema has %v, the decoder %v", table, keys, want)
		}
	}
	enum := func(js *jsonSchema) []string {
		var out []string
		for _, e := range js.Enum {
			out = append(out, e.(string))
		}
		return out
	}
	if got := enum(tables["[[credential]]"].Properties["type"]); !slices.Equal(got, credTypes) {
		t.Errorf("credential types: schema %v, decoder %v", got, credTypes)
	}
	for _, c := range []struct {
		table, key, bad string
		js              *jsonSchema
	}{
		{"network", "mode", "nope", tables["[network]"].Properties["mode"]},
		{"filesystem", "host", "nope", tables["[filesystem]"].Properties["host"]},
	} {
		for _, v := range enum(c.js) {
			if _, err := decodeFile("p.toml", []byte(fmt.Sprintf("version = 1\n[%s]\n%s = %q\n", c.table, c.key, v))); err != nil {
				t.Errorf("%s.%s = %q: schema allows it, decoder says %v", c.table, c.key, v, err)
			}
		}
		if _, err := decodeFile("p.toml", []byte(fmt.Sprintf("version = 1\n[%s]\n%s = %q\n", c.table, c.key, c.bad))); err == nil {
			t.Errorf("%s.%s = %q: the decoder accepts what the schema refuses", c.table, c.key, c.bad)
		}
	}
}

// Every built-in profile, and every profile in testdata, is valid
// under the schema; broken ones are not (so the check can fail).
func TestProfilesValidateAgainstJSONSchema(t *testing.T) {
	s := loadJSONSchema(t)
	check := func(name string, data []byte) []string {
		var v map[string]any
		if _, err := toml.Decode(string(data), &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return s.validate(name, v)
	}
	fs.WalkDir(profiles.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if strings.HasSuffix(p, ".toml") {
			data, _ := fs.ReadFile(profiles.FS, p)
			if errs := check("builtin/"+p, data); len(errs) > 0 {
				t.Errorf("%v", errs)
			}
		}
		return nil
	})
	files, _ := filepath.Glob("../testdata/plans/*.toml")
	if len(files) == 0 {
		t.Fatal("no profiles in testdata/plans")
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if strings.HasPrefix(string(data), "# builtin:") {
			continue // stands for the built-in, checked above
		}
		if errs := check(f, data); len(errs) > 0 {
			t.Errorf("%v", errs)
		}
	}
	for _, bad := range []string{
		"version = 2\n",
		"version = 1\n[network]\nmode = \"open\"\n",
		"version = 1\n[home]\nrw = [\"~/x\"]\n",
		"version = 1\n[[credential]]\ntype = \"anthropic\"\n",
		"version = 1\n[env]\nset = { A = 1 }\n",
		"description = \"no version\"\n",
	} {
		if errs := check("bad", []byte(bad)); len(errs) == 0 {
			t.Errorf("the schema accepts %q", bad)
		}
	}
}
