package schema

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// layer is one decoded profile file, before extends are merged.
type layer struct {
	p       Profile
	extends Str
}

// tableKeys are the keys each table accepts, by the table's name as written
// in messages ("" for the top level), for hints about keys written in the
// wrong table; the decoders in decodeFile are the authority.
var tableKeys = map[string][]string{
	"":               {"command", "credential", "description", "env", "extends", "filesystem", "home", "name", "network", "version"},
	"[home]":         {"copy", "dir", "ro"},
	"[filesystem]":   {"hide", "host", "map_path", "map_vcs", "protect", "ro", "rw", "tmpfs"},
	"[env]":          {"pass", "set"},
	"[network]":      {"allow", "allow_private", "approve", "deny", "mode"},
	"[[credential]]": {"from", "header", "hosts", "profile", "region", "service", "type"},
}

// decoder decodes one profile file. BurntSushi/toml does not expose key
// positions, but decoding a toml.Primitive into a value whose UnmarshalTOML
// fails yields a toml.ParseError positioned at that value; keyAt then walks
// back to the key.
type decoder struct {
	file string // as shown in positions
	data string // the text, without a byte order mark
	md   toml.MetaData
}

// entry is one key of a table with its value and position.
type entry struct {
	key  string
	path string // dotted, for messages: "filesystem.rw"
	prim toml.Primitive
	val  any // the value as decoded into any
	off  int // byte offset of the key, -1 if unknown
	pos  Pos
}

// maxSize bounds a profile file. Finding key positions costs time in
// proportion to the file's size for every key, so a huge file would be slow.
const maxSize = 128 << 10

// decodeFile decodes and validates one profile file; file is how positions
// name it.
func decodeFile(file string, data []byte) (*layer, error) {
	if len(data) > maxSize {
		return nil, errorf(Pos{File: file}, "profiles are small TOML files; is this the right file?",
			"profile is larger than %d KiB", maxSize>>10)
	}
	d := &decoder{file: file, data: strings.TrimPrefix(string(data), "\uFEFF")}
	var top map[string]toml.Primitive
	md, err := toml.Decode(d.data, &top)
	if err != nil {
		return nil, d.syntaxError(err)
	}
	d.md = md
	l := &layer{}
	p := &l.p
	es := d.entries(top, "", -1, -1)
	if err := d.version(es); err != nil {
		return nil, err
	}
	p.Version = 1
	fs, env, nw := &p.Filesystem, &p.Env, &p.Network
	err = d.fields(es, "", map[string]func(entry) error{
		"version":     func(entry) error { return nil },
		"description": d.str(&p.Description, nil),
		"extends":     d.str(&l.extends, nonEmpty),
		"name":        d.str(&p.Name, sandboxName),
		"command":     d.command(&p.Command),
		"home": d.table("home", map[string]func(entry) error{
			"dir":  d.str(&p.Home.Dir, homeDir),
			"ro":   d.strs(&p.Home.RO, nil, underHome),
			"copy": d.strs(&p.Home.Copy, nil, underHome),
		}),
		"filesystem": d.table("filesystem", map[string]func(entry) error{
			"host":     d.str(&fs.Host, choice("ro", "rw")),
			"hide":     d.strs(&fs.Hide, &fs.HideSet, hostPath),
			"rw":       d.strs(&fs.RW, nil, hostPath),
			"ro":       d.strs(&fs.RO, nil, hostPath),
			"tmpfs":    d.strs(&fs.Tmpfs, &fs.TmpfsSet, hostPath),
			"protect":  d.strs(&fs.Protect, &fs.ProtectSet, relPath),
			"map_path": d.bool(&fs.MapPath),
			"map_vcs":  d.bool(&fs.MapVCS),
		}),
		"env": d.table("env", map[string]func(entry) error{
			"pass": d.strs(&env.Pass, &env.PassSet, envGlob),
			"set":  d.envSet(&env.Set),
		}),
		"network": d.table("network", map[string]func(entry) error{
			"mode":          d.str(&nw.Mode, choice("none", "proxy", "host")),
			"allow":         d.strs(&nw.Allow, nil, hostPattern),
			"deny":          d.strs(&nw.Deny, nil, hostPattern),
			"allow_private": d.strs(&nw.AllowPrivate, nil, ipOrCIDR),
			"approve":       d.bool(&nw.Approve),
		}),
		"credential": d.credentials(&p.Credentials),
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// syntaxError converts a TOML parse error to an *Error.
func (d *decoder) syntaxError(err error) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return errorf(Pos{File: d.file}, "", "%v", err)
	}
	pos := Pos{File: d.file, Line: pe.Position.Line, Col: pe.Position.Col}
	// toml's column is off for errors at the start of a line; recompute it
	// from the byte offset when that lands on the same line.
	if p := d.pos(pe.Position.Start); p.Line == pos.Line {
		pos = p
	}
	if pos.Line < 1 {
		pos.Line, pos.Col = 1, 1
	}
	return &Error{Pos: pos, Msg: pe.Message}
}

// version checks that the file says version = 1, before anything else: a
// newer file would fail on its new keys with a less helpful message.
func (d *decoder) version(es []entry) error {
	i := slices.IndexFunc(es, func(e entry) bool { return e.key == "version" })
	if i < 0 {
		return errorf(Pos{File: d.file}, `add "version = 1" as the first line`, "missing version = 1 at the top of the profile")
	}
	e := es[i]
	n, ok := e.val.(int64)
	if !ok {
		return errorf(e.pos, `write "version = 1"`, "version must be the number 1")
	}
	if n != 1 {
		return errorf(e.pos, "upgrade runjail, or write version = 1 if the profile only uses version 1 keys",
			"version = %d is not supported; this runjail reads version 1", n)
	}
	return nil
}

// fields runs the decoder for each entry of a table, in file order; table is
// "" for the top level. Unknown keys are errors.
func (d *decoder) fields(es []entry, table string, decode map[string]func(entry) error) error {
	for _, e := range es {
		f, ok := decode[e.key]
		if !ok {
			return d.unknown(e, table, slices.Sorted(maps.Keys(decode)))
		}
		if err := f(e); err != nil {
			return err
		}
	}
	return nil
}

// unknown returns the error for an unknown key, with a hint: the closest
// valid key, the tables the key belongs in, or the valid keys.
func (d *decoder) unknown(e entry, table string, valid []string) error {
	where := ""
	if table != "" {
		where = " in " + table
	}
	hint := "valid keys" + where + ": " + strings.Join(valid, ", ")
	var in []string
	for t, keys := range tableKeys {
		if t != table && slices.Contains(keys, e.key) {
			if t == "" {
				in = append(in, "at the top of the file, before any [table]")
			} else {
				in = append(in, "in "+t)
			}
		}
	}
	slices.Sort(in)
	if c := closest(e.key, valid); c != "" {
		hint = fmt.Sprintf("did you mean %q?", c)
	} else if in != nil {
		hint = fmt.Sprintf("%q belongs %s", e.key, strings.Join(in, " or "))
	}
	return errorf(e.pos, hint, "unknown key %q%s", e.key, where)
}

// typeError returns the error for a value of the wrong type.
func typeError(e entry, want, example string) error {
	return errorf(e.pos, "write it as "+example, "%s must be %s", e.path, want)
}

// str decodes a string.
func (d *decoder) str(dst *Str, valid check) func(entry) error {
	return func(e entry) error {
		v, isStr := e.val.(string)
		if !isStr {
			return typeError(e, "a string", e.key+` = "..."`)
		}
		s := Str{V: v, Pos: e.pos}
		if valid != nil {
			if err := valid(e.path, s); err != nil {
				return err
			}
		}
		*dst = s
		return nil
	}
}

// strs decodes a list of strings, each with the list's position, and sets
// *set when set is not nil.
func (d *decoder) strs(dst *[]Str, set *bool, valid check) func(entry) error {
	return func(e entry) error {
		list, isList := e.val.([]any)
		out := make([]Str, 0, len(list))
		for _, v := range list {
			s, isStr := v.(string)
			if !isStr {
				isList = false
				break
			}
			out = append(out, Str{V: s, Pos: e.pos})
		}
		if !isList {
			return typeError(e, "a list of strings", e.key+` = ["..."]`)
		}
		for _, s := range out {
			if err := valid(e.path, s); err != nil {
				return err
			}
		}
		*dst = out
		if set != nil {
			*set = true
		}
		return nil
	}
}

// bool decodes a boolean.
func (d *decoder) bool(dst *Bool) func(entry) error {
	return func(e entry) error {
		v, ok := e.val.(bool)
		if !ok {
			return typeError(e, "true or false", e.key+" = true")
		}
		*dst = Bool{V: v, Set: true, Pos: e.pos}
		return nil
	}
}

// command decodes the command: a non-empty list of strings.
func (d *decoder) command(dst *[]Str) func(entry) error {
	strs := d.strs(dst, nil, vars)
	return func(e entry) error {
		if err := strs(e); err != nil {
			return err
		}
		if len(*dst) == 0 || (*dst)[0].V == "" {
			return errorf(e.pos, `name the program and its arguments, as in command = ["bash", "-l"], or remove the line`,
				"command must not be empty")
		}
		return nil
	}
}

// table decodes a table with the given key decoders.
func (d *decoder) table(name string, decode map[string]func(entry) error) func(entry) error {
	return func(e entry) error {
		if _, ok := e.val.(map[string]any); !ok {
			return typeError(e, "a table", "["+name+"] on its own line, followed by its keys")
		}
		return d.fields(d.children(e, -1, -1), "["+name+"]", decode)
	}
}

// envSet decodes env.set: a table of variable names and string values.
func (d *decoder) envSet(dst *[]EnvVar) func(entry) error {
	return func(e entry) error {
		if _, ok := e.val.(map[string]any); !ok {
			return typeError(e, "a table", `set = { NAME = "value" }`)
		}
		for _, c := range d.children(e, -1, -1) {
			if err := envName("env.set", Str{V: c.key, Pos: c.pos}); err != nil {
				return err
			}
			v, ok := c.val.(string)
			if !ok {
				return typeError(c, "a string", c.key+` = "..."`)
			}
			s := Str{V: v, Pos: c.pos}
			if err := checkVars(s); err != nil {
				return err
			}
			*dst = append(*dst, EnvVar{Name: c.key, Value: s})
		}
		return nil
	}
}

// credentials decodes the [[credential]] array of tables.
func (d *decoder) credentials(dst *[]Credential) func(entry) error {
	return func(e entry) error {
		var tables []map[string]toml.Primitive
		if err := d.md.PrimitiveDecode(e.prim, &tables); err != nil {
			return errorf(e.pos, "start each credential with a [[credential]] line, followed by its keys",
				"credential must be a list of tables")
		}
		// Keys in different elements share a position in toml's metadata,
		// so look for each element's header and keys in the text instead.
		headers := d.headers("credential")
		if _, aot := e.val.([]map[string]any); !aot || len(headers) != len(tables) {
			headers = nil
		}
		for i, t := range tables {
			c := Credential{Pos: e.pos}
			lo, hi := -1, -1
			if headers != nil {
				lo, hi = headers[i], d.nextHeader(headers[i])
				c.Pos = d.pos(lo)
			}
			es := d.entries(t, "credential", lo, hi)
			if headers == nil && len(es) > 0 && es[0].off >= 0 {
				c.Pos = es[0].pos
			}
			err := d.fields(es, "[[credential]]", map[string]func(entry) error{
				"type":    d.str(&c.Type, choice(credTypes...)),
				"hosts":   d.strs(&c.Hosts, nil, hostPattern),
				"from":    d.str(&c.From, credFrom),
				"service": d.str(&c.Service, awsWord),
				"profile": d.str(&c.Profile, nonEmpty),
				"region":  d.str(&c.Region, awsWord),
				"header":  d.str(&c.Header, httpToken),
			})
			if err == nil {
				err = checkCredential(&c)
			}
			if err != nil {
				return err
			}
			*dst = append(*dst, c)
		}
		return nil
	}
}

// children returns the entries of the table e.
func (d *decoder) children(e entry, lo, hi int) []entry {
	var m map[string]toml.Primitive
	if err := d.md.PrimitiveDecode(e.prim, &m); err != nil {
		return nil
	}
	return d.entries(m, e.path, lo, hi)
}

// entries returns the keys of a table in file order; parent is the table's
// dotted path. When lo >= 0, keys are first looked for in the text
// data[lo:hi] (one element of an array of tables).
func (d *decoder) entries(m map[string]toml.Primitive, parent string, lo, hi int) []entry {
	es := make([]entry, 0, len(m))
	for k, prim := range m {
		e := entry{key: k, path: k, prim: prim, off: -1}
		if parent != "" {
			e.path = parent + "." + k
		}
		if err := d.md.PrimitiveDecode(prim, &e.val); err != nil {
			e.val = nil
		}
		if lo >= 0 {
			e.off = d.findKey(lo, hi, k)
		}
		if e.off < 0 {
			e.off = d.where(prim, k)
		}
		e.pos = d.pos(e.off)
		es = append(es, e)
	}
	slices.SortFunc(es, func(a, b entry) int {
		if a.off != b.off {
			if a.off < 0 || b.off < 0 {
				return b.off - a.off // unknown positions last
			}
			return a.off - b.off
		}
		return strings.Compare(a.key, b.key)
	})
	return es
}

// probe fails to decode anything, which makes toml report a position.
type probe struct{}

var errProbe = errors.New("probe")

func (probe) UnmarshalTOML(any) error { return errProbe }

// where returns the byte offset of the key k whose value is p, or -1.
func (d *decoder) where(p toml.Primitive, k string) int {
	var pe toml.ParseError
	if err := d.md.PrimitiveDecode(p, &probe{}); errors.As(err, &pe) && pe.Position.Line > 0 {
		return d.keyAt(pe.Position.Start, k)
	}
	// An implicit table (from a dotted key or a [a.b] header) has no position
	// of its own: use its first key's line.
	var m map[string]toml.Primitive
	if d.md.PrimitiveDecode(p, &m) != nil {
		return -1
	}
	first := -1
	for ck, cp := range m {
		if off := d.where(cp, ck); off >= 0 && (first < 0 || off < first) {
			first = off
		}
	}
	if first < 0 {
		return -1
	}
	start := strings.LastIndexByte(d.data[:first], '\n') + 1
	if i := strings.LastIndex(d.data[start:first], k); i >= 0 {
		return start + i
	}
	return first
}

// keyAt returns the offset of the key k given the offset toml reports for its
// value: the value's first byte, just inside its quotes or brackets, or the
// "[" of a table header. It returns off when the text does not look as
// expected.
func (d *decoder) keyAt(off int, k string) int {
	if off < 0 || off > len(d.data) {
		return -1
	}
	start := strings.LastIndexByte(d.data[:off], '\n') + 1
	if strings.TrimSpace(d.data[start:off]) == "" && strings.HasPrefix(d.data[off:], "[") { // a table header
		end := strings.IndexByte(d.data[off:], '\n')
		if end < 0 {
			end = len(d.data) - off
		}
		if i := strings.Index(d.data[off:off+end], k); i >= 0 {
			return off + i
		}
		return off
	}
	eq := strings.LastIndexByte(d.data[:off], '=')
	if eq < 0 || strings.Trim(d.data[eq+1:off], " \t\r\n[{\"'") != "" {
		return off
	}
	before := strings.TrimRight(d.data[:eq], " \t")
	if q := strings.TrimRight(before, `"'`); len(before)-len(q) == 1 {
		before = q // a quoted key
	}
	if !strings.HasSuffix(before, k) {
		return off
	}
	i := len(before) - len(k)
	if i > 0 && (d.data[i-1] == '"' || d.data[i-1] == '\'') {
		i--
	}
	return i
}

// headers returns the offsets of the [[name]] header lines.
func (d *decoder) headers(name string) []int {
	var offs []int
	for off := 0; off < len(d.data); {
		end := strings.IndexByte(d.data[off:], '\n')
		if end < 0 {
			end = len(d.data) - off
		}
		line := d.data[off : off+end]
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if strings.ReplaceAll(strings.TrimSpace(line), " ", "") == "[["+name+"]]" {
			offs = append(offs, off+strings.IndexByte(d.data[off:], '['))
		}
		off += end + 1
	}
	return offs
}

// nextHeader returns the offset of the first table header line after the one
// at off, or the end of the text.
func (d *decoder) nextHeader(off int) int {
	for {
		nl := strings.IndexByte(d.data[off:], '\n')
		if nl < 0 {
			return len(d.data)
		}
		off += nl + 1
		if strings.HasPrefix(strings.TrimLeft(d.data[off:], " \t"), "[") {
			return off
		}
	}
}

// findKey returns the offset of a line in data[lo:hi] that assigns the key k,
// or -1.
func (d *decoder) findKey(lo, hi int, k string) int {
	for off := lo; off < hi; {
		end := strings.IndexByte(d.data[off:hi], '\n')
		if end < 0 {
			end = hi - off
		}
		line := d.data[off : off+end]
		rest := strings.TrimLeft(line, " \t")
		key := strings.TrimPrefix(strings.TrimPrefix(rest, `"`), "'")
		if after, ok := strings.CutPrefix(key, k); ok {
			after = strings.TrimLeft(strings.TrimLeft(after, `"'`), " \t")
			if strings.HasPrefix(after, "=") || strings.HasPrefix(after, ".") {
				return off + len(line) - len(rest)
			}
		}
		off += end + 1
	}
	return -1
}

// pos converts a byte offset into a position; -1 gives just the file.
func (d *decoder) pos(off int) Pos {
	if off < 0 || off > len(d.data) {
		return Pos{File: d.file}
	}
	start := strings.LastIndexByte(d.data[:off], '\n') + 1
	return Pos{
		File: d.file,
		Line: strings.Count(d.data[:off], "\n") + 1,
		Col:  utf8.RuneCountInString(d.data[start:off]) + 1,
	}
}
