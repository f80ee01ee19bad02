#!/usr/bin/env bash
# Sweep cost by fleet size (10,000 and 100,000 jobs, 1% due) on SQLite and DynamoDB (moto).
# Needs .venv (run ./scripts/test once). Prints a markdown table, and how long seeding moto
# took. Takes several minutes, mostly seeding. JOBWATCH_SWEEP_BENCH_FLEETS=10000 (comma-
# separated) chooses the fleet sizes; JOBWATCH_MOTO_SERVER, another moto_server.
set -euo pipefail
cd "$(dirname "$0")/.."
export JOBWATCH_MOTO_SERVER="${JOBWATCH_MOTO_SERVER:-$PWD/.venv/bin/moto_server}"
[ -x "$JOBWATCH_MOTO_SERVER" ] || { echo "run ./scripts/test once first (it installs moto into .venv)" >&2; exit 1; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr)"
cargo test --locked -q -p jobwatch-tests --test sweep_bench -- --ignored --nocapture 2>/dev/null | grep -E '^(\||seeded)'
