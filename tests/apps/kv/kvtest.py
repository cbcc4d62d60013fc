"""Support for the percore-kv integration tests: start percore-kv and redis-server on loopback, talk raw RESP to
them, and compare their replies byte for byte (differential testing against the real Redis).

    with Servers(kv_binary, shards=3) as s:          # percore-kv on 3 shards and redis-server, both on free ports
        same(s, ["SET", "k", "v"], ["GET", "k"])     # each command's raw reply must be identical on both
        s.kv.call("PING")                            # raw reply bytes from one of them

A scenario runs on a flushed keyspace on both servers. Replies whose order Redis does not define (SMEMBERS, KEYS,
HGETALL...) are compared after normalising (see `unordered`), and replies that differ by nature (INFO, CLIENT ID,
TIME) are not compared at all: the tests check those separately.
"""
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ENGINE = ["--stall-threshold-ms", "0", "--idle-poll-us", "0", "--reply-poll-us", "0", "--overprovision"]

failures = []


def check(ok, what, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f"\n     {detail}" if detail and not ok else ""), flush=True)
    if not ok:
        failures.append(what)
    return ok


def finish():
    if failures:
        print(f"{len(failures)} failure(s)", flush=True)
        for srv in started:  # what the servers said (a sanitizer's report) explains a failure
            if srv.err:
                print(f"---- stderr of {srv.argv[0]} on port {srv.port} (last 60 lines)\n{''.join(srv.err[-60:])}")
        sys.exit(1)
    print("all passed", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Reader:
    """Reads whole RESP2/RESP3 replies from a socket and returns their raw bytes."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("closed by the server")
        self.buf += chunk

    def _line(self, pos):
        while True:
            end = self.buf.find(b"\r\n", pos)
            if end >= 0:
                return end
            self._fill()

    def _skip(self, pos):
        """Position after the reply that starts at pos."""
        end = self._line(pos)
        kind = self.buf[pos:pos + 1]
        head = self.buf[pos + 1:end]
        after = end + 2
        if kind in (b"+", b"-", b":", b",", b"#", b"_", b"("):
            return after
        if kind in (b"$", b"=", b"!"):
            n = int(head)
            if n < 0:
                return after
            while len(self.buf) < after + n + 2:
                self._fill()
            return after + n + 2
        if kind in (b"*", b"~", b">", b"%", b"|"):
            n = int(head)
            if n < 0:
                return after
            if kind in (b"%", b"|"):
                n *= 2
            for _ in range(n):
                after = self._skip(after)
            return after
        raise ValueError(f"not RESP: {self.buf[pos:pos + 40]!r}")

    def reply(self):
        if not self.buf:
            self._fill()
        end = self._skip(0)
        r, self.buf = self.buf[:end], self.buf[end:]
        return r


class Conn:
    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.reader = Reader(self.sock)

    def call(self, *args):
        self.sock.sendall(encode(*args))
        return self.reader.reply()

    def pipeline(self, commands):
        self.sock.sendall(b"".join(encode(*c) for c in commands))
        return [self.reader.reply() for _ in commands]

    def send_raw(self, data):
        self.sock.sendall(data)

    def close(self):
        self.sock.close()


started = []  # every Server, for finish()


class Server:
    def __init__(self, argv, port, preexec_fn=None):
        started.append(self)
        self.argv = argv
        self.port = port
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, preexec_fn=preexec_fn)
        self.err = []
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{argv[0]} exited: {''.join(self.err)}")
                time.sleep(0.05)
        else:
            raise RuntimeError(f"{argv[0]} did not listen on {port}: {''.join(self.err)}")
        self.conn = Conn(port)

    def _collect(self):
        for line in self.proc.stderr:
            self.err.append(line)

    def call(self, *args):
        return self.conn.call(*args)

    def connect(self):
        return Conn(self.port)

    def stop(self, timeout=20):
        """SIGTERM; returns the exit code (None if it had to be killed)."""
        self.conn.close()
        self.proc.terminate()
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = None
        self._collector.join(5)
        return code


def start_kv(binary, shards=1, *extra, preexec_fn=None, engine=ENGINE):
    """`preexec_fn` runs in the child before exec (e.g. a resource limit); `engine` replaces the engine flags."""
    port = free_port()
    return Server([binary, "--port", str(port), "--shards", str(shards), *engine, *extra], port, preexec_fn)


def start_redis(*extra):
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("redis-server is not installed (scripts/setup installs it)")
    port = free_port()
    work = tempfile.mkdtemp(prefix="percore-redis-")
    return Server([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--dir", work, "--daemonize", "no", "--logfile", "", "--databases", "1", *extra], port)


class Servers:
    """percore-kv and redis-server side by side."""

    def __init__(self, kv_binary, shards=1, kv_args=(), redis_args=()):
        self.kv = start_kv(kv_binary, shards, *kv_args)
        self.redis = start_redis(*redis_args)
        self.shards = shards

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.redis.stop()
        code = self.kv.stop()
        check(code == 0, f"percore-kv ({self.shards} shards) exits 0 on SIGTERM (got {code})")

    def flush(self):
        self.kv.call("FLUSHALL")
        self.redis.call("FLUSHALL")


# ------------------------------------------------------------------------------------------------ comparing

def parse(raw):
    """A RESP reply's bytes as Python values (for normalised comparisons)."""
    r = Reader(None)
    r.buf = raw

    def value(pos):
        end = raw.find(b"\r\n", pos)
        kind, head, after = raw[pos:pos + 1], raw[pos + 1:end], end + 2
        if kind in (b"+", b"-", b":", b",", b"#", b"("):
            return (kind + head), after
        if kind == b"_":
            return None, after
        if kind in (b"$", b"=", b"!"):
            n = int(head)
            if n < 0:
                return None, after
            return raw[after:after + n], after + n + 2
        n = int(head)
        if n < 0:
            return None, after
        items = []
        count = n * 2 if kind in (b"%", b"|") else n
        for _ in range(count):
            v, after = value(after)
            items.append(v)
        if kind == b"%":
            return ("map", tuple(sorted(zip(items[0::2], items[1::2]), key=repr))), after
        if kind == b"~":
            return ("set", tuple(sorted(items, key=repr))), after
        return items, after

    return value(0)[0]


def unordered(raw):
    """An array or set reply compared as a multiset (SMEMBERS, KEYS, HKEYS...)."""
    v = parse(raw)
    if isinstance(v, list):
        return sorted(v, key=repr)
    return v


def pairs_unordered(raw):
    """A flat array of pairs (HGETALL in RESP2) compared as a set of pairs."""
    v = parse(raw)
    if isinstance(v, list):
        return sorted(zip(v[0::2], v[1::2]), key=repr)
    return v


# Replies whose element order Redis leaves undefined, by command.
DEFAULT_NORM = {
    "SMEMBERS": unordered, "SINTER": unordered, "SUNION": unordered, "SDIFF": unordered, "KEYS": unordered,
    "HKEYS": unordered, "HVALS": unordered, "HGETALL": pairs_unordered, "CONFIG": pairs_unordered,
}


def same(servers, *commands, norm=None, what=None):
    """Runs each command on both servers (on a flushed keyspace) and checks the replies match. `norm` (a function
    of the raw reply) overrides the per-command default of DEFAULT_NORM for every command of the scenario."""
    servers.flush()
    ok = True
    for cmd in commands:
        a = servers.kv.call(*cmd)
        b = servers.redis.call(*cmd)
        n = norm if norm is not None else DEFAULT_NORM.get(str(cmd[0]).upper())
        if n is not None:
            a, b = n(a), n(b)
        if a != b:
            ok = False
            check(False, what or " ".join(map(str, commands[0])),
                  f"{' '.join(map(str, cmd))}\n     percore-kv: {a!r}\n     redis:      {b!r}")
            break
    if ok:
        check(True, what or " | ".join(" ".join(map(str, c)) for c in commands)[:160])
    return ok


# ------------------------------------------------------------------------------------------------ shards

def _crc16_table():
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1) & 0xFFFF
        table.append(crc)
    return table


_CRC16 = _crc16_table()


def key_slot(key):
    """Redis Cluster's hash slot: CRC16 (XMODEM) of the key, or of its non-empty {hash tag}, modulo 16384."""
    if isinstance(key, str):
        key = key.encode()
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    crc = 0
    for b in key:
        crc = ((crc << 8) ^ _CRC16[((crc >> 8) ^ b) & 0xFF]) & 0xFFFF
    return crc & 16383


def shard_of(key, shards):
    """The shard of percore-kv that owns `key` (contiguous ranges of slots, as apps/kv/slot.hh)."""
    return key_slot(key) * shards // 16384


def keys_by_shard(prefix, shards, per_shard=1):
    """`per_shard` key names starting with `prefix` for each shard: a list (by shard) of lists."""
    found = [[] for _ in range(shards)]
    i = 0
    while any(len(f) < per_shard for f in found):
        k = f"{prefix}{i}"
        s = shard_of(k, shards)
        if len(found[s]) < per_shard:
            found[s].append(k)
        i += 1
    return found


def wait_for(condition, what, timeout=20.0, interval=0.02):
    """Polls `condition()` until it is true (bounded); checks it held. \return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = condition()
        if v or time.monotonic() >= deadline:
            check(bool(v), what, f"not true after {timeout} s")
            return v
        time.sleep(interval)


def info_field(conn, name, section="all"):
    """One field of INFO (as text), from a Conn or Server."""
    raw = conn.call("INFO", section)
    body = raw.split(b"\r\n", 1)[1]
    for line in body.decode().splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1]
    return None
