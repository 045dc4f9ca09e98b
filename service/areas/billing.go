package areas

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
)

func constantEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// Billing returns the account's payments & billing.
func (s *Areas) Billing(ctx context.Context, a roster.Account) (roster.Billing, error) {
	return s.c.DB.Billing(ctx, a.Seq)
}

// Cents turns a USD amount into cents. Errors: EINVALID unless it is
// within [min, max] and has at most two decimals.
func Cents(field string, usd, min, max float64) (roster.Money, error) {
	c := math.Round(usd * 100)
	if math.IsNaN(usd) || usd < min || usd > max || math.Abs(c-usd*100) > 1e-6 {
		return 0, roster.FieldErrorf(field, roster.EINVALID, "%s must be between %.2f and %.2f USD, in cents", amountWords(field), min, max)
	}
	return roster.Money(c), nil
}

// ErrNoPaymentMethod is the message of the refusal to add credit, or to
// turn auto-recharge on, for an account with no card on file.
const ErrNoPaymentMethod = "Add a payment method before adding credit"

// needCard refuses (ECONFLICT) when the account has no card on file.
func needCard(ctx context.Context, tx *store.Tx, acct int64, field string) error {
	n, err := tx.PaymentMethodCount(ctx, acct)
	if err != nil {
		return err
	}
	if n == 0 {
		return roster.FieldErrorf(field, roster.ECONFLICT, ErrNoPaymentMethod)
	}
	return nil
}

// SetAutoRecharge saves the auto-recharge settings. Turning it on needs a
// card on file; turning it off is always allowed. Errors: EINVALID,
// ECONFLICT (enabled with no payment method).
func (s *Areas) SetAutoRecharge(ctx context.Context, a roster.Account, enabled bool, thresholdUSD, amountUSD float64, actor roster.Actor) (roster.Billing, error) {
	ar := roster.AutoRecharge{Enabled: enabled}
	var err error
	if ar.ThresholdUSD, err = Cents("threshold_usd", thresholdUSD, 0, 100000); err != nil {
		return roster.Billing{}, err
	}
	if ar.AmountUSD, err = Cents("amount_usd", amountUSD, 0, 10000); err != nil {
		return roster.Billing{}, err
	}
	if enabled && ar.AmountUSD < 100 {
		return roster.Billing{}, roster.FieldErrorf("amount_usd", roster.EINVALID, "The recharge amount must be at least 1.00 USD when auto-recharge is on")
	}
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		if enabled {
			if err := needCard(ctx, tx, a.Seq, "enabled"); err != nil {
				return err
			}
		}
		if err := tx.SetAutoRecharge(ctx, a.Seq, ar); err != nil {
			return err
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionBillingAutoRecharge, a.ID, fmt.Sprintf("enabled=%v", enabled))
	})
	if err != nil {
		return roster.Billing{}, err
	}
	return s.Billing(ctx, a)
}

// luhn reports whether the digits pass the Luhn check.
func luhn(digits string) bool {
	sum := 0
	for i := 0; i < len(digits); i++ {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func cardBrand(n string) string {
	two, four := n[:2], n[:4]
	switch {
	case n[0] == '4':
		return "visa"
	case two >= "51" && two <= "55", four >= "2221" && four <= "2720":
		return "mastercard"
	case two == "34" || two == "37":
		return "amex"
	case four == "6011" || two == "65":
		return "discover"
	}
	return "card"
}

// AddPaymentMethod checks a card and keeps only its brand, last 4 digits
// and expiry: the number itself is never stored or logged.
// Errors: EINVALID.
func (s *Areas) AddPaymentMethod(ctx context.Context, a roster.Account, cardNumber string, expMonth, expYear int, actor roster.Actor) (roster.PaymentMethod, error) {
	digits := strings.NewReplacer(" ", "", "-", "").Replace(cardNumber)
	for _, r := range digits {
		if r < '0' || r > '9' {
			return roster.PaymentMethod{}, roster.FieldErrorf("card_number", roster.EINVALID, "The card number must be digits")
		}
	}
	if len(digits) < 12 || len(digits) > 19 || !luhn(digits) {
		return roster.PaymentMethod{}, roster.FieldErrorf("card_number", roster.EINVALID, "The card number is not a valid card number")
	}
	now := s.c.DB.Now().UTC()
	if expMonth < 1 || expMonth > 12 || expYear < 2000 || expYear > now.Year()+20 {
		return roster.PaymentMethod{}, roster.FieldErrorf("exp_month", roster.EINVALID, "The expiry month must be 1-12 and the year four digits")
	}
	if expYear < now.Year() || (expYear == now.Year() && expMonth < int(now.Month())) {
		return roster.PaymentMethod{}, roster.FieldErrorf("exp_year", roster.EINVALID, "The card expired")
	}
	pm := roster.PaymentMethod{Brand: cardBrand(digits), Last4: digits[len(digits)-4:], ExpMonth: expMonth, ExpYear: expYear}
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		id, err := tx.AddPaymentMethod(ctx, a.Seq, pm)
		if err != nil {
			return err
		}
		pm.ID, pm.CreatedAt = id, tx.Now()
		return tx.Audit(ctx, a.Seq, actor, roster.ActionBillingPaymentMethodAdd, pm.Brand+" "+pm.Last4, "")
	})
	return pm, err
}

// DeletePaymentMethod removes a card. Removing the last card while
// auto-recharge is on turns auto-recharge off in the same transaction (it
// could not charge anything), so "auto-recharge on" always means a card is
// on file. Errors: ENOTFOUND.
func (s *Areas) DeletePaymentMethod(ctx context.Context, a roster.Account, id int64, actor roster.Actor) error {
	return s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		if err := tx.DeletePaymentMethod(ctx, a.Seq, id); err != nil {
			return core.DBErr(err, "No such payment method")
		}
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionBillingPaymentMethodDelete, fmt.Sprint(id), ""); err != nil {
			return err
		}
		n, err := tx.PaymentMethodCount(ctx, a.Seq)
		if err != nil || n > 0 {
			return err
		}
		ar, err := tx.AutoRecharge(ctx, a.Seq)
		if err != nil || !ar.Enabled {
			return err
		}
		ar.Enabled = false
		if err := tx.SetAutoRecharge(ctx, a.Seq, ar); err != nil {
			return err
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionBillingAutoRecharge, a.ID, "enabled=false (the last card was removed)")
	})
}

// Recharge adds 1 to 10,000 USD of credit. It needs a payment method on
// file. Errors: EINVALID, ECONFLICT (no payment method; the amount is
// checked first).
func (s *Areas) Recharge(ctx context.Context, a roster.Account, amountUSD float64, actor roster.Actor) (roster.Recharge, error) {
	amount, err := Cents("amount_usd", amountUSD, 1, 10000)
	if err != nil {
		return roster.Recharge{}, err
	}
	var r roster.Recharge
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		if err := needCard(ctx, tx, a.Seq, "amount_usd"); err != nil {
			return err
		}
		var err error
		if r, err = tx.AddRecharge(ctx, a.Seq, amount); err != nil {
			return err
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionBillingRecharge, a.ID, fmt.Sprintf("%.2f USD", float64(amount)/100))
	})
	return r, err
}

// --- pricing

// Price returns a country's rates. Errors: EINVALID, ENOTFOUND.
func (s *Areas) Price(ctx context.Context, country string) (roster.Price, error) {
	country = strings.ToUpper(strings.TrimSpace(country))
	if len(country) != 2 || country[0] < 'A' || country[0] > 'Z' || country[1] < 'A' || country[1] > 'Z' {
		return roster.Price{}, roster.Errorf(roster.EINVALID, "Country must be an ISO 3166 two-letter code, like US")
	}
	p, err := s.c.DB.Price(ctx, country)
	if errors.Is(err, store.ErrNoRows) {
		return p, roster.Errorf(roster.ENOTFOUND, "No rates for %s", country)
	}
	return p, err
}

// RatesLoaded reports whether the operator has loaded a rate table
// (roster pricing import): a fresh install has none.
func (s *Areas) RatesLoaded(ctx context.Context) (bool, error) {
	n, err := s.c.DB.PriceCount(ctx)
	return n > 0, err
}

// --- logs

// LogKinds are the record kinds.
var logKinds = map[string]bool{"call": true, "message": true}

// CheckLogRecord validates a record from the platform. Errors: EINVALID.
func CheckLogRecord(r roster.LogRecord) error {
	switch {
	case !logKinds[r.Kind]:
		return roster.Errorf(roster.EINVALID, "Kind must be call or message")
	case !roster.IsE164(r.FromNumber) || !roster.IsE164(r.ToNumber):
		return roster.Errorf(roster.EINVALID, "The caller and called numbers must be E.164 numbers, like +14155550100")
	case r.Direction != "inbound" && r.Direction != "outbound":
		return roster.Errorf(roster.EINVALID, "Direction must be inbound or outbound")
	case r.Status == "" || len(r.Status) > 40:
		return roster.Errorf(roster.EINVALID, "Status is required (at most 40 characters)")
	case r.DurationSeconds < 0 || (r.Kind == "message" && r.DurationSeconds != 0):
		return roster.Errorf(roster.EINVALID, "The duration must be 0 seconds or more, and 0 for messages")
	case r.StartedAt.IsZero():
		return roster.Errorf(roster.EINVALID, "The start time is required (RFC 3339)")
	}
	return nil
}

// IngestBatch stores records the platform wrote, grouped by account Auth
// ID, in one transaction: all or nothing. Records must have passed
// CheckLogRecord. Errors: ENOTFOUND.
func (s *Areas) IngestBatch(ctx context.Context, order []string, byAccount map[string][]roster.LogRecord) error {
	seqs := make([]int64, len(order))
	for i, id := range order {
		seq, err := s.c.AccountSeq(ctx, id)
		if err != nil {
			return err
		}
		seqs[i] = seq
	}
	return s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		for i, id := range order {
			if err := tx.AddLogs(ctx, seqs[i], byAccount[id]); err != nil {
				return err
			}
		}
		return nil
	})
}

// Logs lists the account's records. Errors: EINVALID.
func (s *Areas) Logs(ctx context.Context, a roster.Account, f roster.LogFilter, p roster.Page) ([]roster.LogRecord, int, error) {
	if !core.FilterText(f.Number) {
		return nil, 0, roster.FieldErrorf("number", roster.EINVALID, "Number must be text without control characters")
	}
	if f.Kind != "" && !logKinds[f.Kind] {
		return nil, 0, roster.Errorf(roster.EINVALID, "Kind must be call or message")
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return nil, 0, roster.Errorf(roster.EINVALID, "From must be before to")
	}
	return s.c.DB.Logs(ctx, a.Seq, f, p)
}

// ImportPrices replaces the operator's rate table.
func (s *Areas) ImportPrices(ctx context.Context, prices []roster.Price) error {
	return s.c.DB.ImportPrices(ctx, prices)
}

// amountWords names an amount's field for a person.
func amountWords(field string) string {
	switch field {
	case "threshold_usd":
		return "The threshold"
	case "amount_usd":
		return "The amount"
	}
	return "The amount"
}
