package loadtest

import (
	"path/filepath"
	"regexp"
	"testing"

	"github.com/rosterhq/roster/store"
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
