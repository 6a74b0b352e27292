#!/usr/bin/env bash
# scripts/scaling.sh: how evaluation throughput grows with worker processes.
#
# For each number of worker processes N (and evaluations per process C),
# on a fresh database of its own, it starts `arena serve` with no
# in-process workers, submits M distinct Go-built modules
# (examples/optimizer/momentum, each built with its learning rate scaled
# by another constant), timing the uploads, then starts N `arena worker`s
# (each with an empty cache directory of its own, so every module is
# compiled) and times how long they take until every submission is final.
# Uploads go first so that the workers' throughput is measured on its own,
# not limited by how fast one client uploads. Configurations take turns, round after round
# (-r), and it prints, per configuration, the fastest and the median time
# of its rounds, with the workers' CPU time per evaluation: on a machine
# that runs other work too, the fastest round is the one least disturbed.
#
# The challenge is an optimizer challenge on the quadratic control
# workload with one public and one hidden seed (fuel and steps are the
# defaults), so each evaluation is mostly the module's compilation, which
# is what this measures: the default optimizer benchmark trains a
# transformer and would measure that instead.
#
# Bounded and local: everything listens on 127.0.0.1, every process it
# starts is stopped by its PID when it ends (or is interrupted), each run
# gives up after --timeout seconds, and its databases are dropped. It
# needs Go, curl, jq, psql and a local Postgres (`make test-db` starts
# one); ARENA_TEST_DATABASE_URL names the server's maintenance database.
#
# With 0 worker processes it only uploads, which measures the API: uploads
# per second and serve's resident memory after M distinct modules.
#
# Usage: scripts/scaling.sh [-n "1 2"] [-c "1"] [-m 16] [-r 3] [-t 600] [-b ARENA]
#   -n  worker process counts to try (default "1 2")
#   -c  evaluations at once per worker process, --concurrency (default "1")
#   -m  modules to submit per run (default 16, at most 100)
#   -r  rounds (default 3)
#   -t  seconds a run may take before it is abandoned (default 600)
#   -b  an arena binary to run instead of building ./cmd/arena (to compare
#       with another version)
set -euo pipefail

workers="1 2"
concurrency="1"
modules=16
rounds=3
timeout=600
binary=
while getopts "n:c:m:r:t:b:h" opt; do
	case $opt in
	n) workers=$OPTARG ;;
	c) concurrency=$OPTARG ;;
	m) modules=$OPTARG ;;
	r) rounds=$OPTARG ;;
	b) binary=$(realpath "$OPTARG") ;;
	t) timeout=$OPTARG ;;
	*) sed -n '2,39p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done
[ "$modules" -ge 1 ] && [ "$modules" -le 100 ] || { echo "scaling.sh: -m takes 1 to 100" >&2; exit 2; }
for tool in go curl jq psql python3; do
	command -v $tool >/dev/null || { echo "scaling.sh: needs $tool" >&2; exit 2; }
done

cd "$(dirname "$0")/.."
admin_url=${ARENA_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
tmp=$(mktemp -d -t arena-scaling.XXXXXX)
pids=()
databases=()

cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	pids=()
	for db in "${databases[@]}"; do psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
	databases=()
	[ -n "${KEEP_SCALING_TMP:-}" ] && echo "kept $tmp" >&2 || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
database_url() { # the admin URL with another database name
	python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$admin_url" "$1"
}

echo "building arena and $modules variants of examples/optimizer/momentum in $tmp" >&2
if [ -n "$binary" ]; then cp "$binary" "$tmp/arena"; else go build -o "$tmp/arena" ./cmd/arena; fi
main=$(pwd)/examples/optimizer/momentum/main.go
for i in $(seq 1 "$modules"); do
	cat >"$tmp/v$i.go" <<EOF
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/baseline/tensoropt"
	"github.com/arena-dev/arena/guest/optimizer"
)

// Variant $i of examples/optimizer/momentum: another learning rate.
func init() { optimizer.RegisterTensors(tensoropt.NewMomentum(baseline.MomentumLR * (1 + $i.0/1000))) }

func main() {}
EOF
	printf '{"Replace":{"%s":"%s"}}' "$main" "$tmp/v$i.go" >"$tmp/overlay$i.json"
	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -overlay "$tmp/overlay$i.json" -o "$tmp/v$i.wasm" ./examples/optimizer/momentum
done
size=$(stat -c %s "$tmp/v1.wasm")

# cpu PID...: the CPU seconds those processes have used.
cpu() {
	local total=0 pid t
	for pid in "$@"; do
		t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
		total=$((total + t))
	done
	echo "$total $(getconf CLK_TCK)" | awk '{printf "%.2f", $1 / $2}'
}

# rss PID: a process's resident memory now and at its peak, in MiB.
rss() {
	awk '/^VmRSS/ {now = $2} /^VmHWM/ {peak = $2} END {printf "%.0f/%.0f", now / 1024, peak / 1024}' "/proc/$1/status" 2>/dev/null || echo "?"
}

# run N C: one configuration on a fresh database; sets elapsed, upload_rate,
# worker_cpu, serve_rss, worker_rss and scored.
run() {
	local n=$1 c=$2 db port nats url admin key started uploaded done_at final serve workers=()
	db=arena_scaling_$$_${n}_$c
	psql -q "$admin_url" -c "CREATE DATABASE $db" >/dev/null
	databases+=("$db")
	url=$(database_url "$db")
	port=$(free_port)
	nats=$(free_port)
	rm -rf "$tmp/cache"
	admin=$("$tmp/arena" admin create-key --role admin --name scaling --database-url "$url")
	key=$("$tmp/arena" admin create-key --role competitor --name runner --database-url "$url")
	"$tmp/arena" serve --addr "127.0.0.1:$port" --nats-listen "127.0.0.1:$nats" --workers 0 --demo=false \
		--rate-limit 0 --database-url "$url" --cache-dir "$tmp/cache/serve" >"$tmp/serve.log" 2>&1 &
	pids+=($!)
	serve=$!
	for _ in $(seq 1 300); do
		curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
		sleep 0.1
	done
	curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || { echo "serve did not start:" >&2; cat "$tmp/serve.log" >&2; exit 1; }
	curl -fs -X POST "http://127.0.0.1:$port/api/v1/challenges" -H "Authorization: Bearer $admin" \
		-H 'Content-Type: application/json' -d '{"slug":"scaling","kind":"optimizer",
		"params":{"workloads":["quadratic"],"seeds":[1]},"rules":{"hidden_seeds":1,"daily_submissions":0}}' >/dev/null

	local upload_start
	upload_start=$(date +%s.%N)
	for i in $(seq 1 "$modules"); do
		curl -fs -X POST "http://127.0.0.1:$port/api/v1/challenges/scaling/submissions" -H "Authorization: Bearer $key" \
			-H 'Content-Type: application/wasm' --data-binary "@$tmp/v$i.wasm" >/dev/null
	done
	uploaded=$(date +%s.%N)

	started=$(date +%s.%N)
	for w in $(seq 1 "$n"); do
		"$tmp/arena" worker --nats-url "nats://127.0.0.1:$nats" --database-url "$url" --concurrency "$c" \
			--cache-dir "$tmp/cache/worker$w" >"$tmp/worker$w.log" 2>&1 &
		pids+=($!)
		workers+=($!)
	done
	final=0
	local deadline=$((SECONDS + timeout))
	while [ "$n" -gt 0 ]; do
		final=$(curl -fs "http://127.0.0.1:$port/api/v1/challenges/scaling/submissions" |
			jq '[.submissions[] | select(.status != "queued" and .status != "running")] | length')
		[ "$final" -ge "$modules" ] && break
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "N=$n C=$c: $final of $modules final after ${timeout}s; abandoned" >&2
			break
		fi
		sleep 0.25
	done
	done_at=$(date +%s.%N)
	worker_cpu=$(echo "$(cpu "${workers[@]}") $modules" | awk '{printf "%.2f", $1 / $2}')
	[ "$n" -gt 0 ] || done_at=$uploaded
	scored=$(curl -fs "http://127.0.0.1:$port/api/v1/challenges/scaling/submissions" | jq '[.submissions[] | select(.status == "scored")] | length')
	elapsed=$(echo "$started $done_at" | awk '{printf "%.1f", $2 - $1}')
	serve_rss=$(rss "$serve")
	worker_rss=$([ "$n" -gt 0 ] && rss "${workers[0]}" || echo -)
	upload_rate=$(echo "$upload_start $uploaded $modules" | awk '{printf "%.1f", $3 / ($2 - $1)}')

	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	pids=()
	psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
}

echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); modules of $size bytes" >&2
declare -A times cpus uploads serves
for r in $(seq 1 "$rounds"); do
	for c in $concurrency; do
		for n in $workers; do
			run "$n" "$c"
			echo "round $r: $n worker processes x $c: $elapsed s, $scored of $modules scored, $worker_cpu s of worker CPU per evaluation, $upload_rate uploads/s; RSS now/peak: serve $serve_rss MiB, worker 1 $worker_rss MiB; load average $(cut -d' ' -f1 /proc/loadavg)" >&2
			times[$n,$c]+="$elapsed "
			cpus[$n,$c]+="$worker_cpu "
			uploads[$n,$c]+="$upload_rate "
			serves[$n,$c]+="${serve_rss#*/} "
		done
	done
done

# stats LIST: the fastest (smallest) and the median of a list of numbers.
fastest() { tr ' ' '\n' <<<"$1" | grep . | sort -g | head -1; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
largest() { tr ' ' '\n' <<<"$1" | grep . | sort -g | tail -1; }
# Speed-ups are against the first configuration with workers.
first_c=${concurrency%% *}
for first_n in $workers; do [ "$first_n" -gt 0 ] && break; done
base=$(fastest "${times[$first_n,$first_c]}")
echo "| worker processes | evaluations at once per process | time to score all $modules (fastest; median of $rounds) | evaluations/s | speed-up | worker CPU per evaluation | uploads/s (best) | serve's peak RSS |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in $concurrency; do
	for n in $workers; do
		t=$(fastest "${times[$n,$c]}")
		echo "$n $c $t $(median "${times[$n,$c]}") $modules $base $(median "${cpus[$n,$c]}") $(largest "${uploads[$n,$c]}") $(largest "${serves[$n,$c]}")" |
			awk '$1 == 0 {printf "| 0 | | (uploads only) | | | | %.1f | %d MiB |\n", $8, $9; next}
				{printf "| %d | %d | %.1f s; %.1f s | %.2f | %.2fx | %.2f s | %.1f | %d MiB |\n", $1, $2, $3, $4, $5 / $3, $6 / $3, $7, $8, $9}'
	done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
