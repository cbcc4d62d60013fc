#!/usr/bin/env python3
"""percore-kv under a simulated power cut (issue 12; storage/power_loss.hh through PERCORE_KV_POWER_CUT): what a
file had not fdatasync'ed is dropped or torn (nothing, a prefix, random pages), every later I/O fails, and the
process dies. With appendfsync always nothing acknowledged is lost, whatever the tear and wherever the cut falls;
with appendfsync no acknowledged writes can be lost (and are, here).

usage: power_cut_test.py PATH_TO_percore-kv
"""
import os
import shutil
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(__file__))
from kvtest import check, finish, keys_by_shard, parse  # noqa: E402
from persist import start, stderr_text  # noqa: E402

KV = sys.argv[1]
SHARDS = 2
TAGS = [f"{{{k[0]}}}" for k in keys_by_shard("t", SHARDS, 1)]


def load(server, wid, acked, tried):
    try:
        c = server.connect()
        i = 0
        while True:
            i += 1
            k = f"k:{wid}:{i}"
            if i % 4 == 0:
                tried.append(i)
                if c.call("MSET", f"{TAGS[0]}{k}", i, f"{TAGS[1]}{k}", i) == b"+OK\r\n":
                    acked[f"{TAGS[0]}{k}"] = str(i)
                    acked[f"{TAGS[1]}{k}"] = str(i)
            elif c.call("SET", k, i) == b"+OK\r\n":
                acked[k] = str(i)
    except (ConnectionError, OSError):
        pass


def cut_round(policy, trip, tear, seed):
    d = tempfile.mkdtemp(prefix="percore-kv-power-")
    try:
        kv = start(KV, d, SHARDS, policy, env={"PERCORE_KV_POWER_CUT": f"{trip}:{tear}:{seed}"})
        acked = [{} for _ in range(3)]
        tried = [[] for _ in range(3)]
        threads = [threading.Thread(target=load, args=(kv, w, acked[w], tried[w]), daemon=True) for w in range(3)]
        for t in threads:
            t.start()
        try:
            code = kv.proc.wait(60)
        except Exception:
            kv.proc.kill()
            code = None
        for t in threads:
            t.join(10)
        kv._collector.join(5)  # the stderr lines, to the end
        what = f"{policy}, cut at {trip}, {tear}"
        check(code == 137 and "simulated power cut" in stderr_text(kv), f"{what}: the power went off", f"{code}")
        kv = start(KV, d, SHARDS, policy)
        c = kv.connect()
        lost = 0
        total = 0
        for a in acked:
            for k, v in a.items():
                total += 1
                if parse(c.call("GET", k)) != v.encode():
                    lost += 1
        half = 0
        for w, ts in enumerate(tried):
            for i in ts:
                k = f"k:{w}:{i}"
                if parse(c.call("EXISTS", f"{TAGS[0]}{k}")) != parse(c.call("EXISTS", f"{TAGS[1]}{k}")):
                    half += 1
        c.close()
        kv.stop()
        return total, lost, half
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    # always: the cut at an fdatasync (what it was to make durable is not), at a write, with every tear.
    cases = [("sync:40", "drop"), ("sync:80", "prefix"), ("sync:120", "random_pages"), ("write:60", "drop"),
             ("write:100", "prefix"), ("write:150", "random_pages")]
    for n, (trip, tear) in enumerate(cases):
        total, lost, half = cut_round("always", trip, tear, n + 1)
        check(total > 0 and lost == 0, f"always, cut at {trip}, {tear}: none of {total} acknowledged writes lost",
              f"{lost} lost")
        check(half == 0, f"always, cut at {trip}, {tear}: no multi-shard write half there", f"{half}")
    # no: acknowledged once written to the page cache; the cut drops what was never synced.
    lost_any = 0
    for n, trip in enumerate(["write:150", "write:300"]):
        total, lost, half = cut_round("no", trip, "drop", 10 + n)
        lost_any += lost
        check(half == 0, f"no, cut at {trip}: no multi-shard write half there", f"{half}")
    check(lost_any > 0, f"no: acknowledged writes can be lost to a power cut ({lost_any} were)")


main()
finish()
