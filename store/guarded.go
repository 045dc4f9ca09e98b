package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster"
)

// --- numbers

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
	n, err := scanNumber(tx.tx.QueryRowContext(ctx, tx.db.q(`SELECT `+numberCols+` FROM numbers WHERE account_id = ? AND number = ?`), acct, number))
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
		where += ` AND LOWER(alias) LIKE ?`
		args = append(args, "%"+strings.ToLower(likeEscape(alias))+"%")
	}
	var total int
	if err := db.row(ctx, `SELECT COUNT(*) FROM numbers WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	rows, err := db.db.QueryContext(ctx, db.q(`SELECT `+numberCols+` FROM numbers WHERE `+where+` ORDER BY number LIMIT ? OFFSET ?`),
		append(args, p.Limit, p.Offset)...)
	if err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	defer rows.Close()
	var out []roster.Number
	for rows.Next() {
		n, err := scanNumber(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, n)
	}
	return out, total, rows.Err()
}

func likeEscape(s string) string {
	return strings.NewReplacer("%", "", "_", "").Replace(s)
}

// --- applications

const appCols = `id, name, answer_url, answer_method, hangup_url, message_url, created_at`

func scanApp(sc interface{ Scan(...any) error }) (roster.Application, error) {
	var a roster.Application
	var created int64
	err := sc.Scan(&a.ID, &a.Name, &a.AnswerURL, &a.AnswerMethod, &a.HangupURL, &a.MessageURL, &created)
	a.CreatedAt = fromMicros(created)
	return a, err
}

// CreateApplication inserts an application and returns its ID.
func (tx *Tx) CreateApplication(ctx context.Context, acct int64, a roster.Application) (int64, error) {
	var id int64
	err := tx.queryRow(ctx, `INSERT INTO applications (account_id, name, answer_url, answer_method, hangup_url, message_url, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		[]any{acct, a.Name, a.AnswerURL, a.AnswerMethod, a.HangupURL, a.MessageURL, micros(tx.now)}, &id)
	return id, err
}

// Application returns one of the account's applications, or ErrNoRows.
func (tx *Tx) Application(ctx context.Context, acct, id int64) (roster.Application, error) {
	a, err := scanApp(tx.tx.QueryRowContext(ctx, tx.db.q(`SELECT `+appCols+` FROM applications WHERE account_id = ? AND id = ?`), acct, id))
	return a, tx.db.mapNoRows(err)
}

// UpdateApplication saves an application, or ErrNoRows.
func (tx *Tx) UpdateApplication(ctx context.Context, acct int64, a roster.Application) error {
	r, err := tx.exec(ctx, `UPDATE applications SET name = ?, answer_url = ?, answer_method = ?, hangup_url = ?, message_url = ?
		WHERE account_id = ? AND id = ?`, a.Name, a.AnswerURL, a.AnswerMethod, a.HangupURL, a.MessageURL, acct, a.ID)
	if err != nil {
		return err
	}
	return oneRow(r)
}

// DeleteApplication deletes an application; its numbers are unlinked by
// the schema (ON DELETE SET NULL). ErrNoRows when there is none.
func (tx *Tx) DeleteApplication(ctx context.Context, acct, id int64) error {
	r, err := tx.exec(ctx, `DELETE FROM applications WHERE account_id = ? AND id = ?`, acct, id)
	if err != nil {
		return err
	}
	return oneRow(r)
}

// Applications lists the account's applications.
func (db *DB) Applications(ctx context.Context, acct int64, p roster.Page) ([]roster.Application, int, error) {
	var total int
	if err := db.row(ctx, `SELECT COUNT(*) FROM applications WHERE account_id = ?`, acct).Scan(&total); err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	rows, err := db.db.QueryContext(ctx, db.q(`SELECT `+appCols+` FROM applications WHERE account_id = ? ORDER BY id LIMIT ? OFFSET ?`), acct, p.Limit, p.Offset)
	if err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	defer rows.Close()
	var out []roster.Application
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, a)
	}
	return out, total, rows.Err()
}

// --- settings

// Settings returns the account's profile.
func (tx *Tx) Settings(ctx context.Context, acct int64) (roster.Settings, error) {
	var s roster.Settings
	err := tx.queryRow(ctx, `SELECT a.name, COALESCE(s.company, ''), COALESCE(s.address, ''), COALESCE(s.timezone, 'UTC')
		FROM accounts a LEFT JOIN account_settings s ON s.account_id = a.id WHERE a.id = ?`, []any{acct},
		&s.Name, &s.Company, &s.Address, &s.Timezone)
	return s, err
}

// SaveSettings stores the account's profile.
func (tx *Tx) SaveSettings(ctx context.Context, acct int64, s roster.Settings) error {
	if _, err := tx.exec(ctx, `UPDATE accounts SET name = ? WHERE id = ?`, s.Name, acct); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `INSERT INTO account_settings (account_id, company, address, timezone) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET company = excluded.company, address = excluded.address, timezone = excluded.timezone`,
		acct, s.Company, s.Address, s.Timezone)
	return err
}

// --- credentials

// EnsureCredentials gives the account its first Auth Token when it has none.
func (tx *Tx) EnsureCredentials(ctx context.Context, acct int64, token string) error {
	_, err := tx.exec(ctx, `INSERT INTO credentials (account_id, auth_token, rotated_at) VALUES (?, ?, ?) ON CONFLICT (account_id) DO NOTHING`,
		acct, token, micros(tx.now))
	return err
}

// Credentials returns the current token and, when a grace period runs,
// the previous token's hash and its end.
func (db *DB) Credentials(ctx context.Context, acct int64) (token string, prevHash []byte, prevUntil time.Time, err error) {
	var until sql.NullInt64
	err = db.row(ctx, `SELECT auth_token, previous_hash, previous_until FROM credentials WHERE account_id = ?`, acct).
		Scan(&token, &prevHash, &until)
	if err != nil {
		return "", nil, time.Time{}, db.mapNoRows(err)
	}
	return token, prevHash, nullMicros(until), nil
}

// RotateCredentials replaces the token; the old one's hash stays valid
// until keepUntil (zero: it dies at once).
func (tx *Tx) RotateCredentials(ctx context.Context, acct int64, token string, oldHash []byte, keepUntil time.Time) error {
	var hash, until any
	if !keepUntil.IsZero() {
		hash, until = oldHash, micros(keepUntil)
	}
	r, err := tx.exec(ctx, `UPDATE credentials SET auth_token = ?, previous_hash = ?, previous_until = ?, rotated_at = ? WHERE account_id = ?`,
		token, hash, until, micros(tx.now), acct)
	if err != nil {
		return err
	}
	return oneRow(r)
}

// CurrentToken returns the account's token in the transaction.
func (tx *Tx) CurrentToken(ctx context.Context, acct int64) (string, error) {
	var t string
	err := tx.queryRow(ctx, `SELECT auth_token FROM credentials WHERE account_id = ?`, []any{acct}, &t)
	return t, err
}

// --- billing

// Billing returns the account's balance, auto-recharge, payment methods,
// recent recharges and monthly invoices (derived from the recharges).
func (db *DB) Billing(ctx context.Context, acct int64) (roster.Billing, error) {
	var b roster.Billing
	err := db.row(ctx, `SELECT balance_cents, auto_enabled, auto_threshold, auto_amount FROM billing WHERE account_id = ?`, acct).
		Scan(&b.Balance, &b.AutoRecharge.Enabled, &b.AutoRecharge.ThresholdUSD, &b.AutoRecharge.AmountUSD)
	if err != nil && err != sql.ErrNoRows {
		return b, db.d.mapErr(err)
	}
	rows, err := db.db.QueryContext(ctx, db.q(`SELECT id, brand, last4, exp_month, exp_year, created_at FROM payment_methods WHERE account_id = ? ORDER BY id`), acct)
	if err != nil {
		return b, db.d.mapErr(err)
	}
	for rows.Next() {
		var pm roster.PaymentMethod
		var created int64
		if err := rows.Scan(&pm.ID, &pm.Brand, &pm.Last4, &pm.ExpMonth, &pm.ExpYear, &created); err != nil {
			rows.Close()
			return b, err
		}
		pm.CreatedAt = fromMicros(created)
		b.PaymentMethods = append(b.PaymentMethods, pm)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return b, err
	}
	rows, err = db.db.QueryContext(ctx, db.q(`SELECT id, amount_cents, created_at FROM recharges WHERE account_id = ? ORDER BY id DESC LIMIT 100`), acct)
	if err != nil {
		return b, db.d.mapErr(err)
	}
	for rows.Next() {
		var r roster.Recharge
		var created int64
		if err := rows.Scan(&r.ID, &r.Amount, &created); err != nil {
			rows.Close()
			return b, err
		}
		r.CreatedAt = fromMicros(created)
		b.Recharges = append(b.Recharges, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return b, err
	}
	// Invoices: one per month, summed in Go from all recharges so the
	// month boundary is computed the same way on both databases.
	rows, err = db.db.QueryContext(ctx, db.q(`SELECT amount_cents, created_at FROM recharges WHERE account_id = ? ORDER BY created_at DESC`), acct)
	if err != nil {
		return b, db.d.mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var amount roster.Money
		var created int64
		if err := rows.Scan(&amount, &created); err != nil {
			return b, err
		}
		month := fromMicros(created).Format("2006-01")
		if n := len(b.Invoices); n == 0 || b.Invoices[n-1].Month != month {
			b.Invoices = append(b.Invoices, roster.Invoice{Month: month})
		}
		inv := &b.Invoices[len(b.Invoices)-1]
		inv.Total += amount
		inv.Recharges++
	}
	return b, rows.Err()
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

// --- pricing

// PriceCount is how many countries the rate table has.
func (db *DB) PriceCount(ctx context.Context) (int, error) {
	var n int
	err := db.row(ctx, `SELECT COUNT(*) FROM prices`).Scan(&n)
	return n, db.d.mapErr(err)
}

// Price returns a country's rates, or ErrNoRows.
func (db *DB) Price(ctx context.Context, country string) (roster.Price, error) {
	p := roster.Price{Country: country}
	err := db.row(ctx, `SELECT voice_per_minute, sms_per_message FROM prices WHERE country = ?`, country).
		Scan(&p.VoicePerMinute, &p.SMSPerMessage)
	return p, db.mapNoRows(err)
}

// ImportPrices replaces the whole rate table in one transaction.
func (db *DB) ImportPrices(ctx context.Context, prices []roster.Price) error {
	return db.Transact(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `DELETE FROM prices`); err != nil {
			return err
		}
		for _, p := range prices {
			if _, err := tx.exec(ctx, `INSERT INTO prices (country, voice_per_minute, sms_per_message) VALUES (?, ?, ?)`,
				p.Country, p.VoicePerMinute, p.SMSPerMessage); err != nil {
				return fmt.Errorf("country %s: %w", p.Country, err)
			}
		}
		return nil
	})
}

// --- logs

// AddLogs stores records for the account.
func (tx *Tx) AddLogs(ctx context.Context, acct int64, recs []roster.LogRecord) error {
	for _, r := range recs {
		if _, err := tx.exec(ctx, `INSERT INTO call_logs (account_id, kind, from_number, to_number, direction, status, duration_seconds, started_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, acct, r.Kind, r.FromNumber, r.ToNumber, r.Direction, r.Status, r.DurationSeconds, micros(r.StartedAt)); err != nil {
			return err
		}
	}
	return nil
}

// Logs lists the account's records, newest first.
func (db *DB) Logs(ctx context.Context, acct int64, f roster.LogFilter, p roster.Page) ([]roster.LogRecord, int, error) {
	where, args := `account_id = ?`, []any{acct}
	if f.Kind != "" {
		where += ` AND kind = ?`
		args = append(args, f.Kind)
	}
	if f.Number != "" {
		where += ` AND (from_number = ? OR to_number = ?)`
		args = append(args, f.Number, f.Number)
	}
	if !f.From.IsZero() {
		where += ` AND started_at >= ?`
		args = append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		where += ` AND started_at < ?`
		args = append(args, micros(f.To))
	}
	var total int
	if err := db.row(ctx, `SELECT COUNT(*) FROM call_logs WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	rows, err := db.db.QueryContext(ctx, db.q(`SELECT id, kind, from_number, to_number, direction, status, duration_seconds, started_at
		FROM call_logs WHERE `+where+` ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?`), append(args, p.Limit, p.Offset)...)
	if err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	defer rows.Close()
	var out []roster.LogRecord
	for rows.Next() {
		var r roster.LogRecord
		var started int64
		if err := rows.Scan(&r.ID, &r.Kind, &r.FromNumber, &r.ToNumber, &r.Direction, &r.Status, &r.DurationSeconds, &started); err != nil {
			return nil, 0, err
		}
		r.StartedAt = fromMicros(started)
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// --- personal API keys

// CreateAPIKey stores a key's hash for a member and records the change.
// The schema ties the key to the membership.
func (tx *Tx) CreateAPIKey(ctx context.Context, acct, userID int64, name, prefix string, hash []byte) (int64, error) {
	var id int64
	err := tx.queryRow(ctx, `INSERT INTO api_keys (account_id, user_id, name, prefix, key_hash, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		[]any{acct, userID, name, prefix, hash, micros(tx.now)}, &id)
	if err != nil {
		return 0, err
	}
	_, err = tx.Changed(ctx, acct, userID)
	return id, err
}

// DeleteAPIKey deletes one of the user's keys (ErrNoRows otherwise) and
// records the change.
func (tx *Tx) DeleteAPIKey(ctx context.Context, userID, id int64) (accountSeq int64, prefix, name string, err error) {
	if err := tx.queryRow(ctx, `DELETE FROM api_keys WHERE user_id = ? AND id = ? RETURNING account_id, prefix, name`, []any{userID, id}, &accountSeq, &prefix, &name); err != nil {
		return 0, "", "", err
	}
	_, err = tx.Changed(ctx, accountSeq, userID)
	return accountSeq, prefix, name, err
}

// APIKeys lists the user's keys, with each key's account Auth ID.
func (db *DB) APIKeys(ctx context.Context, userID int64) ([]roster.APIKey, error) {
	rows, err := db.db.QueryContext(ctx, db.q(`SELECT k.id, a.auth_id, k.name, k.prefix, k.created_at, k.last_used_at
		FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.user_id = ? ORDER BY k.id`), userID)
	if err != nil {
		return nil, db.d.mapErr(err)
	}
	defer rows.Close()
	var out []roster.APIKey
	for rows.Next() {
		var k roster.APIKey
		var created int64
		var used sql.NullInt64
		if err := rows.Scan(&k.ID, &k.AccountID, &k.Name, &k.Prefix, &created, &used); err != nil {
			return nil, err
		}
		k.CreatedAt = fromMicros(created)
		if used.Valid {
			t := fromMicros(used.Int64)
			k.LastUsedAt = &t
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// MemberKeys returns the hashes and IDs of a member's keys.
func (db *DB) MemberKeys(ctx context.Context, acct, userID int64) (map[int64][]byte, error) {
	rows, err := db.db.QueryContext(ctx, db.q(`SELECT id, key_hash FROM api_keys WHERE account_id = ? AND user_id = ?`), acct, userID)
	if err != nil {
		return nil, db.d.mapErr(err)
	}
	defer rows.Close()
	out := map[int64][]byte{}
	for rows.Next() {
		var id int64
		var h []byte
		if err := rows.Scan(&id, &h); err != nil {
			return nil, err
		}
		out[id] = h
	}
	return out, rows.Err()
}

// AllKeys calls f for every key, for loading the check index.
func (db *DB) AllKeys(ctx context.Context, f func(id, acct, userID int64, hash []byte)) error {
	rows, err := db.db.QueryContext(ctx, `SELECT id, account_id, user_id, key_hash FROM api_keys`)
	if err != nil {
		return db.d.mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, acct, uid int64
		var h []byte
		if err := rows.Scan(&id, &acct, &uid, &h); err != nil {
			return err
		}
		f(id, acct, uid, h)
	}
	return rows.Err()
}

// TouchAPIKey records that a key was used (at most once a minute).
func (db *DB) TouchAPIKey(ctx context.Context, id int64) error {
	now := micros(db.Now())
	_, err := db.db.ExecContext(ctx, db.q(`UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`),
		now, id, now-60_000_000)
	return db.d.mapErr(err)
}

// APIKeyExists reports whether a key with the hash exists (for a request
// that names a revision this replica has not applied yet).
func (db *DB) APIKeyExists(ctx context.Context, hash []byte) (bool, error) {
	var n int
	err := db.row(ctx, `SELECT COUNT(*) FROM api_keys WHERE key_hash = ?`, hash).Scan(&n)
	return n > 0, db.d.mapErr(err)
}

// TokenReadableSince returns since when a working Auth Token of the
// account could have been read: when the current one was made, or, while
// a rotated-out one still works (its grace period), when that one was made
// (the rotation before, from the audit log; the zero time when none was
// recorded). ok is false when the account has no token yet.
func (db *DB) TokenReadableSince(ctx context.Context, acct int64, now time.Time) (since time.Time, ok bool, err error) {
	var rotated int64
	var until sql.NullInt64
	err = db.row(ctx, `SELECT rotated_at, previous_until FROM credentials WHERE account_id = ?`, acct).Scan(&rotated, &until)
	if err != nil {
		if err = db.mapNoRows(err); err == ErrNoRows {
			return time.Time{}, false, nil
		}
		return time.Time{}, false, err
	}
	if !until.Valid || until.Int64 <= micros(now) {
		return fromMicros(rotated), true, nil
	}
	var before sql.NullInt64
	err = db.row(ctx, `SELECT MAX(at) FROM audit_events WHERE account_id = ? AND action = 'credentials.rotate' AND at < ?`, acct, rotated).Scan(&before)
	if err != nil || !before.Valid {
		return time.Time{}, true, db.d.mapErr(err)
	}
	return fromMicros(before.Int64), true, nil
}

// TokenRead is one person's reads of the Auth Token in the audit log: each
// reveal (credentials.view) and each rotation, whose answer carries the
// new token (credentials.rotate).
type TokenRead struct {
	UserID int64
	Email  string // as recorded
	Reads  int
	Last   time.Time
}

// TokenReads returns who read the account's Auth Token at or after since,
// by the audit log, by user.
func (db *DB) TokenReads(ctx context.Context, acct int64, since time.Time) ([]TokenRead, error) {
	rows, err := db.db.QueryContext(ctx, db.q(`SELECT COALESCE(actor_user_id, 0), MIN(actor_email), COUNT(*), MAX(at) FROM audit_events
		WHERE account_id = ? AND action IN ('credentials.view', 'credentials.rotate') AND at >= ?
		GROUP BY COALESCE(actor_user_id, 0) ORDER BY 4 DESC`), acct, micros(since))
	if err != nil {
		return nil, db.d.mapErr(err)
	}
	defer rows.Close()
	var out []TokenRead
	for rows.Next() {
		var r TokenRead
		var last int64
		if err := rows.Scan(&r.UserID, &r.Email, &r.Reads, &last); err != nil {
			return nil, db.d.mapErr(err)
		}
		r.Last = fromMicros(last)
		out = append(out, r)
	}
	return out, db.d.mapErr(rows.Err())
}

// Departure is a member's leaving or removal, from the audit log.
type Departure struct {
	UserID  int64  // 0 when no user has the address now
	Email   string // the member's address
	Name    string // the user's name now, "" when none
	Role    string // the role they held ("" when not recorded: leaving, before it was)
	Removed bool   // removed by someone (member.delete), else left (member.leave)
	At      time.Time
}

// Departures returns the account's members who were removed or left at or
// after since, newest first.
func (db *DB) Departures(ctx context.Context, acct int64, since time.Time) ([]Departure, error) {
	rows, err := db.db.QueryContext(ctx, db.q(`SELECT COALESCE(u.id, 0), e.target, COALESCE(u.name, ''), e.detail, e.action, e.at
		FROM audit_events e LEFT JOIN users u ON u.email = e.target
		WHERE e.account_id = ? AND e.action IN ('member.delete', 'member.leave') AND e.at >= ?
		ORDER BY e.id DESC`), acct, micros(since))
	if err != nil {
		return nil, db.d.mapErr(err)
	}
	defer rows.Close()
	var out []Departure
	for rows.Next() {
		var d Departure
		var action string
		var at int64
		if err := rows.Scan(&d.UserID, &d.Email, &d.Name, &d.Role, &action, &at); err != nil {
			return nil, db.d.mapErr(err)
		}
		d.Removed, d.At = action == "member.delete", fromMicros(at)
		out = append(out, d)
	}
	return out, db.d.mapErr(rows.Err())
}
