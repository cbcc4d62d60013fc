#!/usr/bin/env python3
"""percore-kv's maxmemory on 3 shards (each shard keeps its share of the limit): noeviction refuses writes with
Redis's -OOM error while reads and deletes go on, on every shard and for commands over several shards (MSET, EXEC);
allkeys-lru keeps the key count bounded however much is written, evicting cold keys before recently read ones;
CONFIG SET maxmemory and maxmemory-policy take effect on every shard at once.

usage: maxmemory_test.py PATH_TO_percore-kv
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from kvtest import Conn, check, finish, info_field, keys_by_shard, shard_of, start_kv  # noqa: E402

KV = sys.argv[1]
SHARDS = 3
OOM = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"
VALUE = "x" * 1000


def fill(c, prefix, limit):
    """SETs 1000-byte values until every shard has refused one (at most `limit` keys). \return the keys stored,
    by shard, and the replies that were neither +OK nor -OOM."""
    stored = [[] for _ in range(SHARDS)]
    refused = set()
    odd = []
    i = 0
    while len(refused) < SHARDS and i < limit:
        keys = [f"{prefix}{j}" for j in range(i, i + 50)]
        i += 50
        for k, r in zip(keys, c.pipeline([["SET", k, VALUE] for k in keys])):
            if r == b"+OK\r\n":
                stored[shard_of(k, SHARDS)].append(k)
            elif r == OOM:
                refused.add(shard_of(k, SHARDS))
            else:
                odd.append(r)
    return stored, refused, odd


def noeviction():
    kv = start_kv(KV, SHARDS, "--maxmemory", "1mb", "--maxmemory-policy", "noeviction")
    c = Conn(kv.port)
    tx = Conn(kv.port)
    ta, tb = keys_by_shard("tx:", SHARDS)[0][0], keys_by_shard("tx:", SHARDS)[2][0]
    queued = tx.pipeline([["MULTI"], ["SET", ta, "1"], ["SET", tb, "1"]])  # queued while there is room
    stored, refused, odd = fill(c, "fill:", 5000)
    total = sum(len(s) for s in stored)
    check(refused == set(range(SHARDS)) and not odd, f"noeviction: every shard refuses writes past 1mb with -OOM "
          f"({total} keys stored)", f"refused on shards {sorted(refused)}, other replies {odd[:3]}")
    check(all(len(s) > 0 for s in stored) and total * 1000 <= 1024 * 1024,
          "noeviction: each shard stored keys up to its share", f"{[len(s) for s in stored]}")
    new = [k[0] for k in keys_by_shard("new:", SHARDS)]
    old = [s[0] for s in stored]
    for s in range(SHARDS):
        got = c.pipeline([["SET", new[s], "v"], ["INCR", old[s]], ["APPEND", old[s], "y"], ["SETNX", new[s], "v"],
                          ["GET", old[s]], ["STRLEN", old[s]], ["EXISTS", old[s]], ["TTL", old[s]]])
        check(got == [OOM] * 4 + [b"$1000\r\n" + VALUE.encode() + b"\r\n", b":1000\r\n", b":1\r\n", b":-1\r\n"],
              f"noeviction: shard {s} refuses writes, serves reads", repr([g[:60] for g in got]))
    check(c.call("MGET", *old) == b"*3\r\n" + (b"$1000\r\n" + VALUE.encode() + b"\r\n") * 3,
          "noeviction: MGET across shards works")
    check(c.call("DBSIZE") == b":%d\r\n" % total, "noeviction: DBSIZE counts what was stored")
    got = [c.call("MSET", *[x for k in new for x in (k, "v")]), c.call("MSETNX", *[x for k in new for x in (k, "v")])]
    check(got == [OOM, OOM] and c.call("EXISTS", *new) == b":0\r\n",
          "noeviction: MSET and MSETNX across shards are refused with -OOM, nothing written", repr(got))
    got = tx.call("EXEC")
    check(queued == [b"+OK\r\n", b"+QUEUED\r\n", b"+QUEUED\r\n"] and
          got == b"-EXECABORT Transaction discarded because of: " + OOM[1:] and c.call("EXISTS", ta, tb) == b":0\r\n",
          "noeviction: EXEC of writes queued before the memory ran out is refused whole, as in Redis", repr(got))
    check(info_field(c, "evicted_keys") == "0", "noeviction: nothing evicted")
    # DEL is not refused, and frees room on its shard.
    got = c.call("DEL", *stored[1])
    check(got == b":%d\r\n" % len(stored[1]), "noeviction: DEL works while out of memory", repr(got))
    got = c.pipeline([["SET", new[s], "v"] for s in range(SHARDS)])
    check(got == [OOM, b"+OK\r\n", OOM], "noeviction: after DEL, the freed shard takes writes, the others still "
          "refuse", repr(got))
    c.close()
    tx.close()
    check(kv.stop() == 0, "noeviction: percore-kv exits 0")


def allkeys_lru():
    """Cold keys written, a pause past the LRU clock's 1 s resolution, hot keys read, then far more than the
    limit written (by SET and by MSET across shards): the key count stays bounded, every write succeeds, and
    hot keys survive much more often than cold ones."""
    kv = start_kv(KV, SHARDS, "--maxmemory", "3mb", "--maxmemory-policy", "allkeys-lru")
    c = Conn(kv.port)
    hot = [f"hot:{i}" for i in range(300)]
    cold = [f"cold:{i}" for i in range(300)]
    got = c.pipeline([["SET", k, VALUE] for k in hot + cold])
    time.sleep(1.1)  # the behaviour under test: the LRU clock counts seconds; reads must come a tick later
    c.pipeline([["GET", k] for k in hot])
    written = len(hot) + len(cold)
    for batch in range(60):
        base = batch * 100
        cmds = [["SET", f"fill:{base + i}", VALUE] for i in range(50)]
        cmds += [["MSET", *[x for j in range(3) for x in (f"fill:{base + 50 + i}:{j}", VALUE)]] for i in range(16)]
        written += 50 + 16 * 3
        got += c.pipeline(cmds)
        # Hot keys stay hot however long the fill takes (a slow or loaded machine, a sanitizer: the LRU clock
        # ticks in seconds, so hot keys read once would age behind the fill keys).
        if batch % 10 == 9:
            c.pipeline([["GET", k] for k in hot])
    check(all(r == b"+OK\r\n" for r in got), "allkeys-lru: every write succeeds (SET and MSET across shards)",
          repr([r for r in got if r != b"+OK\r\n"][:3]))
    dbsize = int(c.call("DBSIZE")[1:-2])
    evicted = int(info_field(c, "evicted_keys"))
    check(dbsize + evicted == written, f"allkeys-lru: every key written is stored or evicted ({dbsize} + {evicted} "
          f"of {written})")
    check(dbsize * 1000 <= 3 * 1024 * 1024 and dbsize >= 1000,
          f"allkeys-lru: the key count stays bounded by the limit ({dbsize} keys of 1000 bytes, limit 3mb)")
    used = int(info_field(c, "used_memory"))
    check(used <= 3 * 1024 * 1024 + SHARDS * 4 * 1100, f"allkeys-lru: used_memory stays near the limit ({used})")
    alive_hot = int(c.call("EXISTS", *hot)[1:-2])
    alive_cold = int(c.call("EXISTS", *cold)[1:-2])
    check(alive_hot >= 2 * alive_cold + 30, f"allkeys-lru: recently read keys survive more than cold ones "
          f"({alive_hot} hot vs {alive_cold} cold of 300)")
    c.close()
    check(kv.stop() == 0, "allkeys-lru: percore-kv exits 0")


def config_at_runtime():
    kv = start_kv(KV, SHARDS)
    c = Conn(kv.port)
    c.pipeline([["SET", f"k:{i}", VALUE] for i in range(3000)])
    probes = [Conn(kv.port) for _ in range(3 * SHARDS)]  # connections land on several shards
    got = c.call("CONFIG", "SET", "maxmemory", "1mb", "maxmemory-policy", "noeviction")
    check(got == b"+OK\r\n", "CONFIG SET maxmemory 1mb maxmemory-policy noeviction", repr(got))
    want = [b"*2\r\n$9\r\nmaxmemory\r\n$7\r\n1048576\r\n", b"*2\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n"]
    got = [p.pipeline([["CONFIG", "GET", "maxmemory"], ["CONFIG", "GET", "maxmemory-policy"]]) for p in probes]
    check(all(g == want for g in got), "CONFIG GET from connections on every shard sees the new values", repr(got))
    new = [k[0] for k in keys_by_shard("new:", SHARDS)]
    got = [p.call("SET", new[i % SHARDS], "v") for i, p in enumerate(probes)]
    check(got == [OOM] * len(probes), "noeviction set at runtime: every shard refuses writes", repr(got))
    got = c.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    got = [got] + c.pipeline([["SET", k, "v"] for k in new])
    check(got == [b"+OK\r\n"] * (1 + SHARDS), "allkeys-lru set at runtime: every shard takes writes", repr(got))
    dbsize = int(c.call("DBSIZE")[1:-2])
    evicted = int(info_field(c, "evicted_keys"))
    check(dbsize + evicted == 3000 + SHARDS and dbsize * 1000 <= 1024 * 1024,
          f"allkeys-lru set at runtime: each shard evicted down to its share ({dbsize} keys, {evicted} evicted)")
    c.call("CONFIG", "SET", "maxmemory", "0")
    got = c.pipeline([["SET", f"more:{i}", VALUE] for i in range(3000)])
    check(all(r == b"+OK\r\n" for r in got) and int(info_field(c, "evicted_keys")) == evicted and
          int(c.call("DBSIZE")[1:-2]) == dbsize + 3000, "CONFIG SET maxmemory 0: no limit on any shard again")
    for p in probes:
        p.close()
    c.close()
    check(kv.stop() == 0, "CONFIG SET: percore-kv exits 0")


def main():
    noeviction()
    allkeys_lru()
    config_at_runtime()
    finish()


main()
