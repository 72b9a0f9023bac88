// Package jsonscan reads the top level of a JSON object in one pass over
// its bytes, for the envelope and payload decoders on ingest's hot path.
//
// It is deliberately narrow and strict: it accepts only what encoding/json
// accepts and what it can answer for exactly (keys without escapes,
// nesting no deeper than a caller's bound), and says "not sure" for
// everything else, so that its callers can fall back to encoding/json and
// keep their results and error texts identical to it.
package jsonscan

import (
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Member is one member of an object: the offsets of its key's text
// (between the quotes) and of its value as written.
type Member struct {
	KeyStart, KeyEnd     int
	ValueStart, ValueEnd int
}

// Object scans the object that starts at b[i] (which must be '{') and
// appends its members to ms, in the order written. It returns the offset
// just after the closing '}' and true, or false if it cannot vouch for the
// object: it is not valid JSON, a key has an escape or is not valid UTF-8,
// or a value nests deeper than maxDepth.
func Object(b []byte, i, maxDepth int, ms []Member) ([]Member, int, bool) {
	if i >= len(b) || b[i] != '{' {
		return ms, 0, false
	}
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return ms, i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return ms, 0, false
		}
		end, escaped, high, ok := str(b, i)
		if !ok || escaped || high && !utf8.Valid(b[i+1:end-1]) {
			return ms, 0, false
		}
		m := Member{KeyStart: i + 1, KeyEnd: end - 1}
		if i = SkipSpace(b, end); i >= len(b) || b[i] != ':' {
			return ms, 0, false
		}
		i = SkipSpace(b, i+1)
		if end, ok = Value(b, i, maxDepth); !ok {
			return ms, 0, false
		}
		m.ValueStart, m.ValueEnd = i, end
		ms = append(ms, m)
		if i = SkipSpace(b, end); i >= len(b) {
			return ms, 0, false
		}
		switch b[i] {
		case ',':
			i = SkipSpace(b, i+1)
		case '}':
			return ms, i + 1, true
		default:
			return ms, 0, false
		}
	}
}

// SkipSpace returns the offset of the first byte at or after i that is not
// JSON whitespace.
func SkipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// Value returns the offset just after the JSON value that starts at b[i],
// or false if there is none there that it can vouch for: not valid JSON,
// or an object or array nesting deeper than maxDepth.
func Value(b []byte, i, maxDepth int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		end, _, _, ok := str(b, i)
		return end, ok
	case c == '{' || c == '[':
		return nested(b, i, maxDepth)
	case c == '-' || '0' <= c && c <= '9':
		return number(b, i)
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	}
	return 0, false
}

func literal(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func number(b []byte, i int) (int, bool) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return 0, false
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// str reads the string that starts at b[i] (a '"'): its end just after the
// closing quote, whether it has escapes, and whether it has bytes outside
// ASCII.
func str(b []byte, i int) (end int, escaped, high, ok bool) {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, high, true
		case c == '\\':
			escaped = true
			if i++; i >= len(b) {
				return 0, false, false, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-i < 5 || !hex(b[i+1]) || !hex(b[i+2]) || !hex(b[i+3]) || !hex(b[i+4]) {
					return 0, false, false, false
				}
				i += 4
			default:
				return 0, false, false, false
			}
		case c < ' ':
			return 0, false, false, false
		case c >= utf8.RuneSelf:
			high = true
		}
	}
	return 0, false, false, false
}

func hex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// nested reads the object or array that starts at b[i], nesting no
// deeper than maxDepth.
func nested(b []byte, i, maxDepth int) (int, bool) {
	if maxDepth <= 0 {
		return 0, false
	}
	isObject, closer := b[i] == '{', byte(']')
	if isObject {
		closer = '}'
	}
	if i = SkipSpace(b, i+1); i < len(b) && b[i] == closer {
		return i + 1, true
	}
	for {
		if isObject {
			if i >= len(b) || b[i] != '"' {
				return 0, false
			}
			end, _, _, ok := str(b, i)
			if !ok {
				return 0, false
			}
			if i = SkipSpace(b, end); i >= len(b) || b[i] != ':' {
				return 0, false
			}
			i = SkipSpace(b, i+1)
		}
		end, ok := Value(b, i, maxDepth-1)
		if !ok {
			return 0, false
		}
		if i = SkipSpace(b, end); i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = SkipSpace(b, i+1)
		case closer:
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// Plain tells whether the JSON string s (quotes included) reads as its
// text between the quotes: no escapes, no quote or control byte inside,
// valid UTF-8.
func Plain(s []byte) bool {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	s = s[1 : len(s)-1]
	high := false
	for _, c := range s {
		if c == '\\' || c == '"' || c < ' ' {
			return false
		}
		high = high || c >= utf8.RuneSelf
	}
	return !high || utf8.Valid(s)
}

// Unquote appends the text of the JSON string s (quotes included) to dst
// as encoding/json reads it (json.Unmarshal into a string): escapes
// resolved, a lone surrogate or a byte that is not UTF-8 read as U+FFFD.
// It returns false where json.Unmarshal would fail: s is not exactly one
// valid JSON string.
func Unquote(dst, s []byte) ([]byte, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return dst, false
	}
	s = s[1 : len(s)-1]
	for r := 0; r < len(s); {
		// The run of bytes copied as they are.
		j := r
		for j < len(s) && s[j] >= ' ' && s[j] < utf8.RuneSelf && s[j] != '\\' && s[j] != '"' {
			j++
		}
		dst = append(dst, s[r:j]...)
		if r = j; r == len(s) {
			break
		}
		switch c := s[r]; {
		case c == '\\':
			if r++; r >= len(s) {
				return dst, false
			}
			switch s[r] {
			case '"', '\\', '/':
				dst = append(dst, s[r])
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				rr := getu4(s[r-1:])
				if rr < 0 {
					return dst, false
				}
				r += 5
				if utf16.IsSurrogate(rr) {
					// A pair reads as one rune; anything else after a
					// surrogate is read on its own, the surrogate as U+FFFD.
					if dec := utf16.DecodeRune(rr, getu4(s[r:])); dec != unicode.ReplacementChar {
						r += 6
						dst = utf8.AppendRune(dst, dec)
						continue
					}
					rr = unicode.ReplacementChar
				}
				dst = utf8.AppendRune(dst, rr)
				continue
			default:
				return dst, false // \' too, which the scanner refuses
			}
			r++
		case c == '"', c < ' ':
			return dst, false
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			dst = utf8.AppendRune(dst, rr)
		}
	}
	return dst, true
}

// getu4 decodes \uXXXX from the beginning of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c = c - '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}
