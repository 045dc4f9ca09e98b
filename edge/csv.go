package edge

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strings"
)

// CSVCell guards a cell a spreadsheet would read as a formula (=, +, -, @,
// tab or carriage return first) by putting a quote before it.
func CSVCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteCSV sends rows as a CSV attachment named filename, written to a
// buffer first so a failure is never half a file; the caller guards its
// cells with CSVCell.
func WriteCSV(w http.ResponseWriter, filename string, rows [][]string) error {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(buf.Bytes())
	return err
}
