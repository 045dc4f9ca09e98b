#!/usr/bin/env bash
# loadtest/wrkcheck.sh [BIN...]: the HTTP permission check under wrk (from
# Debian's packages), as an outsider measures it. For each binary (default:
# a fresh build of ./cmd/roster) it serves a new SQLite file, signs an owner
# up and verifies them through the API (the link from the log), and runs
# `wrk -t2 -c32 -d10s` against POST /v1/authz/check for that owner. Give two
# binaries (say, one built from an older commit) to compare them in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
bins=("$@")
if [ ${#bins[@]} -eq 0 ]; then go build -o "$D/roster" ./cmd/roster; bins=("$D/roster"); fi
port=18180
for bin in "${bins[@]}"; do
  port=$((port + 1)); w="$D/run$port"; mkdir "$w"
  ROSTER_SERVICE_TOKEN=svc "$bin" serve --database "$w/roster.db" \
    --addr 127.0.0.1:$port --admin-addr= >"$w/log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
  kill -0 $pid 2>/dev/null || { cat "$w/log" >&2; exit 1; }
  curl -s -X POST "http://127.0.0.1:$port/v1/signup" -d '{"email":"owner@acme-corp.com","password":"a long password","name":"Owner"}' >/dev/null
  sleep 0.5
  token=$(grep -o '/verify/[A-Za-z0-9_-]*' "$w/log" | head -1 | cut -d/ -f3)
  curl -s -X POST "http://127.0.0.1:$port/v1/verify-email" -d "{\"token\":\"$token\"}" >/dev/null
  acct=$(grep -o 'MA[A-Z0-9]\{18\}' "$w/log" | head -1 || true)
  [ -n "$acct" ] || acct=$("$bin" account list --database "$w/roster.db" 2>/dev/null | grep -o 'MA[A-Z0-9]\{18\}' | head -1)
  cat > "$w/post.lua" <<LUA
wrk.method = "POST"
wrk.body   = '{"account_id":"$acct","user_id":1,"permission":"numbers.edit"}'
wrk.headers["Authorization"] = "Bearer svc"
wrk.headers["Content-Type"] = "application/json"
LUA
  echo "== $bin (account $acct): $(curl -s -X POST -H 'Authorization: Bearer svc' -d "{\"account_id\":\"$acct\",\"user_id\":1,\"permission\":\"numbers.edit\"}" "http://127.0.0.1:$port/v1/authz/check")"
  wrk -t2 -c32 -d10s -s "$w/post.lua" "http://127.0.0.1:$port/v1/authz/check" | grep -E "Requests/sec|Latency|requests in|Non-2xx"
  kill $pid; wait $pid 2>/dev/null || true
done
