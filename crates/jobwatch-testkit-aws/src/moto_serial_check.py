"""Checks moto_serial.py's transactions against moto's own, in process, without a server.

Two DynamoDB backends get the same random transactions: one through the wrapped
transact_write_items (copies only the items a transaction names), one through moto's
original (copies whole tables). After every transaction both must have raised the same
error (type, message, cancellation reasons in order) or none, and hold the same items in the
same order, with the same stream records. Then it times one transaction on a table of
20,000 items both ways and prints the times.

Run with moto_server's Python: python3 moto_serial_check.py [SEED] [ROUNDS] [ITEMS]
(defaults 13, 2000, 20000; ITEMS 0 skips the timing). It exits non-zero on the first
difference. tests/moto_transactions.rs runs it without the timing.
"""

import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import moto_serial  # noqa: E402  (applies the patches)
from moto.dynamodb.models import DynamoDBBackend  # noqa: E402

ACCOUNT = "123456789012"
HASH_ONLY = "hash-only"
WITH_RANGE = "with-range"
STREAM_FIELDS = ("Keys", "NewImage", "OldImage", "SequenceNumber")
EPISODE = 100


def new_backend():
    backend = DynamoDBBackend("us-east-1", ACCOUNT)
    common = dict(
        throughput=None,
        indexes=None,
        billing_mode="PAY_PER_REQUEST",
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    backend.create_table(
        HASH_ONLY,
        schema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        attr=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        global_indexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        streams=None,
        **common,
    )
    backend.create_table(
        WITH_RANGE,
        schema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        attr=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        global_indexes=None,
        streams={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        **common,
    )
    return backend


def key_of(rng, table):
    key = {"PK": {"S": f"p{rng.randrange(5)}"}}
    if table == WITH_RANGE:
        key["SK"] = {"S": f"s{rng.randrange(3)}"}
    return key


def condition(rng):
    """A condition, or None, that holds on some items and not on others."""
    return rng.choice(
        [
            None,
            None,
            ("attribute_not_exists(PK)", {}),
            ("attribute_exists(PK)", {}),
            ("v < :limit", {":limit": {"N": str(rng.randrange(6))}}),
        ]
    )


def operation(rng):
    table = rng.choice([HASH_ONLY, WITH_RANGE])
    key = key_of(rng, table)
    kind = rng.choice(["Put", "Update", "Update", "Delete", "ConditionCheck"])
    op = {"TableName": table}
    values = {}
    if kind == "Put":
        op["Item"] = dict(key, v={"N": str(rng.randrange(6))}, g={"S": f"g{rng.randrange(3)}"})
    else:
        op["Key"] = key
    if kind == "Update":
        if rng.random() < 0.15:
            # Fails inside moto's update when v is missing: a ValidationException mid-way.
            op["UpdateExpression"] = "SET v = v + :one"
            values[":one"] = {"N": "1"}
        else:
            op["UpdateExpression"] = "SET v = :v, g = :g"
            values[":v"] = {"N": str(rng.randrange(6))}
            values[":g"] = {"S": f"g{rng.randrange(3)}"}
    check = condition(rng)
    if kind == "ConditionCheck" and check is None:
        check = ("attribute_exists(PK)", {})
    if check is not None:
        op["ConditionExpression"] = check[0]
        values.update(check[1])
        if rng.random() < 0.3:
            op["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    if values:
        op["ExpressionAttributeValues"] = values
    return {kind: op}


def state(backend):
    """Every table's items in moto's order (buckets included), and its stream records."""
    result = {}
    for name, table in backend.tables.items():
        if table.range_key_attr is None:
            items = [(repr(k.to_json()), item.to_json()) for k, item in table.items.items()]
        else:
            items = [
                (repr(h.to_json()), [(repr(r.to_json()), i.to_json()) for r, i in bucket.items()])
                for h, bucket in table.items.items()
            ]
        stream = None
        if table.stream_shard is not None:
            # Without the fields that differ between any two runs (id, time, size).
            stream = [
                (r["eventName"], {k: r["dynamodb"].get(k) for k in STREAM_FIELDS})
                for r in (record.to_json() for record in table.stream_shard.items)
            ]
        result[name] = (items, stream)
    return result


def outcome(call):
    try:
        call()
    except Exception as error:  # noqa: BLE001: the error is the outcome compared
        return (
            type(error).__name__,
            str(error),
            getattr(error, "description", None),
        )
    return None


def compare(seed, rounds):
    rng = random.Random(seed)
    failures = 0
    for round_number in range(rounds):
        if round_number % EPISODE == 0:
            # Fresh tables now and then: the stream records otherwise pile up.
            wrapped, original = new_backend(), new_backend()
        transaction = [operation(rng) for _ in range(rng.randrange(1, 5))]
        got = outcome(lambda: wrapped.transact_write_items(transaction))
        want = outcome(
            lambda: moto_serial._original_transact_write_items(original, transaction)
        )
        failures += got is not None
        if got != want:
            sys.exit(f"round {round_number}: {transaction}\nwrapped: {got}\nmoto: {want}")
        if state(wrapped) != state(original):
            sys.exit(
                f"round {round_number}: {transaction}\n"
                f"wrapped: {state(wrapped)}\nmoto: {state(original)}"
            )
    return failures


def timing(items):
    """Seconds for one transaction that fails and one that succeeds, on a table of `items`."""
    times = {}
    for label, call in [
        ("wrapped", DynamoDBBackend.transact_write_items),
        ("moto", moto_serial._original_transact_write_items),
    ]:
        backend = new_backend()
        for n in range(items):
            backend.put_item(HASH_ONLY, {"PK": {"S": f"job-{n:06}"}, "v": {"N": "1"}})
        update = {
            "Update": {
                "TableName": HASH_ONLY,
                "Key": {"PK": {"S": "job-000001"}},
                "UpdateExpression": "SET v = :v",
                "ExpressionAttributeValues": {":v": {"N": "2"}},
            }
        }
        failing = {
            "ConditionCheck": {
                "TableName": HASH_ONLY,
                "Key": {"PK": {"S": "job-000002"}},
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }
        started = time.perf_counter()
        call(backend, [update])
        ok = time.perf_counter() - started
        started = time.perf_counter()
        outcome(lambda: call(backend, [update, failing]))
        cancelled = time.perf_counter() - started
        times[label] = (ok, cancelled)
    return times


def main():
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 13
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    if not moto_serial.PATCHED:
        sys.exit("moto_serial did not patch transact_write_items (see its guard)")
    items = int(sys.argv[3]) if len(sys.argv) > 3 else 20_000
    failures = compare(seed, rounds)
    print(f"{rounds} random transactions (seed {seed}, {failures} failed): same as moto's")
    if items:
        for label, (ok, cancelled) in timing(items).items():
            print(
                f"{items} items, {label}: {ok * 1000:.1f} ms applied, "
                f"{cancelled * 1000:.1f} ms cancelled"
            )


if __name__ == "__main__":
    main()
