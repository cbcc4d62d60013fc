#!/usr/bin/env python3
"""percore-kv: SIGTERM's drain timeout cuts a connection whose commands are running on another shard (issue 11,
cold review, defect 1).

A connection's batch for another shard is a bus request that points into the connection's own state (the batch,
its arguments in the receive buffers). When the drain timeout aborted the connection, it used to be freed at once
while the other shard still ran the batch, or still waited for that shard's lock: a use after free, which
AddressSanitizer reports (the server then dies instead of exiting 0). Now the connection is cut only once its
batches are done, and the server exits 0.

  1. a client of shard 0 pipelines LREMs that each scan a long list on shard 1; SIGTERM while shard 1 runs them;
  2. a MULTI/EXEC holds shard 1's lock for a while; another client of shard 0 sends a GET of a key on shard 1,
     which waits for that lock; SIGTERM while it waits.

Meant for the ASan build (scripts/test asan), where the use after free is caught; on the release build it checks
the same outcome. Bounded: the server must exit within a fixed time.

usage: shutdown_cross_shard_test.py PATH_TO_percore-kv
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from kvtest import Conn, check, encode, finish, keys_by_shard, start_kv  # noqa: E402

KV = sys.argv[1]
SHARDS = 2
LIST_LEN = 50_000
DRAIN_MS = 100


def conn_on(port, shard, timeout=30):
    """A connection the server placed on `shard` (client ids are interleaved by shard)."""
    for _ in range(200):
        c = Conn(port, timeout=timeout)
        if int(c.call("CLIENT", "ID")[1:-2]) % SHARDS == shard:
            return c
        c.close()
    raise RuntimeError(f"no connection landed on shard {shard}")


def start_with_long_list():
    kv = start_kv(KV, SHARDS, "--drain-timeout-ms", str(DRAIN_MS))
    per_shard = keys_by_shard("s:", SHARDS, 2)
    k1, big = per_shard[1]
    for start in range(0, LIST_LEN, 5000):
        kv.call("RPUSH", big, *[f"e{i}" for i in range(start, start + 5000)])
    kv.call("SET", k1, "one")
    kv.conn.close()
    return kv, k1, big


def replies_until_closed(c, limit):
    """Replies read until the server closes the connection (at most `limit`)."""
    got = []
    try:
        while len(got) < limit:
            got.append(c.reader.reply())
    except (OSError, ConnectionError, ValueError):
        pass
    return got


def stopped(kv, what):
    try:
        code = kv.proc.wait(60)
    except subprocess.TimeoutExpired:
        kv.proc.kill()
        code = kv.proc.wait()
    kv._collector.join(5)
    err = "".join(kv.err)
    check(code == 0 and "AddressSanitizer" not in err, f"{what}: the server exits 0 (got {code})",
          err[err.find("ERROR: AddressSanitizer"):][:1500] if "AddressSanitizer" in err else err[-1500:])


def pipeline_running_on_other_shard():
    kv, _, big = start_with_long_list()
    c = conn_on(kv.port, 0)
    n = 3000
    c.send_raw(b"".join(encode("LREM", big, 0, "absent") for _ in range(n)))
    time.sleep(0.3)  # shard 1 is running the batch (each LREM scans the whole list)
    kv.proc.send_signal(signal.SIGTERM)
    got = replies_until_closed(c, n)
    check(all(r == b":0\r\n" for r in got), f"the pipelining client gets correct replies, then its connection is "
          f"closed ({len(got)} of {n} before the cut)")
    c.close()
    stopped(kv, "SIGTERM while another shard runs a connection's batch")


def batch_waiting_for_lock():
    kv, k1, big = start_with_long_list()
    holder = conn_on(kv.port, 0)
    waiter = conn_on(kv.port, 0)
    lrems = 800
    tx = [["MULTI"]] + [["LREM", big, 0, "absent"]] * lrems + [["EXEC"]]
    holder.send_raw(b"".join(encode(*c) for c in tx))
    time.sleep(0.05)  # the transaction holds shard 1's lock
    waiter.send_raw(encode("GET", k1))
    time.sleep(0.05)  # the GET waits on shard 1 for the lock
    kv.proc.send_signal(signal.SIGTERM)
    got = replies_until_closed(waiter, 1)
    check(got in ([], [b"$3\r\none\r\n"]), f"the waiting GET gets its reply or a closed connection ({got!r})")
    holder.close()
    waiter.close()
    stopped(kv, "SIGTERM while a connection's batch waits for another shard's lock")


def main():
    pipeline_running_on_other_shard()
    batch_waiting_for_lock()
    finish()


main()
