"""Helpers of the percore-kv persistence tests: a server on a data directory with --appendonly yes, restarts,
SIGKILL, and a dump of the whole dataset (values and absolute expiry times) to compare before and after.

    d = tempfile.mkdtemp()
    kv = start(KV, d, shards=2, fsync="always")
    ...
    before = dump(kv)
    kill(kv); kv = start(KV, d, shards=2)
    check(dump(kv) == before, "...")
"""
import os
import re
import subprocess

from kvtest import ENGINE, Server, free_port, parse


def start(binary, data_dir, shards=1, fsync="always", extra=(), env=None):
    port = free_port()
    argv = [binary, "--port", str(port), "--shards", str(shards), *ENGINE, "--dir", data_dir, "--appendonly", "yes",
            "--appendfsync", fsync, *extra]
    if env:
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            return Server(argv, port)
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return Server(argv, port)


def run_to_exit(binary, data_dir, shards=1, extra=(), timeout=30):
    """Starts a server that is expected to refuse to start: (exit code, stderr)."""
    argv = [binary, "--port", str(free_port()), "--shards", str(shards), *ENGINE, "--dir", data_dir, "--appendonly",
            "yes", *extra]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    return p.returncode, p.stderr


def kill(server):
    """SIGKILL: no flush, no sync (the page cache keeps what was written)."""
    server.conn.close()
    server.proc.kill()
    server.proc.wait(20)
    server._collector.join(5)


def value_of(conn, key):
    t = parse(conn.call("TYPE", key))[1:].decode()
    if t == "string":
        v = parse(conn.call("GET", key))
    elif t == "list":
        v = parse(conn.call("LRANGE", key, 0, -1))
    elif t == "set":
        v = sorted(parse(conn.call("SMEMBERS", key)))
    elif t == "hash":
        flat = parse(conn.call("HGETALL", key))
        v = sorted(zip(flat[0::2], flat[1::2]))
    elif t == "zset":
        v = parse(conn.call("ZRANGE", key, 0, -1, "WITHSCORES"))
    else:
        return None
    return (t, v, parse(conn.call("PEXPIRETIME", key)))


def dump(server):
    """{key: (type, value, absolute expiry ms or -1)} of every key."""
    conn = server.connect()
    try:
        keys = parse(conn.call("KEYS", "*"))
        out = {}
        for k in keys:
            v = value_of(conn, k)
            if v is not None:
                out[k] = v
        return out
    finally:
        conn.close()


def stderr_text(server):
    return "".join(server.err)


def segments(data_dir, shard):
    d = os.path.join(data_dir, f"shard-{shard}")
    return sorted(os.path.join(d, f) for f in os.listdir(d) if re.fullmatch(r"\d+\.log", f))


def stderr_after(server, *texts, timeout=10.0):
    """The server's stderr once it holds every one of `texts` (its lines are collected by a thread), or what
    there is after `timeout`."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        err = stderr_text(server)
        if all(t in err for t in texts) or time.monotonic() >= deadline:
            return err
        time.sleep(0.02)
