package index

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// The follower's log through an outage: a warning when catch-ups start
// failing, none for the failures right after (it tries every 50 ms), one
// every outageLogEvery with the count, and a line when one succeeds; a
// success with nothing failed logs nothing.
func TestOutage_LogsItsStartEveryTenSecondsAndItsEnd(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var o outage
	errCut := errors.New("connection refused")
	const msg = "catch up failed: the check index is not confirmed current until one succeeds"
	o.succeeded(0, log, "catch up succeeded again")
	now := time.Second
	for range 200 { // 10 s of failures, every 50 ms
		o.failed(now, log, errCut, msg)
		now += 50 * time.Millisecond
	}
	o.failed(now, log, errCut, msg) // 10 s after the first: the reminder
	o.succeeded(now+50*time.Millisecond, log, "catch up succeeded again")
	o.succeeded(now+100*time.Millisecond, log, "catch up succeeded again")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines for an outage of 201 failures, want 3:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{
		"level=WARN msg=\"catch up failed: the check index is not confirmed current until one succeeds\" err=\"connection refused\"",
		"level=WARN msg=\"catch up failed: the check index is not confirmed current until one succeeds (still failing)\" err=\"connection refused\" failed=201 for=10s",
		"level=INFO msg=\"catch up succeeded again\" failed=201 for=10.05s",
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d: %s\nwant it to hold %s", i+1, lines[i], want)
		}
	}
	// A new outage starts afresh.
	buf.Reset()
	o.failed(now+time.Minute, log, errCut, msg)
	if !strings.Contains(buf.String(), "catch up failed") {
		t.Errorf("a second outage: %q", buf.String())
	}
}
