# loadtest/wirelib.sh: what wrk-check.sh, wrk-batch.sh and grpc-check.sh
# share (sourced, not run). It builds `roster` (or takes WIRE_ROSTER_BIN)
# and loadtest/cmd/wire, generates a SQLite database with the load
# generator (WIRE_ACCOUNTS accounts, default 10,000, x 10 members), starts
# `roster serve` on it (public, admin and gRPC listeners on free ports)
# and the bare references (`wire bare`: net/http and grpc-go, answers
# learnt from Roster), and checks that both answer the whole mix byte for
# byte alike. Everything is stopped and removed on exit.
#
# Settings: WIRE_DURATION (each window, default 10s), WIRE_ROUNDS
# (default 3), WIRE_ACCOUNTS, WIRE_ROSTER_BIN, WIRE_KEEP=1 (keep the
# folder and print it), WIRE_PROFILE=FILE (a 10 s CPU profile of Roster
# taken from the admin listener during its first window),
# WIRE_PROFILE_ALL=PREFIX (CPU profiles of Roster and of the bare
# reference over the whole run, to PREFIX.roster and PREFIX.bare: a
# process is sampled only while it works, so each holds its own windows,
# and both pay the profiler alike), WIRE_BASE_BIN
# (another roster binary, say one built from an older commit, served on a
# copy of the database and measured in the same rounds: "base").
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
D=$(mktemp -d)
PIDS=()
wire_cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${WIRE_KEEP:-}" = 1 ]; then echo "kept $D" >&2; else rm -rf "$D"; fi
}
trap wire_cleanup EXIT
DUR=${WIRE_DURATION:-10s}
ROUNDS=${WIRE_ROUNDS:-3}
TOKEN=wire-service-token
go build -o "$D/wire" ./loadtest/cmd/wire
ROSTER=${WIRE_ROSTER_BIN:-}
if [ -z "$ROSTER" ]; then go build -o "$D/roster" ./cmd/roster; ROSTER="$D/roster"; fi
"$D/wire" prepare -dir "$D" -accounts "${WIRE_ACCOUNTS:-10000}" -token "$TOKEN"
read -r P PA PG PB PBG PX PXG PBP <<<"$("$D/wire" ports 8 | tr "\n" " ")"
ROSTER_URL=http://127.0.0.1:$P BARE_URL=http://127.0.0.1:$PB
ROSTER_GRPC=127.0.0.1:$PG BARE_GRPC=127.0.0.1:$PBG
ROSTER_SERVICE_TOKEN=$TOKEN "$ROSTER" serve --database "$D/roster.db" --addr "127.0.0.1:$P" \
  --admin-addr "127.0.0.1:$PA" --grpc-addr "$ROSTER_GRPC" >"$D/roster.log" 2>&1 &
ROSTER_PID=$!
PIDS+=($!)
BASE_URL= BASE_GRPC=
if [ -n "${WIRE_BASE_BIN:-}" ]; then
  mkdir "$D/base"; cp "$D/roster.db" "$D/base/roster.db"
  BASE_URL=http://127.0.0.1:$PX BASE_GRPC=127.0.0.1:$PXG
  ROSTER_SERVICE_TOKEN=$TOKEN "$WIRE_BASE_BIN" serve --database "$D/base/roster.db" --addr "127.0.0.1:$PX" \
    --admin-addr= --grpc-addr "$BASE_GRPC" >"$D/base.log" 2>&1 &
  BASE_PID=$!
  PIDS+=($!)
fi
for u in "$ROSTER_URL" $BASE_URL; do
  for _ in $(seq 300); do curl -sf -o /dev/null "$u/healthz" && break; sleep 0.1; done
  curl -sf -o /dev/null "$u/healthz" || { cat "$D/roster.log" "$D/base.log" >&2 2>/dev/null; exit 1; }
done
"$D/wire" bare -mix "$D/mix.json" -roster "$ROSTER_URL" -roster-grpc "$ROSTER_GRPC" \
  -http "127.0.0.1:$PB" -grpc "$BARE_GRPC" -token "$TOKEN" -pprof "127.0.0.1:$PBP" >"$D/bare.log" 2>&1 &
BARE_PID=$!
PIDS+=($!)
for _ in $(seq 300); do grep -q "bare: serving" "$D/bare.log" && break; sleep 0.1; done
grep -q "bare: serving" "$D/bare.log" || { cat "$D/bare.log" >&2; exit 1; }
"$D/wire" verify -mix "$D/mix.json" -a "$ROSTER_URL" -b "$BARE_URL" -token "$TOKEN"
if [ -n "$BASE_URL" ]; then "$D/wire" verify -mix "$D/mix.json" -a "$ROSTER_URL" -b "$BASE_URL" -token "$TOKEN"; fi
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); roster $("$ROSTER" version 2>/dev/null | head -1)"

# wire_cpu PID: the process's user and system CPU time so far, in clock
# ticks (/proc/PID/stat).
wire_cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# wire_wrk URL PATH SCRIPT DURATION [PID]: "requests/s cpu_us_per_request"
# of `wrk -t2 -c32` (the server's CPU time per request when PID is given,
# else 0), failing on any socket error or answer other than 2xx. On a
# shared machine the CPU time a request costs the server is steadier than
# the requests a second: others' load slows both servers, not their work.
wire_wrk() {
  local out c0=0 c1=0
  [ -n "${5:-}" ] && c0=$(wire_cpu "$5")
  out=$(wrk -t2 -c32 -d"$4" -s "$3" "$1$2")
  [ -n "${5:-}" ] && c1=$(wire_cpu "$5")
  if grep -qE "Non-2xx|Socket errors" <<<"$out"; then
    echo "$out" >&2
    echo "wrk against $1 had errors" >&2
    exit 1
  fi
  awk -v c0="$c0" -v c1="$c1" -v hz="$(getconf CLK_TCK)" '/requests in/ {n=$1} /^Requests\/sec:/ {r=$2} END {printf "%s %.2f\n", r, (c1-c0)/hz*1e6/n}' <<<"$out"
}

# wire_profile: a CPU profile of Roster for 10 s, in the background, to
# WIRE_PROFILE when set; with WIRE_PROFILE_ALL, Roster's and the bare
# reference's over the whole run (called once, before the first window).
wire_profile() {
  if [ -n "${WIRE_PROFILE_ALL:-}" ] && [ -z "${PROF_ALL_PIDS:-}" ]; then
    local n=2 secs
    if [ -n "$BASE_URL" ]; then n=3; fi
    secs=$(( (${DUR%s} * ROUNDS + 2) * n + 5 ))
    curl -s -o "$WIRE_PROFILE_ALL.roster" "http://127.0.0.1:$PA/debug/pprof/profile?seconds=$secs" &
    PROF_ALL_PIDS=$!
    curl -s -o "$WIRE_PROFILE_ALL.bare" "http://127.0.0.1:$PBP/debug/pprof/profile?seconds=$secs" &
    PROF_ALL_PIDS="$PROF_ALL_PIDS $!"
  fi
  if [ -n "${WIRE_PROFILE:-}" ]; then
    curl -s -o "$WIRE_PROFILE" "http://127.0.0.1:$PA/debug/pprof/profile?seconds=10" &
    PROF_PID=$!
  fi
}

# wire_profile_wait: waits for the profiles wire_profile took.
wire_profile_wait() {
  local p
  for p in ${PROF_PID:-} ${PROF_ALL_PIDS:-}; do wait "$p" || true; done
}

# wire_rounds PATH SCRIPT PER: WIRE_ROUNDS rounds of (Roster window, bare
# window[, base window]) after a 2 s warm-up of each; prints each round
# and the means (requests/s times PER: decisions per request; and each
# server's CPU µs per request) and sets ROSTER_MEAN, BARE_MEAN, RATIO
# (Roster over bare), CPU_NOTE and BASE_NOTE.
wire_rounds() {
  local path=$1 script=$2 per=$3 r a b c sa=0 sb=0 sc=0 ua=0 ub=0 uc=0 note x
  wire_wrk "$ROSTER_URL" "$path" "$script" 2s >/dev/null
  wire_wrk "$BARE_URL" "$path" "$script" 2s >/dev/null
  if [ -n "$BASE_URL" ]; then wire_wrk "$BASE_URL" "$path" "$script" 2s >/dev/null; fi
  for r in $(seq "$ROUNDS"); do
    [ "$r" = 1 ] && wire_profile
    x=$(wire_wrk "$ROSTER_URL" "$path" "$script" "$DUR" "$ROSTER_PID"); a=${x% *}; ua=$(awk -v s="$ua" -v x="${x#* }" 'BEGIN{print s+x}')
    x=$(wire_wrk "$BARE_URL" "$path" "$script" "$DUR" "$BARE_PID"); b=${x% *}; ub=$(awk -v s="$ub" -v x="${x#* }" 'BEGIN{print s+x}')
    note=""
    if [ -n "$BASE_URL" ]; then
      x=$(wire_wrk "$BASE_URL" "$path" "$script" "$DUR" "$BASE_PID"); c=${x% *}; uc=$(awk -v s="$uc" -v x="${x#* }" 'BEGIN{print s+x}')
      sc=$(awk -v s="$sc" -v x="$c" 'BEGIN{print s+x}')
      note=$(awk -v a="$a" -v c="$c" -v p="$per" 'BEGIN{printf ", base %.0f, roster/base %.3f", c*p, a/c}')
    fi
    echo "round $r: roster $(awk -v x="$a" -v p="$per" 'BEGIN{printf "%.0f", x*p}'), bare $(awk -v x="$b" -v p="$per" 'BEGIN{printf "%.0f", x*p}'), ratio $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.3f", a/b}')$note"
    sa=$(awk -v s="$sa" -v x="$a" 'BEGIN{print s+x}')
    sb=$(awk -v s="$sb" -v x="$b" 'BEGIN{print s+x}')
  done
  wire_profile_wait
  ROSTER_MEAN=$(awk -v s="$sa" -v n="$ROUNDS" -v p="$per" 'BEGIN{printf "%.0f", s/n*p}')
  BARE_MEAN=$(awk -v s="$sb" -v n="$ROUNDS" -v p="$per" 'BEGIN{printf "%.0f", s/n*p}')
  RATIO=$(awk -v a="$sa" -v b="$sb" 'BEGIN{printf "%.3f", a/b}')
  CPU_NOTE=$(awk -v a="$ua" -v b="$ub" -v n="$ROUNDS" 'BEGIN{printf "; server CPU per request: roster %.1f us, bare %.1f us (bare/roster %.3f)", a/n, b/n, b/a}')
  BASE_NOTE=""
  if [ -n "$BASE_URL" ]; then
    BASE_NOTE=$(awk -v a="$sa" -v c="$sc" -v n="$ROUNDS" -v p="$per" -v u="$uc" 'BEGIN{printf "; base %.0f, roster/base %.3f, base CPU per request %.1f us", c/n*p, a/c, u/n}')
  fi
}
