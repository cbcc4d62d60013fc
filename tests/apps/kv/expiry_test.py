#!/usr/bin/env python3
"""percore-kv expiry on 3 shards: lazy (a key past its TTL is never returned, and reading it deletes it), active
(keys nobody touches leave DBSIZE), and the expiry commands and options over keys on several shards (MULTI, RENAME,
COPY, MSET, WATCH), compared with redis-server.

usage: expiry_test.py PATH_TO_percore-kv
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from kvtest import (Conn, Servers, check, encode, finish, info_field, keys_by_shard, same, start_kv,  # noqa: E402
                    wait_for)

KV = sys.argv[1]
SHARDS = 3


def lazy():
    """With --hz 1 and 10000 keys that keep a long TTL, active expiry (20 keys sampled per cycle) almost never
    reaches the 30 short-lived keys: what removes them is the lookup itself."""
    kv = start_kv(KV, SHARDS, "--hz", "1")
    c = Conn(kv.port)
    long_lived = 10000
    c.pipeline([["SET", f"long:{i}", "v", "EX", "3600"] for i in range(long_lived)])
    short = [k for per in keys_by_shard("short:", SHARDS, 10) for k in per]
    replies = c.pipeline([["SET", k, "v", "PX", "100"] for k in short])
    check(all(r == b"+OK\r\n" for r in replies), "lazy: SET PX on keys of every shard")
    time.sleep(0.5)  # the behaviour under test: the 100 ms TTL passes (wide margin)
    by_get, by_mget, by_other = short[0::3], short[1::3], short[2::3]
    got = c.pipeline([["GET", k] for k in by_get])
    check(all(r == b"$-1\r\n" for r in got), "lazy: GET of a key past its PX returns nil (keys on every shard)",
          repr(got))
    got = c.call("MGET", *by_mget)
    check(got == b"*%d\r\n" % len(by_mget) + b"$-1\r\n" * len(by_mget), "lazy: MGET across shards returns nils",
          repr(got))
    got = c.pipeline([cmd for k in by_other for cmd in (["TTL", k], ["PTTL", k], ["EXISTS", k], ["TYPE", k])])
    check(got == [b":-2\r\n", b":-2\r\n", b":0\r\n", b"+none\r\n"] * len(by_other),
          "lazy: TTL, PTTL -2, EXISTS 0, TYPE none", repr(got[:8]))
    # Every short key was looked up: deleted by that lookup (or by the rare active cycle that reached it first).
    check(c.call("DBSIZE") == b":%d\r\n" % long_lived, "lazy: the keys read past their TTL are deleted (DBSIZE)")
    check(info_field(c, "expired_keys") == str(len(short)), "lazy: INFO expired_keys counts them",
          info_field(c, "expired_keys"))
    c.close()
    check(kv.stop() == 0, "lazy: percore-kv exits 0")


def active():
    kv = start_kv(KV, SHARDS)
    c = Conn(kv.port)
    short = [k for per in keys_by_shard("short:", SHARDS, 100) for k in per]
    c.pipeline([["SET", k, "v", "PX", "200"] for k in short])
    c.pipeline([["SET", f"keep:{i}", "v"] for i in range(50)])
    c.pipeline([["SET", f"long:{i}", "v", "EX", "3600"] for i in range(50)])
    check(c.call("DBSIZE") == b":400\r\n", "active: 400 keys, 300 of them with a 200 ms TTL")
    # Nothing reads the short keys: only the expiry cycles can make DBSIZE drop.
    wait_for(lambda: c.call("DBSIZE") == b":100\r\n", "active: keys past their TTL leave DBSIZE untouched", 30)
    check(info_field(c, "db0", "keyspace") == "keys=100,expires=50,avg_ttl=0", "active: INFO keyspace",
          info_field(c, "db0", "keyspace"))
    check(info_field(c, "expired_keys") == "300", "active: INFO expired_keys", info_field(c, "expired_keys"))
    check(c.call("EXISTS", *[f"keep:{i}" for i in range(50)], *[f"long:{i}" for i in range(50)]) == b":100\r\n",
          "active: keys without a TTL, or with a long one, stay")
    c.close()
    check(kv.stop() == 0, "active: percore-kv exits 0")


def across_shards():
    """Expiry commands over keys on different shards, against redis (TTLs in whole seconds, read at once)."""
    with Servers(KV, shards=SHARDS) as s:
        a, b, c = (k[0] for k in keys_by_shard("x:", SHARDS))
        same(s, ["MSET", a, "1", b, "2", c, "3"],
             ["MULTI"], ["EXPIRE", a, "100", "NX"], ["EXPIRE", b, "100", "XX"], ["EXPIRE", c, "100", "GT"],
             ["EXPIRE", a, "200", "NX"], ["EXPIRE", a, "50", "LT"], ["EXPIRE", a, "500", "GT"],
             ["PEXPIRE", b, "1000000", "LT"], ["TTL", a], ["TTL", b], ["TTL", c], ["EXEC"],
             what="EXPIRE NX/XX/GT/LT inside MULTI over three shards")
        same(s, ["SET", a, "1"], ["EXPIREAT", a, "4000000000"], ["RENAME", a, b], ["EXPIRETIME", b],
             ["EXPIRETIME", a], ["COPY", b, c], ["PEXPIRETIME", c], ["MSET", b, "x", c, "y"], ["TTL", b], ["TTL", c],
             what="RENAME and COPY across shards carry the expiry; MSET across shards drops it")
        same(s, ["SET", a, "1", "EX", "100"], ["SET", b, "2"], ["RENAMENX", a, b], ["TTL", a], ["RENAMENX", a, c],
             ["TTL", c], ["EXISTS", a, b, c], what="RENAMENX across shards keeps the TTL")
        same(s, ["MSET", a, "1", b, "2", c, "3"], ["EXPIRE", a, "-1"], ["PEXPIREAT", b, "1"], ["EXPIREAT", c, "0"],
             ["EXISTS", a, b, c], ["MGET", a, b, c], ["DBSIZE"],
             what="EXPIRE in the past deletes keys on every shard")
        same(s, ["SET", a, "1", "EX", "100"], ["GETEX", a, "PERSIST"], ["TTL", a], ["SET", b, "1", "EX", "100"],
             ["SET", b, "2", "KEEPTTL"], ["TTL", b], ["GETEX", c, "EX", "10"], ["SET", c, "3"],
             ["GETEX", c, "PXAT", "4000000000000"], ["EXPIRETIME", c], what="GETEX and KEEPTTL on three shards")
        same(s, ["MSET", a, "1", b, "2"], ["EXPIRE", a, "100"], ["MSETNX", a, "x", c, "y"], ["TTL", a],
             ["DEL", a, b, c], ["EXPIRE", a, "10"], ["TTL", a], what="MSETNX and DEL across shards with TTLs")
        # Past the TTL: the key is gone for cross-shard commands too.
        for srv in (s.kv, s.redis):
            srv.call("FLUSHALL")
            srv.conn.pipeline([["SET", a, "1", "PX", "100"], ["SET", b, "2", "PX", "100"], ["SET", c, "keep"]])
        time.sleep(0.5)  # the behaviour under test: the 100 ms TTLs pass
        for cmd in (["MGET", a, b, c], ["RENAME", a, c], ["COPY", b, c], ["EXISTS", a, b, c], ["GET", c],
                    ["MSETNX", a, "1", b, "2"], ["MGET", a, b, c]):
            x, y = s.kv.call(*cmd), s.redis.call(*cmd)
            check(x == y, f"past the TTL: {' '.join(cmd)} (keys on three shards) as in redis", f"{x!r} vs {y!r}")


def watch_and_expiry():
    """WATCH and TTLs, against redis: a watched key that expires before EXEC makes it fail; a key already expired
    when watched that is then deleted, or a FLUSHALL of keys that do not exist, changes nothing. Both servers run
    with --hz 1 and 10000 long-lived keys, so that the lookups, not the active cycle, find the expired keys."""
    with Servers(KV, shards=SHARDS, kv_args=("--hz", "1"), redis_args=("--hz", "1")) as s:
        x, y, z = (k[0] for k in keys_by_shard("w:", SHARDS))
        scenarios = [
            # (what, set-up before WATCH, watched keys, sleep after WATCH, what another client does meanwhile)
            ("a watched key on another shard expires before EXEC", [["SET", x, "1", "PX", "100"]], [x, y], True, []),
            ("a watched key expires and another client reads it", [["SET", x, "1", "PX", "100"]], [x], True,
             [["GET", x]]),
            ("a key already expired when watched is deleted by a read", [["SET", x, "1", "PX", "100"]], [x], False,
             [["GET", x]]),
            ("a key already expired when watched is set again", [["SET", x, "1", "PX", "100"]], [x], False,
             [["SET", x, "2"]]),
            ("a key already expired when watched, untouched", [["SET", x, "1", "PX", "100"]], [x], False, []),
            ("a watched key keeps a TTL that has not passed", [["SET", x, "1", "EX", "100"]], [x, y], True, []),
            ("FLUSHALL while the watched keys do not exist", [["SET", z, "1"]], [x, y], False, [["FLUSHALL"]]),
            ("FLUSHALL of an existing watched key", [["SET", y, "1"]], [x, y], False, [["FLUSHALL"]]),
        ]
        for what, setup, watched, expire_after_watch, meanwhile in scenarios:
            results = []
            for srv in (s.kv, s.redis):
                w, other = Conn(srv.port), Conn(srv.port)
                other.call("FLUSHALL")
                other.pipeline([["SET", f"long:{i}", "v", "EX", "3600"] for i in range(10000)])
                other.pipeline(setup)
                if not expire_after_watch:
                    time.sleep(0.3)  # the behaviour under test: the TTL passes before WATCH
                w.call("WATCH", *watched)
                if expire_after_watch:
                    time.sleep(0.3)  # the behaviour under test: the TTL (if short) passes after WATCH
                for cmd in meanwhile:
                    other.call(*cmd)
                results.append(w.pipeline([["MULTI"], ["SET", z, "mine"], ["EXEC"]])[-1])
                w.close()
                other.close()
            check(results[0] == results[1], f"WATCH and expiry: {what}: EXEC as in redis",
                  f"percore-kv {results[0]!r} vs redis {results[1]!r}")


def main():
    lazy()
    active()
    across_shards()
    watch_and_expiry()
    finish()


main()
