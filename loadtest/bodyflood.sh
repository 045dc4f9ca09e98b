#!/usr/bin/env bash
# loadtest/bodyflood.sh [BIN] [PORT]: serve BIN (default: a fresh build of
# ./cmd/roster) on a new SQLite file with its own TMPDIR, flood the console's
# public forms with 48 MiB multipart posts from 8 connections for 20 s
# (loadtest/cmd/bodyflood), and print the process's RSS and the temp folder
# before and after (issue 19's measurement, as an outsider sees it).
set -euo pipefail
cd "$(dirname "$0")/.."
D=$(mktemp -d); mkdir "$D/tmp"
BIN=${1:-}
if [ -z "$BIN" ]; then BIN="$D/roster"; go build -o "$BIN" ./cmd/roster; fi
PORT=${2:-18080}
go build -o "$D/bodyflood" ./loadtest/cmd/bodyflood
TMPDIR="$D/tmp" "$BIN" serve --database "$D/roster.db" --addr 127.0.0.1:$PORT --admin-addr= >"$D/log" 2>&1 &
PID=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.2; done
sleep 2
echo "before: rss_kb=$(ps -o rss= -p $PID) tmp_bytes=$(du -sb "$D/tmp" | cut -f1) tmp_files=$(ls "$D/tmp" | wc -l)"
( while kill -0 $PID 2>/dev/null; do ps -o rss= -p $PID; sleep 0.5; done ) >"$D/rss" &
SAMPLER=$!
"$D/bodyflood" -url "http://127.0.0.1:$PORT" -c 8 -d 20s
sleep 1
echo "after:  rss_kb=$(ps -o rss= -p $PID) tmp_bytes=$(du -sb "$D/tmp" | cut -f1) tmp_files=$(ls "$D/tmp" | wc -l) max_rss_kb_during=$(sort -n "$D/rss" | tail -1)"
kill $PID; wait $PID 2>/dev/null || true; kill $SAMPLER 2>/dev/null || true
rm -rf "$D"
