#!/usr/bin/env python3
"""percore-kv snapshots without fork (issue 12, item 4), over real restarts:

- every data type, with and without an expiry, survives BGSAVE + restart, and the obsolete segments are gone;
- values written while a snapshot runs survive a restart, INCRs counted once (a key changed before the walk
  reaches it is saved as it was, and its later write replays from the new segment);
- a SIGKILL in the middle of a snapshot loses nothing: the restart recovers from the old segments;
- a shard's log past --log-rewrite-min-size and --log-rewrite-percentage is rewritten automatically;
- a log closed or reopened (CONFIG SET appendonly, appendfsync) during a snapshot stops it first;
- BGSAVE / BGREWRITEAOF while one runs is refused (SCHEDULE queues one), LASTSAVE moves, INFO persistence says
  what happened; with no log, BGSAVE says why it cannot.

usage: snapshot_test.py PATH_TO_percore-kv
"""
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from kvtest import Conn, check, finish, info_field, start_kv, wait_for  # noqa: E402

KV = sys.argv[1]
SHARDS = 3
FAR = int(time.time() * 1000) + 10 * 86400 * 1000  # an expiry that holds for the whole test


def start(data, *extra, shards=SHARDS):
    return start_kv(KV, shards, "--dir", data, "--appendonly", "yes", "--appendfsync", "always", *extra)


def kill(kv):
    kv.conn.close()
    kv.proc.send_signal(signal.SIGKILL)
    kv.proc.wait()


def in_progress(kv):
    return info_field(kv, "aof_rewrite_in_progress", "persistence") == "1"


def wait_done(kv, what):
    wait_for(lambda: not in_progress(kv), what, timeout=120)
    check(info_field(kv, "aof_last_bgrewrite_status", "persistence") == "ok", f"{what}: status ok",
          info_field(kv, "aof_last_bgrewrite_status", "persistence"))


def fill(conn, prefix, n, value=b"v" * 40, batch=2000):
    for start_i in range(0, n, batch):
        conn.pipeline([["SET", f"{prefix}{i}", value] for i in range(start_i, min(n, start_i + batch))])


def segment_files(data):
    out = []
    for root, _, files in os.walk(data):
        out += [os.path.join(os.path.relpath(root, data), f) for f in files if f.endswith((".log", ".snap"))]
    return sorted(out)


def dump(conn, key):
    """A key's type, content (in a canonical order) and absolute expiry."""
    t = conn.call("TYPE", key)
    if t == b"+string\r\n":
        v = conn.call("GET", key)
    elif t == b"+list\r\n":
        v = conn.call("LRANGE", key, 0, -1)
    elif t == b"+set\r\n":
        v = b"|".join(sorted(conn.call("SMEMBERS", key).split(b"\r\n")))
    elif t == b"+hash\r\n":
        v = b"|".join(sorted(conn.call("HGETALL", key).split(b"\r\n")))
    elif t == b"+zset\r\n":
        v = conn.call("ZRANGE", key, 0, -1, "WITHSCORES")
    else:
        v = b""
    return t, v, conn.call("PEXPIRETIME", key)


def every_type_round_trips():
    data = tempfile.mkdtemp(prefix="percore-snap-")
    kv = start(data)
    c = kv.conn
    keys = []
    for i in range(6):  # a few of each, so every shard has some
        c.call("SET", f"s{i}", f"short{i}")
        c.call("SET", f"long{i}", "L" * (100_000 + i))
        c.call("SET", f"n{i}", i)
        c.pipeline([["RPUSH", f"l{i}", *[f"e{j}" for j in range(k, k + 1000)]] for k in range(0, 5000, 1000)])
        c.pipeline([["SADD", f"set{i}", *[f"m{j}" for j in range(k, k + 1000)]] for k in range(0, 5000, 1000)])
        c.pipeline([["HSET", f"h{i}", *[x for j in range(k, k + 500) for x in (f"f{j}", "v" * (j % 30))]]
                    for k in range(0, 3000, 500)])
        c.call("ZADD", f"z{i}", "-inf", "minf", "inf", "pinf", "0.1", "a", "-0", "zero", "5e-324", "tiny",
               "1.7976931348623157e308", "huge", *[x for j in range(2000) for x in (str(j / 7), f"m{j}")])
        keys += [f"s{i}", f"long{i}", f"n{i}", f"l{i}", f"set{i}", f"h{i}", f"z{i}"]
    c.call("SET", "huge-string", "H" * (3 << 20))  # several records (SET + APPENDs)
    keys.append("huge-string")
    for k in keys[::2]:
        c.call("PEXPIREAT", k, FAR)
    c.call("SET", "gone", "soon", "PX", "300")  # expires before the restart: must not come back
    before = {k: dump(c, k) for k in keys}
    size_before = int(info_field(kv, "aof_current_size", "persistence"))
    check(c.call("BGSAVE") == b"+Background saving started\r\n", "BGSAVE starts")
    wait_done(kv, "BGSAVE completes")
    check(int(info_field(kv, "aof_base_size", "persistence")) > 0, "INFO: aof_base_size is the snapshot's")
    check(int(info_field(kv, "aof_current_size", "persistence")) < size_before,
          "the rewritten logs are smaller than the logs of every write")
    files = segment_files(data)
    check(sum(f.endswith(".snap") for f in files) == SHARDS, "one snapshot per shard", str(files))
    c.call("INCR", "n0")  # after the snapshot: replayed from the new segment on top of it
    before["n0"] = dump(c, "n0")
    time.sleep(0.4)
    kill(kv)
    kv = start(data)
    c = kv.conn
    bad = [k for k in keys if dump(c, k) != before[k]]
    check(not bad, "every type and expiry is the same after BGSAVE and a restart", f"differ: {bad[:5]}")
    check(c.call("EXISTS", "gone") == b":0\r\n", "a key that expired is not revived")
    check(c.call("DBSIZE") == b":%d\r\n" % len(keys), "no key more, no key less")
    check(kv.stop() == 0, "exits 0 on SIGTERM")
    shutil.rmtree(data, ignore_errors=True)


def writes_during_snapshot():
    """Writers change keys the walk has and has not reached yet; INCRs count what was acknowledged."""
    data = tempfile.mkdtemp(prefix="percore-snap-")
    kv = start(data, "--snapshot-buffer", "64kb", shards=2)
    fill(kv.conn, "k", 200_000)
    acked = {}
    stop = threading.Event()
    during = [0]

    def writer(wid):
        conn = Conn(kv.port)
        i = 0
        while not stop.is_set():
            cmds = [["INCR", f"c{wid}:{i % 50}"], ["SET", f"k{(i * 7919 + wid) % 200_000}", f"w{wid}:{i}"],
                    ["SET", f"new{wid}:{i}", i]]
            replies = conn.pipeline(cmds)
            if replies[0].startswith(b":"):
                acked[f"c{wid}:{i % 50}"] = int(replies[0][1:-2])
            if replies[1] == b"+OK\r\n":
                acked[cmds[1][1]] = f"w{wid}:{i}".encode()
            if replies[2] == b"+OK\r\n":
                acked[f"new{wid}:{i}"] = str(i).encode()
            i += 1
        conn.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    check(kv.call("BGREWRITEAOF") == b"+Background append only file rewriting started\r\n", "BGREWRITEAOF starts")
    while in_progress(kv):
        during[0] += 1
        time.sleep(0.01)
    time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    check(info_field(kv, "aof_last_bgrewrite_status", "persistence") == "ok", "the snapshot under writes succeeds")
    hooked = int(info_field(kv, "percore_snapshot_keys_saved_before_a_write", "persistence"))
    check(hooked > 0, "writes reached keys the walk had not saved yet (saved first, as they were)", str(hooked))
    check(during[0] > 0, "the writers ran while the snapshot did")
    kill(kv)
    kv = start(data, shards=2)
    c = kv.conn
    wrong = []
    for k, v in acked.items():
        got = c.call("GET", k)
        want = b":%d\r\n" % v if isinstance(v, int) else b"$%d\r\n%s\r\n" % (len(v), v)
        if k.startswith("c"):
            want = b"$%d\r\n%d\r\n" % (len(str(v)), v)
        if got != want:
            wrong.append((k, got, want))
    check(not wrong, f"all {len(acked)} acknowledged writes made during the snapshot are there after a restart",
          str(wrong[:5]))
    check(c.call("GET", "k3")[:1] == b"$", "keys nobody wrote keep their value")
    check(kv.stop() == 0, "exits 0 on SIGTERM")
    shutil.rmtree(data, ignore_errors=True)


def sigkill_mid_snapshot():
    data = tempfile.mkdtemp(prefix="percore-snap-")
    kv = start(data, "--snapshot-buffer", "16kb", shards=2)
    fill(kv.conn, "k", 300_000)
    kv.call("SET", "last", "written")
    files_before = segment_files(data)
    check(kv.call("BGSAVE") == b"+Background saving started\r\n", "BGSAVE starts")
    was_running = in_progress(kv)
    kill(kv)
    check(was_running, "the snapshot was still running at the SIGKILL")
    kv = start(data, shards=2)
    check(kv.call("DBSIZE") == b":300001\r\n", "every key is back from the old segments", kv.call("DBSIZE"))
    check(kv.call("GET", "k299999") == b"$40\r\n" + b"v" * 40 + b"\r\n" and kv.call("GET", "last") == b"$7\r\nwritten\r\n",
          "with its value")
    check(set(segment_files(data)) >= set(files_before), "the old segments were kept")
    check(kv.call("BGSAVE") == b"+Background saving started\r\n", "a new snapshot starts after the restart")
    wait_done(kv, "and completes")
    check(kv.stop() == 0, "exits 0 on SIGTERM")
    shutil.rmtree(data, ignore_errors=True)


def automatic_rewrite():
    data = tempfile.mkdtemp(prefix="percore-snap-")
    kv = start(data, "--log-rewrite-min-size", "1mb", "--log-rewrite-percentage", "100", shards=1)
    c = kv.conn
    check(c.call("CONFIG", "GET", "auto-aof-rewrite-min-size") == b"*2\r\n$25\r\nauto-aof-rewrite-min-size\r\n$7\r\n1048576\r\n",
          "CONFIG GET auto-aof-rewrite-min-size")
    check(c.call("CONFIG", "GET", "auto-aof-rewrite-percentage") ==
          b"*2\r\n$27\r\nauto-aof-rewrite-percentage\r\n$3\r\n100\r\n", "CONFIG GET auto-aof-rewrite-percentage")
    rewrites = int(info_field(kv, "aof_rewrites", "persistence"))
    for round_ in range(30):  # 30 x 100 keys x 1 KB: 3 MB of log for 100 KB of data
        c.pipeline([["SET", f"k{i}", f"{round_}".ljust(1000, "x")] for i in range(100)])
    wait_for(lambda: int(info_field(kv, "aof_rewrites", "persistence")) > rewrites,
             "a log past min-size that doubled since its base is rewritten by itself")

    def settled():  # no rewrite running, and the rule no longer asks for one
        size = int(info_field(kv, "aof_current_size", "persistence"))
        base = max(1, int(info_field(kv, "aof_base_size", "persistence")))
        return not in_progress(kv) and (size < (1 << 20) or size * 100 // base - 100 < 100)

    wait_for(settled, "rewrites stop once the log is below min-size or has not doubled since its base", timeout=120)
    check(info_field(kv, "aof_last_bgrewrite_status", "persistence") == "ok", "the automatic rewrites succeed")
    check(int(info_field(kv, "aof_current_size", "persistence")) < 30 * 100 * 1000,
          "the log holds less than the 3 MB written")
    check(c.call("CONFIG", "SET", "auto-aof-rewrite-percentage", "0") == b"+OK\r\n" and
          c.call("CONFIG", "GET", "auto-aof-rewrite-percentage").endswith(b"$1\r\n0\r\n"),
          "CONFIG SET auto-aof-rewrite-percentage")
    check(c.call("CONFIG", "SET", "auto-aof-rewrite-min-size", "banana").startswith(b"-ERR"),
          "a bad min-size is refused")
    kill(kv)
    kv = start(data, shards=1)
    check(kv.call("GET", "k42") == b"$1000\r\n" + b"29".ljust(1000, b"x") + b"\r\n", "the rewritten log has the data")
    check(kv.stop() == 0, "exits 0 on SIGTERM")
    shutil.rmtree(data, ignore_errors=True)


def interrupted():
    """CONFIG SET appendonly no (the logs close) and appendfsync (they reopen) stop a running snapshot first: it
    reports the failure, the old segments stay, nothing is lost."""
    data = tempfile.mkdtemp(prefix="percore-snap-")
    kv = start(data, "--snapshot-buffer", "16kb", shards=2)
    c = kv.conn
    fill(c, "k", 200_000)
    replies = c.pipeline([["BGSAVE"], ["CONFIG", "SET", "appendfsync", "everysec"]])
    check(replies == [b"+Background saving started\r\n", b"+OK\r\n"], "CONFIG SET appendfsync during a snapshot",
          str(replies))
    wait_for(lambda: not in_progress(kv), "the snapshot ends")
    check(info_field(kv, "aof_last_bgrewrite_status", "persistence") == "err", "the interrupted snapshot says so")
    replies = c.pipeline([["BGSAVE"], ["CONFIG", "SET", "appendonly", "no"]])
    check(replies == [b"+Background saving started\r\n", b"+OK\r\n"], "CONFIG SET appendonly no during a snapshot",
          str(replies))
    wait_for(lambda: not in_progress(kv), "that one ends too")
    check(c.call("CONFIG", "SET", "appendonly", "yes") == b"+OK\r\n", "the logs open again")
    c.call("SET", "after", "reopen")
    check(c.call("BGSAVE") == b"+Background saving started\r\n", "and a snapshot starts")
    wait_done(kv, "and completes")
    kill(kv)
    kv = start(data, shards=2)
    check(kv.call("DBSIZE") == b":200001\r\n" and kv.call("GET", "after") == b"$6\r\nreopen\r\n",
          "nothing lost after interrupted snapshots", kv.call("DBSIZE"))
    check(kv.stop() == 0, "exits 0 on SIGTERM")
    shutil.rmtree(data, ignore_errors=True)


def one_at_a_time():
    data = tempfile.mkdtemp(prefix="percore-snap-")
    kv = start(data, "--snapshot-buffer", "16kb")
    c = kv.conn
    started = int(c.call("LASTSAVE")[1:-2])
    fill(c, "k", 200_000)
    replies = c.pipeline([["BGSAVE"], ["BGSAVE"], ["BGREWRITEAOF"], ["BGSAVE", "SCHEDULE"], ["BGSAVE", "NOW"]])
    check(replies[0] == b"+Background saving started\r\n", "BGSAVE starts")
    check(replies[1] == b"-ERR Background save already in progress\r\n", "BGSAVE while one runs is refused",
          replies[1])
    check(replies[2] == b"-ERR Background append only file rewriting already in progress\r\n",
          "BGREWRITEAOF while one runs is refused", replies[2])
    check(replies[3] == b"+Background saving scheduled\r\n", "BGSAVE SCHEDULE queues one", replies[3])
    check(replies[4].startswith(b"-ERR syntax"), "BGSAVE with a bad argument", replies[4])
    wait_for(lambda: int(info_field(kv, "rdb_saves", "persistence")) >= 2 * SHARDS, "the scheduled one ran too",
             timeout=120)
    wait_done(kv, "both complete")
    check(info_field(kv, "rdb_bgsave_in_progress", "persistence") == "0", "INFO: rdb_bgsave_in_progress")
    check(int(c.call("LASTSAVE")[1:-2]) >= started, "LASTSAVE moves forward")
    check(int(info_field(kv, "rdb_last_save_time", "persistence")) >= started, "INFO: rdb_last_save_time")
    check(kv.stop() == 0, "exits 0 on SIGTERM")
    shutil.rmtree(data, ignore_errors=True)
    off = start_kv(KV, 1, "--appendonly", "no")
    check(off.call("BGSAVE").startswith(b"-ERR persistence is off"), "BGSAVE without a log says why")
    check(off.stop() == 0, "exits 0 on SIGTERM")


every_type_round_trips()
writes_during_snapshot()
sigkill_mid_snapshot()
automatic_rewrite()
interrupted()
one_at_a_time()
finish()
