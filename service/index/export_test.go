package index

import "time"

// SetClock replaces the keeper's clock (a duration since its start);
// call it before LoadIndex.
func (s *Keeper) SetClock(now func() time.Duration) { s.clock = now }

// Watch runs the watchdog now, as its timer would.
func (s *Keeper) Watch() { s.watch() }

// Suspect reports whether Fresh reads the clock.
func (s *Keeper) Suspect() bool { return s.suspect.Load() }

// Confirmed is the clock reading as of which the index was last confirmed.
func (s *Keeper) Confirmed() time.Duration { return time.Duration(s.confirmed.Load()) }

// LastFail is the clock reading when a catch-up last failed.
func (s *Keeper) LastFail() time.Duration { return time.Duration(s.lastFail.Load()) }
