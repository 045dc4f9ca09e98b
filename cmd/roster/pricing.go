package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// cmdPricingImport replaces the rate table with a CSV file:
// country,voice_per_minute_usd,sms_per_message_usd (lines starting with #
// are comments). The file is checked whole before anything is stored.
func cmdPricingImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("pricing import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.flags(fs)
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError{"pricing import: give the CSV file first, e.g. roster pricing import testdata/pricing-sample.csv"}
	}
	path := args[0]
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	prices, err := parsePrices(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	db, err := openDB(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := service.New(db, nil, nil, service.DefaultConfig(), nil)
	if err := svc.ImportPrices(ctx, prices); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported rates for %d countries\n", len(prices))
	return nil
}

func parsePrices(r io.Reader) ([]roster.Price, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = 3
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) < 2 || strings.Join(rows[0], ",") != "country,voice_per_minute_usd,sms_per_message_usd" {
		return nil, errors.New("the header must be country,voice_per_minute_usd,sms_per_message_usd and at least one row follow")
	}
	seen := map[string]bool{}
	var out []roster.Price
	for i, row := range rows[1:] {
		line := i + 2
		cc := strings.ToUpper(strings.TrimSpace(row[0]))
		if len(cc) != 2 || strings.Trim(cc, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" || seen[cc] {
			return nil, fmt.Errorf("row %d: %q is not a new ISO 3166 two-letter country code", line, row[0])
		}
		seen[cc] = true
		p := roster.Price{Country: cc}
		for j, dst := range []*int64{&p.VoicePerMinute, &p.SMSPerMessage} {
			v, err := strconv.ParseFloat(strings.TrimSpace(row[j+1]), 64)
			if err != nil || v < 0 || v > 100 || math.IsNaN(v) {
				return nil, fmt.Errorf("row %d: %q is not a price in USD", line, row[j+1])
			}
			*dst = int64(math.Round(v * 1e6))
		}
		out = append(out, p)
	}
	return out, nil
}
