package store

import (
	"context"

	"github.com/rosterhq/roster"
)

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
