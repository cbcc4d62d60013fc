#!/usr/bin/env python3
"""percore-kv persistence (issue 12): every data type and expiry survives SIGTERM, SIGKILL and SHUTDOWN with the
same values and absolute expiry times; FLUSHALL and multi-shard writes are logged; the data directory is locked;
torn tails of every shape are cut and reported; damage before the tail stops the start with the file and offset
unless --repair-log; an injected EIO or ENOSPC turns writes into -MISCONF (reads go on) until the log is reopened,
and no acknowledged write is lost; CONFIG GET/SET appendonly and appendfsync; INFO persistence.

usage: persistence_test.py PATH_TO_percore-kv
"""
import os
import shutil
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from kvtest import check, finish, info_field, keys_by_shard, parse, start_kv, wait_for  # noqa: E402
from persist import dump, kill, run_to_exit, segments, start, stderr_after, stderr_text  # noqa: E402

KV = sys.argv[1]
SHARDS = 2


def fill(kv):
    """Writes of every kind, over both shards; returns nothing (the dump is the reference)."""
    c = kv.connect()
    a, b = keys_by_shard("k", SHARDS, 3)
    c.call("SET", a[0], "plain")
    c.call("SET", b[0], "x" * 100)
    c.call("SET", "exp", "v", "EX", 1000)
    c.call("SETEX", "setex", 500, "v")
    c.call("PSETEX", "psetex", 900000, "v")
    c.call("SET", "gone", "v", "PX", 30)
    c.call("SET", "keepttl", "v", "EX", 700)
    c.call("SET", "keepttl", "w", "KEEPTTL")
    c.call("SET", "getex", "v")
    c.call("GETEX", "getex", "PX", 800000)
    c.call("INCR", "counter")
    c.call("INCRBY", "counter", 41)
    c.call("SET", "float", "1.1")
    c.call("EXPIRE", "float", 3000)
    c.call("INCRBYFLOAT", "float", "2.25")
    c.call("APPEND", "app", "abc")
    c.call("SETRANGE", "app", 5, "z")
    c.call("RPUSH", "list", "a", "b", "c", "d")
    c.call("LPOP", "list")
    c.call("LPUSH", "list", "z")
    c.call("LSET", "list", 1, "B")
    c.call("SADD", "set", *[f"m{i}" for i in range(20)])
    c.call("SPOP", "set", 3)
    c.call("SPOP", "set")
    c.call("SREM", "set", "m0")
    c.call("HSET", "hash", "f1", "v1", "f2", "v2", "n", "1")
    c.call("HINCRBY", "hash", "n", 5)
    c.call("HINCRBYFLOAT", "hash", "fl", "0.1")
    c.call("HINCRBYFLOAT", "hash", "fl", "0.2")
    c.call("HDEL", "hash", "f2")
    c.call("ZADD", "zset", 1, "one", "2.5", "two", "-inf", "low", "+inf", "high")
    c.call("ZINCRBY", "zset", "0.1", "one")
    c.call("ZPOPMAX", "zset")
    c.call("EXPIRE", "zset", 5000)
    c.call("PERSIST", "zset")
    c.call("MSET", a[1], "m1", b[1], "m2")            # across shards: one transaction
    c.call("MSETNX", a[2], "n1", b[2], "n2")
    c.call("DEL", a[0], b[0])                         # across shards
    c.call("SET", "src{t}", "moved")
    c.call("RENAME", "src{t}", "dst{t}")
    c.call("SET", a[0] + "x", "r")
    c.call("RENAME", a[0] + "x", b[0] + "y")         # across shards: gathered and written back
    c.call("RPUSH", a[0] + "l", "1", "2")
    c.call("COPY", a[0] + "l", b[0] + "l2")
    c.call("MULTI")
    c.call("SET", a[0] + "tx", "1")
    c.call("SET", b[0] + "tx", "2")
    c.call("INCR", a[0] + "tx")
    check(parse(c.call("EXEC")) == [b"+OK", b"+OK", b":2"], "MULTI/EXEC over two shards runs")
    c.call("SET", "big", "y" * 70000)
    time.sleep(0.1)                                   # "gone" expires; GET deletes it (logged as DEL)
    check(parse(c.call("GET", "gone")) is None, "a key past its PX is gone")
    c.close()


def round_trip():
    d = tempfile.mkdtemp(prefix="percore-kv-persist-")
    try:
        kv = start(KV, d, SHARDS, "always")
        c = kv.connect()
        c.call("SET", "before-flush", "x")
        c.call("FLUSHALL")
        c.close()
        fill(kv)
        before = dump(kv)
        check("before-flush" not in [k.decode() for k in before], "FLUSHALL applied")
        check(kv.stop() == 0, "SIGTERM: exit 0")
        for how in ("SIGTERM", "SIGKILL", "SHUTDOWN", "SIGKILL after 3 restarts"):
            kv = start(KV, d, SHARDS, "everysec")
            after = dump(kv)
            check(after == before, f"after {how}: every key, value and absolute expiry time is back",
                  f"missing {set(before) - set(after)}, extra {set(after) - set(before)}, differ "
                  f"{[k for k in before if k in after and before[k] != after[k]][:5]}")
            err = stderr_after(kv, f"loaded {len(before)} keys", "shard 1: loaded")
            check(f"loaded {len(before)} keys" in err and "shard 1: loaded" in err, f"after {how}: keys per shard "
                  "and time printed", err)
            if how == "SIGTERM":
                kill(kv)
            elif how == "SIGKILL":
                c = kv.connect()
                c.sock.sendall(b"*1\r\n$8\r\nSHUTDOWN\r\n")
                check(c.sock.recv(100) == b"", "SHUTDOWN closes the connection without a reply")
                check(kv.proc.wait(20) == 0, "SHUTDOWN: exit 0")
            else:
                kill(kv)
        # Replay must not revive what had expired: the expiring key is gone, the replay ran at the logged clock.
        kv = start(KV, d, SHARDS)
        c = kv.connect()
        check(parse(c.call("EXISTS", "gone")) == b":0", "an expired key stays gone after replay")
        # Lock file: a second server on the same directory is refused.
        code, err = run_to_exit(KV, d, SHARDS)
        check(code != 0 and "in use by another process" in err, "a second server on the same --dir is refused",
              f"{code}: {err}")
        # CONFIG GET / SET
        got = parse(c.call("CONFIG", "GET", "append*"))
        check(sorted(zip(got[0::2], got[1::2])) == [(b"appendfsync", b"always"), (b"appendonly", b"yes")],
              "CONFIG GET appendonly, appendfsync", got)
        check(c.call("CONFIG", "SET", "appendfsync", "no") == b"+OK\r\n", "CONFIG SET appendfsync no")
        check(info_field(c, "aof_fsync_policy", "persistence") == "no", "INFO shows the new policy")
        check(c.call("SET", "after-config", "1") == b"+OK\r\n", "writes go on after the policy change")
        check(c.call("CONFIG", "SET", "appendfsync", "sometimes").startswith(b"-ERR"), "a bad appendfsync is refused")
        check(info_field(c, "aof_enabled", "persistence") == "1" and
              int(info_field(c, "aof_current_size", "persistence")) > 0, "INFO aof_enabled 1, aof_current_size")
        check("aof_status=ok" in c.call("INFO", "shards").decode(), "INFO shards: per-shard log status")
        c.close()
        kv.stop()
        # A different shard count is refused (a log holds its shard's slots).
        code, err = run_to_exit(KV, d, 3)
        check(code != 0 and "--shards 2" in err, "starting with another shard count is refused", err)
    finally:
        shutdown_dir(d)


def shutdown_dir(d):
    shutil.rmtree(d, ignore_errors=True)


def appendonly_at_run_time():
    d = tempfile.mkdtemp(prefix="percore-kv-persist-")
    try:
        kv = start_kv(KV, SHARDS, "--dir", d)
        c = kv.connect()
        c.call("SET", "early", "1")
        c.call("RPUSH", "early-list", "a", "b")
        check(c.call("CONFIG", "SET", "appendonly", "yes") == b"+OK\r\n", "CONFIG SET appendonly yes")
        c.call("SET", "late", "2")
        before = dump(kv)
        c.close()
        kill(kv)
        kv = start(KV, d, SHARDS)
        check(dump(kv) == before, "CONFIG SET appendonly yes: what memory held then, and what came after, is back")
        c = kv.connect()
        check(c.call("CONFIG", "SET", "appendonly", "no") == b"+OK\r\n", "CONFIG SET appendonly no")
        check(info_field(c, "aof_enabled", "persistence") == "0", "INFO aof_enabled 0 after that")
        c.close()
        kv.stop()
    finally:
        shutdown_dir(d)


def write_records(d, n=40):
    kv = start(KV, d, 1, "always")
    c = kv.connect()
    for i in range(n):
        c.call("SET", f"key{i}", f"value{i}")
    c.close()
    kv.stop()


def torn_tails():
    # Each shape of a write cut short, at the end of the last segment (what a crash mid-write leaves).
    shapes = {
        "a partial header": b"\x07\x00\x00",
        "a header announcing more than is there": struct.pack("<II", 100, 12345) + b"abc",
        "a record with a bad checksum": struct.pack("<II", 3, 12345) + b"abc",
        "a hole of zeros": b"\x00" * 4096,
        "garbage": bytes(range(256)) * 3,
    }
    for name, tail in shapes.items():
        d = tempfile.mkdtemp(prefix="percore-kv-torn-")
        try:
            write_records(d)
            seg = segments(d, 0)[-1]
            with open(seg, "ab") as f:
                f.write(tail)
            kv = start(KV, d, 1)
            n = parse(kv.call("DBSIZE"))
            err = stderr_after(kv, "torn tail")
            check(n == b":40" and "torn tail" in err and f"of {len(tail)} bytes" in err,
                  f"torn tail ({name}): cut and reported, every record before it replayed", f"{n} {err}")
            kv.stop()
        finally:
            shutdown_dir(d)
    # A last record cut in the middle (the file shortened).
    d = tempfile.mkdtemp(prefix="percore-kv-torn-")
    try:
        write_records(d)
        seg = segments(d, 0)[-1]
        size = os.path.getsize(seg)
        os.truncate(seg, size - 5)
        kv = start(KV, d, 1)
        n = parse(kv.call("DBSIZE"))
        check(n == b":39" and "torn tail" in stderr_after(kv, "torn tail"), "torn tail (last record cut short): cut, 39 of 40 back",
              f"{n} {stderr_text(kv)}")
        kv.stop()
    finally:
        shutdown_dir(d)


def corruption():
    d = tempfile.mkdtemp(prefix="percore-kv-corrupt-")
    try:
        write_records(d, 40)
        seg = segments(d, 0)[-1]
        data = bytearray(open(seg, "rb").read())
        at = data.find(b"value10")
        data[at] ^= 0xFF
        open(seg, "wb").write(bytes(data))
        code, err = run_to_exit(KV, d, 1)
        check(code != 0 and seg in err and "offset" in err and "--repair-log" in err,
              "damage before the tail: the start is refused, naming the file and the offset", err)
        kv = start(KV, d, 1, extra=["--repair-log"])
        n = int(parse(kv.call("DBSIZE"))[1:])
        check(10 <= n < 40 and parse(kv.call("GET", "key9")) == b"value9" and "repair" in stderr_after(kv, "repair"),
              "--repair-log: the valid prefix is kept and the loss reported", f"{n} {stderr_text(kv)}")
        check(kv.call("SET", "after", "1") == b"+OK\r\n", "--repair-log: the repaired log takes writes")
        kv.stop()
    finally:
        shutdown_dir(d)


def injected(op, errno_name, shards):
    d = tempfile.mkdtemp(prefix="percore-kv-fault-")
    try:
        # The 6th write (or fdatasync) of each shard's log fails, and the one after it.
        kv = start(KV, d, shards, "always", env={"PERCORE_KV_LOG_FAULT": f"{op}:6:{errno_name}:2"})
        c = kv.connect()
        acked, refused = {}, []
        for i in range(30):
            r = c.call("SET", f"key{i}", f"v{i}")
            if r == b"+OK\r\n":
                acked[f"key{i}"] = f"v{i}"
            elif r.startswith(b"-MISCONF Errors writing to the AOF file"):
                refused.append(f"key{i}")
        what = f"injected {errno_name} on {op} ({shards} shards)"
        check(refused, f"{what}: writes get -MISCONF", f"{acked}")
        check(info_field(c, "aof_last_write_status", "persistence") in ("err", "ok"), f"{what}: INFO status field")
        check(parse(c.call("GET", next(iter(acked)))) is not None, f"{what}: reads go on")
        ok = wait_for(lambda: c.call("SET", "later", "1") == b"+OK\r\n", f"{what}: writes accepted again once the log "
                      "is reopened", timeout=15, interval=0.2)
        if ok:
            acked["later"] = "1"
        check("writing the log failed" in stderr_after(kv, "writing the log failed"), f"{what}: logged why")
        c.close()
        kill(kv)
        kv = start(KV, d, shards)
        c = kv.connect()
        lost = [k for k, v in acked.items() if parse(c.call("GET", k)) != v.encode()]
        check(not lost, f"{what}: no acknowledged write lost", f"{lost}")
        if op == "write":
            # A failed write is cut off the log: the refused write is not there after a restart.
            back = [k for k in refused if parse(c.call("GET", k)) is not None]
            check(not back, f"{what}: a refused write is not replayed", f"{back}")
        c.close()
        kv.stop()
    finally:
        shutdown_dir(d)


def large_values():
    """Values past the storage log's default 16 MiB record limit (the protocol allows 512 MiB) are logged and come
    back: alone, as a part of a multi-shard MSET, and next to small writes, which must not be refused."""
    d = tempfile.mkdtemp(prefix="percore-kv-large-")
    try:
        big = b"b" * (20 << 20)
        kv = start(KV, d, SHARDS, "always")
        c = kv.connect()
        a, b = keys_by_shard("large:", SHARDS, 2)
        check(c.call("SET", a[0], big) == b"+OK\r\n", "SET of a 20 MiB value is acknowledged")
        check(c.call("MSET", a[1], big, b[0], "small") == b"+OK\r\n", "a multi-shard MSET with one is too")
        check(c.call("SET", "after", "1") == b"+OK\r\n", "small writes go on after them")
        check(info_field(c, "aof_last_write_status", "persistence") == "ok", "the logs took every write")
        c.close()
        kill(kv)
        kv = start(KV, d, SHARDS, "always")
        c = kv.connect()
        check(c.call("STRLEN", a[0]) == b":%d\r\n" % len(big) and c.call("STRLEN", a[1]) == b":%d\r\n" %
              len(big) and c.call("GET", b[0]) == b"$5\r\nsmall\r\n", "after SIGKILL the large values are back")
        c.close()
        kv.stop()
    finally:
        shutdown_dir(d)


round_trip()
large_values()
appendonly_at_run_time()
torn_tails()
corruption()
injected("write", "ENOSPC", 1)
injected("sync", "EIO", 1)
injected("sync", "EIO", 2)
finish()
