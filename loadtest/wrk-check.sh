#!/usr/bin/env bash
# loadtest/wrk-check.sh: POST /v1/authz/check under wrk (-t2 -c32), as an
# outsider measures it, against a bare net/http server doing the same JSON
# (decode into the same struct, encode the same answer with encoding/json),
# alternated over 3 rounds of 10 s. The mix: 85% members, 10% another
# account's user, 5% an unknown account (1,000 distinct checks on 10,000
# generated accounts x 10 members). Prints each round and the ratio
# (target: at least 0.9). Settings: see loadtest/wirelib.sh.
source "$(dirname "$0")/wirelib.sh"
wire_rounds /v1/authz/check "$D/check.lua" 1
echo "http check: roster $ROSTER_MEAN req/s, bare $BARE_MEAN req/s (means of $ROUNDS rounds of $DUR, wrk -t2 -c32): ratio $RATIO (target >= 0.9)$CPU_NOTE$BASE_NOTE"
