package store

import (
	"context"
	"database/sql"

	"github.com/rosterhq/roster"
)

// Billing returns the account's balance, auto-recharge, payment methods,
// recent recharges and monthly invoices (derived from the recharges).
func (db *DB) Billing(ctx context.Context, acct int64) (roster.Billing, error) {
	var b roster.Billing
	err := db.row(ctx, `SELECT balance_cents, auto_enabled, auto_threshold, auto_amount FROM billing WHERE account_id = ?`, acct).
		Scan(&b.Balance, &b.AutoRecharge.Enabled, &b.AutoRecharge.ThresholdUSD, &b.AutoRecharge.AmountUSD)
	if err != nil && err != sql.ErrNoRows {
		return b, db.d.mapErr(err)
	}
	rows, err := db.query(ctx, `SELECT id, brand, last4, exp_month, exp_year, created_at FROM payment_methods WHERE account_id = ? ORDER BY id`, acct)
	err = eachRow(rows, err, func(rows *sql.Rows) error {
		var pm roster.PaymentMethod
		var created int64
		if err := rows.Scan(&pm.ID, &pm.Brand, &pm.Last4, &pm.ExpMonth, &pm.ExpYear, &created); err != nil {
			return err
		}
		pm.CreatedAt = fromMicros(created)
		b.PaymentMethods = append(b.PaymentMethods, pm)
		return nil
	})
	if err != nil {
		return b, err
	}
	rows, err = db.query(ctx, `SELECT id, amount_cents, created_at FROM recharges WHERE account_id = ? ORDER BY id DESC LIMIT 100`, acct)
	err = eachRow(rows, err, func(rows *sql.Rows) error {
		var r roster.Recharge
		var created int64
		if err := rows.Scan(&r.ID, &r.Amount, &created); err != nil {
			return err
		}
		r.CreatedAt = fromMicros(created)
		b.Recharges = append(b.Recharges, r)
		return nil
	})
	if err != nil {
		return b, err
	}
	// Invoices: one per month, summed in Go from all recharges so the
	// month boundary is computed the same way on both databases.
	rows, err = db.query(ctx, `SELECT amount_cents, created_at FROM recharges WHERE account_id = ? ORDER BY created_at DESC`, acct)
	err = eachRow(rows, err, func(rows *sql.Rows) error {
		var amount roster.Money
		var created int64
		if err := rows.Scan(&amount, &created); err != nil {
			return err
		}
		month := fromMicros(created).Format("2006-01")
		if n := len(b.Invoices); n == 0 || b.Invoices[n-1].Month != month {
			b.Invoices = append(b.Invoices, roster.Invoice{Month: month})
		}
		inv := &b.Invoices[len(b.Invoices)-1]
		inv.Total += amount
		inv.Recharges++
		return nil
	})
	return b, err
}

// SetAutoRecharge saves the auto-recharge settings.
func (tx *Tx) SetAutoRecharge(ctx context.Context, acct int64, a roster.AutoRecharge) error {
	_, err := tx.exec(ctx, `INSERT INTO billing (account_id, auto_enabled, auto_threshold, auto_amount) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET auto_enabled = excluded.auto_enabled, auto_threshold = excluded.auto_threshold, auto_amount = excluded.auto_amount`,
		acct, a.Enabled, int64(a.ThresholdUSD), int64(a.AmountUSD))
	return err
}

// AddPaymentMethod stores a card's brand, last 4 digits and expiry.
func (tx *Tx) AddPaymentMethod(ctx context.Context, acct int64, pm roster.PaymentMethod) (int64, error) {
	var id int64
	err := tx.queryRow(ctx, `INSERT INTO payment_methods (account_id, brand, last4, exp_month, exp_year, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		[]any{acct, pm.Brand, pm.Last4, pm.ExpMonth, pm.ExpYear, micros(tx.now)}, &id)
	return id, err
}

// PaymentMethodCount is how many cards the account has on file, read in
// the transaction so a rule that needs one holds at commit.
func (tx *Tx) PaymentMethodCount(ctx context.Context, acct int64) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM payment_methods WHERE account_id = ?`, []any{acct}, &n)
	return n, err
}

// AutoRecharge reads the auto-recharge settings (all zero when never set).
func (tx *Tx) AutoRecharge(ctx context.Context, acct int64) (roster.AutoRecharge, error) {
	var a roster.AutoRecharge
	var threshold, amount int64
	err := tx.queryRow(ctx, `SELECT auto_enabled, auto_threshold, auto_amount FROM billing WHERE account_id = ?`, []any{acct}, &a.Enabled, &threshold, &amount)
	if err == ErrNoRows {
		return a, nil
	}
	a.ThresholdUSD, a.AmountUSD = roster.Money(threshold), roster.Money(amount)
	return a, err
}

// DeletePaymentMethod removes a card, or ErrNoRows.
func (tx *Tx) DeletePaymentMethod(ctx context.Context, acct, id int64) error {
	r, err := tx.exec(ctx, `DELETE FROM payment_methods WHERE account_id = ? AND id = ?`, acct, id)
	if err != nil {
		return err
	}
	return oneRow(r)
}

// AddRecharge adds credit to the balance, recorded as a transaction.
func (tx *Tx) AddRecharge(ctx context.Context, acct int64, amount roster.Money) (roster.Recharge, error) {
	r := roster.Recharge{Amount: amount, CreatedAt: tx.now}
	if err := tx.queryRow(ctx, `INSERT INTO recharges (account_id, amount_cents, created_at) VALUES (?, ?, ?) RETURNING id`,
		[]any{acct, int64(amount), micros(tx.now)}, &r.ID); err != nil {
		return r, err
	}
	_, err := tx.exec(ctx, `INSERT INTO billing (account_id, balance_cents) VALUES (?, ?)
		ON CONFLICT (account_id) DO UPDATE SET balance_cents = billing.balance_cents + excluded.balance_cents`, acct, int64(amount))
	return r, err
}
