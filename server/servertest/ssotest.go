package servertest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// VerifyDomainForTest records the domain as verified by the account with
// Auth ID accountID, straight in the database (no DNS): for tests of
// what needs a verified domain.
func (e *Env) VerifyDomainForTest(tb testing.TB, accountID, domain string) {
	tb.Helper()
	q := `INSERT INTO domains (account_id, domain, token, created_at, verified_at)
		VALUES ((SELECT id FROM accounts WHERE auth_id = ?), ?, ?, ?, ?)`
	if e.Server.DB.Dialect() != "sqlite" {
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
		}
	}
	now := time.Now().UnixMicro()
	if _, err := e.Server.DB.SQL().Exec(q, accountID, domain, "test-token-"+domain, now, now); err != nil {
		tb.Fatalf("verify %s: %v", domain, err)
	}
}
