package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/rosterhq/roster/store"
)

// cmdMigrateStatus lists the migrations this binary embeds, applied or
// pending, and says when the database is newer than the binary. It neither
// creates a SQLite file nor migrates.
func cmdMigrateStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	var asJSON bool
	fs := flag.NewFlagSet("migrate status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.flags(fs)
	fs.BoolVar(&asJSON, "json", false, "write JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	db, err := openExisting(c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	list, dbVersion, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	newest := int64(0)
	pending := 0
	for _, m := range list {
		newest = max(newest, m.Version)
		if !m.Applied {
			pending++
		}
	}
	if asJSON {
		type row struct {
			Version   int64  `json:"version"`
			Name      string `json:"name"`
			State     string `json:"state"`
			AppliedAt string `json:"applied_at,omitempty"`
		}
		out := struct {
			Database        string `json:"database"`
			DatabaseVersion int64  `json:"database_version"`
			Newest          int64  `json:"newest_known"`
			Pending         int    `json:"pending"`
			Migrations      []row  `json:"migrations"`
		}{Database: db.Dialect(), DatabaseVersion: dbVersion, Newest: newest, Pending: pending, Migrations: []row{}}
		for _, m := range list {
			r := row{Version: m.Version, Name: m.Name, State: yesNo(m.Applied, "applied", "pending")}
			if m.Applied {
				r.AppliedAt = fmtTime(m.AppliedAt)
			}
			out.Migrations = append(out.Migrations, r)
		}
		return writeJSON(stdout, out)
	}
	t := newTable(stdout, "VERSION", "NAME", "STATE", "APPLIED AT")
	for _, m := range list {
		at := "-"
		if m.Applied {
			at = fmtTime(m.AppliedAt)
		}
		t.row(strconv.FormatInt(m.Version, 10), m.Name, yesNo(m.Applied, "applied", "pending"), at)
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%s database at version %d; %d applied, %d pending (roster migrate applies them; roster serve does too)\n",
		db.Dialect(), dbVersion, len(list)-pending, pending)
	if dbVersion > newest {
		fmt.Fprintf(stdout, "The database is at version %d, newer than this roster knows (%d): a later Roster migrated it. Roll back with that Roster's roster migrate down.\n",
			dbVersion, newest)
	}
	return nil
}

// cmdMigrateDown rolls the schema back to a version, newest migration
// first, running each one's Down section. Without --yes it only says what
// it would roll back.
func cmdMigrateDown(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	var to int64
	var yes bool
	fs := flag.NewFlagSet("migrate down", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.flags(fs)
	fs.Int64Var(&to, "to", -1, "the version to roll back to: 0, or a VERSION roster migrate status lists (required)")
	fs.BoolVar(&yes, "yes", false, "roll back: the Down sections drop tables and columns with their data")
	if err := parse(fs, args); err != nil {
		return err
	}
	if to < 0 {
		return usageError{"migrate down: give --to VERSION (roster migrate status lists the versions; 0 rolls back everything)"}
	}
	db, err := openExisting(c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	list, dbVersion, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	known := to == 0
	var undo []store.Migration
	for _, m := range list {
		known = known || m.Version == to
		if m.Applied && m.Version > to {
			undo = append([]store.Migration{m}, undo...) // newest first
		}
	}
	if !known {
		return usageError{fmt.Sprintf("migrate down: --to %d is no migration of this roster: give 0 or a VERSION roster migrate status lists", to)}
	}
	newest := list[len(list)-1].Version
	if dbVersion > newest {
		return fmt.Errorf("migrate down: the database is at version %d, newer than this roster knows (%d): roll back with the Roster that migrated it", dbVersion, newest)
	}
	if len(undo) == 0 {
		fmt.Fprintf(stdout, "nothing to roll back: the %s database is at version %d\n", db.Dialect(), dbVersion)
		return nil
	}
	if !yes {
		fmt.Fprintf(stdout, "would roll back the %s database from version %d to %d, dropping what these migrations made, data included:\n", db.Dialect(), dbVersion, to)
		for _, m := range undo {
			fmt.Fprintf(stdout, "  %05d %s\n", m.Version, clean(m.Name))
		}
		return usageError{"migrate down: nothing changed; stop every replica, take a backup, then run it again with --yes"}
	}
	done, err := db.MigrateDown(ctx, to)
	for _, m := range done {
		fmt.Fprintf(stdout, "rolled back %05d %s\n", m.Version, clean(m.Name))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s database at version %d\n", db.Dialect(), to)
	return nil
}
