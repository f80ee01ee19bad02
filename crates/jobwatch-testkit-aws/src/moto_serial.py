"""moto_server, answering one request at a time.

moto applies a DynamoDB transaction by copying every table and, when a condition check
fails, restoring that copy: a write that another request made in between is lost although
it was acknowledged, so racing tests see updates vanish. DynamoDB itself isolates
transactions; serialising moto's requests gives the tests that guarantee back. Connections
are still accepted concurrently (moto's threaded server); only the handling is serial.

Arguments are moto_server's (-H HOST -p PORT ...).
"""

import sys
import threading

from moto import server
from moto.moto_server import werkzeug_app

_one_at_a_time = threading.Lock()
_handle = werkzeug_app.DomainDispatcherApplication.__call__


def _serial(self, environ, start_response):
    with _one_at_a_time:
        # The whole response is produced inside the lock: moto builds it eagerly anyway.
        return list(_handle(self, environ, start_response))


werkzeug_app.DomainDispatcherApplication.__call__ = _serial

if __name__ == "__main__":
    sys.exit(server.main())
