#!/usr/bin/env bash
# loadtest/grpc-check.sh: the gRPC unary Check from 32 callers
# (loadtest/cmd/wire grpc-load, sharing WIRE_GRPC_CONNS connections,
# default 1) against a bare grpc-go server (grpc.NewServer(), no options)
# answering the same messages from a map, alternated over 3 rounds of 10 s,
# with the check mix of wrk-check.sh. Prints each round and the ratio
# (target: at least 0.9). Settings: see loadtest/wirelib.sh.
source "$(dirname "$0")/wirelib.sh"
wire_profile
"$D/wire" grpc-load -mix "$D/mix.json" -a "$ROSTER_GRPC" -b "$BARE_GRPC" -token "$TOKEN" \
  -c 32 -conns "${WIRE_GRPC_CONNS:-1}" -rounds "$ROUNDS" -d "$DUR" -pid-a "$ROSTER_PID" -pid-b "$BARE_PID" ${BASE_GRPC:+-base "$BASE_GRPC" -pid-base "$BASE_PID"}
wire_profile_wait
