#!/usr/bin/env python3
"""percore-kv under SIGKILL (issue 12): 20 rounds of a multi-connection write load (SET, INCR, LPUSH, MSET across
shards, EXPIRE) with appendfsync always, killed at a random moment; after each restart every acknowledged write
is there and no multi-shard write is half there.

usage: crash_test.py PATH_TO_percore-kv
"""
import os
import random
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from kvtest import check, finish, keys_by_shard, parse  # noqa: E402
from persist import kill, start  # noqa: E402

KV = sys.argv[1]
SHARDS = 2
ROUNDS = 20
WRITERS = 4
# Hash tags, one per shard: an MSET of {a}x and {b}x spans both shards.
TAGS = [f"{{{k[0]}}}" for k in keys_by_shard("t", SHARDS, 1)]


class Writer(threading.Thread):
    """One connection writing until the server dies; records what was acknowledged."""

    def __init__(self, server, rnd, wid):
        super().__init__(daemon=True)
        self.conn = server.connect()
        self.rnd, self.wid = rnd, wid
        self.sets = {}        # key -> value acknowledged
        self.counter = 0      # INCR acknowledged value
        self.pushed = 0       # LPUSH acknowledged length
        self.msets = []       # i of MSETs acknowledged
        self.expires = {}     # key -> expiry set (seconds, relative) acknowledged
        self.tried_msets = 0

    def run(self):
        r, w = self.rnd, self.wid
        rng = random.Random(r * 100 + w)
        i = 0
        try:
            while True:
                i += 1
                op = rng.randrange(5)
                if op == 0:
                    k, v = f"s:{r}:{w}:{i}", f"v{i}"
                    if self.conn.call("SET", k, v) == b"+OK\r\n":
                        self.sets[k] = v
                elif op == 1:
                    got = parse(self.conn.call("INCR", f"c:{r}:{w}"))
                    self.counter = int(got[1:])
                elif op == 2:
                    got = parse(self.conn.call("LPUSH", f"l:{r}:{w}", i))
                    self.pushed = int(got[1:])
                elif op == 3:
                    self.tried_msets = i
                    if self.conn.call("MSET", f"{TAGS[0]}m:{r}:{w}:{i}", i, f"{TAGS[1]}m:{r}:{w}:{i}", i) == b"+OK\r\n":
                        self.msets.append(i)
                else:
                    k = f"e:{r}:{w}:{i}"
                    if self.conn.call("SET", k, "x") == b"+OK\r\n" and \
                            self.conn.call("EXPIRE", k, 10000) == b":1\r\n":
                        self.expires[k] = 10000
        except (ConnectionError, OSError):
            pass


def verify(server, writers, r):
    c = server.connect()
    lost, half = [], []
    for w in writers:
        for k, v in w.sets.items():
            if parse(c.call("GET", k)) != v.encode():
                lost.append(k)
        got = parse(c.call("GET", f"c:{r}:{w.wid}"))
        if w.counter and (got is None or int(got) < w.counter):
            lost.append(f"c:{r}:{w.wid} {got} < {w.counter}")
        n = int(parse(c.call("LLEN", f"l:{r}:{w.wid}"))[1:])
        if n < w.pushed:
            lost.append(f"l:{r}:{w.wid} {n} < {w.pushed}")
        for i in w.msets:
            if parse(c.call("GET", f"{TAGS[0]}m:{r}:{w.wid}:{i}")) != str(i).encode():
                lost.append(f"mset {i}")
        # Every MSET tried (acknowledged or in flight when killed): both keys or neither.
        for i in range(1, w.tried_msets + 1):
            a = parse(c.call("EXISTS", f"{TAGS[0]}m:{r}:{w.wid}:{i}"))
            b = parse(c.call("EXISTS", f"{TAGS[1]}m:{r}:{w.wid}:{i}"))
            if a != b:
                half.append(i)
        for k in w.expires:
            ttl = int(parse(c.call("TTL", k))[1:])
            if ttl < 9000:
                lost.append(f"{k} ttl {ttl}")
    c.close()
    return lost, half


def main():
    d = tempfile.mkdtemp(prefix="percore-kv-crash-")
    rng = random.Random(12)
    total_acked = 0
    try:
        for r in range(ROUNDS):
            kv = start(KV, d, SHARDS, "always")
            # What the earlier rounds acknowledged is still there (checked on the restart after them).
            writers = [Writer(kv, r, w) for w in range(WRITERS)]
            for w in writers:
                w.start()
            time.sleep(0.3 + rng.random() * 0.7)
            kill(kv)
            for w in writers:
                w.join(10)
            kv = start(KV, d, SHARDS, "always")
            lost, half = verify(kv, writers, r)
            acked = sum(len(w.sets) + len(w.msets) + len(w.expires) for w in writers)
            total_acked += acked
            check(not lost, f"round {r + 1}: every acknowledged write is back ({acked} checked)", f"{lost[:10]}")
            check(not half, f"round {r + 1}: no multi-shard MSET half there", f"{half[:10]}")
            kill(kv)
        check(total_acked > ROUNDS * 20, f"the load acknowledged writes ({total_acked})")
    finally:
        shutil.rmtree(d, ignore_errors=True)


main()
finish()
