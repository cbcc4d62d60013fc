#!/usr/bin/env python3
"""percore-kv against redis-server, byte for byte: the aggregate types (lists, sets, hashes, sorted sets), on 1 and
3 shards, RESP2 and RESP3 (HELLO 3). Replies Redis leaves unordered are compared as multisets; random ones
(SPOP, SRANDMEMBER) are checked for their shape and their members on both servers.

usage: compat_types_test.py PATH_TO_percore-kv
"""
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
from kvtest import Servers, check, finish, parse, same, unordered  # noqa: E402

KV = sys.argv[1]

LISTS = [
    [["LPUSH", "l", "a", "b"], ["RPUSH", "l", "c", "d"], ["LRANGE", "l", "0", "-1"], ["LLEN", "l"], ["LLEN", "nope"]],
    [["LPUSHX", "l", "a"], ["RPUSHX", "l", "a"], ["EXISTS", "l"], ["RPUSH", "l", "x"], ["LPUSHX", "l", "a", "b"],
     ["RPUSHX", "l", "y", "z"], ["LRANGE", "l", "0", "-1"]],
    [["LPUSH", "l"], ["RPUSH", "l"], ["LPUSHX", "l"], ["LLEN"], ["LLEN", "l", "m"], ["LRANGE", "l", "0"],
     ["LINDEX", "l"], ["LSET", "l", "0"], ["LREM", "l", "0"], ["LTRIM", "l", "0"], ["LPOP"], ["RPOP"]],
    # LPOP/RPOP: with and without a count, null forms, count errors (checked before the key).
    [["RPUSH", "l", "a", "b", "c", "d", "e"], ["LPOP", "l"], ["RPOP", "l"], ["LPOP", "l", "2"], ["RPOP", "l", "0"],
     ["LPOP", "l", "-1"], ["LPOP", "l", "x"], ["LPOP", "l", "1", "2"], ["RPOP", "l", "1", "2"], ["RPOP", "l", "5"],
     ["EXISTS", "l"], ["LPOP", "l"], ["LPOP", "l", "1"], ["LPOP", "l", "0"], ["RPOP", "l", "-1"],
     ["RPOP", "nope", "9223372036854775807"]],
    # LRANGE and its index arithmetic.
    [["RPUSH", "l", "a", "b", "c", "d", "e", "f"], ["LRANGE", "l", "0", "-1"], ["LRANGE", "l", "-100", "100"],
     ["LRANGE", "l", "2", "3"], ["LRANGE", "l", "-2", "-1"], ["LRANGE", "l", "5", "2"], ["LRANGE", "l", "-1", "-3"],
     ["LRANGE", "l", "6", "10"], ["LRANGE", "l", "0", "0"], ["LRANGE", "l", "x", "1"], ["LRANGE", "l", "0", "1.5"],
     ["LRANGE", "nope", "0", "-1"], ["LRANGE", "nope", "x", "1"],
     ["LRANGE", "l", "-9223372036854775808", "9223372036854775807"], ["LRANGE", "l", "0", "9223372036854775808"]],
    [["RPUSH", "l", "a", "b", "c"], ["LINDEX", "l", "0"], ["LINDEX", "l", "-1"], ["LINDEX", "l", "-3"],
     ["LINDEX", "l", "-4"], ["LINDEX", "l", "3"], ["LINDEX", "l", "x"], ["LINDEX", "nope", "x"], ["LINDEX", "nope", "0"]],
    [["RPUSH", "l", "a", "b", "c"], ["LSET", "l", "0", "x"], ["LSET", "l", "-1", "z"], ["LSET", "l", "3", "q"],
     ["LSET", "l", "-4", "q"], ["LSET", "l", "x", "q"], ["LSET", "nope", "0", "q"], ["LSET", "nope", "x", "q"],
     ["LRANGE", "l", "0", "-1"], ["EXISTS", "nope"]],
    # LREM from the head, the tail, everywhere.
    [["RPUSH", "l", "a", "b", "a", "c", "a", "b", "a"], ["LREM", "l", "2", "a"], ["LRANGE", "l", "0", "-1"],
     ["LREM", "l", "-1", "b"], ["LRANGE", "l", "0", "-1"], ["LREM", "l", "0", "a"], ["LRANGE", "l", "0", "-1"],
     ["LREM", "l", "0", "zz"], ["LREM", "l", "x", "a"], ["LREM", "nope", "x", "a"], ["LREM", "nope", "1", "a"],
     ["RPUSH", "l", "b", "b"], ["LREM", "l", "-9223372036854775808", "b"], ["LRANGE", "l", "0", "-1"]],
    [["RPUSH", "l", "a", "b", "c", "d", "e"], ["LTRIM", "l", "1", "-2"], ["LRANGE", "l", "0", "-1"],
     ["LTRIM", "l", "-100", "100"], ["LRANGE", "l", "0", "-1"], ["LTRIM", "l", "1", "1"], ["LRANGE", "l", "0", "-1"],
     ["LTRIM", "l", "x", "1"], ["LTRIM", "nope", "0", "1"], ["EXISTS", "nope"], ["LTRIM", "l", "5", "1"],
     ["EXISTS", "l"]],
    # Binary-safe elements, empty elements.
    [["RPUSH", "l", "", b"\x00\xff", "a b"], ["LRANGE", "l", "0", "-1"], ["LINDEX", "l", "1"], ["LREM", "l", "0", ""],
     ["LLEN", "l"]],
    # An expiry survives changes of the list, and goes with it when it is emptied.
    [["RPUSH", "l", "a"], ["EXPIRE", "l", "100"], ["RPUSH", "l", "b"], ["LPOP", "l"], ["TTL", "l"],
     ["RPOP", "l"], ["EXISTS", "l"], ["RPUSH", "l", "c"], ["TTL", "l"]],
]

SETS = [
    [["SADD", "s", "a", "b", "a", "c"], ["SADD", "s", "a"], ["SCARD", "s"], ["SMEMBERS", "s"], ["SCARD", "nope"],
     ["SMEMBERS", "nope"]],
    [["SADD", "s", "a", "b"], ["SISMEMBER", "s", "a"], ["SISMEMBER", "s", "z"], ["SISMEMBER", "nope", "a"],
     ["SMISMEMBER", "s", "a", "z", "b"], ["SMISMEMBER", "nope", "a", "b"]],
    [["SADD", "s", "a", "b", "c"], ["SREM", "s", "a", "z", "a"], ["SMEMBERS", "s"], ["SREM", "nope", "a"],
     ["SREM", "s", "b", "c"], ["EXISTS", "s"]],
    [["SADD", "s"], ["SREM", "s"], ["SMEMBERS"], ["SISMEMBER", "s"], ["SMISMEMBER", "s"], ["SCARD"], ["SPOP"],
     ["SRANDMEMBER"], ["SINTER"], ["SUNION"], ["SDIFF"]],
    # SPOP and SRANDMEMBER errors and the answers that are not random.
    [["SADD", "s", "a", "b", "c"], ["SPOP", "s", "-1"], ["SPOP", "s", "x"], ["SPOP", "s", "1", "2"],
     ["SPOP", "s", "0"], ["SPOP", "nope"], ["SPOP", "nope", "0"], ["SPOP", "nope", "3"], ["SRANDMEMBER", "s", "x"],
     ["SRANDMEMBER", "s", "1", "2"], ["SRANDMEMBER", "s", "0"], ["SRANDMEMBER", "nope"], ["SRANDMEMBER", "nope", "5"],
     ["SRANDMEMBER", "nope", "-5"], ["SRANDMEMBER", "s", "-9223372036854775808"],
     ["SRANDMEMBER", "nope", "-9223372036854775808"], ["SRANDMEMBER", "s", "9223372036854775808"], ["SCARD", "s"]],
    [["SADD", "s", "only"], ["SPOP", "s"], ["EXISTS", "s"], ["SADD", "s", "only"], ["SRANDMEMBER", "s"],
     ["SRANDMEMBER", "s", "-3"], ["SRANDMEMBER", "s", "1"], ["SPOP", "s", "1"], ["EXISTS", "s"]],
    # Set algebra: missing keys are empty sets, every key is type-checked.
    [["SADD", "s1", "a", "b", "c", "d"], ["SADD", "s2", "c", "d", "e"], ["SADD", "s3", "a", "c", "e", "f"],
     ["SINTER", "s1", "s2"], ["SINTER", "s1", "s2", "s3"], ["SINTER", "s1"], ["SINTER", "s1", "nope"],
     ["SINTER", "nope", "s1"], ["SUNION", "s1", "s2", "s3"], ["SUNION", "s1", "nope"], ["SUNION", "nope"],
     ["SDIFF", "s1", "s2"], ["SDIFF", "s1", "s2", "s3"], ["SDIFF", "s3", "nope", "s1"], ["SDIFF", "nope", "s1"],
     ["SINTER", "s1", "s1"], ["SDIFF", "s1", "s1"], ["SET", "str", "v"], ["SINTER", "s1", "str"],
     ["SINTER", "nope", "str"], ["SUNION", "s1", "str"], ["SDIFF", "nope", "str"], ["SDIFF", "s1", "str"]],
    # Hash tags keep the keys on one shard.
    [["SADD", "{u}a", "1", "2", "3"], ["SADD", "{u}b", "2", "3", "4"], ["SADD", "{u}c", "3", "9"],
     ["SINTER", "{u}a", "{u}b", "{u}c"], ["SUNION", "{u}a", "{u}b", "{u}c"], ["SDIFF", "{u}a", "{u}b"],
     ["SDIFF", "{u}b", "{u}a", "{u}c"]],
    [["SADD", "s", "", b"\x00", b"\xff\xfe"], ["SISMEMBER", "s", ""], ["SMEMBERS", "s"], ["SREM", "s", b"\x00"],
     ["SMEMBERS", "s"]],
]

HASHES = [
    [["HSET", "h", "a", "1", "b", "2"], ["HSET", "h", "a", "3", "c", "4"], ["HGET", "h", "a"], ["HGET", "h", "z"],
     ["HGET", "nope", "a"], ["HLEN", "h"], ["HLEN", "nope"], ["HGETALL", "h"], ["HKEYS", "h"], ["HVALS", "h"],
     ["HGETALL", "nope"], ["HKEYS", "nope"], ["HVALS", "nope"]],
    [["HSET", "h", "a", "1", "b"], ["HMSET", "h", "a", "1", "b"], ["HSET", "h", "a"], ["HMSET", "h"], ["HGET", "h"],
     ["HSETNX", "h", "a"], ["HMGET", "h"], ["HDEL", "h"], ["HGETALL"], ["HLEN", "h", "x"], ["HEXISTS", "h"],
     ["HINCRBY", "h", "a"], ["HINCRBYFLOAT", "h", "a"], ["HSTRLEN", "h"], ["EXISTS", "h"]],
    [["HMSET", "h", "a", "1", "b", "2"], ["HMSET", "h", "a", "x"], ["HMGET", "h", "a", "b", "z"],
     ["HMGET", "nope", "a", "b"]],
    [["HSETNX", "h", "a", "1"], ["HSETNX", "h", "a", "2"], ["HGET", "h", "a"], ["HEXISTS", "h", "a"],
     ["HEXISTS", "h", "b"], ["HEXISTS", "nope", "a"], ["HSTRLEN", "h", "a"], ["HSTRLEN", "h", "b"],
     ["HSTRLEN", "nope", "a"]],
    [["HSET", "h", "a", "1", "b", "2", "c", "3"], ["HDEL", "h", "a", "z", "a"], ["HDEL", "nope", "a"],
     ["HGETALL", "h"], ["HDEL", "h", "b", "c"], ["EXISTS", "h"], ["HLEN", "h"]],
    [["HINCRBY", "h", "n", "5"], ["HINCRBY", "h", "n", "-7"], ["HINCRBY", "h", "n", "x"], ["HINCRBY", "nope", "n", "x"],
     ["EXISTS", "nope"], ["HSET", "h", "f", "1.5", "s", " 1", "z", "01", "w", "abc"], ["HINCRBY", "h", "f", "1"],
     ["HINCRBY", "h", "s", "1"], ["HINCRBY", "h", "z", "1"], ["HINCRBY", "h", "w", "1"],
     ["HSET", "h", "big", "9223372036854775807"], ["HINCRBY", "h", "big", "1"],
     ["HINCRBY", "h", "n", "-9223372036854775808"], ["HINCRBY", "h", "n", "-9223372036854775808"],
     ["HINCRBY", "h", "m", "9223372036854775808"], ["HGET", "h", "n"]],
    [["HINCRBYFLOAT", "h", "f", "1.5"], ["HINCRBYFLOAT", "h", "f", "0.1"], ["HINCRBYFLOAT", "h", "f", "-3"],
     ["HINCRBYFLOAT", "h", "f", "x"], ["HINCRBYFLOAT", "h", "f", "inf"], ["HINCRBYFLOAT", "h", "f", "-inf"],
     ["HINCRBYFLOAT", "h", "f", "nan"], ["HINCRBYFLOAT", "nope", "f", "inf"], ["EXISTS", "nope"],
     ["HSET", "h", "g", "x", "e", "1e400", "s", " 1", "i", "9223372036854775807"], ["HINCRBYFLOAT", "h", "g", "1"],
     ["HINCRBYFLOAT", "h", "e", "1"], ["HINCRBYFLOAT", "h", "s", "1"], ["HINCRBYFLOAT", "h", "i", "1"],
     ["HINCRBYFLOAT", "h", "new", "1.0e1"], ["HINCRBYFLOAT", "h", "new", "3.0"], ["HGET", "h", "new"],
     ["HSET", "h", "m", "1.7976931348623157e308"], ["HINCRBYFLOAT", "h", "m", "1.7976931348623157e308"]],
    [["HSET", "h", "", "", b"\x00", b"\xff"], ["HGET", "h", ""], ["HGET", "h", b"\x00"], ["HGETALL", "h"],
     ["HSTRLEN", "h", b"\x00"]],
]

ZSETS = [
    [["ZADD", "z", "1", "a", "2", "b", "3", "c"], ["ZADD", "z", "5", "a", "2", "b"], ["ZCARD", "z"],
     ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["ZCARD", "nope"], ["ZSCORE", "z", "a"], ["ZSCORE", "z", "zz"],
     ["ZSCORE", "nope", "a"], ["ZMSCORE", "z", "a", "zz", "c"], ["ZMSCORE", "nope", "a", "b"]],
    # ZADD's options and their conflicts.
    [["ZADD", "z", "1", "a", "2", "b"], ["ZADD", "z", "NX", "XX", "1", "a"], ["ZADD", "z", "NX", "XX", "1", "a", "2"],
     ["ZADD", "z", "NX", "GT", "1", "a"], ["ZADD", "z", "NX", "LT", "1", "a"], ["ZADD", "z", "GT", "LT", "1", "a"],
     ["ZADD", "z", "INCR", "1", "a", "2", "b"], ["ZADD", "z", "x", "a"], ["ZADD", "z", "1", "a", "x", "b"],
     ["ZADD", "z", "nan", "a"], ["ZADD", "z", "1"], ["ZADD", "z", "NX"], ["ZADD", "z", "NX", "1"],
     ["ZADD", "z", "FOO", "1", "a"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"]],
    [["ZADD", "z", "1", "a", "5", "b"], ["ZADD", "z", "NX", "9", "a", "3", "c"], ["ZADD", "z", "XX", "9", "a", "3", "d"],
     ["ZADD", "z", "XX", "CH", "10", "a", "5", "b"], ["ZADD", "z", "GT", "CH", "1", "a", "6", "b", "0", "e"],
     ["ZADD", "z", "LT", "CH", "2", "a", "60", "b"], ["ZADD", "z", "XX", "GT", "3", "a"],
     ["ZADD", "z", "xx", "lt", "ch", "0", "a"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"]],
    [["ZADD", "z", "INCR", "5", "a"], ["ZADD", "z", "INCR", "2.5", "a"], ["ZADD", "z", "INCR", "GT", "-5", "a"],
     ["ZADD", "z", "INCR", "LT", "1", "a"], ["ZADD", "z", "INCR", "NX", "1", "a"], ["ZADD", "z", "INCR", "XX", "5", "b"],
     ["ZADD", "new", "XX", "5", "b"], ["ZADD", "new", "XX", "INCR", "5", "b"], ["EXISTS", "new"],
     ["ZADD", "z", "INCR", "0", "a"], ["ZSCORE", "z", "a"]],
    [["ZINCRBY", "z", "1", "a"], ["ZINCRBY", "z", "-2.5", "a"], ["ZINCRBY", "z", "x", "a"], ["ZINCRBY", "z", "nx", "a"],
     ["ZINCRBY", "z", "1"], ["ZINCRBY", "z", "inf", "b"], ["ZINCRBY", "z", "-inf", "b"], ["ZINCRBY", "z", "1e308", "c"],
     ["ZINCRBY", "z", "1e308", "c"], ["ZADD", "z", "INCR", "-inf", "c"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"]],
    # Scores: "%.17g", inf, -0 (Redis stores it as 0 in a small sorted set), hex and other strtod forms.
    [["ZADD", "z", "0.1", "a", "1e-320", "b", "-0", "c", "inf", "d", "-inf", "e", "0x10", "f", "1.5e300", "g",
      "+3", "h", "123456789012345678", "i", "-1.25", "j"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
     ["ZSCORE", "z", "c"], ["ZINCRBY", "z", "-0", "k"], ["ZSCORE", "z", "k"], ["ZADD", "z", "1e400", "x"],
     ["ZADD", "z", " 1", "x"], ["ZADD", "z", "", "x"], ["ZADD", "z", "1 ", "x"], ["ZADD", "z", "Infinity", "x"],
     ["ZSCORE", "z", "x"], ["ZMSCORE", "z", "a", "d", "e"]],
    [["ZADD", "z", "1", "a", "2", "b", "3", "c"], ["ZREM", "z", "a", "zz", "a"], ["ZREM", "nope", "a"],
     ["ZRANGE", "z", "0", "-1"], ["ZREM", "z", "b", "c"], ["EXISTS", "z"]],
    [["ZADD", "z", "1", "a", "2", "b", "3", "c", "3", "d"], ["ZRANK", "z", "a"], ["ZRANK", "z", "d"],
     ["ZREVRANK", "z", "a"], ["ZREVRANK", "z", "c"], ["ZRANK", "z", "zz"], ["ZRANK", "nope", "a"],
     ["ZREVRANK", "nope", "a"], ["ZRANK", "z", "a", "WITHSCORE"]],
    [["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"], ["ZPOPMIN", "z"], ["ZPOPMAX", "z"], ["ZPOPMIN", "z", "0"],
     ["ZPOPMIN", "z", "-1"], ["ZPOPMIN", "z", "x"], ["ZPOPMAX", "z", "1", "2"], ["ZPOPMIN", "z", "1"],
     ["ZPOPMAX", "z", "5"], ["EXISTS", "z"], ["ZPOPMIN", "z"], ["ZPOPMAX", "z", "2"], ["ZPOPMAX", "nope", "0"],
     ["ZPOPMIN", "nope", "-1"]],
    # ZRANGE by rank.
    [["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"], ["ZRANGE", "z", "0", "-1"],
     ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["ZRANGE", "z", "1", "-2", "REV"], ["ZRANGE", "z", "-2", "100"],
     ["ZRANGE", "z", "3", "1"], ["ZRANGE", "z", "5", "10"], ["ZRANGE", "z", "0", "-1", "REV", "WITHSCORES"],
     ["ZRANGE", "z", "0", "-1", "REV", "REV"], ["ZRANGE", "z", "x", "1"], ["ZRANGE", "z", "0", "1", "FOO"],
     ["ZRANGE", "z", "0", "1", "LIMIT", "1", "2"], ["ZRANGE", "z", "0", "1", "LIMIT", "1", "-1"],
     ["ZRANGE", "z", "0", "1", "LIMIT"], ["ZRANGE", "z", "0", "1", "LIMIT", "x", "1"], ["ZRANGE", "nope", "0", "-1"],
     ["ZRANGE", "nope", "x", "1"], ["ZREVRANGE", "z", "0", "1"], ["ZREVRANGE", "z", "0", "1", "WITHSCORES"],
     ["ZREVRANGE", "z", "0", "1", "REV"], ["ZREVRANGE", "z", "0", "1", "BYSCORE"], ["ZRANGE", "z", "0"]],
    # ZRANGE BYSCORE and the older forms.
    [["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "5", "f"], ["ZRANGE", "z", "2", "4", "BYSCORE"],
     ["ZRANGE", "z", "(2", "(5", "BYSCORE", "WITHSCORES"], ["ZRANGE", "z", "-inf", "+inf", "BYSCORE"],
     ["ZRANGE", "z", "(1", "4", "BYSCORE", "LIMIT", "1", "2", "WITHSCORES"],
     ["ZRANGE", "z", "4", "(1", "BYSCORE", "REV", "LIMIT", "1", "2", "WITHSCORES"],
     ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2"],
     ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "-1"],
     ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "0"],
     ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "10", "1"], ["ZRANGE", "z", "x", "1", "BYSCORE"],
     ["ZRANGE", "z", "(x", "1", "BYSCORE"], ["ZRANGE", "z", "nan", "1", "BYSCORE"], ["ZRANGE", "z", "5", "5", "BYSCORE"],
     ["ZRANGE", "z", "(5", "5", "BYSCORE"], ["ZRANGE", "z", "3", "1", "BYSCORE"], ["ZRANGE", "z", "(", "3", "BYSCORE"],
     ["ZRANGE", "z", "", "3", "BYSCORE"], ["ZRANGE", "z", " 2", "1e400", "BYSCORE"],
     ["ZRANGE", "z", "0", "-1", "BYSCORE", "BYLEX"], ["ZRANGE", "z", "0", "1", "LIMIT", "1", "1", "LIMIT", "0", "1",
                                                       "BYSCORE"],
     ["ZRANGE", "nope", "0", "-1", "BYSCORE", "LIMIT", "x", "1"], ["ZRANGE", "nope", "x", "-1", "BYSCORE"],
     ["ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES", "LIMIT", "1", "2"], ["ZRANGEBYSCORE", "z", "(1", "(5"],
     ["ZRANGEBYSCORE", "z", "1", "5", "BYSCORE"], ["ZRANGEBYSCORE", "z", "1", "5", "REV"],
     ["ZRANGEBYSCORE", "z", "1", "5", "LIMIT", "0"], ["ZRANGEBYSCORE", "z", "1", "5", "LIMIT", "0", "1", "x"],
     ["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES"], ["ZREVRANGEBYSCORE", "z", "-inf", "+inf"],
     ["ZREVRANGEBYSCORE", "z", "5", "(2", "LIMIT", "1", "10"], ["ZREVRANGEBYSCORE", "z", "5", "(2", "REV"]],
    [["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"], ["ZCOUNT", "z", "-inf", "+inf"],
     ["ZCOUNT", "z", "(1", "(5"], ["ZCOUNT", "z", "(1", "(1"], ["ZCOUNT", "z", "3", "1"], ["ZCOUNT", "z", "", ""],
     ["ZCOUNT", "z", "(", "+inf"], ["ZCOUNT", "z", " 2", "+inf"], ["ZCOUNT", "z", "x", "1"],
     ["ZCOUNT", "z", "(nan", "1"], ["ZCOUNT", "nope", "x", "1"], ["ZCOUNT", "nope", "1", "2"],
     ["ZCOUNT", "z", "-inf", "(-inf"], ["ZCOUNT", "z", "(+inf", "+inf"]],
    # Lex ranges on one score.
    [["ZADD", "z", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "ee"], ["ZRANGEBYLEX", "z", "-", "+"],
     ["ZRANGEBYLEX", "z", "[b", "(d"], ["ZRANGEBYLEX", "z", "(b", "[e"], ["ZRANGEBYLEX", "z", "[bb", "[ea"],
     ["ZRANGEBYLEX", "z", "-", "+", "LIMIT", "2", "3"], ["ZRANGEBYLEX", "z", "-", "+", "LIMIT", "-1", "3"],
     ["ZRANGEBYLEX", "z", "+", "-"], ["ZRANGEBYLEX", "z", "-", "-"], ["ZRANGEBYLEX", "z", "+", "+"],
     ["ZRANGEBYLEX", "z", "[c", "[c"], ["ZRANGEBYLEX", "z", "(c", "[c"], ["ZRANGEBYLEX", "z", "[d", "[b"],
     ["ZRANGEBYLEX", "z", "a", "+"], ["ZRANGEBYLEX", "z", "++", "+"], ["ZRANGEBYLEX", "z", "", "+"],
     ["ZRANGEBYLEX", "z", "[", "("], ["ZRANGEBYLEX", "z", "-", "+", "WITHSCORES"],
     ["ZRANGEBYLEX", "z", "-", "+", "REV"], ["ZREVRANGEBYLEX", "z", "+", "-"], ["ZREVRANGEBYLEX", "z", "(d", "[b"],
     ["ZREVRANGEBYLEX", "z", "+", "-", "LIMIT", "1", "2"], ["ZREVRANGEBYLEX", "z", "-", "+"],
     ["ZRANGE", "z", "[b", "[d", "BYLEX"], ["ZRANGE", "z", "[d", "[b", "BYLEX", "REV", "LIMIT", "1", "1"],
     ["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"], ["ZRANGE", "z", "0", "-1", "BYLEX"],
     ["ZLEXCOUNT", "z", "-", "+"], ["ZLEXCOUNT", "z", "[b", "(e"], ["ZLEXCOUNT", "z", "x", "+"],
     ["ZLEXCOUNT", "nope", "x", "+"], ["ZLEXCOUNT", "nope", "-", "+"], ["ZRANGEBYLEX", "nope", "-", "+"]],
    # Lex ranges over several scores: what a small sorted set answers in Redis.
    [["ZADD", "m", "1", "c", "2", "a", "3", "d", "4", "b"], ["ZRANGEBYLEX", "m", "[b", "+"],
     ["ZRANGEBYLEX", "m", "[a", "[c"], ["ZRANGEBYLEX", "m", "-", "[b"], ["ZREVRANGEBYLEX", "m", "[c", "-"],
     ["ZREVRANGEBYLEX", "m", "[c", "[a"], ["ZREVRANGEBYLEX", "m", "+", "[c"],
     ["ZRANGEBYLEX", "m", "[a", "+", "LIMIT", "1", "2"], ["ZREVRANGEBYLEX", "m", "+", "-", "LIMIT", "1", "2"],
     ["ZRANGEBYLEX", "m", "[c", "+"], ["ZLEXCOUNT", "m", "[c", "+"], ["ZLEXCOUNT", "m", "[a", "+"]],
    # Byte order of members, binary members.
    [["ZADD", "z", "0", b"\xff", "0", "a", "0", b"\x00", "0", "", "0", "A", "0", "ab"], ["ZRANGE", "z", "0", "-1"],
     ["ZRANGEBYLEX", "z", "[", "[a"], ["ZRANGEBYLEX", "z", "(", b"[\xff"], ["ZRANK", "z", b"\xff"],
     ["ZSCORE", "z", b"\x00"]],
    [["ZADD", "z"], ["ZINCRBY", "z", "1"], ["ZREM", "z"], ["ZSCORE", "z"], ["ZMSCORE", "z"], ["ZCARD"],
     ["ZCOUNT", "z", "1"], ["ZLEXCOUNT", "z", "-"], ["ZRANK", "z"], ["ZREVRANK", "z"], ["ZRANGE", "z", "0"],
     ["ZREVRANGE", "z", "0"], ["ZRANGEBYSCORE", "z", "0"], ["ZREVRANGEBYSCORE", "z", "0"], ["ZRANGEBYLEX", "z", "-"],
     ["ZREVRANGEBYLEX", "z", "+"], ["ZPOPMIN"], ["ZPOPMAX"]],
]

# Valid forms of every command on key K, for the WRONGTYPE checks.
FAMILY_COMMANDS = {
    "string": [["GET", "K"], ["APPEND", "K", "x"], ["INCR", "K"], ["STRLEN", "K"], ["GETRANGE", "K", "0", "1"],
               ["SETRANGE", "K", "0", "x"], ["GETDEL", "K"], ["GETSET", "K", "x"], ["INCRBYFLOAT", "K", "1"]],
    "list": [["LPUSH", "K", "x"], ["RPUSH", "K", "x"], ["LPUSHX", "K", "x"], ["RPUSHX", "K", "x"], ["LPOP", "K"],
             ["RPOP", "K"], ["LPOP", "K", "1"], ["RPOP", "K", "0"], ["LRANGE", "K", "0", "-1"], ["LLEN", "K"],
             ["LINDEX", "K", "0"], ["LSET", "K", "0", "x"], ["LREM", "K", "0", "x"], ["LTRIM", "K", "0", "1"]],
    "set": [["SADD", "K", "x"], ["SREM", "K", "x"], ["SMEMBERS", "K"], ["SISMEMBER", "K", "x"],
            ["SMISMEMBER", "K", "x", "y"], ["SCARD", "K"], ["SPOP", "K"], ["SPOP", "K", "1"], ["SRANDMEMBER", "K"],
            ["SRANDMEMBER", "K", "-2"], ["SINTER", "K"], ["SUNION", "K"], ["SDIFF", "K"]],
    "hash": [["HSET", "K", "f", "v"], ["HMSET", "K", "f", "v"], ["HSETNX", "K", "f", "v"], ["HGET", "K", "f"],
             ["HMGET", "K", "f"], ["HDEL", "K", "f"], ["HGETALL", "K"], ["HKEYS", "K"], ["HVALS", "K"], ["HLEN", "K"],
             ["HEXISTS", "K", "f"], ["HSTRLEN", "K", "f"], ["HINCRBY", "K", "f", "1"],
             ["HINCRBYFLOAT", "K", "f", "1"]],
    "zset": [["ZADD", "K", "1", "m"], ["ZADD", "K", "INCR", "1", "m"], ["ZINCRBY", "K", "1", "m"], ["ZREM", "K", "m"],
             ["ZSCORE", "K", "m"], ["ZMSCORE", "K", "m"], ["ZCARD", "K"], ["ZCOUNT", "K", "0", "1"],
             ["ZLEXCOUNT", "K", "-", "+"], ["ZRANK", "K", "m"], ["ZREVRANK", "K", "m"], ["ZRANGE", "K", "0", "-1"],
             ["ZRANGE", "K", "0", "1", "BYSCORE"], ["ZRANGE", "K", "-", "+", "BYLEX"], ["ZREVRANGE", "K", "0", "-1"],
             ["ZRANGEBYSCORE", "K", "0", "1"], ["ZREVRANGEBYSCORE", "K", "1", "0"], ["ZRANGEBYLEX", "K", "-", "+"],
             ["ZREVRANGEBYLEX", "K", "+", "-"], ["ZPOPMIN", "K"], ["ZPOPMAX", "K", "1"]],
}
MAKE = {"string": ["SET", "K", "v"], "list": ["RPUSH", "K", "a", "b"], "set": ["SADD", "K", "a", "b"],
        "hash": ["HSET", "K", "a", "1"], "zset": ["ZADD", "K", "1", "a", "2", "b"]}
DUMP = {"string": ["GET", "K"], "list": ["LRANGE", "K", "0", "-1"], "set": ["SMEMBERS", "K"],
        "hash": ["HGETALL", "K"], "zset": ["ZRANGE", "K", "0", "-1", "WITHSCORES"]}


def on_key(cmd, key):
    return [key if a == "K" else a for a in cmd]


def wrongtype_scenarios():
    """A key of each type, every command of the other families on it (WRONGTYPE), and the value unchanged."""
    out = []
    for holder in MAKE:
        steps = [on_key(MAKE[holder], "k")]
        for family, commands in FAMILY_COMMANDS.items():
            if family != holder:
                steps += [on_key(c, "k") for c in commands]
        steps += [on_key(DUMP[holder], "k"), ["TYPE", "k"]]
        out.append(steps)
    # Set algebra checks every key, wherever the wrong one is.
    out.append([["SET", "str", "v"], ["SADD", "s", "a"], ["SINTER", "s", "nope", "str"], ["SUNION", "str", "s"],
                ["SDIFF", "s", "str"], ["SDIFF", "nope", "str"]])
    return out


# The commands that can remove the last element, each followed by EXISTS: an empty aggregate is deleted.
EMPTIED = [
    [["RPUSH", "k", "a"], ["LPOP", "k"], ["EXISTS", "k"], ["TYPE", "k"]],
    [["RPUSH", "k", "a"], ["RPOP", "k"], ["EXISTS", "k"]],
    [["RPUSH", "k", "a", "b"], ["LPOP", "k", "5"], ["EXISTS", "k"]],
    [["RPUSH", "k", "a", "b"], ["RPOP", "k", "2"], ["EXISTS", "k"]],
    [["RPUSH", "k", "a", "a"], ["LREM", "k", "0", "a"], ["EXISTS", "k"]],
    [["RPUSH", "k", "a", "b"], ["LTRIM", "k", "2", "-1"], ["EXISTS", "k"]],
    [["RPUSH", "k", "a", "b"], ["LTRIM", "k", "0", "-3"], ["EXISTS", "k"]],
    [["SADD", "k", "a"], ["SREM", "k", "a"], ["EXISTS", "k"], ["TYPE", "k"]],
    [["SADD", "k", "a"], ["SPOP", "k"], ["EXISTS", "k"]],
    (unordered, [["SADD", "k", "a", "b"], ["SPOP", "k", "2"], ["EXISTS", "k"]]),
    [["HSET", "k", "a", "1", "b", "2"], ["HDEL", "k", "a", "b"], ["EXISTS", "k"], ["TYPE", "k"]],
    [["ZADD", "k", "1", "a"], ["ZREM", "k", "a"], ["EXISTS", "k"], ["TYPE", "k"]],
    [["ZADD", "k", "1", "a"], ["ZPOPMIN", "k"], ["EXISTS", "k"]],
    [["ZADD", "k", "1", "a", "2", "b"], ["ZPOPMAX", "k", "3"], ["EXISTS", "k"]],
    # Nothing is created by commands that add nothing.
    [["LPUSHX", "k", "a"], ["RPUSHX", "k", "a"], ["ZADD", "k", "XX", "1", "a"], ["ZADD", "k", "XX", "INCR", "1", "a"],
     ["SREM", "k", "a"], ["HDEL", "k", "a"], ["ZREM", "k", "a"], ["LTRIM", "k", "0", "1"], ["LPOP", "k"],
     ["SPOP", "k", "1"], ["ZPOPMIN", "k"], ["HINCRBY", "k", "f", "x"], ["HINCRBYFLOAT", "k", "f", "inf"],
     ["ZADD", "k", "x", "a"], ["ZINCRBY", "k", "nan", "a"], ["EXISTS", "k"], ["DBSIZE"]],
    [["TYPE", "nope"], ["RPUSH", "l", "a"], ["SADD", "s", "a"], ["HSET", "h", "a", "1"], ["ZADD", "z", "1", "a"],
     ["TYPE", "l"], ["TYPE", "s"], ["TYPE", "h"], ["TYPE", "z"], ["DBSIZE"]],
]


def big_scenarios():
    """Sorted sets and lists past the sizes Redis encodes compactly (its skiplist then behaves the same)."""
    zadd_scores = ["ZADD", "big"]
    for i in range(300):
        zadd_scores += [str(i * 7 % 300 - 100), "m%03d" % i]
    zadd_lex = ["ZADD", "lex"]
    for i in range(300):
        zadd_lex += ["0", "w%03d" % (i * 11 % 300)]
    rpush = ["RPUSH", "l"] + ["e%d" % i for i in range(500)]
    return [
        [zadd_scores, ["ZCARD", "big"], ["ZRANGE", "big", "0", "9", "WITHSCORES"], ["ZRANGE", "big", "-5", "-1"],
         ["ZRANGE", "big", "100", "110", "REV", "WITHSCORES"], ["ZRANGEBYSCORE", "big", "(-3", "17", "LIMIT", "2", "5"],
         ["ZREVRANGEBYSCORE", "big", "150", "-inf", "LIMIT", "7", "4", "WITHSCORES"], ["ZCOUNT", "big", "-50", "(50"],
         ["ZRANK", "big", "m123"], ["ZREVRANK", "big", "m123"], ["ZPOPMIN", "big", "3"], ["ZPOPMAX", "big", "2"],
         ["ZREM", "big", "m010", "m020", "m030"], ["ZCARD", "big"], ["ZRANGE", "big", "140", "150"]],
        [zadd_lex, ["ZRANGEBYLEX", "lex", "[w100", "(w110"], ["ZREVRANGEBYLEX", "lex", "(w200", "[w190"],
         ["ZRANGEBYLEX", "lex", "-", "+", "LIMIT", "290", "20"], ["ZLEXCOUNT", "lex", "(w050", "+"],
         ["ZRANGE", "lex", "[w250", "-", "BYLEX", "REV", "LIMIT", "3", "4"], ["ZRANK", "lex", "w299"]],
        [rpush, ["LLEN", "l"], ["LRANGE", "l", "250", "260"], ["LINDEX", "l", "-250"], ["LSET", "l", "300", "x"],
         ["LTRIM", "l", "100", "-100"], ["LLEN", "l"], ["LRANGE", "l", "-3", "-1"], ["LPOP", "l", "3"],
         ["RPOP", "l", "3"], ["LREM", "l", "0", "x"], ["LLEN", "l"]],
    ]


# Strings and keys on aggregates (TYPE, COPY, RENAME, SET ... GET), restored from compat_strings.
ACROSS = [
    [["RPUSH", "l", "a", "b"], ["COPY", "l", "l2"], ["LRANGE", "l2", "0", "-1"], ["RPUSH", "l2", "c"],
     ["LRANGE", "l", "0", "-1"], ["LRANGE", "l2", "0", "-1"]],
    [["SADD", "s", "a"], ["HSET", "h", "f", "v"], ["ZADD", "z", "1", "a"], ["COPY", "s", "s2"], ["COPY", "h", "h2"],
     ["COPY", "z", "z2"], ["SADD", "s2", "b"], ["HSET", "h2", "g", "w"], ["ZADD", "z2", "2", "b"], ["SMEMBERS", "s"],
     ["HGETALL", "h"], ["ZRANGE", "z", "0", "-1"], ["SMEMBERS", "s2"], ["HGETALL", "h2"], ["ZRANGE", "z2", "0", "-1"]],
    [["ZADD", "z", "1", "a"], ["RENAME", "z", "y"], ["ZSCORE", "y", "a"], ["EXISTS", "z"], ["SET", "z", "v", "GET"],
     ["SET", "y", "v", "GET"], ["GET", "y"]],
]

def each_unordered(raw):
    """EXEC's replies, each array or set in it compared as a multiset."""
    v = parse(raw)
    if not isinstance(v, list):
        return v
    return [sorted(x, key=repr) if isinstance(x, list) else x for x in v]


# SINTER/SUNION/SDIFF across shards: s1, s2, s3 hash to different shards of 3 (checked below).
CROSS = [
    [["SADD", "s1", "a", "b", "c", "d"], ["SADD", "s2", "c", "d", "e"], ["SADD", "s3", "a", "c", "e", "f"],
     ["SINTER", "s1", "s2", "s3"], ["SUNION", "s1", "s2", "s3"], ["SDIFF", "s1", "s2", "s3"], ["SINTER", "s1", "s3"],
     ["SDIFF", "s3", "s2"], ["SINTER", "s1", "s2", "nope"], ["SUNION", "nope", "s2"], ["SDIFF", "nope", "s1"],
     ["SET", "str", "v"], ["SINTER", "s1", "s2", "str"], ["SDIFF", "str", "s1"],
     # The operands are untouched.
     ["SMEMBERS", "s1"], ["SMEMBERS", "s2"], ["SMEMBERS", "s3"], ["DBSIZE"]],
    (each_unordered, [["SADD", "s1", "a"], ["SADD", "s2", "b"], ["MULTI"], ["SUNION", "s1", "s2"],
                      ["SINTER", "s1", "s2"], ["SADD", "s3", "a"], ["SINTER", "s1", "s3"], ["EXEC"]]),
]


def crc16(data):
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def shard_of(key, shards):
    open_ = key.find("{")
    if open_ >= 0:
        close = key.find("}", open_ + 1)
        if close > open_ + 1:
            key = key[open_ + 1:close]
    return (crc16(key.encode()) & 16383) * shards // 16384


# ------------------------------------------------------------------------------------------------ random replies

def members_of(raw):
    """The bulk strings of an array or set reply, and its type byte."""
    v = parse(raw)
    if isinstance(v, tuple) and v[0] == "set":
        return raw[:1], list(v[1])
    return raw[:1], v


def random_replies(s):
    """SPOP and SRANDMEMBER pick at random: both servers must answer with the same shape and valid members."""
    ok = True
    universe = [b"m%d" % i for i in range(100)]
    for name, srv in (("percore-kv", s.kv), ("redis", s.redis)):
        srv.call("FLUSHALL")
        srv.call("SADD", "s", *universe)
        small = {b"a", b"b", b"c"}
        srv.call("SADD", "t", *small)
        one = parse(srv.call("SRANDMEMBER", "s"))
        ok &= check(one in universe, f"{name}: SRANDMEMBER gives a member", repr(one))
        for count in (1, 10, 60, 99):  # few of many, and many of few
            kind, got = members_of(srv.call("SRANDMEMBER", "s", str(count)))
            ok &= check(kind == b"*" and len(got) == count and len(set(got)) == count and set(got) <= set(universe),
                        f"{name}: SRANDMEMBER s {count} gives {count} distinct members", repr(got))
        kind, got = members_of(srv.call("SRANDMEMBER", "t", "10"))
        ok &= check(kind == b"*" and sorted(got) == sorted(small), f"{name}: SRANDMEMBER past the size gives the set")
        kind, got = members_of(srv.call("SRANDMEMBER", "t", "-20"))
        ok &= check(kind == b"*" and len(got) == 20 and set(got) <= small,
                    f"{name}: SRANDMEMBER with a negative count may repeat", repr(got))
        popped = parse(srv.call("SPOP", "s"))
        ok &= check(popped in universe and srv.call("SISMEMBER", "s", popped) == b":0\r\n"
                    and srv.call("SCARD", "s") == b":99\r\n", f"{name}: SPOP removes the member it returns")
        srv.call("HELLO", "3")
        kind, got = members_of(srv.call("SPOP", "s", "40"))
        left = members_of(srv.call("SMEMBERS", "s"))[1]
        ok &= check(kind == b"~" and len(set(got)) == 40 and not set(got) & set(left) and len(left) == 59,
                    f"{name}: SPOP with a count removes distinct members (a set in RESP3)", repr(got))
        srv.call("HELLO", "2")
        kind, got = members_of(srv.call("SPOP", "s", "100"))
        ok &= check(kind == b"*" and len(got) == 59 and srv.call("EXISTS", "s") == b":0\r\n",
                    f"{name}: SPOP of more than the set empties and deletes it")
    return ok


# ------------------------------------------------------------------------------------------------ WATCH

# (setup, command run by another client on a watched key): does EXEC go through? It must not when the command
# changed the key, and must when it did not (Redis signals no change for those).
WATCHED = [
    ([["RPUSH", "k", "a"]], ["LPUSH", "k", "b"]),
    ([["RPUSH", "k", "a"]], ["LREM", "k", "0", "zz"]),
    ([["RPUSH", "k", "a"]], ["LTRIM", "k", "0", "-1"]),
    ([["RPUSH", "k", "a"]], ["LSET", "k", "0", "a"]),
    ([["RPUSH", "k", "a"]], ["LPOP", "k", "0"]),
    ([], ["LPUSHX", "k", "a"]),
    ([["SADD", "k", "a"]], ["SADD", "k", "a"]),
    ([["SADD", "k", "a"]], ["SADD", "k", "b"]),
    ([["SADD", "k", "a", "b"]], ["SREM", "k", "zz"]),
    ([["SADD", "k", "a", "b"]], ["SPOP", "k"]),
    ([["SADD", "k", "a", "b"]], ["SPOP", "k", "0"]),
    ([["HSET", "k", "a", "1"]], ["HSET", "k", "a", "1"]),
    ([["HSET", "k", "a", "1"]], ["HDEL", "k", "zz"]),
    ([["HSET", "k", "a", "1"]], ["HINCRBY", "k", "a", "0"]),
    ([["HSET", "k", "a", "1"]], ["HSETNX", "k", "a", "2"]),
    ([["ZADD", "k", "1", "a"]], ["ZADD", "k", "1", "a"]),
    ([["ZADD", "k", "1", "a"]], ["ZADD", "k", "2", "a"]),
    ([["ZADD", "k", "1", "a"]], ["ZINCRBY", "k", "0", "a"]),
    ([["ZADD", "k", "1", "a"]], ["ZREM", "k", "zz"]),
    ([["ZADD", "k", "1", "a", "2", "b"]], ["ZPOPMAX", "k"]),
    ([["SADD", "k", "a"]], ["SMEMBERS", "k"]),
]


def watch_outcomes(s):
    ok = True
    for setup, cmd in WATCHED:
        replies = []
        for srv in (s.kv, s.redis):
            srv.call("FLUSHALL")
            for c in setup:
                srv.call(*c)
            other = srv.connect()
            me = srv.connect()
            me.call("WATCH", "k")
            other.call(*cmd)
            me.call("MULTI")
            me.call("PING")
            replies.append(me.call("EXEC"))
            other.close()
            me.close()
        ok &= check(replies[0] == replies[1], f"WATCH k, then {' '.join(cmd)} elsewhere: EXEC as in Redis",
                    f"percore-kv: {replies[0]!r}\n     redis:      {replies[1]!r}")
    return ok


# ------------------------------------------------------------------------------------------------ running

def arity_scenarios():
    """Every command of the families with its last argument dropped, then with one more (arity and syntax
    errors, or a valid variadic call: whichever Redis says)."""
    out = []
    for commands in FAMILY_COMMANDS.values():
        out.append([on_key(c[:-1], "k") if len(c) > 2 else [c[0]] for c in commands])
        out.append([on_key(c + ["extra"], "k") for c in commands])
    return out


SCENARIOS = (LISTS + SETS + HASHES + ZSETS + wrongtype_scenarios() + EMPTIED + big_scenarios() + ACROSS + CROSS
             + arity_scenarios())


def main():
    spread = {shard_of(k, 3) for k in ("s1", "s2", "s3")}
    check(len(spread) == 3, f"s1, s2, s3 live on three different shards of 3 (got {sorted(spread)})")
    check(len({shard_of(k, 3) for k in ("{u}a", "{u}b", "{u}c")}) == 1, "{u}a, {u}b, {u}c share a shard")
    counts = {}
    for shards in (1, 3):
        with Servers(KV, shards=shards) as s:
            for proto in (2, 3):
                s.kv.call("HELLO", str(proto))
                s.redis.call("HELLO", str(proto))
                passed = 0
                for sc in SCENARIOS:
                    norm, steps = sc if isinstance(sc, tuple) else (None, sc)
                    what = " ".join(str(a) for a in steps[0])[:100] + f" ... ({len(steps)} commands)"
                    passed += same(s, *steps, norm=norm, what=f"[{shards} shard(s), RESP{proto}] {what}")
                counts[(shards, proto)] = passed
            s.kv.call("HELLO", "2")
            s.redis.call("HELLO", "2")
            random_replies(s)
            watch_outcomes(s)
    for (shards, proto), passed in sorted(counts.items()):
        print(f"{passed}/{len(SCENARIOS)} scenarios identical on {shards} shard(s) in RESP{proto}", flush=True)
    finish()


main()
