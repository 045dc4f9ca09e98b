package roster

import (
	"fmt"
	"time"
)

// DurationWords says a duration as a person reads it, rounded up to its
// largest whole unit: "40 seconds", "12 minutes", "1 hour", "7 days"
// (never Go's "168h0m0s"). Mails and refusals say every wait and every
// lifetime with it.
func DurationWords(d time.Duration) string {
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	up := func(u time.Duration) int64 { return int64((d + u - 1) / u) }
	switch {
	case d <= time.Minute:
		return unit(max(up(time.Second), 0), "second")
	case d <= 2*time.Hour && d%time.Hour != 0:
		return unit(up(time.Minute), "minute")
	case d < 48*time.Hour && d%(24*time.Hour) != 0:
		return unit(up(time.Hour), "hour")
	}
	return unit(up(24*time.Hour), "day")
}
