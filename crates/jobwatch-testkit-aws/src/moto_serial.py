"""moto_server, answering one request at a time, with DynamoDB transactions that copy only
the items they touch.

One request at a time. moto applies a DynamoDB transaction by backing up the tables it names
and, when a condition check fails, restoring that backup: a write that another request made
in between is lost although it was acknowledged, so racing tests see updates vanish.
DynamoDB itself isolates transactions; serialising moto's requests gives the tests that
guarantee back. Connections are still accepted concurrently (moto's threaded server); only
the handling is serial.

Transactions that copy only what they touch. moto's backup is copy.deepcopy of every table
a TransactWriteItems names, taken before anything is applied: on a table of 100,000 items
each transaction then takes seconds, which makes a large fleet impossible to benchmark.
Here moto's own DynamoDBBackend.transact_write_items still runs, wrapped so that:

1. before it runs, the wrapper copies the items its operations name (the table and the key:
   a Put's from its Item, the others' from Key), at most 100 items, or notes that an item is
   absent; for a Delete of an item that exists it also keeps the order of the keys around it
   (moto scans in insertion order), and for each table with a stream, how many stream
   records it holds;
2. while it runs, copy.deepcopy of a Table inside moto's DynamoDB backend module returns the
   table itself, so moto's backup costs nothing and its own restore
   (self.tables[name] = backup) puts back the very same table;
3. if it raises anything (TransactionCanceledException, the duplicate-item
   ValidationException, a validation error), the wrapper puts those items back as they were,
   in their old order, and drops the stream records the transaction added; the exception
   then propagates unchanged.

Everything else is moto's code, unchanged: the checks and their order, the cancellation
reasons (one per operation, in order), the check that no item appears twice, and the writes
through moto's put_item, update_item and delete_item. moto computes secondary indexes from
the items when it queries them, so restoring the items restores the indexes.

Why this shape. Rewriting transact_write_items with a journal would copy moto's logic and
drift from it; wrapping keeps every rule moto has and changes one thing, where the old state
is kept. Copying the named items before the call, rather than journalling each write as it
happens, needs nothing from how moto writes: an Update changes moto's Item in place without
going through the table, and the key of every item a transaction can touch is in the request
(that is DynamoDB's model). A transaction that fails before it writes anything (a malformed
key, an unknown table) has nothing to restore, so a key the wrapper cannot read is skipped.
It also restores in two cases where moto itself would not: a table named by its ARN (moto
only backs up tables named by name) and an entry with two operations (moto raises without
restoring).

Guard. The wrapper relies on moto backing up with copy.deepcopy(self.tables[table_name])
and restoring by assignment. It is installed only when the method's source says so
(moto 5.2.5, pinned in requirements-test.txt); otherwise moto is left as it is: slower,
still right.

Arguments are moto_server's (-H HOST -p PORT ...). Importing this module applies both
patches (moto_serial_check.py compares the wrapped method with moto's own).
"""

import copy
import inspect
import re
import sys
import threading

from moto import server
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server import werkzeug_app

# One request at a time.

_one_at_a_time = threading.Lock()
_handle = werkzeug_app.DomainDispatcherApplication.__call__


def _serial(self, environ, start_response):
    with _one_at_a_time:
        # The whole response is produced inside the lock: moto builds it eagerly anyway.
        return list(_handle(self, environ, start_response))


werkzeug_app.DomainDispatcherApplication.__call__ = _serial

# Transactions that copy only what they touch.

_original_transact_write_items = DynamoDBBackend.transact_write_items
_in_transaction = threading.local()


class _CopyKeepingTables:
    """The `copy` module as moto's DynamoDB backend module sees it: deepcopy of a Table
    inside a wrapped transaction is the table itself; everything else is the real module."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        if getattr(_in_transaction, "active", False) and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


class _Snapshot:
    """How one table stood before a transaction, for the items that transaction names."""

    def __init__(self, table):
        self.table = table
        # (hash, range or None) -> a copy of the Item, or None when it was absent.
        self.items = {}
        # hash -> whether its bucket existed (tables with a range key only).
        self.buckets = {}
        # id(container) -> (container, its keys in order), for Deletes of existing items.
        self.orders = {}
        shard = table.stream_shard
        self.stream = (shard, shard.items, len(shard.items)) if shard is not None else None

    def _container(self, hash_value, create=False):
        if self.table.range_key_attr is None:
            return self.table.items
        if create:
            return self.table.items[hash_value]
        return self.table.items.get(hash_value)

    def keep(self, op_type, key_attrs):
        table = self.table
        hash_value = DynamoType(key_attrs[table.hash_key_attr])
        range_value = None
        if table.range_key_attr is not None:
            range_value = DynamoType(key_attrs[table.range_key_attr])
        key = (hash_value, range_value)
        if key in self.items:
            return  # named twice: moto rejects it; the first copy is the state to restore
        if range_value is not None and hash_value not in self.buckets:
            self.buckets[hash_value] = hash_value in table.items
        container = self._container(hash_value)
        inner = hash_value if range_value is None else range_value
        item = container.get(inner) if container is not None else None
        self.items[key] = copy.deepcopy(item)
        if op_type == "Delete" and item is not None and id(container) not in self.orders:
            self.orders[id(container)] = (container, list(container))

    def restore(self):
        table = self.table
        reinserted = set()
        for (hash_value, range_value), item in self.items.items():
            inner = hash_value if range_value is None else range_value
            if item is None:
                container = self._container(hash_value)
                if container is not None:
                    container.pop(inner, None)
                continue
            container = self._container(hash_value, create=True)
            if inner not in container:
                reinserted.add(id(container))
            # Assigning to a key that is still there keeps its place.
            container[inner] = item
        for container_id in reinserted:
            container, order = self.orders.get(container_id, (None, None))
            if container is not None and set(container) == set(order):
                entries = [(k, container[k]) for k in order]
                container.clear()
                container.update(entries)
        # Buckets that moto's reads created (table.items is a defaultdict) go again.
        for hash_value, existed in self.buckets.items():
            if not existed and hash_value in table.items and not table.items[hash_value]:
                del table.items[hash_value]
        if self.stream is not None:
            shard, records, count = self.stream
            if table.stream_shard is shard and shard.items is records:
                del records[count:]


def _snapshots(backend, transact_items):
    snapshots = {}
    for entry in transact_items:
        try:
            if len(entry) != 1:
                continue
            op_type, op = next(iter(entry.items()))
            table = backend.get_table(op["TableName"])
            key_attrs = op["Item"] if op_type == "Put" else op["Key"]
            if id(table) not in snapshots:
                snapshots[id(table)] = _Snapshot(table)
            snapshots[id(table)].keep(op_type, key_attrs)
        except Exception:
            # A key that cannot be read: moto rejects that operation before it writes.
            continue
    return list(snapshots.values())


def _transact_write_items(self, transact_items):
    if len(transact_items) > 100:
        # moto raises TooManyTransactionsException before anything: nothing to copy.
        return _original_transact_write_items(self, transact_items)
    snapshots = _snapshots(self, transact_items)
    _in_transaction.active = True
    try:
        return _original_transact_write_items(self, transact_items)
    except BaseException:
        for snapshot in snapshots:
            snapshot.restore()
        raise
    finally:
        _in_transaction.active = False


def _moto_as_expected():
    """Whether moto backs up with copy.deepcopy(self.tables[...]) and restores by assignment."""
    try:
        source = inspect.getsource(_original_transact_write_items)
    except (OSError, TypeError):
        return False
    return (
        dynamodb_models.copy is copy
        and source.count("deepcopy(") == 1
        and re.search(r"copy\.deepcopy\(\s*self\.tables\[table_name\]\s*\)", source)
        is not None
        and "self.tables[table_name] = original_table_state[table_name]" in source
    )


PATCHED = _moto_as_expected()
if PATCHED:
    dynamodb_models.copy = _CopyKeepingTables()
    DynamoDBBackend.transact_write_items = _transact_write_items
else:
    print(
        "moto_serial: moto's transact_write_items is not the one this launcher wraps; "
        "transactions copy whole tables (slow on large tables, still right)",
        file=sys.stderr,
    )

if __name__ == "__main__":
    sys.exit(server.main())
