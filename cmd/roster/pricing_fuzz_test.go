package main

import (
	"encoding/csv"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const pricingHeader = "country,voice_per_minute_usd,sms_per_message_usd\n"

// FuzzParsePrices checks parsePrices, the reader of the CSV behind
// "roster pricing import":
//   - it never panics, and a refusal is an error with a message and no
//     prices (the file is checked whole before anything is stored);
//   - accepted prices are one per data row, each with a country of two
//     letters A-Z (upper-cased, unique) and amounts from 0 to 100 USD
//     (0 to 100,000,000 micro-USD);
//   - accepted prices survive a round trip: written back as CSV with
//     six decimals, they parse to the same prices.
func FuzzParsePrices(f *testing.F) {
	for _, s := range []string{
		// The start of testdata/pricing-sample.csv.
		"# SAMPLE DATA for demos and tests: not real prices of any carrier or platform.\n" +
			"# Load it with: roster pricing import testdata/pricing-sample.csv\n" +
			pricingHeader + "US,0.0085,0.0079\nCA,0.0085,0.0079\n",
		pricingHeader + "US,0.0085,0.0079\n",
		pricingHeader + "GB,0.0120,0.0400\nDE,0.0150,0.0850\nFR,0.0160,0.0750\n",
		pricingHeader + " us , 0.0085 , 0.0079 \n",
		pricingHeader + "US,0,0\r\n",
		pricingHeader + "US,100,100\n",
		pricingHeader + "US,100.0000001,1\n",
		pricingHeader + "US,0.0000005,0.0000004\n",
		pricingHeader + "US,-0,-0.0\n",
		pricingHeader + "US,+1,1e1\n",
		pricingHeader + "US,0x1p-2,1\n",
		pricingHeader + "US,1_0,1\n",
		// Malformed.
		"",
		"\n",
		pricingHeader,
		pricingHeader + "\n",
		"country,voice,sms\nUS,1,1\n",
		"\ufeff" + pricingHeader + "US,1,1\n",
		"Country,Voice_Per_Minute_USD,SMS_Per_Message_USD\nUS,1,1\n",
		pricingHeader + "US,1\n",
		pricingHeader + "US,1,1,1\n",
		pricingHeader + "US,1,1\nUS,2,2\n",
		pricingHeader + "US,1,1\nus,2,2\n",
		pricingHeader + "USA,1,1\n",
		pricingHeader + "U,1,1\n",
		pricingHeader + "U1,1,1\n",
		pricingHeader + "ÜS,1,1\n",
		pricingHeader + "\"US\",\"1\",\"1\"\n",
		pricingHeader + "\"U\"S\",1,1\n",
		pricingHeader + "\"US,1,1\n",
		pricingHeader + "US,\"1\n2\",1\n",
		pricingHeader + "US,-1,1\n",
		pricingHeader + "US,-0.0000001,1\n",
		pricingHeader + "US,NaN,1\n",
		pricingHeader + "US,nan,1\n",
		pricingHeader + "US,Inf,1\n",
		pricingHeader + "US,-Inf,1\n",
		pricingHeader + "US,1e309,1\n",
		pricingHeader + "US,1e-400,1\n",
		pricingHeader + "US,99999999999999999999999999999,1\n",
		pricingHeader + "US,,1\n",
		pricingHeader + "US,1,\n",
		pricingHeader + "#US,1,1\n",
		pricingHeader + "US,1,1 # comment\n",
		pricingHeader + "\x00\x00,1,1\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		prices, err := parsePrices(strings.NewReader(in))
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("parsePrices(%q): an error without a message", in)
			}
			if prices != nil {
				t.Fatalf("parsePrices(%q) = %v with error %v: want no prices with an error", in, prices, err)
			}
			return
		}
		cr := csv.NewReader(strings.NewReader(in))
		cr.Comment = '#'
		if rows, err := cr.ReadAll(); err != nil || len(prices) == 0 || len(prices) != len(rows)-1 {
			t.Fatalf("parsePrices(%q) = %d prices; the file has %d rows after the header (%v)", in, len(prices), len(rows)-1, err)
		}
		seen := map[string]bool{}
		var out strings.Builder
		out.WriteString(pricingHeader)
		for _, p := range prices {
			if len(p.Country) != 2 || strings.Trim(p.Country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
				t.Fatalf("parsePrices(%q): country %q is not two letters A-Z", in, p.Country)
			}
			if seen[p.Country] {
				t.Fatalf("parsePrices(%q): country %q twice", in, p.Country)
			}
			seen[p.Country] = true
			for _, v := range []int64{p.VoicePerMinute, p.SMSPerMessage} {
				if v < 0 || v > 100_000_000 {
					t.Fatalf("parsePrices(%q): %+v has an amount outside 0 to 100 USD", in, p)
				}
			}
			fmt.Fprintf(&out, "%s,%d.%06d,%d.%06d\n", p.Country,
				p.VoicePerMinute/1e6, p.VoicePerMinute%1e6, p.SMSPerMessage/1e6, p.SMSPerMessage%1e6)
		}
		again, err := parsePrices(strings.NewReader(out.String()))
		if err != nil || !reflect.DeepEqual(again, prices) {
			t.Fatalf("parsePrices(%q) = %+v, but its CSV\n%s\nparses to %+v, %v", in, prices, out.String(), again, err)
		}
	})
}
