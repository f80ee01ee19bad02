#!/usr/bin/env bash
# Lambda figures (cold start, warm latency, peak memory, binary size) of the real binaries on
# this machine (ingest, sweeper, formatter), with a local Lambda Runtime API and moto on loopback. Needs .venv (run
# ./scripts/test once). Prints a markdown table per function.
set -euo pipefail
cd "$(dirname "$0")/.."
export JOBWATCH_MOTO_SERVER="$PWD/.venv/bin/moto_server"
[ -x "$JOBWATCH_MOTO_SERVER" ] || { echo "run ./scripts/test once first (it installs moto into .venv)" >&2; exit 1; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr)"
echo
echo "## jobwatch-ingest"
cargo test --release --locked -q -p jobwatch-ingest --test cold_start_bench -- --ignored --nocapture 2>/dev/null | grep '^|'
echo
# The sweeper and the formatter: their release binaries first (the benchmark runs them).
cargo build --release --locked -q -p jobwatch-sweeper -p jobwatch-formatter
cargo test --release --locked -q -p jobwatch-tests --test lambda_bench -- --ignored --nocapture --test-threads 1 2>/dev/null | grep -E '^(\||##|$)'
