#!/usr/bin/env bash
# loadtest/wrk-batch.sh: POST /v1/authz/check-batch with 100 checks a
# batch (the check mix of wrk-check.sh, cut into 10 batches) under wrk
# (-t2 -c32), against a bare net/http server doing the same JSON,
# alternated over 3 rounds of 10 s. Prints decisions/s of both and the
# ratio (target: Roster at least 1,000,000 decisions/s). Settings: see
# loadtest/wirelib.sh.
source "$(dirname "$0")/wirelib.sh"
wire_rounds /v1/authz/check-batch "$D/batch.lua" 100
echo "http check-batch: roster $ROSTER_MEAN decisions/s, bare $BARE_MEAN decisions/s (batches of 100; means of $ROUNDS rounds of $DUR, wrk -t2 -c32): ratio $RATIO (target: roster >= 1000000 decisions/s)$CPU_NOTE$BASE_NOTE"
