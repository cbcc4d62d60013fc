#!/usr/bin/env python3
"""percore-kv: more connections wait for a shard's lock than the bus lets requests be in flight between two shards
(issue 11, cold review, defect 2).

A MULTI/EXEC from shard 0 holds shard 1's lock while it runs its commands there, one bus request each. Meanwhile
more clients of shard 0 than `--bus-max-in-flight` send a GET of a key on shard 1 (an ordinary batch that waits
for the lock on shard 1) or an MGET across both shards (a lock acquisition that waits there). Those requests
used to hold every in-flight slot from shard 0 to shard 1 while they waited, so the transaction could neither run
its next command nor release the lock: nothing ever answered, and SIGTERM did not stop the server. Now every
client gets its reply and the server exits 0. Bounded: every read has a timeout.

usage: lock_waiters_test.py PATH_TO_percore-kv
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from kvtest import Conn, check, encode, finish, keys_by_shard, start_kv  # noqa: E402

KV = sys.argv[1]
SHARDS = 2
MAX_IN_FLIGHT = 4
WAITERS = 3 * MAX_IN_FLIGHT  # of each kind
LIST_LEN = 50_000
LREMS = 400  # each scans the whole list on shard 1: the transaction holds the lock for a while


def conn_on(port, shard, timeout):
    """A connection the server placed on `shard` (client ids are interleaved by shard)."""
    for _ in range(200):
        c = Conn(port, timeout=timeout)
        if int(c.call("CLIENT", "ID")[1:-2]) % SHARDS == shard:
            return c
        c.close()
    raise RuntimeError(f"no connection landed on shard {shard}")


def reply_or_error(c):
    try:
        return c.reader.reply()
    except (OSError, ValueError, ConnectionError) as e:
        return repr(e).encode()


def main():
    kv = start_kv(KV, SHARDS, "--bus-max-in-flight", str(MAX_IN_FLIGHT))
    per_shard = keys_by_shard("w:", SHARDS, 2)
    k0, (k1, big) = per_shard[0][0], per_shard[1]
    kv.call("SET", k0, "zero")
    kv.call("SET", k1, "one")
    for start in range(0, LIST_LEN, 5000):
        kv.call("RPUSH", big, *[f"e{i}" for i in range(start, start + 5000)])
    check(kv.call("LLEN", big) == b":%d\r\n" % LIST_LEN, f"a list of {LIST_LEN} elements on shard 1")

    holder = conn_on(kv.port, 0, 30)
    getters = [conn_on(kv.port, 0, 10) for _ in range(WAITERS)]
    readers = [conn_on(kv.port, 0, 10) for _ in range(WAITERS)]
    tx = [["MULTI"]] + [["LREM", big, 0, "absent"]] * LREMS + [["SET", k1, "after"], ["EXEC"]]
    holder.send_raw(b"".join(encode(*c) for c in tx))
    time.sleep(0.05)  # the transaction has taken shard 1's lock and runs its LREMs there
    for c in getters:
        c.send_raw(encode("GET", k1))
    for c in readers:
        c.send_raw(encode("MGET", k0, k1))

    replies = []
    while len(replies) < len(tx):
        replies.append(reply_or_error(holder))
        if not replies[-1].startswith((b"+", b"*")):
            break  # an error or a timeout: the rest would time out one by one
    exec_reply = replies[-1]
    want_exec = b"*%d\r\n" % (LREMS + 1) + b":0\r\n" * LREMS + b"+OK\r\n"
    want = [b"+OK\r\n"] + [b"+QUEUED\r\n"] * (len(tx) - 2) + [want_exec]
    exec_ok = check(replies == want, f"EXEC completes while {2 * WAITERS} clients of shard 0 wait for shard 1's "
                    f"lock (--bus-max-in-flight {MAX_IN_FLIGHT})", repr(exec_reply[:80]))
    if not exec_ok:
        for c in getters + readers:
            c.sock.settimeout(0.5)  # deadlocked: do not wait 10 s for each
    # Each waiter ran either before the transaction took the lock or after it released it: never inside it.
    gets = [reply_or_error(c) for c in getters]
    check(all(g in (b"$3\r\none\r\n", b"$5\r\nafter\r\n") for g in gets),
          f"all {WAITERS} GETs waiting for the lock are answered", repr(gets[:3]))
    mgets = [reply_or_error(c) for c in readers]
    check(all(m in (b"*2\r\n$4\r\nzero\r\n$3\r\none\r\n", b"*2\r\n$4\r\nzero\r\n$5\r\nafter\r\n") for m in mgets),
          f"all {WAITERS} MGETs across both shards are answered", repr(mgets[:3]))
    try:
        fresh = conn_on(kv.port, 0, 5)
        pong = fresh.call("GET", k1)
        fresh.close()
    except (OSError, ConnectionError) as e:
        pong = repr(e).encode()
    check(pong == b"$5\r\nafter\r\n", "a new client of shard 0 reads shard 1", repr(pong))
    for c in [holder] + getters + readers:
        c.close()
    code = kv.stop(timeout=30)
    check(code == 0, f"the server exits 0 on SIGTERM (got {code})")
    finish()


main()
