package core

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// FilterText reports whether a filter's value could ever match what was
// stored: valid UTF-8 without control characters. Anything else (a NUL,
// which PostgreSQL refuses outright) is refused before the database.
func FilterText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}
