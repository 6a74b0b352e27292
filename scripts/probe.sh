#!/usr/bin/env bash
# Sends a running Arena server on this machine the hostile requests of
# issue 13 (NUL bytes, invalid UTF-8 and out-of-range numbers; a second
# JSON value; 100 MB bodies; bodies at a byte a second; wrong methods; an
# event stream held past the body timeout) and prints a pass/fail table.
# Exits 1 if any failed. See internal/probe for what each scenario checks.
#
# Usage: scripts/probe.sh [-url http://127.0.0.1:8080] [-admin KEY] [-body-timeout 30s]
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./internal/probe "$@"
