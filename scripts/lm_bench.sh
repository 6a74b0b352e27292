#!/usr/bin/env bash
# One training step (forward and backward, no optimizer) of the default LM
# configuration in Go (package lm) beside PyTorch CPU float64 on one thread
# on the identical configuration, and their ratio. PyTorch comes from
# Debian's python3-torch (scripts/torch.sh installs it when missing).
# Run from the repository root: scripts/lm_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# The default configuration: lm.DefaultConfig and lm.DefaultBatch.
CFG=(--vocab 128 --width 16 --layers 2 --heads 2 --context 32 --batch 64)
go_ms=$(go test -run '^$' -bench 'Step/default$' -benchtime 50x -count 3 ./lm |
	awk '/BenchmarkStep\/default/ { ms = $3 / 1e6; if (best == "" || ms < best) best = ms } END { printf "%.2f", best }')
PY=$(scripts/torch.sh | tail -1)
torch_ms=$(OMP_NUM_THREADS=1 "$PY" scripts/lm_reference.py bench "${CFG[@]}" --steps 50 |
	"$PY" -c 'import json,sys; print("%.2f" % json.loads(sys.stdin.read().strip().splitlines()[-1])["min_ms"])')
echo "| configuration | Go (package lm) | PyTorch float64, 1 thread | Go / PyTorch |"
echo "|---|---:|---:|---:|"
echo "| vocab 128, width 16, 2 layers, 2 heads, context 32, batch 64 | ${go_ms} ms | ${torch_ms} ms | $(awk -v a="$go_ms" -v b="$torch_ms" 'BEGIN { printf "%.2f×", a / b }') |"
