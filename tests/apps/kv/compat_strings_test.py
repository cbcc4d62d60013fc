#!/usr/bin/env python3
"""percore-kv against redis-server, byte for byte: connection, string and key commands, on 1 and 3 shards, RESP2
and RESP3 (HELLO 3).

usage: compat_strings_test.py PATH_TO_percore-kv
"""
import sys
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
from kvtest import Servers, check, finish, same  # noqa: E402

KV = sys.argv[1]

SCENARIOS = [
    # connection
    [["PING"], ["PING", "hello"], ["ECHO", "x y"], ["PING", "a", "b"]],
    [["SELECT", "0"], ["SELECT", "1"], ["SELECT", "x"]],
    [["NOSUCHCOMMAND", "a", "b"], ["get"], ["GET", "a", "b"]],
    # SET and its options
    [["SET", "k", "v"], ["GET", "k"], ["SET", "k", "w", "NX"], ["SET", "k", "w", "XX"], ["GET", "k"]],
    [["SET", "k", "v", "NX", "XX"], ["SET", "k", "v", "EX"], ["SET", "k", "v", "EX", "0"], ["SET", "k", "v", "EX", "x"],
     ["SET", "k", "v", "PX", "-5"], ["SET", "k", "v", "EX", "10", "PX", "10"], ["SET", "k", "v", "KEEPTTL", "EX", "5"],
     ["SET", "k", "v", "FOO"], ["SET", "k", "v", "EX", "9223372036854775807"]],
    [["SET", "k", "v", "EX", "100"], ["TTL", "k"], ["SET", "k", "w", "KEEPTTL"], ["TTL", "k"], ["SET", "k", "x"],
     ["TTL", "k"]],
    [["SET", "k", "v", "GET"], ["SET", "k", "w", "GET"], ["SET", "k", "z", "NX", "GET"], ["GET", "k"],
     ["LPUSH", "l", "a"], ["SET", "l", "v", "GET"], ["LRANGE", "l", "0", "-1"]],
    [["SET", "k", "v", "PXAT", "1"], ["GET", "k"], ["EXISTS", "k"]],
    [["SETNX", "a", "1"], ["SETNX", "a", "2"], ["GET", "a"]],
    [["SETEX", "a", "10", "v"], ["TTL", "a"], ["SETEX", "a", "0", "v"], ["SETEX", "a", "x", "v"], ["PSETEX", "b", "100000", "v"],
     ["TTL", "b"]],
    [["SET", "a", "1"], ["GETDEL", "a"], ["GETDEL", "a"], ["EXISTS", "a"]],
    [["SET", "a", "1"], ["GETEX", "a", "EX", "100"], ["TTL", "a"], ["GETEX", "a", "PERSIST"], ["TTL", "a"],
     ["GETEX", "a", "PERSIST", "EX", "1"], ["GETEX", "nope"], ["GETEX", "a", "KEEPTTL"]],
    [["GETSET", "a", "1"], ["GETSET", "a", "2"], ["GET", "a"]],
    [["MSET", "a", "1", "b", "2", "{t}c", "3", "{t}d", "4"], ["MGET", "a", "b", "{t}c", "{t}d", "nope"],
     ["MSET", "a"], ["MSET", "a", "1", "b"]],
    [["MSETNX", "a", "1", "b", "2"], ["MSETNX", "b", "3", "c", "4"], ["MGET", "a", "b", "c"]],
    [["INCR", "n"], ["INCRBY", "n", "10"], ["DECR", "n"], ["DECRBY", "n", "3"], ["INCRBY", "n", "x"], ["SET", "s", "abc"],
     ["INCR", "s"], ["SET", "big", "9223372036854775807"], ["INCR", "big"], ["DECRBY", "n", "-9223372036854775808"],
     ["SET", "sp", " 1"], ["INCR", "sp"], ["SET", "z", "01"], ["INCR", "z"]],
    [["INCRBYFLOAT", "f", "1.5"], ["INCRBYFLOAT", "f", "0.1"], ["INCRBYFLOAT", "f", "-3"], ["INCRBYFLOAT", "f", "x"],
     ["SET", "f", "1e3"], ["INCRBYFLOAT", "f", "1"], ["INCRBYFLOAT", "f", "inf"], ["SET", "g", "3.0"],
     ["INCRBYFLOAT", "g", "0"]],
    [["APPEND", "a", "hello"], ["APPEND", "a", " world"], ["GET", "a"], ["STRLEN", "a"], ["STRLEN", "nope"]],
    [["SET", "s", "Hello World"], ["GETRANGE", "s", "0", "4"], ["GETRANGE", "s", "-5", "-1"], ["GETRANGE", "s", "5", "2"],
     ["GETRANGE", "s", "-1", "-5"], ["GETRANGE", "s", "0", "100"], ["GETRANGE", "nope", "0", "1"],
     ["GETRANGE", "s", "a", "1"]],
    [["SETRANGE", "s", "5", "xy"], ["GET", "s"], ["SETRANGE", "s", "0", ""], ["SETRANGE", "n", "0", ""], ["EXISTS", "n"],
     ["SETRANGE", "s", "-1", "x"], ["SETRANGE", "s", "1", "ab"], ["GET", "s"]],
    # keys
    [["SET", "a", "1"], ["SET", "b", "2"], ["DEL", "a", "b", "c"], ["EXISTS", "a", "b"], ["SET", "a", "1"],
     ["EXISTS", "a", "a", "a"], ["UNLINK", "a"], ["TOUCH", "a"]],
    [["SET", "a", "1"], ["TYPE", "a"], ["TYPE", "nope"], ["LPUSH", "l", "x"], ["TYPE", "l"]],
    [["SET", "a", "1"], ["EXPIRE", "a", "100"], ["TTL", "a"], ["EXPIRE", "a", "50", "GT"], ["EXPIRE", "a", "200", "GT"],
     ["TTL", "a"], ["EXPIRE", "a", "10", "NX"], ["EXPIRE", "a", "10", "XX", "NX"], ["EXPIRE", "a", "10", "GT", "LT"],
     ["EXPIRE", "a", "10", "FOO"], ["PERSIST", "a"], ["TTL", "a"], ["PERSIST", "a"], ["EXPIRE", "nope", "10"],
     ["EXPIRE", "a", "1", "LT"], ["TTL", "a"], ["EXPIRE", "a", "x"]],
    [["SET", "a", "1"], ["PEXPIRE", "a", "100000"], ["TTL", "a"], ["EXPIREAT", "a", "4000000000"], ["EXPIRETIME", "a"],
     ["PEXPIREAT", "a", "4000000000000"], ["PEXPIRETIME", "a"], ["EXPIRETIME", "nope"], ["SET", "b", "2"],
     ["EXPIRETIME", "b"], ["EXPIRE", "a", "-1"], ["EXISTS", "a"], ["EXPIRE", "b", "9223372036854775807"]],
    [["SET", "a", "1"], ["RENAME", "a", "b"], ["GET", "b"], ["RENAME", "nope", "c"], ["RENAME", "b", "b"],
     ["SET", "c", "3"], ["RENAMENX", "b", "c"], ["RENAMENX", "b", "d"], ["RENAMENX", "d", "d"], ["MGET", "b", "c", "d"]],
    [["SET", "a", "1", "EX", "100"], ["RENAME", "a", "z"], ["TTL", "z"]],
    [["SET", "a", "1"], ["COPY", "a", "b"], ["COPY", "a", "b"], ["COPY", "a", "b", "REPLACE"], ["COPY", "a", "a"],
     ["COPY", "a", "c", "DB", "1"], ["COPY", "a", "c", "DB", "0"], ["COPY", "nope", "x"], ["MGET", "a", "b", "c"]],
    [["RPUSH", "l", "a", "b"], ["COPY", "l", "m"], ["LRANGE", "m", "0", "-1"], ["RPUSH", "m", "c"],
     ["LRANGE", "l", "0", "-1"], ["LRANGE", "m", "0", "-1"], ["SET", "k", "v"], ["COPY", "l", "k"],
     ["COPY", "l", "k", "REPLACE"], ["LRANGE", "k", "0", "-1"]],
    [["MSET", "k1", "1", "k2", "2", "x3", "3"], ["KEYS", "k*"], ["KEYS", "*"], ["KEYS", "[kx]?"], ["DBSIZE"]],
    [["SET", "a", "1"], ["FLUSHDB"], ["DBSIZE"], ["FLUSHALL", "ASYNC"], ["FLUSHALL", "FOO"]],
    # APPEND and SETRANGE obey proto-max-bulk-len as configured (1 MiB is the smallest Redis takes).
    [["CONFIG", "SET", "proto-max-bulk-len", "1mb"], ["SET", "s", "x" * (1024 * 1024 - 4)], ["APPEND", "s", "abcd"],
     ["APPEND", "s", "e"], ["SETRANGE", "s", str(1024 * 1024 - 1), "xy"], ["SETRANGE", "t", str(1024 * 1024), "x"],
     ["STRLEN", "s"], ["CONFIG", "SET", "proto-max-bulk-len", "512mb"], ["APPEND", "s", "e"]],
]


def main():
    for shards in (1, 3):
        with Servers(KV, shards=shards) as s:
            for sc in SCENARIOS:
                same(s, *sc)
            # The same in RESP3.
            s.kv.call("HELLO", "3")
            s.redis.call("HELLO", "3")
            for sc in SCENARIOS:
                same(s, *sc, what=f"RESP3 {sc[0][0]}...")
    finish()


main()
