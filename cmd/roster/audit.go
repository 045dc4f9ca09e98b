package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/rosterhq/roster"
)

// cmdAuditExport writes an account's audit events, oldest first, one JSON
// object a line (the fields of GET /v1/accounts/{id}/audit), read a
// thousand at a time.
func cmdAuditExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	var since string
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.flags(fs)
	fs.StringVar(&since, "since", "", "only events at or after this time, RFC 3339 (2024-05-01T00:00:00Z)")
	fs.Bool("json", true, "JSON lines (the only format; accepted for symmetry with the other commands)")
	pos, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := accountArg("audit export", pos)
	if err != nil {
		return err
	}
	var from time.Time
	if since != "" {
		if from, err = time.Parse(time.RFC3339, since); err != nil {
			return usageError{fmt.Sprintf("audit export: --since %q is not an RFC 3339 time, e.g. 2024-05-01T00:00:00Z", clean(since))}
		}
	}
	op, a, closeDB, err := openAccount(ctx, c.Database, id)
	if err != nil {
		return err
	}
	defer closeDB()
	enc := json.NewEncoder(stdout)
	n, err := op.ExportAudit(ctx, a, from, func(e roster.AuditEvent) error { return enc.Encode(e) })
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "exported %d audit events of %s\n", n, a.ID)
	return nil
}
