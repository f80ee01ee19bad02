"""Test support: the real `jobwatch serve`, a Slack receiver, bounded waits. Loopback only."""

import http.server
import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Optional

REPO = Path(__file__).resolve().parents[3]
API_KEY = "test-api-key"
PING_KEY = "test-ping-key"


def clean_env(extra: Optional[dict] = None) -> dict:
    """This process's environment without any JOBWATCH_* variable (a developer's shell must not
    change what a test starts), loopback never proxied, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBWATCH_")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(extra or {})
    return env


def binary() -> str:
    path = os.environ.get("JOBWATCH_BIN") or str(REPO / "target" / "debug" / "jobwatch")
    if not os.access(path, os.X_OK):
        raise RuntimeError(
            f"no jobwatch binary at {path}: build it first (cargo build --bin jobwatch) "
            "or point JOBWATCH_BIN at one"
        )
    return path


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Polls `check` until it returns something truthy (returned), failing after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def closed_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SlackReceiver:
    """A Slack incoming webhook on loopback that records every JSON body posted to it."""

    def __init__(self) -> None:
        self.posts: list = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    body = {"unparsed": raw.decode("utf-8", "replace")}
                with receiver._lock:
                    receiver.posts.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def about(self, text: str) -> list:
        """The posts whose JSON mentions `text`."""
        with self._lock:
            posts = list(self.posts)
        return [p for p in posts if text in json.dumps(p, ensure_ascii=False)]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Server:
    """`jobwatch serve` on a fresh database in `folder`, on a free loopback port."""

    def __init__(
        self, folder: Path, slack_url: str, args: tuple = (), env: Optional[dict] = None
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.api_key, self.ping_key = API_KEY, PING_KEY
        self.lines: list = []
        self._stderr = open(folder / "serve.stderr", "wb")
        command = [
            binary(),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            str(folder / "jobwatch.db"),
            "--api-key",
            API_KEY,
            "--ping-key",
            PING_KEY,
            "--slack-webhook",
            slack_url,
            "--debug",
            "--sweep-interval",
            "1s",
            *args,
        ]
        # Timed-out runs post at once rather than after the 30 s grouping window.
        server_env = clean_env({"JOBWATCH_GROUP_WINDOW": "0s", **(env or {})})
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            env=server_env,
        )
        threading.Thread(target=self._read, daemon=True).start()
        try:
            first = wait_until(lambda: self.lines[:1], 20, "jobwatch serve to print its address")
        except AssertionError:
            self.stop()
            raise AssertionError(f"jobwatch serve did not start: {self.stderr()}") from None
        prefix = "jobwatch listening on "
        assert first[0].startswith(prefix), f"unexpected first line: {first[0]!r}"
        self.url = first[0][len(prefix) :].split()[0]

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def stderr(self) -> str:
        try:
            return Path(self._stderr.name).read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._stderr.close()

    # ------------------------------------------------------------------------------ admin API

    def api(self, method: str, path: str, body: Any = None) -> "tuple[int, Any]":
        """One admin API request: (status, JSON answer or text)."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw.decode("utf-8"))
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    def put_job(self, slug: str, doc: dict) -> dict:
        status, answer = self.api("PUT", f"/api/v1/jobs/{slug}", doc)
        assert status in (200, 201), f"PUT {slug}: {status} {answer}"
        return answer

    def job(self, slug: str) -> Optional[dict]:
        status, answer = self.api("GET", f"/api/v1/jobs/{slug}")
        if status == 404:
            return None
        assert status == 200, f"GET {slug}: {status} {answer}"
        return answer

    def runs(self, slug: str) -> list:
        status, answer = self.api("GET", f"/api/v1/jobs/{slug}/runs?limit=100")
        if status == 404:
            return []
        assert status == 200, f"runs of {slug}: {status} {answer}"
        return answer["runs"]

    def wait_runs(
        self, slug: str, count: int, where: Callable[[dict], bool] = bool, timeout: float = 20
    ) -> list:
        """Waits for at least `count` runs of the job that satisfy `where`; returns those."""

        def find() -> Optional[list]:
            found = [run for run in self.runs(slug) if where(run)]
            return found if len(found) >= count else None

        return wait_until(find, timeout, f"{count} runs of {slug}")

    def finished_run(self, slug: str, timeout: float = 20, rid: Optional[str] = None) -> dict:
        """Waits for a finished run (not `running`, not a `log` line) of the job."""

        def find() -> Optional[dict]:
            for run in self.runs(slug):
                if run["outcome"] in ("running", "log"):
                    continue
                if rid is None or run["run_id"] == rid:
                    return run
            return None

        return wait_until(find, timeout, f"a finished run of {slug}")
