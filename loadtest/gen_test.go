package loadtest

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/store/storetest"
)

// TestGenerate checks a small generated database: counts, Auth IDs, one
// owner per account, roles, plans, unique addresses, and that Generate
// refuses to overwrite.
func TestGenerate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gen.db")
	const accounts, per = 37, 7
	if err := Generate(path, accounts, per); err != nil {
		t.Fatal(err)
	}
	a, m, err := GenCounts(path)
	if err != nil {
		t.Fatal(err)
	}
	if a != accounts || m != accounts*per {
		t.Fatalf("counts: %d accounts, %d members; want %d, %d", a, m, accounts, accounts*per)
	}
	if err := Generate(path, 1, 1); err == nil {
		t.Fatal("Generate overwrote an existing file")
	}

	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := db.SQL()
	authID := regexp.MustCompile(`^MA[A-Z0-9]{18}$`)
	rows, err := q.Query(`SELECT id, auth_id, plan, monthly_commitment_usd, contract_months FROM accounts ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for rows.Next() {
		var id, usd, months int64
		var aid, plan string
		if err := rows.Scan(&id, &aid, &plan, &usd, &months); err != nil {
			t.Fatal(err)
		}
		if !authID.MatchString(aid) || seen[aid] {
			t.Fatalf("account %d: Auth ID %q malformed or repeated", id, aid)
		}
		seen[aid] = true
		if plan != "committed" || usd != 1000 || months != 12 {
			t.Fatalf("account %d: plan %s %d USD %d months", id, plan, usd, months)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()

	var owners, distinctEmails, users int64
	q.QueryRow(`SELECT COUNT(*) FROM members WHERE role = 1`).Scan(&owners)
	q.QueryRow(`SELECT COUNT(DISTINCT email), COUNT(*) FROM users`).Scan(&distinctEmails, &users)
	if owners != accounts || users != accounts*per || distinctEmails != users {
		t.Fatalf("%d owners, %d users, %d distinct emails", owners, users, distinctEmails)
	}
	for _, c := range []struct {
		seq  int64
		i    int
		role int
	}{{1, 0, 1}, {1, 1, 2}, {1, 4, 5}, {1, 5, 2}, {accounts, per - 1, GenRole(per - 1)}} {
		var role int
		uid := GenUserID(c.seq, per, c.i)
		if err := q.QueryRow(`SELECT role FROM members WHERE account_id = ? AND user_id = ?`, c.seq, uid).Scan(&role); err != nil {
			t.Fatalf("member %d/%d: %v", c.seq, uid, err)
		}
		if role != c.role || GenRole(c.i) != c.role {
			t.Fatalf("member %d/%d: role %d, GenRole %d, want %d", c.seq, uid, role, GenRole(c.i), c.role)
		}
	}
}

// TestGeneratePostgres: the PostgreSQL generator writes the same data as
// Generate (counts, Auth IDs, roles, addresses) and refuses a database
// that holds data already.
func TestGeneratePostgres(t *testing.T) {
	base, ok := storetest.PostgresBase(t)
	if !ok {
		t.Skip("no PostgreSQL")
	}
	const accounts, per = 37, 7
	dsn := storetest.NewPostgresDatabase(t, base)
	if err := GeneratePostgres(dsn, accounts, per); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "gen.db")
	if err := Generate(path, accounts, per); err != nil {
		t.Fatal(err)
	}
	dump := func(dsn string) []string {
		db, err := store.Open(dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.SQL().Query(`SELECT a.id, a.auth_id, u.id, u.email, u.name, m.role, m.joined_at
			FROM members m JOIN accounts a ON a.id = m.account_id JOIN users u ON u.id = m.user_id ORDER BY u.id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var aid, uid, role, joined int64
			var auth, email, name string
			if err := rows.Scan(&aid, &auth, &uid, &email, &name, &role, &joined); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(aid, auth, uid, email, name, role, joined))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	pg, lite := dump(dsn), dump(path)
	if len(pg) != accounts*per || !slices.Equal(pg, lite) {
		t.Fatalf("PostgreSQL and SQLite data differ: %d and %d rows; first %v / %v", len(pg), len(lite), pg[:1], lite[:1])
	}
	if err := GeneratePostgres(dsn, 1, 1); err == nil {
		t.Fatal("GeneratePostgres wrote into a database holding data")
	}
}
