#!/usr/bin/env python3
"""FLUSHALL and FLUSHDB on percore-kv (1 and 3 shards): the keys are gone for every client at once, their memory
is freed in the background (INFO memory's lazyfree_pending_objects falls to 0 and lazyfreed_objects counts them),
the server serves meanwhile, and FLUSHALL SYNC frees before it replies.

usage: flush_test.py PATH_TO_percore-kv
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from kvtest import check, encode, finish, info_field, start_kv, wait_for  # noqa: E402

KV = sys.argv[1]
KEYS = 60_000


def fill(kv, n, prefix):
    conn = kv.connect()
    batch = 2000
    for start in range(0, n, batch):
        conn.send_raw(b"".join(encode("SET", f"{prefix}:{i}", "v" * 20) for i in range(start, min(n, start + batch))))
        for _ in range(start, min(n, start + batch)):
            conn.reader.reply()
    conn.close()


def lazyfree(kv):
    return int(info_field(kv, "lazyfree_pending_objects")), int(info_field(kv, "lazyfreed_objects"))


def run(shards):
    kv = start_kv(KV, shards)
    try:
        fill(kv, KEYS, "a")
        check(kv.call("DBSIZE") == f":{KEYS}\r\n".encode(), f"{shards} shard(s): {KEYS} keys stored")
        check(kv.call("FLUSHALL") == b"+OK\r\n", f"{shards} shard(s): FLUSHALL replies +OK")
        # Gone at once for everybody, even while their memory is still being freed.
        check(kv.call("DBSIZE") == b":0\r\n", f"{shards} shard(s): DBSIZE 0 right after FLUSHALL")
        check(kv.call("GET", "a:17") == b"$-1\r\n", f"{shards} shard(s): a flushed key reads as missing")
        check(kv.call("SET", "a:17", "new") == b"+OK\r\n", f"{shards} shard(s): writes go on meanwhile")
        wait_for(lambda: lazyfree(kv) == (0, KEYS), f"{shards} shard(s): the {KEYS} keys are freed in the background")
        check(kv.call("GET", "a:17") == b"$3\r\nnew\r\n", f"{shards} shard(s): the key written meanwhile survived")

        fill(kv, 5000, "b")
        check(kv.call("FLUSHDB", "SYNC") == b"+OK\r\n", f"{shards} shard(s): FLUSHDB SYNC replies +OK")
        pending, freed = lazyfree(kv)
        check(pending == 0 and freed == KEYS + 5001, f"{shards} shard(s): SYNC freed before replying",
              f"pending {pending}, freed {freed}")
        check(kv.call("FLUSHALL", "LAZY") == b"-ERR syntax error\r\n", f"{shards} shard(s): FLUSHALL LAZY refused")
    finally:
        code = kv.stop()
        check(code == 0, f"{shards} shard(s): exits 0 on SIGTERM", f"got {code}")


run(1)
run(3)
finish()
