#!/usr/bin/env python3
"""percore-kv's --maxmemory: noeviction refuses writes that may grow memory with Redis's -OOM error and accepts them
again once memory is freed; allkeys-lru evicts sampled least-recently-used keys and keeps used_memory under the
limit; INFO used_memory follows what the keyspace holds. percore-kv alone: its figures are its own, not Redis's.

usage: maxmemory_single_shard_test.py PATH_TO_percore-kv
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvtest import check, finish, start_kv, wait_for  # noqa: E402

KV = sys.argv[1]
OOM = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"
LIMIT = 4 * 1024 * 1024
VALUE = "v" * 100


def info(server, field):
    raw = server.call("INFO").decode(errors="replace")
    for line in raw.split("\r\n"):
        if line.startswith(field + ":"):
            return int(line.split(":", 1)[1])
    raise KeyError(field)


def fill(server, prefix, count, batch=500):
    """SETs prefix:<i> for i < count, pipelined; returns the replies that were not +OK."""
    bad = []
    conn = server.connect()
    for start in range(0, count, batch):
        replies = conn.pipeline([["SET", f"{prefix}:{i:08d}", VALUE] for i in range(start, min(count, start + batch))])
        bad += [r for r in replies if r != b"+OK\r\n"]
    conn.close()
    return bad


def noeviction():
    s = start_kv(KV, 1, "--maxmemory", str(LIMIT), "--maxmemory-policy", "noeviction")
    try:
        empty = info(s, "used_memory")
        bad = fill(s, "k", 60000)  # ~60000 x 170 B: well past 4 MB
        check(len(bad) > 0 and all(r == OOM for r in bad), "noeviction: writes past maxmemory get Redis's -OOM error",
              f"{len(bad)} refusals, first {bad[:1]}")
        used = info(s, "used_memory")
        check(LIMIT - 4096 < used <= LIMIT + 4096, f"noeviction: used_memory stops at the limit ({used} of {LIMIT})")
        keys = int(s.call("DBSIZE")[1:-2])
        check(30000 > keys > 10000, f"noeviction: the keys written before the limit stay ({keys})")
        check(s.call("GET", "k:00000000") == b"$100\r\n" + VALUE.encode() + b"\r\n", "noeviction: reads still work")
        check(s.call("INCR", "counter") == OOM, "noeviction: INCR (may grow memory) is refused too")
        check(s.call("DEL", "k:00000000") == b":1\r\n", "noeviction: DEL is allowed past the limit")
        check(s.call("FLUSHALL") == b"+OK\r\n", "noeviction: FLUSHALL is allowed")
        # The flushed keys are freed in the background and counted until then (as Redis counts lazy-free memory).
        wait_for(lambda: info(s, "used_memory") <= empty + 16384, "noeviction: used_memory returns to the empty figure")
        check(s.call("SET", "again", "1") == b"+OK\r\n", "noeviction: writes work again once memory is freed")
        check(info(s, "evicted_keys") == 0, "noeviction: nothing was evicted")
    finally:
        s.stop()


def allkeys_lru():
    s = start_kv(KV, 1, "--maxmemory", str(LIMIT), "--maxmemory-policy", "allkeys-lru")
    try:
        old = 8000
        check(not fill(s, "old", old), "allkeys-lru: the old keys go in under the limit")
        time.sleep(2.2)  # the LRU clock counts seconds, as Redis's: the old keys are now 2 s idle
        bad = fill(s, "new", 60000)
        check(not bad, "allkeys-lru: no write is refused", f"{bad[:1]}")
        used = info(s, "used_memory")
        check(used <= LIMIT + 4096, f"allkeys-lru: used_memory stays under the limit ({used} of {LIMIT})")
        evicted = info(s, "evicted_keys")
        check(evicted > 40000, f"allkeys-lru: keys were evicted ({evicted})")
        conn = s.connect()
        old_left = sum(r != b"$-1\r\n" for r in conn.pipeline([["GET", f"old:{i:08d}"] for i in range(old)]))
        new_left = sum(r != b"$-1\r\n" for r in conn.pipeline([["GET", f"new:{i:08d}"] for i in range(60000)]))
        conn.close()
        # With 5 samples per eviction the 2-s idle keys are picked first: they go long before the new ones do.
        check(old_left / old < 0.05 < new_left / 60000,
              f"allkeys-lru: the least recently used keys go first (old kept {old_left}/{old}, "
              f"new kept {new_left}/60000)")
    finally:
        s.stop()


noeviction()
allkeys_lru()
finish()
