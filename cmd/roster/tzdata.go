package main

// The IANA time zone database, built in (about 450 KB): an account's time
// zone setting is checked with time.LoadLocation, and a FROM scratch image
// (or any host without /usr/share/zoneinfo) has no database of its own.
// One on the host, when there is one, is still preferred.
import _ "time/tzdata"
