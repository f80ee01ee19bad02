#!/usr/bin/env bash
# The web view's overview of 1,000 jobs on `jobwatch serve`: server time (median of 30 GETs on
# loopback, so almost all of it is rendering) and weight, uncompressed and gzip-compressed.
# JOBWATCH_BIN chooses the binary (default: a release build, made here). Takes about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${JOBWATCH_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --locked -q --release --bin jobwatch
  bin=target/release/jobwatch
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr); binary: $bin"
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --listen "127.0.0.1:$port" --data "$dir/jobwatch.db" --api-key bench-api --ping-key bench-ping >"$dir/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$dir"' EXIT
sleep 1
PORT=$port python3 - <<'PY'
import gzip, http.client, json, os, re, statistics, time
c = http.client.HTTPConnection("127.0.0.1", int(os.environ["PORT"]), timeout=10)
def call(method, path, body=None, headers={}):
    c.request(method, path, body, headers)
    r = c.getresponse()
    return r, r.read()
admin = {"Authorization": "Bearer bench-api", "Content-Type": "application/json"}
for i in range(1000):
    job = {"schedule": "%d * * * *" % (i % 60), "tz": "Europe/Berlin", "tags": ["team-%d" % (i % 7), "db"],
           "description": "nightly job number %d of the billing batch" % i}
    r, _ = call("PUT", "/api/v1/jobs/job-%04d" % i, json.dumps(job), admin)
    assert r.status in (200, 201), r.status
for i in range(0, 1000, 3):  # a third of the jobs with five runs, some failed
    for k in range(5):
        call("GET", "/ping/bench-ping/job-%04d/start" % i)
        call("GET", "/ping/bench-ping/job-%04d/%d" % (i, 0 if (i + k) % 11 else 1))
_, form = call("GET", "/login")
token = re.search(rb'name="csrf" value="([^"]+)"', form).group(1).decode()
r, _ = call("POST", "/login", "csrf=%s&next=%%2F&api_key=bench-api" % token,
            {"Content-Type": "application/x-www-form-urlencoded"})
cookie = r.getheader("Set-Cookie").split(";")[0]
print("| overview of 1,000 jobs | median ms | min ms | bytes |")
print("|---|---|---|---|")
for encoding in ["identity", "gzip"]:
    times = []
    for _ in range(30):
        start = time.perf_counter()
        r, body = call("GET", "/", None, {"Cookie": cookie, "Accept-Encoding": encoding})
        times.append((time.perf_counter() - start) * 1000)
    assert r.status == 200 and (encoding == "gzip" or body.count(b"data-slug=") == 1000)
    print("| %s | %.1f | %.1f | %d |" % (encoding, statistics.median(times), min(times), len(body)))
PY
