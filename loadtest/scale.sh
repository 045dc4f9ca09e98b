#!/bin/sh
# Issue 26's ten-million-membership figures, each beside its reference in
# the same run (see each benchmark's doc comment). Run on a quiet machine
# from the repository's root; PostgreSQL on 127.0.0.1:5432 (or
# ROSTER_TEST_DATABASE) for the PostgreSQL halves and the propagation.
# The generated databases (about 3 GB of SQLite in $TMPDIR and a
# PostgreSQL database roster_coldstart_10000000) are dropped at the end
# unless KEEP=1. Generating them takes minutes the first time.
set -eu
out=${OUT:-scale-$(date +%Y%m%d-%H%M%S).txt}
run() { echo "\$ $*" | tee -a "$out"; "$@" 2>&1 | tee -a "$out"; }
uname -a >>"$out"; nproc >>"$out"; grep -m1 'model name' /proc/cpuinfo >>"$out" || true
run go test -run XXX -bench CheckInProcess -benchtime 1x -timeout 1h ./loadtest -loadtest.members 10000000
run go test -run XXX -bench 'ColdStart/' -benchtime 1x -timeout 3h ./loadtest -loadtest.members 10000000
run go test -run XXX -bench TeamList10k -benchtime 100x -timeout 1h ./loadtest -loadtest.list 100000
run go test -run XXX -bench Propagation8 -benchtime 1x ./loadtest -loadtest.accounts 64 -loadtest.warmup 15s -loadtest.rate 100
run go test -run XXX -bench Propagation8 -benchtime 1x ./loadtest -loadtest.accounts 64 -loadtest.warmup 15s
if [ "${KEEP:-0}" != 1 ]; then
	rm -f "${TMPDIR:-/tmp}"/roster-coldstart-10000000.db*
	psql "${ROSTER_TEST_DATABASE:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}" \
		-c 'DROP DATABASE IF EXISTS roster_coldstart_10000000 WITH (FORCE)' || true
fi
echo "figures in $out"
