"""Report Python jobs and Celery tasks to jobwatch.

``jobwatch.monitor("slug")`` reports a block or a function as one run of a job;
``jobwatch.celery.init(app)`` reports every task of a Celery app (``pip install jobwatch[celery]``).
The server and keys come from JOBWATCH_URL, JOBWATCH_PING_KEY and JOBWATCH_API_KEY, as for the
``jobwatch`` command line, or from explicit arguments.
"""

from ._client import (
    DEFAULT_BODY_LIMIT,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    DEFAULT_URL,
    Client,
    JobwatchError,
    PingResult,
    __version__,
    tail_bytes,
    valid_slug,
)
from ._monitor import monitor

__all__ = [
    "DEFAULT_BODY_LIMIT",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "DEFAULT_URL",
    "Client",
    "JobwatchError",
    "PingResult",
    "__version__",
    "monitor",
    "tail_bytes",
    "valid_slug",
]
