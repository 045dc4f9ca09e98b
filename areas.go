package roster

import "time"

// The guarded areas of an account. Every read needs "<area>.view" and every
// write "<area>.edit" (see permissions.csv).

// IsE164 reports whether s is a phone number in E.164 form: "+", a
// country code that does not start with 0, 8 to 15 digits in all.
func IsE164(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Number is a phone number the account owns, in E.164 form.
type Number struct {
	Number        string    `json:"number"`
	Alias         string    `json:"alias"`
	ApplicationID *int64    `json:"application_id"`
	CreatedAt     time.Time `json:"created_at"`
}

// Application is a voice/messaging application: where the platform asks
// what to do with a call or a message.
type Application struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	AnswerURL    string    `json:"answer_url"`
	AnswerMethod string    `json:"answer_method"`
	HangupURL    string    `json:"hangup_url"`
	MessageURL   string    `json:"message_url"`
	CreatedAt    time.Time `json:"created_at"`
}

// Settings is the account's profile.
type Settings struct {
	Name     string `json:"name"`
	Company  string `json:"company"`
	Address  string `json:"address"`
	Timezone string `json:"timezone"`
}

// Credentials are the account's API credentials: the Auth ID (the account
// ID, never changes) and the Auth Token.
type Credentials struct {
	AuthID        string     `json:"auth_id"`
	AuthToken     string     `json:"auth_token"`
	OldValidUntil *time.Time `json:"previous_token_valid_until,omitempty"`
}

// Money is an amount in US cents.
type Money int64

// AutoRecharge tops the balance up when it falls below a threshold.
type AutoRecharge struct {
	Enabled      bool  `json:"enabled"`
	ThresholdUSD Money `json:"-"`
	AmountUSD    Money `json:"-"`
}

// PaymentMethod is a card; only brand, last 4 digits and expiry are kept.
type PaymentMethod struct {
	ID        int64     `json:"id"`
	Brand     string    `json:"brand"`
	Last4     string    `json:"last4"`
	ExpMonth  int       `json:"exp_month"`
	ExpYear   int       `json:"exp_year"`
	CreatedAt time.Time `json:"created_at"`
}

// Recharge is credit added to the balance.
type Recharge struct {
	ID        int64
	Amount    Money
	CreatedAt time.Time
}

// Invoice is a monthly statement derived from the recharges.
type Invoice struct {
	Month     string // "2026-11"
	Total     Money
	Recharges int
}

// Billing is the account's payments & billing page.
type Billing struct {
	Balance        Money
	AutoRecharge   AutoRecharge
	PaymentMethods []PaymentMethod
	Recharges      []Recharge
	Invoices       []Invoice
}

// Price is what a country costs, in millionths of a USD.
type Price struct {
	Country        string
	VoicePerMinute int64 // micro-USD
	SMSPerMessage  int64 // micro-USD
}

// LogRecord is one call or message, written by the platform.
type LogRecord struct {
	ID              int64     `json:"id"`
	Kind            string    `json:"kind"` // call or message
	FromNumber      string    `json:"from_number"`
	ToNumber        string    `json:"to_number"`
	Direction       string    `json:"direction"` // inbound or outbound
	Status          string    `json:"status"`
	DurationSeconds int       `json:"duration_seconds"`
	StartedAt       time.Time `json:"started_at"`
}

// LogFilter narrows a log listing.
type LogFilter struct {
	Kind     string
	Number   string // either side
	From, To time.Time
}

// APIKey is a member's personal API key for one account. The key itself is
// shown once, at creation; only its hash is kept.
type APIKey struct {
	ID         int64      `json:"id"`
	AccountID  string     `json:"account_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}
