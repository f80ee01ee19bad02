import os

import pytest
from support import Server, SlackReceiver

# A developer's shell must not change what the tests do, nor route loopback through a proxy.
for _name in [
    name for name in os.environ if name.startswith("JOBWATCH_") and name != "JOBWATCH_BIN"
]:
    del os.environ[_name]
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


@pytest.fixture(scope="session")
def slack():
    receiver = SlackReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def server(slack, tmp_path_factory):
    """One `jobwatch serve` for the session; each test uses jobs of its own."""
    process = Server(tmp_path_factory.mktemp("serve"), slack.url)
    yield process
    process.stop()


@pytest.fixture
def start_server(slack, tmp_path):
    """Starts a `jobwatch serve` of the test's own (extra `serve` arguments), stopped after."""
    started = []

    def start(*args):
        process = Server(tmp_path / f"serve-{len(started)}", slack.url, args)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
