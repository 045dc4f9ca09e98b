package store

import (
	"context"
	"fmt"

	"github.com/rosterhq/roster"
)

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
