#!/usr/bin/env bash
# Benchmark of `jobwatch serve` on this machine: ping latency with no load, throughput and
# latency under a closed-loop load of start/success pings, the server's CPU time per ping, its
# peak memory, and the detection lag (deadline -> alert). Prints markdown tables (progress goes
# to stderr).
#
#   bash bench/serve.sh
#
# It builds the release binaries, starts a throwaway server on 127.0.0.1 (free port, temporary
# database, generated keys), creates 100 jobs, then runs
#   (a) unloaded latency: 1 connection for 5 s;
#   (b) load: 16 connections for 10 s;
# both sending start + success pings with the same rid and 1 KiB bodies, and stops the server
# with SIGTERM. Then
#   (c) detection lag: the detection-lag harness of the test suite
#       (crates/jobwatch-cli/tests/detection_lag.rs: 24 deadlines, missed and timed out, each
#       timed from the deadline to the alert arriving at a local Slack receiver) against the
#       real server binary of the test profile.
# Everything it starts or creates is removed on exit. This is a measuring tool, not a test:
# CI does not run it. Results are recorded in docs/performance.md.
set -euo pipefail

JOBS=100
BODY_BYTES=1024
UNLOADED_CONNECTIONS=1
UNLOADED_DURATION=5s
LOAD_CONNECTIONS=16
LOAD_DURATION=10s

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

WORK=""
SERVER_PID=""

stop_server() {
    # SIGTERM, then up to 15 s for a clean exit, then SIGKILL. Sets SERVER_STATUS.
    SERVER_STATUS=""
    [[ -n "$SERVER_PID" ]] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 150; i++)); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            log "the server did not stop within 15 s of SIGTERM; killing it"
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
    fi
    SERVER_STATUS=0
    wait "$SERVER_PID" 2>/dev/null || SERVER_STATUS=$?
    SERVER_PID=""
}

cleanup() {
    local status=$?
    stop_server || true
    if [[ -n "$WORK" && -d "$WORK" ]]; then
        rm -rf -- "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# CPU time (utime + stime, in clock ticks) of process $1, from /proc/<pid>/stat. The command
# name (field 2) may contain spaces, so fields are counted after its closing parenthesis.
cpu_ticks() {
    local stat fields
    stat="$(<"/proc/$1/stat")"
    stat="${stat##*) }"
    read -r -a fields <<<"$stat"
    echo $((fields[11] + fields[12]))
}

# Machine-wide CPU ticks from /proc/stat: "busy iowait" (busy = user nice system irq softirq
# steal; guest time is already inside user).
machine_ticks() {
    local _cpu user nice system idle iowait irq softirq steal _rest
    read -r _cpu user nice system idle iowait irq softirq steal _rest </proc/stat
    echo "$((user + nice + system + irq + softirq + steal)) $iowait"
}

# A value from /proc/<pid>/status in kB, e.g. VmHWM.
status_kb() {
    awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"
}

# A number (or null) from the one-line JSON report of jobwatch-bench: json_num JSON KEY.
json_num() {
    local value
    value="$(sed -n "s/.*\"$2\":\(null\|[-0-9.eE+]*\).*/\1/p" <<<"$1")"
    [[ -n "$value" ]] || die "no '$2' in the report: $1"
    echo "$value"
}

random_key() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

# --- build --------------------------------------------------------------------------------
log "building: cargo build --release -p jobwatch-cli -p jobwatch-bench"
cargo build --release -p jobwatch-cli -p jobwatch-bench >&2
[[ -x "$BIN/jobwatch" && -x "$BIN/jobwatch-bench" ]] || die "release binaries not found in $BIN"
# Built now, so no compiler runs during the measurements.
LAG_TEST=(cargo test -p jobwatch-cli --test detection_lag)
log "building: ${LAG_TEST[*]} --no-run"
"${LAG_TEST[@]}" --no-run >&2

# --- server -------------------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/jobwatch-bench.XXXXXX")"
API_KEY="$(random_key)"
PING_KEY="$(random_key)"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

# Its stdout goes to a file, so it is always drained whatever the server prints.
"$BIN/jobwatch" serve --listen 127.0.0.1:0 --data "$WORK/jobwatch.db" --env bench \
    --api-key "$API_KEY" --ping-key "$PING_KEY" \
    >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!

URL=""
for ((i = 0; i < 100; i++)); do
    URL="$(sed -n '1s/^jobwatch listening on \(http:\/\/127\.0\.0\.1:[0-9]*\) .*/\1/p' "$WORK/server.out")"
    [[ -n "$URL" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.err" >&2; die "the server exited at start"; }
    sleep 0.1
done
[[ -n "$URL" ]] || die "the server did not print its address within 10 s"
log "server pid $SERVER_PID at $URL"

"$BIN/jobwatch-bench" setup --url "$URL" --api-key "$API_KEY" --jobs "$JOBS" >&2

# run_ping CONNECTIONS DURATION: runs the load generator and sets REPORT (its JSON),
# SERVER_CPU_MS (server CPU time during the run), CLIENT_CPU_S (the generator's own CPU time,
# when /usr/bin/time is available), MACHINE_BUSY_MS and MACHINE_IOWAIT_MS (all CPUs).
CLK_TCK="$(getconf CLK_TCK)"
run_ping() {
    local before after m_before m_after timer=()
    CLIENT_CPU_S="n/a"
    if [[ -x /usr/bin/time ]]; then
        timer=(/usr/bin/time -f '%U %S' -o "$WORK/client.time")
    fi
    log "ping: $1 connection(s) for $2"
    m_before="$(machine_ticks)"
    before="$(cpu_ticks "$SERVER_PID")"
    REPORT="$("${timer[@]}" "$BIN/jobwatch-bench" ping --url "$URL" --ping-key "$PING_KEY" \
        --jobs "$JOBS" --connections "$1" --duration "$2" --body-bytes "$BODY_BYTES" --json)"
    after="$(cpu_ticks "$SERVER_PID")"
    m_after="$(machine_ticks)"
    SERVER_CPU_MS=$(((after - before) * 1000 / CLK_TCK))
    MACHINE_BUSY_MS=$(((${m_after% *} - ${m_before% *}) * 1000 / CLK_TCK))
    MACHINE_IOWAIT_MS=$(((${m_after#* } - ${m_before#* }) * 1000 / CLK_TCK))
    if [[ ${#timer[@]} -gt 0 ]]; then
        CLIENT_CPU_S="$(tail -n1 "$WORK/client.time" | awk '{ printf "%.2f", $1 + $2 }')"
    fi
    log "$REPORT"
}

run_ping "$UNLOADED_CONNECTIONS" "$UNLOADED_DURATION"
U_REPORT="$REPORT" U_CPU_MS="$SERVER_CPU_MS" U_CLIENT_CPU="$CLIENT_CPU_S"
U_BUSY_MS="$MACHINE_BUSY_MS" U_IOWAIT_MS="$MACHINE_IOWAIT_MS"

run_ping "$LOAD_CONNECTIONS" "$LOAD_DURATION"
L_REPORT="$REPORT" L_CPU_MS="$SERVER_CPU_MS" L_CLIENT_CPU="$CLIENT_CPU_S"
L_BUSY_MS="$MACHINE_BUSY_MS" L_IOWAIT_MS="$MACHINE_IOWAIT_MS"

PEAK_RSS_KB="$(status_kb "$SERVER_PID" VmHWM)"
DB_BYTES="$(stat -c %s "$WORK/jobwatch.db")"
WAL_BYTES="$(stat -c %s "$WORK/jobwatch.db-wal" 2>/dev/null || echo 0)"

STOP_START="$(date +%s%N)"
stop_server
STOP_MS=$((($(date +%s%N) - STOP_START) / 1000000))
[[ "$SERVER_STATUS" == 0 ]] || log "warning: the server exited with status $SERVER_STATUS"
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- detection lag ------------------------------------------------------------------------
log "detection lag: ${LAG_TEST[*]} -- --nocapture"
LAG_OUT="$("${LAG_TEST[@]}" -- --nocapture 2>&1)" || { log "$LAG_OUT"; die "the detection-lag harness failed"; }
LAG_LINE="$(grep -m1 '^detection lag over' <<<"$LAG_OUT")" || die "no result line from the detection-lag harness"
log "$LAG_LINE"
LAG_TRIALS="$(sed -n 's/^detection lag over \([0-9]*\) trials.*/\1/p' <<<"$LAG_LINE")"
LAG_MEDIAN="$(sed -n 's/.*median \([0-9.]*\) ms.*/\1/p' <<<"$LAG_LINE")"
LAG_MAX="$(sed -n 's/.*max \([0-9.]*\) ms.*/\1/p' <<<"$LAG_LINE")"

# --- report -------------------------------------------------------------------------------
# cores MS SECONDS: average number of CPUs kept busy.
cores() { awk -v ms="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.2f", ms / 1000 / s; else print "n/a" }'; }
# other BUSY_MS SERVER_MS CLIENT_S SECONDS: cores used by everything but server and generator.
other() {
    awk -v b="$1" -v sv="$2" -v c="$3" -v s="$4" \
        'BEGIN { if (c == "n/a") { print "n/a"; exit } o = (b - sv - c * 1000) / 1000 / s; printf "%.2f", (o < 0 ? 0 : o) }'
}
per_ping() { awk -v ms="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.3f", ms / n; else print "n/a" }'; }

SOURCE="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    SOURCE="$SOURCE with uncommitted changes"
fi
CPU_MODEL="$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n1)"
U_REQ="$(json_num "$U_REPORT" requests)"
L_REQ="$(json_num "$L_REPORT" requests)"
U_SECONDS="$(json_num "$U_REPORT" elapsed_s)"
L_SECONDS="$(json_num "$L_REPORT" elapsed_s)"
DB_FS="$(df -PT "$WORK" | awk 'NR == 2 { print $2 " on " $1 }')"

cat <<EOF

## jobwatch serve benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ))

Machine: ${CPU_MODEL:-unknown CPU}, $(nproc) CPUs, Linux $(uname -r); load average before the run: $LOAD_BEFORE, after the load phases: $LOAD_AFTER; database on $DB_FS.
Source: commit $SOURCE. Server and load generator share the machine. $JOBS jobs, start + success pings with the same rid, $BODY_BYTES-byte bodies, one HTTP/1.1 keep-alive connection per client, closed loop.

| Figure | (a) unloaded: $UNLOADED_CONNECTIONS connection, $UNLOADED_DURATION | (b) load: $LOAD_CONNECTIONS connections, $LOAD_DURATION |
|---|---:|---:|
| Requests (pings) | $U_REQ | $L_REQ |
| Errors (non-200 or I/O) | $(json_num "$U_REPORT" errors) | $(json_num "$L_REPORT" errors) |
| Requests/s | $(json_num "$U_REPORT" requests_per_s) | $(json_num "$L_REPORT" requests_per_s) |
| Latency p50 (ms) | $(json_num "$U_REPORT" p50) | $(json_num "$L_REPORT" p50) |
| Latency p90 (ms) | $(json_num "$U_REPORT" p90) | $(json_num "$L_REPORT" p90) |
| Latency p99 (ms) | $(json_num "$U_REPORT" p99) | $(json_num "$L_REPORT" p99) |
| Latency max (ms) | $(json_num "$U_REPORT" max) | $(json_num "$L_REPORT" max) |
| Server CPU time (ms) | $U_CPU_MS | $L_CPU_MS |
| Server CPU per ping (ms) | $(per_ping "$U_CPU_MS" "$U_REQ") | $(per_ping "$L_CPU_MS" "$L_REQ") |
| Server CPU use (cores) | $(cores "$U_CPU_MS" "$U_SECONDS") | $(cores "$L_CPU_MS" "$L_SECONDS") |
| Load generator CPU time (s) | $U_CLIENT_CPU | $L_CLIENT_CPU |
| Machine CPU busy, all processes (cores) | $(cores "$U_BUSY_MS" "$U_SECONDS") | $(cores "$L_BUSY_MS" "$L_SECONDS") |
| ... of which other processes (cores) | $(other "$U_BUSY_MS" "$U_CPU_MS" "$U_CLIENT_CPU" "$U_SECONDS") | $(other "$L_BUSY_MS" "$L_CPU_MS" "$L_CLIENT_CPU" "$L_SECONDS") |
| Machine iowait (cores) | $(cores "$U_IOWAIT_MS" "$U_SECONDS") | $(cores "$L_IOWAIT_MS" "$L_SECONDS") |

| After the load | Value |
|---|---:|
| Server peak RSS (VmHWM) | $(awk -v kb="$PEAK_RSS_KB" 'BEGIN { printf "%.1f MiB", kb / 1024 }') |
| Database file / WAL | $(awk -v b="$DB_BYTES" 'BEGIN { printf "%.1f MiB", b / 1048576 }') / $(awk -v b="$WAL_BYTES" 'BEGIN { printf "%.1f MiB", b / 1048576 }') |
| Shutdown after SIGTERM | $STOP_MS ms (exit status $SERVER_STATUS) |

| Issue 8 figure | Measured | Target |
|---|---:|---:|
| Pings/s, 16 connections, start/success, 1 KiB bodies | $(json_num "$L_REPORT" requests_per_s) | >= 15000 |
| Server CPU per ping (ms), under load | $(per_ping "$L_CPU_MS" "$L_REQ") | <= 0.1 |
| Unloaded latency p50 / p99 (ms) | $(json_num "$U_REPORT" p50) / $(json_num "$U_REPORT" p99) | <= 0.5 / 2 |
| Peak RSS after the load | $(awk -v kb="$PEAK_RSS_KB" 'BEGIN { printf "%.1f MiB", kb / 1024 }') | <= 20 MiB |
| Detection lag, deadline -> Slack alert, median / max over $LAG_TRIALS trials (ms) | $LAG_MEDIAN / $LAG_MAX | median <= 100 |
EOF
