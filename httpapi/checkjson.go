package httpapi

import (
	"github.com/rosterhq/roster"
)

// A fast reader for the check's JSON, the platform's hot path: the body
// every caller sends ({"account_id":"MA...","user_id":42,"permission":
// "numbers.view"}, or {"checks":[...]} of them) is read here without
// encoding/json's reflection. It takes only the plain form: the four
// field names exactly as documented, strings of printable ASCII without
// escapes, user_id an integer of at most 18 digits, no null, nothing after
// the value but whitespace. Anything else (escapes, other spellings of a
// name, an unknown field, a wrong type, a syntax error) makes it give up,
// and decodeStrict reads the body as before, with its answers and
// messages. So what it accepts decodes exactly as decodeStrict decodes it
// (FuzzCheckJSON holds it to that).

// internedPermissions interns the permission names, so that a check naming
// one allocates no string for it.
var internedPermissions = func() map[string]string {
	m := map[string]string{}
	for _, p := range roster.AllPermissions {
		m[p.String()] = p.String()
	}
	return m
}()

type checkScanner struct {
	b []byte
	i int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *checkScanner) space() {
	for s.i < len(s.b) && isSpace(s.b[s.i]) {
		s.i++
	}
}

// next skips whitespace and returns the next byte (0 at the end).
func (s *checkScanner) next() byte {
	s.space()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *checkScanner) eat(c byte) bool {
	if s.next() == c {
		s.i++
		return true
	}
	return false
}

// str reads a plain string (printable ASCII, no escape) and returns its
// bytes, pointing into the body.
func (s *checkScanner) str() ([]byte, bool) {
	if !s.eat('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, false
		}
		s.i++
	}
	return nil, false
}

// integer reads -?(0|[1-9][0-9]*) of at most 18 digits (so no overflow),
// not followed by a fraction or exponent.
func (s *checkScanner) integer() (int64, bool) {
	s.space()
	neg := s.i < len(s.b) && s.b[s.i] == '-'
	if neg {
		s.i++
	}
	start := s.i
	var n int64
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		n = n*10 + int64(s.b[s.i]-'0')
		s.i++
	}
	digits := s.i - start
	if digits == 0 || digits > 18 || (digits > 1 && s.b[start] == '0') {
		return 0, false
	}
	if s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// item reads one check object into it (which the caller has zeroed);
// prev, when not nil, is the batch's previous item, whose account ID
// string is reused when the same.
func (s *checkScanner) item(it, prev *checkItem) bool {
	if !s.eat('{') {
		return false
	}
	if s.eat('}') {
		return true
	}
	for {
		key, ok := s.str()
		if !ok || !s.eat(':') {
			return false
		}
		switch string(key) {
		case "account_id", "api_key", "permission":
			v, ok := s.str()
			if !ok {
				return false
			}
			switch {
			case key[0] == 'p':
				if p, ok := internedPermissions[string(v)]; ok {
					it.Permission = p
				} else {
					it.Permission = string(v)
				}
			case key[1] == 'c':
				if prev != nil && prev.AccountID == string(v) {
					it.AccountID = prev.AccountID
				} else {
					it.AccountID = string(v)
				}
			default:
				it.APIKey = string(v)
			}
		case "user_id":
			n, ok := s.integer()
			if !ok {
				return false
			}
			it.UserID = n
		default:
			return false
		}
		if s.eat('}') {
			return true
		}
		if !s.eat(',') {
			return false
		}
	}
}

// end reports whether nothing but whitespace is left.
func (s *checkScanner) end() bool {
	s.space()
	return s.i == len(s.b)
}

// fastCheck reads a check body in the plain form into it (zeroed by the
// caller); false: read it with decodeStrict.
func fastCheck(data []byte, it *checkItem) bool {
	s := checkScanner{b: data}
	return s.item(it, nil) && s.end()
}

// fastBatch appends the checks of a batch body in the plain form
// ({"checks":[...]}, the one field) to checks; false: read it with
// decodeStrict.
func fastBatch(data []byte, checks []checkItem) ([]checkItem, bool) {
	s := checkScanner{b: data}
	if !s.eat('{') {
		return checks, false
	}
	key, ok := s.str()
	if !ok || string(key) != "checks" || !s.eat(':') || !s.eat('[') {
		return checks, false
	}
	if !s.eat(']') {
		for {
			checks = append(checks, checkItem{})
			var prev *checkItem
			if n := len(checks); n > 1 {
				prev = &checks[n-2]
			}
			if !s.item(&checks[len(checks)-1], prev) {
				return checks, false
			}
			if s.eat(']') {
				break
			}
			if !s.eat(',') {
				return checks, false
			}
		}
	}
	return checks, s.eat('}') && s.end()
}
