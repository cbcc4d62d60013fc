#!/usr/bin/env python3
"""percore-kv on 3 shards: operations over keys on several shards are atomic. Writers (MSET, MULTI/EXEC of SETs and
of INCRs, DEL) race readers (MGET, MULTI/EXEC of GETs, EXISTS) over keys on different shards: no reader ever sees
values from two different writes. WATCH of keys on other shards: a change by another client aborts EXEC, no change
lets it run, and WATCH-guarded transfers between keys on two shards keep their sum.

usage: atomicity_test.py PATH_TO_percore-kv
"""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
from kvtest import Conn, check, encode, finish, keys_by_shard, parse, shard_of, start_kv, start_redis  # noqa: E402

KV = sys.argv[1]
SHARDS = 3
WRITES = 1500      # per writer
READS = 4000       # per reader at most (readers stop early once every writer is done)
DEPTH = 8          # commands a reader pipelines per round trip


def values_of(reply):
    """The values of an MGET reply or of an EXEC of GETs (bytes or None each)."""
    v = parse(reply)
    return v if isinstance(v, list) else [v]


class Race:
    """Runs writer and reader threads, each on its own connection; collects what the readers saw."""

    def __init__(self, port):
        self.port = port
        self.errors = []
        self.violations = []
        self.seen = set()
        self.reads = 0
        self.writers_done = threading.Event()
        self.lock = threading.Lock()

    def fail(self, what):
        with self.lock:
            if len(self.errors) < 5:
                self.errors.append(what)

    def writer(self, body):
        def run():
            c = Conn(self.port, timeout=60)
            try:
                body(c)
            except Exception as e:  # noqa: BLE001 (reported as a failure)
                self.fail(f"writer: {e!r}")
            finally:
                c.close()
        return threading.Thread(target=run)

    def reader(self, commands, consistent):
        """Sends `commands` (DEPTH of them per round trip) until the writers are done; each reply must satisfy
        `consistent(reply)`."""
        def run():
            c = Conn(self.port, timeout=60)
            try:
                for _ in range(READS // DEPTH):
                    if self.writers_done.is_set():
                        break
                    c.send_raw(b"".join(commands * DEPTH))
                    for _ in range(DEPTH * len(commands)):
                        r = c.reader.reply()
                        if r in (b"+OK\r\n", b"+QUEUED\r\n"):
                            continue
                        ok, key = consistent(r)
                        with self.lock:
                            self.reads += 1
                            self.seen.add(key)
                            if not ok and len(self.violations) < 5:
                                self.violations.append(r)
            except Exception as e:  # noqa: BLE001
                self.fail(f"reader: {e!r}")
            finally:
                c.close()
        return threading.Thread(target=run)

    def run(self, writers, readers):
        for t in readers + writers:
            t.start()
        for t in writers:
            t.join(300)
        self.writers_done.set()
        for t in readers:
            t.join(300)


def all_equal(reply):
    v = values_of(reply)
    return len(v) == 3 and v[0] is not None and v[0] == v[1] == v[2], tuple(v)


def three_keys_race(port, a, b, c):
    """MSET, MULTI of SETs and MULTI of INCRs keep a == b == c; MGET and MULTI of GETs must see them equal."""
    setup = Conn(port)
    setup.call("MSET", a, 0, b, 0, c, 0)
    setup.close()
    race = Race(port)

    def mset(conn):
        for i in range(1, WRITES + 1):
            if conn.call("MSET", a, i * 1_000_000, b, i * 1_000_000, c, i * 1_000_000) != b"+OK\r\n":
                race.fail("MSET did not answer +OK")
                return

    def multi_set(conn):
        for i in range(1, WRITES + 1):
            v = i * 1_000_000 + 500_000
            replies = conn.pipeline([["MULTI"], ["SET", a, v], ["SET", b, v], ["SET", c, v], ["EXEC"]])
            if replies[-1] != b"*3\r\n+OK\r\n+OK\r\n+OK\r\n":
                race.fail(f"EXEC of SETs: {replies[-1]!r}")
                return

    def multi_incr(conn):
        for _ in range(WRITES):
            replies = conn.pipeline([["MULTI"], ["INCR", a], ["INCR", b], ["INCR", c], ["EXEC"]])
            v = parse(replies[-1])
            # The transaction's own view is atomic too: the three counters it incremented were equal.
            if not (isinstance(v, list) and len(v) == 3 and v[0] == v[1] == v[2]):
                race.fail(f"EXEC of INCRs: {replies[-1]!r}")
                return

    mget = [encode("MGET", a, b, c)]
    multi_get = [encode("MULTI"), encode("GET", a), encode("GET", b), encode("GET", c), encode("EXEC")]
    race.run([race.writer(mset), race.writer(multi_set), race.writer(multi_incr)],
             [race.reader(mget, all_equal), race.reader(multi_get, all_equal), race.reader(mget, all_equal)])
    return race


def del_exists_race(port, d, e, f):
    """MSET then DEL of three keys on three shards, against EXISTS and MGET of them: all or none."""
    race = Race(port)

    def set_del(conn):
        for _ in range(WRITES):
            r = conn.pipeline([["MSET", d, 1, e, 1, f, 1], ["DEL", d, e, f]])
            if r != [b"+OK\r\n", b":3\r\n"]:
                race.fail(f"MSET; DEL: {r!r}")
                return

    def exists_all_or_none(reply):
        return reply in (b":0\r\n", b":3\r\n"), reply

    def mget_all_or_none(reply):
        v = values_of(reply)
        return v in ([None] * 3, [b"1"] * 3), tuple(v)

    # The commands that count or list every shard see all three or none too (a, b and c stay: 3 or 6 keys).
    def dbsize_all_or_none(reply):
        return reply in (b":3\r\n", b":6\r\n"), reply

    def keys_all_or_none(reply):
        v = parse(reply)
        return len(v) in (0, 3), len(v)

    race.run([race.writer(set_del)],
             [race.reader([encode("EXISTS", d, e, f)], exists_all_or_none),
              race.reader([encode("MGET", d, e, f)], mget_all_or_none),
              race.reader([encode("DBSIZE")], dbsize_all_or_none),
              race.reader([encode("KEYS", "gone:*")], keys_all_or_none)])
    return race


def report(race, what):
    check(not race.errors, f"{what}: every write answered as expected", "; ".join(race.errors))
    check(not race.violations, f"{what}: no reader saw two writes mixed ({race.reads} reads)",
          f"{race.violations}")
    # Evidence that readers and writers overlapped: the readers saw the values change.
    check(len(race.seen) >= 2, f"{what}: the readers ran while the writers wrote ({len(race.seen)} states seen)")


# ------------------------------------------------------------------------------------------------ WATCH

def watch_scenarios(x, y, z, x2):
    """Two-client WATCH scenarios over keys x, y, z on three shards (x2 shares x's shard). Each: what client B
    does between A's WATCH and A's EXEC; the EXEC reply is compared with redis-server's."""
    return [
        ("B sets a watched key on another shard", [x, y], [["SET", x, "b"]]),
        ("B sets another watched key", [x, y], [["SET", y, "b"]]),
        ("B changes nothing", [x, y], []),
        ("B reads the watched keys", [x, y], [["MGET", x, y], ["GET", x]]),
        ("B sets an unwatched key on the watched key's shard", [x], [["SET", x2, "b"]]),
        ("B's MSET across shards touches a watched key", [y], [["MSET", x, "1", y, "2", z, "3"]]),
        ("B's DEL across shards deletes a watched key", [z], [["SET", z, "1"], ["DEL", x, z]]),
        ("B renames into a watched key across shards", [y], [["SET", x, "v"], ["RENAME", x, y]]),
        ("B sets an expiry on a watched key", [x], [["SET", x, "v"], ["EXPIRE", x, "100"]]),
        ("B's EXEC changes a watched key", [z], [["MULTI"], ["SET", x, "1"], ["INCR", z], ["EXEC"]]),
        ("B flushes everything", [x, y, z], [["SET", x, "v"], ["FLUSHALL"]]),
        ("B's failed MSETNX changes nothing", [y], [["SET", x, "v"], ["MSETNX", x, "1", y, "2"]]),
    ]


def watch_across_shards(kv, redis_port):
    x, y, z = (k[0] for k in keys_by_shard("w:", SHARDS))
    x2 = next(f"w:{x}:{i}" for i in range(1000) if shard_of(f"w:{x}:{i}", SHARDS) == shard_of(x, SHARDS))
    for what, watched, meanwhile in watch_scenarios(x, y, z, x2):
        results = []
        for port in (kv.port, redis_port):
            a, b = Conn(port), Conn(port)
            a.call("FLUSHALL")
            a.call("MSET", x, "0", y, "0")
            a.call("WATCH", *watched)
            for cmd in meanwhile:
                b.call(*cmd)
            replies = a.pipeline([["MULTI"], ["SET", x, "a"], ["INCR", y], ["SET", z, "a"], ["EXEC"]])
            results.append((replies[-1], a.call("MGET", x, y, z)))
            a.close()
            b.close()
        check(results[0] == results[1], f"WATCH across shards: {what}: EXEC as in redis",
              f"percore-kv {results[0]} vs redis {results[1]}")


def watch_transfers(port, x, y):
    """Clients move units between x and y (on two shards) with WATCH x y / MGET / MULTI / SET / SET / EXEC, retrying
    aborted transactions; a reader checks x + y never changes. A WATCH that misses a change breaks the sum."""
    total, per_client, clients = 1000, 150, 3
    setup = Conn(port)
    setup.call("MSET", x, total, y, 0)
    setup.call("DEL", "transfers")
    setup.close()
    race = Race(port)

    def transfer(conn):
        done = 0
        for _ in range(per_client * 50):
            if done == per_client:
                break
            conn.call("WATCH", x, y)
            vx, vy = (int(v) for v in values_of(conn.call("MGET", x, y)))
            r = conn.pipeline([["MULTI"], ["SET", x, vx - 1], ["SET", y, vy + 1], ["INCR", "transfers"], ["EXEC"]])
            if r[-1] != b"*-1\r\n":
                done += 1
        if done != per_client:
            race.fail(f"only {done} transfers went through")

    def sum_kept(reply):
        v = values_of(reply)
        return None not in v and int(v[0]) + int(v[1]) == total, v[0]

    race.run([race.writer(transfer) for _ in range(clients)],
             [race.reader([encode("MGET", x, y)], sum_kept)])
    check(not race.errors, "WATCH transfers across shards: every client completes its transfers",
          "; ".join(race.errors))
    check(not race.violations, f"WATCH transfers across shards: the sum never changes ({race.reads} reads)",
          f"{race.violations}")
    final = Conn(port)
    vx, vy, n = values_of(final.call("MGET", x, y, "transfers"))
    final.close()
    check((int(vx), int(vy), int(n)) == (total - clients * per_client, clients * per_client, clients * per_client),
          "WATCH transfers across shards: no transfer lost or doubled", f"{vx} {vy} {n}")


def main():
    kv = start_kv(KV, SHARDS)
    redis = start_redis()
    a, b, c = (k[0] for k in keys_by_shard("atom:", SHARDS))
    d, e, f = (k[0] for k in keys_by_shard("gone:", SHARDS))
    check(len({shard_of(k, SHARDS) for k in (a, b, c)}) == 3, f"keys {a} {b} {c} live on three shards")
    report(three_keys_race(kv.port, a, b, c), "MSET / MULTI SET / MULTI INCR vs MGET / MULTI GET on 3 shards")
    report(del_exists_race(kv.port, d, e, f), "MSET; DEL vs EXISTS / MGET / DBSIZE / KEYS on 3 shards")
    watch_across_shards(kv, redis.port)
    x, y = keys_by_shard("acct:", SHARDS)[0][0], keys_by_shard("acct:", SHARDS)[2][0]
    watch_transfers(kv.port, x, y)
    redis.stop()
    code = kv.stop()
    check(code == 0, f"percore-kv exits 0 on SIGTERM (got {code})")
    finish()


main()
