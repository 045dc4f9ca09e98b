package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
	"github.com/rosterhq/roster/store"
)

// openExisting opens the database for a command that only reads: it
// neither creates a SQLite file nor migrates (run roster migrate for that).
// Opening is all the command does with store: every read goes through
// the service (operator).
func openExisting(dsn string) (*store.DB, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		if _, err := os.Stat(dsn); err != nil {
			return nil, fmt.Errorf("no SQLite database at %s: give --database or ROSTER_DATABASE (%w)", dsn, err)
		}
	}
	return store.Open(dsn)
}

// writeJSON writes v as indented JSON and a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns; text is cleaned of control characters
// (names are chosen by users and must not drive the operator's terminal).
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = clean(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// clean replaces control characters (and tabs, the table's separator)
// with '?'.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return '?'
		}
		return r
	}, s)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// planText describes an account's plan in a few words.
func planText(a roster.Account) string {
	if a.Plan == roster.PlanCommitted {
		return fmt.Sprintf("committed: %d USD a month for %d months", a.MonthlyCommitmentUSD, a.ContractMonths)
	}
	return string(a.Plan)
}

// accountArg checks a positional ACCOUNT_ID.
func accountArg(cmd string, pos []string) (string, error) {
	if len(pos) != 1 {
		return "", usageError{fmt.Sprintf("%s: give one ACCOUNT_ID, e.g. roster %s MAODM1ZGY2NDYXNJE4 (roster account list shows them)", cmd, cmd)}
	}
	if !roster.ValidAuthID(pos[0]) {
		return "", usageError{fmt.Sprintf("%s: %q is not an account ID: MA and 18 capital letters or digits (roster account list shows them)", cmd, clean(pos[0]))}
	}
	return pos[0], nil
}

// operator returns the service's operator reads over db, for a command
// that sends no mail and takes no sign-ups.
func operator(db *store.DB) service.Operator {
	return service.New(db, nil, nil, service.DefaultConfig(), nil).Operator()
}

// openAccount opens an existing database and reads the account with the
// Auth ID; the caller calls closeDB when done.
func openAccount(ctx context.Context, dsn, id string) (op service.Operator, a roster.Account, closeDB func() error, err error) {
	db, err := openExisting(dsn)
	if err != nil {
		return op, a, nil, err
	}
	op = operator(db)
	a, err = op.Account(ctx, id)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		err = fmt.Errorf("no such account %s", id)
	}
	if err != nil {
		db.Close()
		return op, roster.Account{}, nil, err
	}
	return op, a, db.Close, nil
}
