package service_test

import (
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// centsRanges are the [min, max] USD ranges the service passes to Cents
// (SetAutoRecharge: threshold_usd 0..100000 and amount_usd 0..10000;
// Recharge: amount_usd 1..10000).
var centsRanges = []struct {
	field    string
	min, max float64
}{
	{"threshold_usd", 0, 100000},
	{"amount_usd", 0, 10000},
	{"amount_usd", 1, 10000},
}

// isAppError reports whether err is an *roster.Error with the code and a
// message.
func isAppError(err error, code string) bool {
	e, ok := err.(*roster.Error)
	return ok && e.Code == code && e.Message != ""
}

// FuzzCents checks service.Cents over the ranges the service uses:
//   - an accepted amount was a finite usd within [min, max], and its cents
//     are within [min*100, max*100] and are usd*100 rounded: at most 1e-6
//     cents away (the tolerance Cents documents as "at most two decimals");
//   - a refusal is EINVALID naming the field;
//   - every whole number of cents k in [min*100, max*100], given as k/100
//     (the float64 nearest to a two-decimal amount, what JSON decoding of
//     "12.34" gives), is accepted as exactly k.
func FuzzCents(f *testing.F) {
	for _, s := range []struct {
		usd   float64
		cents int64
		sel   uint8
	}{
		{0, 0, 0}, {12.34, 1234, 1}, {1, 100, 2}, {0.99, 99, 2}, {0.29, 29, 1},
		{100000, 10000000, 0}, {100000.01, 10000001, 0}, {10000, 1000000, 1},
		{-0.01, -1, 0}, {math.Copysign(0, -1), 0, 0}, {0.001, 0, 1}, {0.005, 1, 1},
		{1.005, 100, 2}, {0.1 + 0.2, 30, 1}, {1e-7, 0, 1}, {1e300, 0, 0},
		{math.NaN(), 0, 0}, {math.Inf(1), 0, 0}, {math.Inf(-1), 0, 2},
		{math.MaxFloat64, math.MaxInt64, 0}, {math.SmallestNonzeroFloat64, math.MinInt64, 1},
		{9999.999999999, 999999, 2}, {99999.99, 9999999, 0}, {0.999999999, 100, 2},
	} {
		f.Add(s.usd, s.cents, s.sel)
	}
	f.Fuzz(func(t *testing.T, usd float64, cents int64, sel uint8) {
		r := centsRanges[int(sel)%len(centsRanges)]

		got, err := service.Cents(r.field, usd, r.min, r.max)
		if err != nil {
			if !isAppError(err, roster.EINVALID) || roster.FieldOf(err) != r.field || strings.Contains(roster.ErrorMessage(err), r.field) {
				t.Fatalf("Cents(%q, %v, %v, %v) error %v: want %s on the field, its message in words", r.field, usd, r.min, r.max, err, roster.EINVALID)
			}
			if got != 0 {
				t.Fatalf("Cents(%q, %v, %v, %v) = %d with error %v", r.field, usd, r.min, r.max, got, err)
			}
		} else {
			if math.IsNaN(usd) || math.IsInf(usd, 0) || usd < r.min || usd > r.max {
				t.Fatalf("Cents(%q, %v, %v, %v) = %d: accepted a value outside the range", r.field, usd, r.min, r.max, got)
			}
			c := float64(got)
			if c < r.min*100 || c > r.max*100 {
				t.Fatalf("Cents(%q, %v, %v, %v) = %d cents, outside [%v, %v]", r.field, usd, r.min, r.max, got, r.min*100, r.max*100)
			}
			if c != math.Round(usd*100) || math.Abs(c-usd*100) > 1e-6 {
				t.Fatalf("Cents(%q, %v, %v, %v) = %d, but usd*100 = %v", r.field, usd, r.min, r.max, got, usd*100)
			}
		}

		// Completeness: two-decimal amounts in range are accepted exactly.
		lo, hi := int64(r.min*100), int64(r.max*100)
		span := uint64(hi-lo) + 1
		k := lo + int64(uint64(cents)%span)
		dec := float64(k) / 100
		if got, err := service.Cents(r.field, dec, r.min, r.max); err != nil || int64(got) != k {
			t.Fatalf("Cents(%q, %v (%d cents), %v, %v) = %d, %v: want %d", r.field, dec, k, r.min, r.max, got, err, k)
		}
	})
}

// FuzzParseGrace checks service.ParseGrace: "" is 0; an accepted grace is
// from 0 to MaxGrace, is what time.ParseDuration reads (the documented
// form), and reads back from its own String(); a refusal is EINVALID and
// happens exactly when the string is not a duration in [0, MaxGrace].
func FuzzParseGrace(f *testing.F) {
	for _, s := range []string{
		"", "0", "0s", "-0", "+0s", "24h", "90m", "168h", "168h0m0.000000001s", "168h1ns", "169h",
		"7d", "-1ns", "1h30m", "1.5h", "0.0000000001s", ".5h", "5.h", "1e3h", "1h ", " 1h", "+24h",
		"9223372036854775807ns", "9223372036854775808ns", "-9223372036854775808ns", "2562047h",
		"1µs", "1us", "1μs", "h", "1", "1hh", "\x00", "24h\x00", "604800s", "604800000000000ns",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := service.ParseGrace(s)
		pd, perr := time.ParseDuration(s)
		wantOK := s == "" || (perr == nil && pd >= 0 && pd <= service.MaxGrace)
		if err != nil {
			if !isAppError(err, roster.EINVALID) {
				t.Fatalf("ParseGrace(%q) error %v: want %s", s, err, roster.EINVALID)
			}
			if wantOK {
				t.Fatalf("ParseGrace(%q) refused %v, a duration within [0, %v]: %v", s, pd, service.MaxGrace, err)
			}
			if d != 0 {
				t.Fatalf("ParseGrace(%q) = %v with error %v", s, d, err)
			}
			return
		}
		if !wantOK {
			t.Fatalf("ParseGrace(%q) = %v; time.ParseDuration gives %v, %v", s, d, pd, perr)
		}
		if d < 0 || d > service.MaxGrace {
			t.Fatalf("ParseGrace(%q) = %v, outside [0, %v]", s, d, service.MaxGrace)
		}
		if s == "" && d != 0 {
			t.Fatalf(`ParseGrace("") = %v, want 0`, d)
		}
		if s != "" && d != pd {
			t.Fatalf("ParseGrace(%q) = %v, time.ParseDuration = %v", s, d, pd)
		}
		if again, err := service.ParseGrace(d.String()); err != nil || again != d {
			t.Fatalf("ParseGrace(%q) = %v, but ParseGrace(%q) = %v, %v", s, d, d.String(), again, err)
		}
	})
}

var e164Want = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

// isE164 is a second, regexp-free reading of E.164 as the API takes it: a
// plus, a non-zero digit, then 7 to 14 more digits (8 to 15 in all).
func isE164(s string) bool {
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

// FuzzCheckLogRecord checks service.CheckLogRecord on records built from
// fuzzed fields: an accepted record has kind call or message, E.164 from
// and to numbers (matching ^\+[1-9][0-9]{7,14}$, and a regexp-free reading
// of the same rule), direction inbound or outbound, a status of 1 to 40
// bytes, a duration of 0 or more (0 for a message) and a start time; a
// refusal is EINVALID. It never panics.
func FuzzCheckLogRecord(f *testing.F) {
	for _, s := range []struct {
		kind, from, to, dir, status string
		dur                         int64
		start                       int64
		zero                        bool
	}{
		{"call", "+14155550100", "+442071838750", "outbound", "completed", 61, 1700000000, false},
		{"message", "+14155550100", "+4915112345678", "inbound", "delivered", 0, 1700000000, false},
		{"message", "+14155550100", "+4915112345678", "inbound", "delivered", 3, 1700000000, false},
		{"call", "+12345678", "+123456789012345", "inbound", "x", 0, 0, false},
		{"call", "+1234567", "+1234567890123456", "inbound", "x", 0, 0, false},
		{"call", "+02345678", "14155550100", "inbound", "x", 0, 0, false},
		{"call", "+14155550100\n", "+14155550100", "inbound", "x", 0, 0, false},
		{"call", "+1415555010０", "+14155550100", "inbound", "x", 0, 0, false},
		{"call", "+14155550100", " +14155550100", "inbound", "x", 0, 0, false},
		{"Call", "+14155550100", "+14155550100", "Inbound", "", -1, 0, true},
		{"call", "+14155550100", "+14155550100", "outbound", strings.Repeat("s", 41), 0, 0, false},
		{"call", "+14155550100", "+14155550100", "outbound", strings.Repeat("s", 40), math.MaxInt64, math.MinInt64, false},
		{"", "", "", "", "", 0, 0, true},
	} {
		f.Add(s.kind, s.from, s.to, s.dir, s.status, s.dur, s.start, s.zero)
	}
	f.Fuzz(func(t *testing.T, kind, from, to, dir, status string, dur, start int64, zero bool) {
		r := roster.LogRecord{
			ID: 1, Kind: kind, FromNumber: from, ToNumber: to, Direction: dir, Status: status,
			DurationSeconds: int(dur), StartedAt: time.Unix(start, 0).UTC(),
		}
		if zero {
			r.StartedAt = time.Time{}
		}
		err := service.CheckLogRecord(r)
		if err != nil {
			if !isAppError(err, roster.EINVALID) {
				t.Fatalf("CheckLogRecord(%+v) error %v: want %s", r, err, roster.EINVALID)
			}
			return
		}
		for _, n := range []string{r.FromNumber, r.ToNumber} {
			if !e164Want.MatchString(n) || !isE164(n) {
				t.Fatalf("CheckLogRecord(%+v) accepted %q, not an E.164 number", r, n)
			}
		}
		if r.Kind != "call" && r.Kind != "message" {
			t.Fatalf("CheckLogRecord(%+v) accepted kind %q", r, r.Kind)
		}
		if r.Direction != "inbound" && r.Direction != "outbound" {
			t.Fatalf("CheckLogRecord(%+v) accepted direction %q", r, r.Direction)
		}
		if r.Status == "" || len(r.Status) > 40 {
			t.Fatalf("CheckLogRecord(%+v) accepted a status of %d bytes", r, len(r.Status))
		}
		if r.DurationSeconds < 0 || (r.Kind == "message" && r.DurationSeconds != 0) {
			t.Fatalf("CheckLogRecord(%+v) accepted duration %d for a %s", r, r.DurationSeconds, r.Kind)
		}
		if r.StartedAt.IsZero() {
			t.Fatalf("CheckLogRecord(%+v) accepted a zero start time", r)
		}
	})
}
