#!/usr/bin/env bash
# Stages issue 13's outages at full length, with arena serve's settings,
# and prints how long everything took to recover (see the README's
# Operations section for the figures):
#
#   - Postgres hung (it takes connections and never answers, as a stopped
#     postmaster does) and refusing, for DURATION, under a worker with
#     eight submissions queued and under way, through internal/faultproxy;
#   - NATS stopped for DURATION and started again on an empty store (no
#     stream, no consumer, no jobs) under a running API server, reconciler
#     and worker, none of them restarted.
#
# The same tests run in `make test`, shortened (3 s, and short settings).
# Needs the test Postgres (make test-db); takes about DURATION + 15 s for
# each (they run side by side).
#
# Usage: scripts/outage.sh [DURATION ...]   (default: 45s)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- 45s
for d in "$@"; do
	echo "== outages of $d"
	ARENA_OUTAGE="$d" go test -count=1 -v -timeout 30m \
		-run 'TestWorkersRideOutADatabaseOutage|TestServerAndWorkersSurviveNATSLosingItsStore' ./worker |
		grep -E '_test\.go:[0-9]+: |^(ok|FAIL|--- FAIL)' | sed 's/^ *//'
done
