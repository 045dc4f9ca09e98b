package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/rosterhq/roster"
)

const numberCols = `number, alias, application_id, created_at`

func scanNumber(sc interface{ Scan(...any) error }) (roster.Number, error) {
	var n roster.Number
	var app sql.NullInt64
	var created int64
	if err := sc.Scan(&n.Number, &n.Alias, &app, &created); err != nil {
		return n, err
	}
	if app.Valid {
		n.ApplicationID = &app.Int64
	}
	n.CreatedAt = fromMicros(created)
	return n, nil
}

// ErrHeldHere: the account holds the number already.
var ErrHeldHere = errors.New("store: the account holds this number already")

// AddNumber adds a number to the account. ErrHeldHere when the account
// holds it already; ErrUnique when another account does (the schema's
// unique index on the number decides, so two accounts adding one number
// at once give it to one of them).
func (tx *Tx) AddNumber(ctx context.Context, acct int64, n roster.Number) error {
	// The conflict on this account's own key is answered without an error,
	// so the two refusals are told apart by which constraint held, not by
	// the driver's message; any other conflict is the number's own index.
	r, err := tx.exec(ctx, `INSERT INTO numbers (account_id, number, alias, application_id, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (account_id, number) DO NOTHING`,
		acct, n.Number, n.Alias, n.ApplicationID, micros(tx.now))
	if err != nil {
		return err
	}
	if k, err := r.RowsAffected(); err != nil {
		return err
	} else if k == 0 {
		return ErrHeldHere
	}
	return nil
}

// Number returns one of the account's numbers, or ErrNoRows.
func (tx *Tx) Number(ctx context.Context, acct int64, number string) (roster.Number, error) {
	if !roster.IsE164(number) {
		return roster.Number{}, ErrNoRows
	}
	n, err := scanNumber(tx.row(ctx, `SELECT `+numberCols+` FROM numbers WHERE account_id = ? AND number = ?`, acct, number))
	return n, tx.db.mapNoRows(err)
}

// UpdateNumber sets a number's alias and application, or ErrNoRows.
func (tx *Tx) UpdateNumber(ctx context.Context, acct int64, n roster.Number) error {
	r, err := tx.exec(ctx, `UPDATE numbers SET alias = ?, application_id = ? WHERE account_id = ? AND number = ?`,
		n.Alias, n.ApplicationID, acct, n.Number)
	if err != nil {
		return err
	}
	return oneRow(r)
}

// DeleteNumber releases a number, or ErrNoRows.
func (tx *Tx) DeleteNumber(ctx context.Context, acct int64, number string) error {
	if !roster.IsE164(number) {
		return ErrNoRows
	}
	r, err := tx.exec(ctx, `DELETE FROM numbers WHERE account_id = ? AND number = ?`, acct, number)
	if err != nil {
		return err
	}
	return oneRow(r)
}

// Numbers lists the account's numbers, those whose alias contains alias
// when it is set.
func (db *DB) Numbers(ctx context.Context, acct int64, alias string, p roster.Page) ([]roster.Number, int, error) {
	where, args := `account_id = ?`, []any{acct}
	if alias != "" {
		where += ` AND LOWER(alias) LIKE ? ESCAPE '\'`
		args = append(args, "%"+strings.ToLower(likeEscape(alias))+"%")
	}
	var total int
	if err := db.row(ctx, `SELECT COUNT(*) FROM numbers WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	rows, err := db.query(ctx, `SELECT `+numberCols+` FROM numbers WHERE `+where+` ORDER BY number LIMIT ? OFFSET ?`,
		append(args, p.Limit, p.Offset)...)
	out, err := collect(rows, err, func(rows *sql.Rows) (roster.Number, error) { return scanNumber(rows) })
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// likeEscape makes s match itself in a LIKE pattern with ESCAPE '\':
// "sales_uk" finds the alias sales_uk, and _ and % match only themselves.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}
