#!/usr/bin/env python3
"""Memory per key of a Redis-protocol server, for scripts/bench kv: the server's VmRSS growth while
`fill_keys` stores N keys `SET key:<12 digits> <value>` (keys 0..N-1, pipelined), divided by N.

    fill_keys.py --port 6379 --pid 1234 [--keys 1000000] [--value-size 3]
    -> keys=1000000 dbsize=1000000 rss_before=... rss_after=... bytes_per_key=...   (one line on stdout)

The loading step is one function, `fill_keys`, so that it can be merged with tests/bench/kv/bytes_per_key.py
(written on the keyspace branch) later. Exit status 1 when a reply is not +OK or DBSIZE is not N.
"""
import argparse
import socket
import sys
import time

BATCH = 5000  # commands per write; their replies (5 bytes each) fit the socket buffers while we send


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def read_exactly(sock, n):
    parts, got = [], 0
    while got < n:
        chunk = sock.recv(min(1 << 20, n - got))
        if not chunk:
            raise ConnectionError("closed by the server")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def command(sock, *args):
    """One command, its one-line reply (DBSIZE, PING)."""
    out = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    sock.sendall(out)
    buf = b""
    while not buf.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed by the server")
        buf += chunk
    return buf[:-2]


def fill_keys(sock, keys, value_size):
    """Stores `SET key:<12 digits> <value_size bytes>` for keys 0..keys-1, BATCH commands per write; checks that
    every reply is +OK."""
    value = b"x" * value_size
    tail = b"\r\n$%d\r\n%s\r\n" % (value_size, value)
    for start in range(0, keys, BATCH):
        n = min(BATCH, keys - start)
        sock.sendall(b"".join(b"*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d%s" % (k, tail) for k in range(start, start + n)))
        replies = read_exactly(sock, 5 * n)
        if replies != b"+OK\r\n" * n:
            raise RuntimeError(f"a SET in keys {start}..{start + n - 1} was not answered +OK: {replies[:80]!r}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True, help="the server process (its VmRSS is read)")
    p.add_argument("--keys", type=int, default=1_000_000)
    p.add_argument("--value-size", type=int, default=3)
    p.add_argument("--timeout", type=float, default=120)
    args = p.parse_args()
    sock = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    if command(sock, b"PING") != b"+PONG":
        print("fill_keys: the server does not answer PING", file=sys.stderr)
        return 1
    time.sleep(0.2)  # let start-up allocations settle
    before = rss_bytes(args.pid)
    started = time.monotonic()
    fill_keys(sock, args.keys, args.value_size)
    took = time.monotonic() - started
    after = rss_bytes(args.pid)
    dbsize = command(sock, b"DBSIZE")
    sock.close()
    count = int(dbsize[1:]) if dbsize[:1] == b":" else -1
    print(f"keys={args.keys} dbsize={count} rss_before={before} rss_after={after} "
          f"bytes_per_key={(after - before) / args.keys:.1f} load_s={took:.1f}")
    if count != args.keys:
        print(f"fill_keys: DBSIZE answered {dbsize!r}, expected {args.keys}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
