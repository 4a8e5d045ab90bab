package schema

import (
	"fmt"
	"slices"
	"strings"
)

// Error is a problem with a profile: where it is, what is wrong and, in
// Hint, what to do about it. Every error Load returns for a bad or missing
// profile is an *Error.
type Error struct {
	Pos  Pos
	Msg  string
	Hint string // how to fix it; may be ""
}

// Error returns "file:line:col: msg" (just msg when there is no file); the
// hint is left out so callers can print it on its own line.
func (e *Error) Error() string {
	if e.Pos.File == "" {
		return e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// errorf returns an *Error at pos with a formatted message and a hint.
func errorf(pos Pos, hint, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...), Hint: hint}
}

// closest returns the word in valid nearest to word, ignoring case, when it
// is within edit distance 2; else "".
func closest(word string, valid []string) string {
	best, bestDist := "", 3
	for _, v := range valid {
		if d := editDistance(strings.ToLower(word), v); d < bestDist {
			best, bestDist = v, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// quoteList formats words as `"a", "b" or "c"`.
func quoteList(words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = fmt.Sprintf("%q", w)
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// oneOf reports whether s is one of words.
func oneOf(s string, words ...string) bool { return slices.Contains(words, s) }
