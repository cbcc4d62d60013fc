#!/usr/bin/env python3
"""percore-kv through real clients: redis-py (Debian's python3-redis, RESP2), the redis-cli binary (arguments,
--raw, -x, commands on stdin, --pipe mass insertion), redis-benchmark, and a hand-written RESP3 check in raw bytes.
Each on 1 and 3 shards; redis-cli's output and the RESP3 bytes are also checked against the real redis-server.

usage: clients_test.py PATH_TO_percore-kv
"""
import os
import re
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from kvtest import Conn, Servers, check, finish, keys_by_shard, start_kv  # noqa: E402

try:
    import redis
except ImportError:
    # A Python of its own (pyenv, venv) does not see Debian's packages: python3-redis is pure Python.
    sys.path.append("/usr/lib/python3/dist-packages")
    import redis

KV = sys.argv[1]


# ------------------------------------------------------------------------------------------------ redis-py

def redis_py(port, shards):
    r = redis.Redis(port=port, socket_timeout=20)
    other = redis.Redis(port=port, socket_timeout=20)
    tag = f"[redis-py, {shards} shards]"
    r.flushall()
    ks = [k for per in keys_by_shard("py:", shards, 4) for k in per]  # keys on every shard

    # strings
    check(r.ping() is True, f"{tag} PING")
    check(r.set(ks[0], "v") is True and r.get(ks[0]) == b"v", f"{tag} SET/GET")
    check(r.set(ks[0], "w", nx=True) is None and r.set(ks[0], "w", xx=True) is True, f"{tag} SET NX/XX")
    check(r.append(ks[1], "ab") == 2 and r.append(ks[1], "cd") == 4 and r.get(ks[1]) == b"abcd", f"{tag} APPEND")
    check(r.strlen(ks[1]) == 4 and r.getrange(ks[1], 1, 2) == b"bc", f"{tag} STRLEN, GETRANGE")
    check(r.setrange(ks[1], 2, "XY") == 4 and r.get(ks[1]) == b"abXY", f"{tag} SETRANGE")
    check(r.incr(ks[2]) == 1 and r.incrby(ks[2], 41) == 42 and r.decr(ks[2]) == 41 and r.decrby(ks[2], 1) == 40,
          f"{tag} INCR/INCRBY/DECR/DECRBY")
    check(r.incrbyfloat(ks[3], 1.5) == 1.5 and r.incrbyfloat(ks[3], "0.25") == 1.75, f"{tag} INCRBYFLOAT")
    check(r.getset(ks[2], "x") == b"40" and r.getdel(ks[2]) == b"x" and r.get(ks[2]) is None, f"{tag} GETSET, GETDEL")
    try:
        r.incr(ks[1])
        check(False, f"{tag} INCR of a non-number raises ResponseError")
    except redis.ResponseError as e:
        check("not an integer" in str(e), f"{tag} INCR of a non-number raises ResponseError", str(e))
    mapping = {k: f"val-{k}" for k in ks}
    check(r.mset(mapping) is True, f"{tag} MSET over every shard")
    check(r.mget(ks + ["py:missing"]) == [f"val-{k}".encode() for k in ks] + [None], f"{tag} MGET in key order")
    check(r.msetnx({ks[0]: "no", "py:fresh": "no"}) is False and r.get("py:fresh") is None, f"{tag} MSETNX refused")
    check(r.msetnx({"py:fresh": "1", "py:fresh2": "2"}) is True, f"{tag} MSETNX")

    # keys
    check(r.exists(*ks, "py:missing") == len(ks), f"{tag} EXISTS over every shard")
    check(sorted(r.keys("py:*")) == sorted(k.encode() for k in ks + ["py:fresh", "py:fresh2"]), f"{tag} KEYS")
    seen = list(r.scan_iter(match="py:*", count=3))
    check(set(seen) == {k.encode() for k in ks + ["py:fresh", "py:fresh2"]}, f"{tag} SCAN visits every key",
          repr(seen))
    check(r.dbsize() == len(ks) + 2 and r.randomkey() in set(seen), f"{tag} DBSIZE, RANDOMKEY")
    check(r.type(ks[0]) == b"string" and r.type("py:missing") == b"none", f"{tag} TYPE")
    check(r.rename(ks[0], ks[-1]) is True and r.get(ks[-1]) == f"val-{ks[0]}".encode() and not r.exists(ks[0]),
          f"{tag} RENAME (across shards when there are several)")
    check(r.renamenx(ks[-1], ks[1]) is False and r.renamenx(ks[-1], ks[0]) is True, f"{tag} RENAMENX")
    check(r.copy(ks[0], ks[-1]) is True and r.get(ks[-1]) == r.get(ks[0]), f"{tag} COPY")
    check(r.delete(*ks, "py:missing") == len(ks) and r.exists(*ks) == 0, f"{tag} DEL over every shard")

    # expiry
    check(r.set(ks[0], "v", ex=100) and 99 <= r.ttl(ks[0]) <= 100 and 99000 <= r.pttl(ks[0]) <= 100000,
          f"{tag} SET EX, TTL, PTTL")
    check(r.expire(ks[0], 50, gt=True) is False and r.expire(ks[0], 200, gt=True) is True, f"{tag} EXPIRE GT")
    check(r.expire(ks[0], 300, lt=True) is False and r.expire(ks[0], 10, lt=True) is True, f"{tag} EXPIRE LT")
    check(r.expire(ks[1], 10, xx=True) is False and r.expire(ks[0], 10, nx=True) is False, f"{tag} EXPIRE XX/NX")
    check(r.persist(ks[0]) is True and r.ttl(ks[0]) == -1 and r.ttl("py:missing") == -2, f"{tag} PERSIST")
    check(r.expireat(ks[0], 4_000_000_000) is True and r.expiretime(ks[0]) == 4_000_000_000, f"{tag} EXPIREAT")
    r.set(ks[1], "short", px=50)
    time.sleep(0.3)  # the behaviour under test: the TTL passes (50 ms, with a wide margin)
    check(r.get(ks[1]) is None and r.exists(ks[1]) == 0, f"{tag} a key past its PX is gone")

    # pipelines: replies in order, keys on every shard
    r.flushall()
    for transaction in (False, True):
        p = r.pipeline(transaction=transaction)
        expected = []
        model = {}
        for i in range(300):
            k = ks[(i * 7) % len(ks)]
            if i % 3 == 0:
                p.set(k, i)
                model[k] = i
                expected.append(True)
            elif i % 3 == 1:
                p.get(k)
                expected.append(None if k not in model else str(model[k]).encode())
            else:
                p.incr(k)
                model[k] = model.get(k, 0) + 1
                expected.append(model[k])
        p.mget(ks)
        expected.append([None if k not in model else str(model[k]).encode() for k in ks])
        got = p.execute()
        check(got == expected, f"{tag} pipeline(transaction={transaction}) of 301 commands: replies in order",
              f"got {got[:8]}... vs {expected[:8]}...")
        r.flushall()

    # MULTI/EXEC through redis-py: a runtime error inside does not stop the other commands
    p = r.pipeline(transaction=True)
    p.set(ks[0], "text").incr(ks[0]).set(ks[1], "1").incr(ks[1])
    got = p.execute(raise_on_error=False)
    check(got[0] is True and isinstance(got[1], redis.ResponseError) and got[2:] == [True, 2],
          f"{tag} MULTI/EXEC with an error inside runs the rest", repr(got))

    # WATCH: a concurrent modification aborts the transaction; no modification lets it through
    for k in (ks[0], ks[-1]):
        with r.pipeline() as p:
            p.watch(k, ks[1])
            other.set(k, "changed")
            p.multi()
            p.set(k, "mine")
            try:
                p.execute()
                check(False, f"{tag} WATCH {k}, another client changes it: WatchError")
            except redis.WatchError:
                check(r.get(k) == b"changed", f"{tag} WATCH {k}, another client changes it: WatchError")
        with r.pipeline() as p:
            p.watch(k, ks[1])
            p.multi()
            p.set(k, "mine")
            check(p.execute() == [True] and r.get(k) == b"mine", f"{tag} WATCH {k}, unchanged: EXEC runs")

    # Optimistic locking under contention: two clients add to a counter with WATCH/GET/MULTI/SET/EXEC (redis-py's
    # transaction helper retries on WatchError). A WATCH that misses a change loses increments.
    counter = ks[-1]
    r.set(counter, 0)
    per_thread = 150
    errors = []

    def add():
        c = redis.Redis(port=port, socket_timeout=20)

        def step(pipe):
            v = int(pipe.get(counter))
            pipe.multi()
            pipe.set(counter, v + 1)

        try:
            for _ in range(per_thread):
                c.transaction(step, counter)
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(repr(e))

    threads = [threading.Thread(target=add) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    check(not errors and int(r.get(counter)) == 2 * per_thread,
          f"{tag} WATCH-based increments from 2 clients lose none", f"{r.get(counter)} {errors}")

    # Connection and server commands as redis-py parses them
    check(r.client_setname("py-client") and r.client_getname() == "py-client", f"{tag} CLIENT SETNAME/GETNAME")
    me = r.client_id()
    check(any(c["id"] == str(me) and c["name"] == "py-client" for c in r.client_list()), f"{tag} CLIENT LIST")
    info = r.info()
    check(info.get("redis_version") == "7.0.15" and "db0" in info, f"{tag} INFO parses", repr(info)[:300])
    check(r.config_get("maxmemory") == {"maxmemory": "0"}, f"{tag} CONFIG GET")
    r.close()
    other.close()


# ------------------------------------------------------------------------------------------------ redis-cli

def cli(port, *args, stdin=None):
    p = subprocess.run(["redis-cli", "-p", str(port), *args], input=stdin, capture_output=True, timeout=120)
    return p.stdout


def redis_cli(s):
    tag = f"[redis-cli, {s.shards} shards]"
    kv, rd = s.kv.port, s.redis.port
    s.flush()
    check(cli(kv, "SET", "k", "v") == b"OK\n", f"{tag} redis-cli SET k v")
    check(cli(kv, "--raw", "GET", "k") == b"v\n", f"{tag} redis-cli --raw GET k")
    data = b"line one\nline two \x00\xff"
    check(cli(kv, "-x", "SET", "blob", stdin=data) == b"OK\n" and s.kv.call("GET", "blob") ==
          b"$%d\r\n%s\r\n" % (len(data), data), f"{tag} redis-cli -x SET (binary stdin)")
    # Formatted output (--no-raw) for each reply type, against the real redis-server's through the same binary.
    s.flush()
    script = [["SET", "a", "1"], ["INCR", "a"], ["GET", "missing"], ["MSET", "b", "x y", "c", "3"],
              ["MGET", "a", "b", "c", "missing"], ["INCR", "b"], ["EXISTS", "a", "b", "c"], ["TTL", "a"],
              ["DEL", "a", "b"], ["KEYS", "c"], ["NOSUCH", "x"]]
    for cmd in script:
        a, b = cli(kv, "--no-raw", *cmd), cli(rd, "--no-raw", *cmd)
        check(a == b, f"{tag} redis-cli --no-raw {' '.join(cmd)}: same output as redis", f"{a!r} vs {b!r}")
    # Commands on stdin, one per line (quoted arguments), and raw inline commands over a socket.
    s.flush()
    lines = b'SET a 1\nINCR a\nSET "b c" "d e"\nGET "b c"\nMGET a "b c" z\n'
    a, b = cli(kv, stdin=lines), cli(rd, stdin=lines)
    check(a == b == b"OK\n2\nOK\nd e\n2\nd e\n\n", f"{tag} redis-cli with commands on stdin", f"{a!r} vs {b!r}")
    s.flush()
    inline = b'SET x 1\r\nINCRBY x 41\r\nSET "q q" \'r\\tr\'\r\nGET "q q"\r\nMGET x "q q"\r\nPING\r\n'
    replies = []
    for srv in (s.kv, s.redis):
        c = Conn(srv.port)
        c.send_raw(inline)
        replies.append([c.reader.reply() for _ in range(6)])
        c.close()
    check(replies[0] == replies[1], f"{tag} inline commands (no RESP framing)", f"{replies[0]} vs {replies[1]}")

    # Mass insertion: --pipe with generated RESP, a few deliberate errors among the commands.
    s.flush()
    n, bad = 20000, 3
    chunks = []
    for i in range(n):
        k, v = f"mass:{i}".encode(), str(i).encode()
        chunks.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
        if i % 7000 == 3:
            chunks.append(b"*2\r\n$6\r\nNOSUCH\r\n$1\r\nx\r\n")
    for i in range(n // 2):
        chunks.append(b"*2\r\n$4\r\nINCR\r\n$5\r\ncount\r\n")
    out = cli(kv, "--pipe", stdin=b"".join(chunks)).decode()
    m = re.search(r"errors: (\d+), replies: (\d+)", out)
    check(m is not None and int(m.group(1)) == bad and int(m.group(2)) == n + bad + n // 2,
          f"{tag} redis-cli --pipe: {n + n // 2} commands, {bad} errors counted", out)
    check(s.kv.call("DBSIZE") == b":%d\r\n" % (n + 1) and s.kv.call("GET", "count") == b"$5\r\n%d\r\n" % (n // 2)
          and s.kv.call("GET", "mass:12345") == b"$5\r\n12345\r\n", f"{tag} --pipe: every key inserted")


# ------------------------------------------------------------------------------------------------ redis-benchmark

# redis-benchmark's default suite: its -t name, the commands it needs, the result lines it prints.
BENCHMARKS = [
    ("ping", ["ping"], ["PING_INLINE", "PING_MBULK"]),
    ("set", ["set"], ["SET"]),
    ("get", ["get"], ["GET"]),
    ("incr", ["incr"], ["INCR"]),
    ("lpush", ["lpush"], ["LPUSH"]),
    ("rpush", ["rpush"], ["RPUSH"]),
    ("lpop", ["lpop"], ["LPOP"]),
    ("rpop", ["rpop"], ["RPOP"]),
    ("sadd", ["sadd"], ["SADD"]),
    ("hset", ["hset"], ["HSET"]),
    ("spop", ["spop"], ["SPOP"]),
    ("zadd", ["zadd"], ["ZADD"]),
    ("zpopmin", ["zpopmin"], ["ZPOPMIN"]),
    ("lrange", ["lpush", "lrange"], ["LPUSH (needed to benchmark LRANGE)", "LRANGE_100 (first 100 elements)",
                                     "LRANGE_300 (first 300 elements)", "LRANGE_500 (first 500 elements)",
                                     "LRANGE_600 (first 600 elements)"]),
    ("mset", ["mset"], ["MSET (10 keys)"]),
]


def supported_commands(server):
    raw = server.call("COMMAND", "LIST")
    return set(re.findall(rb"\$\d+\r\n([a-z|_-]+)\r\n", raw))


def redis_benchmark(server, shards):
    tag = f"[redis-benchmark, {shards} shards]"
    have = {c.decode() for c in supported_commands(server)}
    chosen = [b for b in BENCHMARKS if all(c in have for c in b[1])]
    left_out = [b[0] for b in BENCHMARKS if b not in chosen]
    print(f"     redis-benchmark -t {','.join(b[0] for b in chosen)}"
          + (f" (not yet served: {','.join(left_out)})" if left_out else ""), flush=True)
    p = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(server.port), "-t",
                        ",".join(b[0] for b in chosen), "-r", "100000", "-n", "5000", "-q"],
                       capture_output=True, timeout=600, stdin=subprocess.DEVNULL)
    lines = [x.strip() for x in re.split(r"[\r\n]", p.stdout.decode(errors="replace") + p.stderr.decode())]
    bad = [x for x in lines if re.search(r"error|warning|could not", x, re.IGNORECASE)]
    results = dict(re.findall(r"^(.+): ([0-9.]+) requests per second", "\n".join(lines), re.MULTILINE))
    expected = [name for b in chosen for name in b[2]]
    check(p.returncode == 0 and not bad, f"{tag} runs with no error line", f"exit {p.returncode}: {bad[:3]}")
    missing = [e for e in expected if float(results.get(e, 0)) <= 0]
    check(not missing, f"{tag} every test prints a result ({len(expected)})", f"missing {missing}")
    check(b"PONG" in server.call("PING"), f"{tag} the server still answers")


# ------------------------------------------------------------------------------------------------ RESP3

def hello3(client_id):
    return (b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n"
            b"$2\r\nid\r\n:" + client_id + b"\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
            b"$7\r\nmodules\r\n*0\r\n")


RESP3_SCRIPT = [
    # (command, expected raw reply in RESP3)
    (["SET", "a", "1"], b"+OK\r\n"),
    (["GET", "missing"], b"_\r\n"),
    (["MGET", "a", "missing"], b"*2\r\n$1\r\n1\r\n_\r\n"),
    (["SET", "a", "2", "NX"], b"_\r\n"),
    (["SET", "b", "2", "GET"], b"_\r\n"),
    (["GETEX", "missing"], b"_\r\n"),
    (["CONFIG", "GET", "maxmemory"], b"%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"),
    (["INCRBYFLOAT", "f", "1.5"], b"$3\r\n1.5\r\n"),  # a bulk string even in RESP3, as in Redis 7.0
    (["EXISTS", "a", "b", "missing"], b":2\r\n"),
]
# Replies that are RESP3 doubles, for commands that may not be served yet (the zset family).
RESP3_DOUBLES = [
    (["ZADD", "z", "1.5", "m", "+inf", "top"], b":2\r\n"),
    (["ZSCORE", "z", "m"], b",1.5\r\n"),
    (["ZSCORE", "z", "top"], b",inf\r\n"),
    (["ZINCRBY", "z", "-0.25", "m"], b",1.25\r\n"),
    (["ZSCORE", "z", "missing"], b"_\r\n"),
]


def resp3(s):
    tag = f"[RESP3, {s.shards} shards]"
    have = supported_commands(s.kv)
    for name, srv in (("percore-kv", s.kv), ("redis", s.redis)):
        srv.call("FLUSHALL")
        c = Conn(srv.port)
        cid = c.call("CLIENT", "ID")[1:-2]
        got = c.call("HELLO", "3")
        check(got == hello3(cid), f"{tag} {name}: HELLO 3 map, byte for byte", repr(got))
        for cmd, want in RESP3_SCRIPT:
            got = c.call(*cmd)
            check(got == want, f"{tag} {name}: {' '.join(cmd)} -> {want!r}", repr(got))
        if name == "redis" or (b"zscore" in have and b"zincrby" in have):
            for cmd, want in RESP3_DOUBLES:
                got = c.call(*cmd)
                check(got == want, f"{tag} {name}: {' '.join(cmd)} -> {want!r}", repr(got))
        else:
            print(f"skip {tag} {name}: doubles (ZSCORE, ZINCRBY): the zset family is not served yet", flush=True)
        info = c.call("INFO", "server")
        check(info.startswith(b"=") and info.split(b"\r\n", 1)[1].startswith(b"txt:# Server"),
              f"{tag} {name}: INFO is a verbatim string", repr(info[:40]))
        # An EXEC aborted by WATCH is a RESP3 null.
        c.call("WATCH", "a")
        srv.call("SET", "a", "other")
        c.call("MULTI")
        c.call("SET", "a", "mine")
        got = c.call("EXEC")
        check(got == b"_\r\n", f"{tag} {name}: EXEC aborted by WATCH -> _", repr(got))
        got = c.call("HELLO", "2")
        check(got.startswith(b"*14\r\n"), f"{tag} {name}: HELLO 2 answers in RESP2", repr(got[:20]))
        got = c.call("GET", "missing")
        check(got == b"$-1\r\n", f"{tag} {name}: back in RESP2, null is $-1", repr(got))
        c.close()


def main():
    for tool in ("redis-cli", "redis-benchmark"):
        if shutil.which(tool) is None:
            check(False, f"{tool} is installed (scripts/setup installs redis-tools)")
            finish()
    for shards in (1, 3):
        with Servers(KV, shards=shards) as s:
            redis_py(s.kv.port, shards)
            redis_cli(s)
            resp3(s)
        kv = start_kv(KV, shards)
        redis_benchmark(kv, shards)
        code = kv.stop()
        check(code == 0, f"percore-kv ({shards} shards) exits 0 after redis-benchmark (got {code})")
    finish()


main()
