package store_test

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/store/storetest"
)

// TestSchema_SameOnBothDatabases migrates a fresh SQLite and a fresh
// PostgreSQL database and compares what each catalogue says: tables,
// columns (name, kind of type, NOT NULL, primary key, has a default other
// than the generated IDs: SQLite's rowid, PostgreSQL's identity and serial),
// indexes (columns, unique, partial), foreign keys (columns, target, ON
// DELETE) and the number of CHECK constraints per table. The two migration
// folders are kept by hand; this is what keeps them from drifting.
func TestSchema_SameOnBothDatabases(t *testing.T) {
	base, ok := storetest.PostgresBase(t)
	if !ok {
		t.Skip("PostgreSQL unreachable: nothing to compare SQLite with")
	}
	lite := mustOpen(t, filepath.Join(t.TempDir(), "roster.db"))
	pg := mustOpen(t, storetest.NewPostgresDatabase(t, base))

	want := sqliteSchema(t, lite.SQL())
	got := postgresSchema(t, pg.SQL())
	if len(want) < 10 {
		t.Fatalf("SQLite catalogue read %d facts: the reader is broken", len(want))
	}
	missing, extra := diffSets(want, got)
	for _, f := range missing {
		t.Errorf("only on SQLite: %s", f)
	}
	for _, f := range extra {
		t.Errorf("only on PostgreSQL: %s", f)
	}
}

// typeKind folds each database's spelling of a type into one word.
func typeKind(t string) string {
	t = strings.ToLower(t)
	switch {
	case strings.Contains(t, "int"), t == "boolean":
		return "int"
	case strings.Contains(t, "char"), t == "text":
		return "text"
	case t == "blob", t == "bytea":
		return "bytes"
	case t == "real", strings.Contains(t, "double"), strings.Contains(t, "numeric"):
		return "real"
	}
	return t
}

// ignoredTable: goose's own bookkeeping, and SQLite's.
func ignoredTable(name string) bool {
	return name == "goose_db_version" || strings.HasPrefix(name, "sqlite_")
}

func sqliteSchema(t *testing.T, db *sql.DB) []string {
	t.Helper()
	ctx := context.Background()
	var facts []string
	type table struct{ name, sql string }
	var tables []table
	rows, err := db.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tb table
		if err := rows.Scan(&tb.name, &tb.sql); err != nil {
			t.Fatal(err)
		}
		if !ignoredTable(tb.name) {
			tables = append(tables, tb)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()

	for _, tb := range tables {
		facts = append(facts, "table "+tb.name)
		facts = append(facts, fmt.Sprintf("checks %s %d", tb.name, countChecks(tb.sql)))

		type column struct {
			name, typ           string
			notNull, hasDefault bool
		}
		var pk []string
		var cols []column
		query(t, db, `SELECT name, type, "notnull", dflt_value IS NOT NULL, pk FROM pragma_table_info(?) ORDER BY cid`, []any{tb.name}, func(r *sql.Rows) error {
			var name, typ string
			var notNull, hasDefault bool
			var pkPos int
			if err := r.Scan(&name, &typ, &notNull, &hasDefault, &pkPos); err != nil {
				return err
			}
			if pkPos > 0 {
				pk = append(pk, name)
				notNull = true
			}
			cols = append(cols, column{name, typ, notNull, hasDefault})
			return nil
		})
		for _, c := range cols {
			facts = append(facts, columnFact(tb.name, c.name, typeKind(c.typ), c.notNull, c.hasDefault))
		}
		facts = append(facts, fmt.Sprintf("primary key %s (%s)", tb.name, strings.Join(pk, ", ")))

		type index struct {
			name    string
			unique  bool
			origin  string
			partial bool
		}
		var indexes []index
		query(t, db, `SELECT name, "unique", origin, partial FROM pragma_index_list(?)`, []any{tb.name}, func(r *sql.Rows) error {
			var ix index
			if err := r.Scan(&ix.name, &ix.unique, &ix.origin, &ix.partial); err != nil {
				return err
			}
			indexes = append(indexes, ix)
			return nil
		})
		for _, ix := range indexes {
			if ix.origin == "pk" {
				continue
			}
			var cols []string
			query(t, db, `SELECT name FROM pragma_index_info(?) ORDER BY seqno`, []any{ix.name}, func(r *sql.Rows) error {
				var c sql.NullString
				if err := r.Scan(&c); err != nil {
					return err
				}
				cols = append(cols, cmp.Or(c.String, "(expression)"))
				return nil
			})
			name := ix.name
			if ix.origin != "c" {
				name = "" // a UNIQUE constraint: each database names it its own way
			}
			facts = append(facts, indexFact(tb.name, name, cols, ix.unique, ix.partial))
		}

		fks := map[int]*fk{}
		var ids []int
		query(t, db, `SELECT id, "table", "from", "to", on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq`, []any{tb.name}, func(r *sql.Rows) error {
			var id int
			var to, from string
			var toCol sql.NullString
			var onDelete string
			if err := r.Scan(&id, &to, &from, &toCol, &onDelete); err != nil {
				return err
			}
			f, ok := fks[id]
			if !ok {
				f = &fk{table: tb.name, to: to, onDelete: onDelete}
				fks[id] = f
				ids = append(ids, id)
			}
			f.from = append(f.from, from)
			f.toCols = append(f.toCols, toCol.String)
			return nil
		})
		for _, id := range ids {
			facts = append(facts, fks[id].String())
		}
	}
	return facts
}

func postgresSchema(t *testing.T, db *sql.DB) []string {
	t.Helper()
	var facts []string
	var tables []string
	query(t, db, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`, nil, func(r *sql.Rows) error {
		var name string
		if err := r.Scan(&name); err != nil {
			return err
		}
		if !ignoredTable(name) {
			tables = append(tables, name)
		}
		return nil
	})
	for _, tb := range tables {
		facts = append(facts, "table "+tb)

		var checks int
		query(t, db, `SELECT count(*) FROM pg_constraint
			WHERE conrelid = to_regclass($1) AND contype = 'c'`, []any{tb}, func(r *sql.Rows) error {
			return r.Scan(&checks)
		})
		facts = append(facts, fmt.Sprintf("checks %s %d", tb, checks))

		query(t, db, `SELECT column_name, data_type, is_nullable = 'NO',
				coalesce(column_default NOT LIKE 'nextval(%', false)
			FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, []any{tb}, func(r *sql.Rows) error {
			var name, typ string
			var notNull, hasDefault bool
			if err := r.Scan(&name, &typ, &notNull, &hasDefault); err != nil {
				return err
			}
			facts = append(facts, columnFact(tb, name, typeKind(typ), notNull, hasDefault))
			return nil
		})

		var pk []string
		query(t, db, `SELECT a.attname FROM pg_index i
			JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
			WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY k.n`, []any{tb}, func(r *sql.Rows) error {
			var c string
			if err := r.Scan(&c); err != nil {
				return err
			}
			pk = append(pk, c)
			return nil
		})
		facts = append(facts, fmt.Sprintf("primary key %s (%s)", tb, strings.Join(pk, ", ")))

		type index struct {
			name       string
			unique     bool
			partial    bool
			constraint bool
			cols       []string
		}
		var indexes []index
		query(t, db, `SELECT c.relname, i.indisunique, i.indpred IS NOT NULL,
				EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid),
				array_to_string(ARRAY(
					SELECT coalesce(a.attname, '(expression)') FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
					LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
					ORDER BY k.n), ',')
			FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
			WHERE i.indrelid = to_regclass($1) AND NOT i.indisprimary
			-- PostgreSQL's own search indexes (the trigram index of the
			-- member search, migration 00027, made where the server has
			-- pg_trgm) have no SQLite counterpart: only B-trees compare.
			AND c.relam = (SELECT oid FROM pg_am WHERE amname = 'btree')`, []any{tb}, func(r *sql.Rows) error {
			var ix index
			var cols string
			if err := r.Scan(&ix.name, &ix.unique, &ix.partial, &ix.constraint, &cols); err != nil {
				return err
			}
			ix.cols = strings.Split(cols, ",")
			indexes = append(indexes, ix)
			return nil
		})
		for _, ix := range indexes {
			name := ix.name
			if ix.constraint {
				name = ""
			}
			facts = append(facts, indexFact(tb, name, ix.cols, ix.unique, ix.partial))
		}

		query(t, db, `SELECT c.confrelid::regclass::text,
				array_to_string(ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
					JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.n), ','),
				array_to_string(ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, n)
					JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.n), ','),
				c.confdeltype
			FROM pg_constraint c WHERE c.conrelid = to_regclass($1) AND c.contype = 'f'`, []any{tb}, func(r *sql.Rows) error {
			var to, from, toCols, del string
			if err := r.Scan(&to, &from, &toCols, &del); err != nil {
				return err
			}
			f := fk{table: tb, to: to, from: strings.Split(from, ","), toCols: strings.Split(toCols, ","),
				onDelete: map[string]string{"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}[del]}
			facts = append(facts, f.String())
			return nil
		})
	}
	return facts
}

type fk struct {
	table, to, onDelete string
	from, toCols        []string
}

func (f fk) String() string {
	return fmt.Sprintf("foreign key %s (%s) -> %s (%s) on delete %s",
		f.table, strings.Join(f.from, ", "), f.to, strings.Join(f.toCols, ", "), f.onDelete)
}

func columnFact(table, name, kind string, notNull, hasDefault bool) string {
	s := fmt.Sprintf("column %s.%s %s", table, name, kind)
	if notNull {
		s += " not null"
	}
	if hasDefault {
		s += " default"
	}
	return s
}

func indexFact(table, name string, cols []string, unique, partial bool) string {
	s := "index " + table
	if name != "" {
		s += " " + name
	}
	s += " (" + strings.Join(cols, ", ") + ")"
	if unique {
		s += " unique"
	}
	if partial {
		s += " partial"
	}
	return s
}

var (
	sqlComment = regexp.MustCompile(`--[^\n]*`)
	sqlCheck   = regexp.MustCompile(`(?i)\bCHECK\s*\(`)
)

// countChecks counts the CHECK constraints in SQLite's text of a table
// (the catalogue keeps the CREATE statement, comments included, and
// rewrites it on ALTER TABLE ... ADD COLUMN).
func countChecks(createSQL string) int {
	return len(sqlCheck.FindAllString(sqlComment.ReplaceAllString(createSQL, ""), -1))
}

func query(t *testing.T, db *sql.DB, q string, args []any, each func(*sql.Rows) error) {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// diffSets returns what is only in a and only in b (each sorted).
func diffSets(a, b []string) (onlyA, onlyB []string) {
	count := map[string]int{}
	for _, s := range a {
		count[s]++
	}
	for _, s := range b {
		count[s]--
	}
	for s, n := range count {
		for ; n > 0; n-- {
			onlyA = append(onlyA, s)
		}
		for ; n < 0; n++ {
			onlyB = append(onlyB, s)
		}
	}
	slices.Sort(onlyA)
	slices.Sort(onlyB)
	return onlyA, onlyB
}

// TestMigrations_SameFilesInBothFolders: every migration is written for
// both databases, under the same number and name.
func TestMigrations_SameFilesInBothFolders(t *testing.T) {
	names := func(dir string) []string {
		entries, err := os.ReadDir(filepath.Join("migrations", dir))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	lite, pg := names("sqlite"), names("postgres")
	if len(lite) < 7 {
		t.Fatalf("read %d SQLite migrations: wrong folder?", len(lite))
	}
	onlyLite, onlyPG := diffSets(lite, pg)
	for _, f := range onlyLite {
		t.Errorf("migration only for SQLite: %s", f)
	}
	for _, f := range onlyPG {
		t.Errorf("migration only for PostgreSQL: %s", f)
	}
}
