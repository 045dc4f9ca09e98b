package store

import (
	"context"
	"database/sql"

	"github.com/rosterhq/roster"
)

// AccountBySeq returns the account with the integer ID (a connection
// names its account so), or ErrNoRows.
func (tx *Tx) AccountBySeq(ctx context.Context, seq int64) (roster.Account, error) {
	var a roster.Account
	err := scanAccount(tx.row(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, seq), &a)
	if err == sql.ErrNoRows {
		return a, ErrNoRows
	}
	return a, tx.db.d.mapErr(err)
}
